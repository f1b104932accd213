using L2Gateway.OpenStack.Messaging;
using L2Gateway.OpenStack.Neutron;

namespace L2Gateway.Server.OpenStack;

/// <summary>The server's side of the cloud's bus: one connection for the process, and what uses it.</summary>
public static class MessagingServices
{
    /// <summary>
    /// Registers the bus (<see cref="RabbitBus"/>, also as <see cref="IMessageBus"/>; the embedded agent reports on
    /// it too), a hosted service that connects it at start, and the l2population publisher.
    /// </summary>
    public static IServiceCollection AddOpenStackMessaging(this IServiceCollection services, string transportUrl)
    {
        var url = TransportUrl.Parse(transportUrl);
        services.AddSingleton(sp => new RabbitBus(url, "l2gw-server", sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IMessageBus>(sp => sp.GetRequiredService<RabbitBus>());
        services.AddHostedService<BusConnector>();
        services.AddSingleton<L2PopulationPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<L2PopulationPublisher>());

        // With catalog = neutron: Neutron's notifications reach the catalog, and what it sees happen on compute
        // hosts makes the publisher resend at once rather than at the next resync.
        services.AddSingleton<INotificationFeed>(sp => new RabbitNotificationFeed(sp.GetRequiredService<RabbitBus>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<ICatalogEvents, PublisherCatalogEvents>();
        return services;
    }

    /// <summary>The catalog's host events, handed to the publisher's loop (both calls only post to its channel).</summary>
    private sealed class PublisherCatalogEvents(L2PopulationPublisher publisher) : ICatalogEvents
    {
        public void AgentRestarted(string host) => publisher.ResendHost(host);

        public void PortActivated(string host, string networkId) => publisher.ResendNetwork(networkId);
    }

    /// <summary>Starts connecting the bus with the host; the container disposes it (closing the connection) at the end.</summary>
    private sealed class BusConnector(RabbitBus bus) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            bus.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
