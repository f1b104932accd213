using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using L2Gateway.OpenStack.Messaging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace L2Gateway.Testing;

/// <summary>A message as a queue of the test received it.</summary>
public sealed record Received(string Exchange, string RoutingKey, byte[] Body, IReadOnlyBasicProperties Properties);

/// <summary>
/// A queue of the test's own on the lab's RabbitMQ (exclusive, auto-deleted, named <c>l2gw-test-...</c>), bound
/// where the test says: it sees copies of what is published there, and takes nothing from anyone else.
/// </summary>
public sealed class LabQueue : IAsyncDisposable
{
    private readonly Channel<Received> received = System.Threading.Channels.Channel.CreateUnbounded<Received>();
    private IConnection connection = null!;
    private IChannel channel = null!;

    public string Name { get; } = "l2gw-test-" + Guid.NewGuid().ToString("N")[..12];

    public IChannel Channel => channel;

    public static async Task<LabQueue> BindAsync(params (string Exchange, string RoutingKey)[] bindings)
    {
        var queue = new LabQueue();
        var url = TransportUrl.Parse(OpenStackLab.RabbitUrl);
        var factory = new ConnectionFactory { HostName = url.Hosts[0].Host, Port = url.Hosts[0].Port, UserName = url.Hosts[0].UserName, Password = url.Hosts[0].Password, VirtualHost = url.VirtualHost };
        queue.connection = await factory.CreateConnectionAsync("l2gw-test");
        queue.channel = await queue.connection.CreateChannelAsync();
        await queue.channel.QueueDeclareAsync(queue.Name, durable: false, exclusive: true, autoDelete: true);
        foreach (var (exchange, key) in bindings)
        {
            await queue.channel.QueueBindAsync(queue.Name, exchange, key);
        }

        var consumer = new AsyncEventingBasicConsumer(queue.channel);
        consumer.ReceivedAsync += (_, e) =>
        {
            queue.received.Writer.TryWrite(new Received(e.Exchange, e.RoutingKey, e.Body.ToArray(), e.BasicProperties));
            return Task.CompletedTask;
        };
        await queue.channel.BasicConsumeAsync(queue.Name, autoAck: true, consumer);
        return queue;
    }

    /// <summary>The first message that <paramref name="match"/> accepts (others on the same binding are skipped).</summary>
    public async Task<Received> NextAsync(Func<Received, bool> match, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var message = await received.Reader.ReadAsync(deadline.Token);
            if (match(message))
            {
                return message;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await channel.CloseAsync();
        await connection.CloseAsync();
        await connection.DisposeAsync();
    }
}

/// <summary>
/// A TCP relay on loopback between the bus and the lab's RabbitMQ, which the test can keep closed, open, and cut:
/// how a test makes the bus unreachable and lets it come back without touching the shared RabbitMQ.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly List<TcpClient> live = [];
    private readonly List<Task> pumps = [];
    private readonly Lock gate = new();
    private TcpListener? listener;
    private Task? accepting;

    public TcpRelay(IPEndPoint target)
    {
        this.target = target;
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public int Port { get; }

    public void Open()
    {
        listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Start();
        accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener from)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await from.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new TcpClient();
            await upstream.ConnectAsync(target);
            lock (gate)
            {
                live.Add(client);
                live.Add(upstream);
                pumps.Add(PumpAsync(client, upstream));
                pumps.Add(PumpAsync(upstream, client));
            }
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream());
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }

        from.Close();
        to.Close();
    }

    /// <summary>Cuts every relayed connection (both ends see the connection reset).</summary>
    public void Cut()
    {
        lock (gate)
        {
            foreach (var client in live)
            {
                if (client.Client is { } socket)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }

                client.Close();
            }

            live.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        listener?.Stop();
        Cut();
        if (accepting is not null)
        {
            await accepting;
        }

        List<Task> running;
        lock (gate)
        {
            running = [.. pumps];
        }

        await Task.WhenAll(running);
    }
}

/// <summary>A Neutron network of the test's own on the lab: VXLAN with a VNI no one else uses.</summary>
public sealed record LabNetwork(string Id, int Vni)
{
    public static async Task<LabNetwork> CreateAsync(string name)
    {
        for (var attempt = 0; ; attempt++)
        {
            // High VNIs: the lab's own prove run uses 5000, tenant networks are allocated from 1 upwards.
            var vni = Random.Shared.Next(60_000, 100_000);
            try
            {
                var id = await OpenStackLab.OpenStackAsync(
                    "admin", "network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(System.Globalization.CultureInfo.InvariantCulture), name, "-f", "value", "-c", "id");
                return new LabNetwork(id, vni);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    public Task DeleteAsync() => OpenStackLab.OpenStackAsync("admin", "network", "delete", Id);
}
