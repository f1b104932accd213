using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using L2Gateway.Ovsdb;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// Passive mode (<c>enable_manager = True</c>): switches whose <c>Manager</c> table points at the agent dial in. Each
/// accepted connection is identified by the database's first <c>Physical_Switch</c> name and handed to that switch's
/// session, which takes its connections from here instead of dialling out.
/// </summary>
public sealed class ManagerListener : IAsyncDisposable
{
    private readonly OvsdbListener listener;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, Channel<OvsdbClient>> arrivals = new(StringComparer.Ordinal);

    /// <param name="tls">When set, switches must dial in over TLS, accepted with the credentials it picks by address.</param>
    public ManagerListener(IPEndPoint endpoint, OvsdbClientOptions options, Func<IPEndPoint, OvsdbServerTls?>? tls, ILogger logger)
    {
        listener = tls is null ? new OvsdbListener(endpoint, options) : new OvsdbListener(endpoint, options, tls);
        listener.HandshakeFailed += (_, e) => logger.LogWarning("switch connection refused: {Reason}", e.Reason?.Message);
        this.logger = logger;
    }

    public IPEndPoint LocalEndPoint => listener.LocalEndPoint;

    /// <summary>Raised the first time a switch of a given name dials in, with that name and the peer's address.</summary>
    public event Action<string, string>? SwitchArrived;

    public void Start() => listener.Start();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Identifications under way, owned by this loop: each is awaited before it returns.
        var identifying = new List<Task>();
        while (!cancellationToken.IsCancellationRequested)
        {
            OvsdbClient client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            identifying.RemoveAll(t => t.IsCompleted);
            identifying.Add(IdentifyAsync(client, cancellationToken));
        }

        await Task.WhenAll(identifying);
    }

    private async Task IdentifyAsync(OvsdbClient client, CancellationToken cancellationToken)
    {
        try
        {
            var names = await OvsdbListener.IdentifyAsync(client, cancellationToken: cancellationToken);
            if (names.Count == 0)
            {
                logger.LogWarning("a switch at {Peer} dialled in without a Physical_Switch row; closing", client.Endpoint);
                await client.DisposeAsync();
                return;
            }

            var name = names[0];
            var isNew = false;
            var channel = arrivals.GetOrAdd(name, _ =>
            {
                isNew = true;
                return Channel.CreateUnbounded<OvsdbClient>();
            });
            await channel.Writer.WriteAsync(client, cancellationToken);
            logger.LogInformation("switch {Switch} dialled in from {Peer}", name, client.Endpoint);
            if (isNew)
            {
                SwitchArrived?.Invoke(name, client.Endpoint);
            }
        }
        catch (Exception e)
        {
            // Whatever went wrong concerns this one connection: it is closed and the listener goes on.
            logger.LogWarning("a switch that dialled in could not be identified: {Error}", e.Message);
            await client.DisposeAsync();
        }
    }

    /// <summary>The next connection from switch <paramref name="name"/>.</summary>
    public async Task<OvsdbClient> NextAsync(string name, CancellationToken cancellationToken)
    {
        var channel = arrivals.GetOrAdd(name, _ => Channel.CreateUnbounded<OvsdbClient>());
        while (true)
        {
            var client = await channel.Reader.ReadAsync(cancellationToken);
            if (client.IsConnected)
            {
                return client;
            }

            await client.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await listener.DisposeAsync();
        foreach (var channel in arrivals.Values)
        {
            while (channel.Reader.TryRead(out var client))
            {
                await client.DisposeAsync();
            }
        }
    }
}
