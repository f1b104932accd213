using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using L2Gateway.Core;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Server.OpenStack;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>
/// A TCP relay on a loopback port to the lab's real Neutron, which the test takes down and up again: Neutron
/// unreachable without touching the lab. Stopping closes the listener and every relayed connection.
/// </summary>
internal sealed class TcpRelay(IPEndPoint target) : IAsyncDisposable
{
    private readonly List<TcpClient> open = [];
    private TcpListener? listener;
    private Task accepting = Task.CompletedTask;

    public int Port { get; private set; }

    public void Start()
    {
        listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener from)
    {
        var pumps = new List<Task>();
        try
        {
            while (true)
            {
                var client = await from.AcceptTcpClientAsync();
                var upstream = new TcpClient();
                lock (open)
                {
                    open.Add(client);
                    open.Add(upstream);
                }

                pumps.Add(PumpAsync(client, upstream));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(pumps);
    }

    private async Task PumpAsync(TcpClient client, TcpClient upstream)
    {
        try
        {
            await upstream.ConnectAsync(target);
            var a = client.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // A side went away.
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    public async Task StopAsync()
    {
        listener?.Stop();
        lock (open)
        {
            open.ForEach(c => c.Dispose());
            open.Clear();
        }

        await accepting;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>A notification feed whose first reading fails, as when the bus is down; later readings get what the test publishes.</summary>
internal sealed class FlakyFeed : INotificationFeed
{
    private readonly Channel<NeutronNotification> notifications = Channel.CreateUnbounded<NeutronNotification>();
    private readonly TaskCompletionSource readAgain = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int readings;

    /// <summary>Completes when the feed is read a second time.</summary>
    public Task ReadAgain => readAgain.Task;

    public void Publish(string eventType, string payload)
    {
        using var json = JsonDocument.Parse(payload);
        notifications.Writer.TryWrite(new NeutronNotification(eventType, json.RootElement.Clone(), DateTimeOffset.UtcNow));
    }

    public async IAsyncEnumerable<NeutronNotification> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref readings) == 1)
        {
            throw new IOException("the bus is down");
        }

        readAgain.TrySetResult();
        await foreach (var notification in notifications.Reader.ReadAllAsync(cancellationToken))
        {
            yield return notification;
        }
    }
}

/// <summary>
/// Neutron unreachable, then back: the catalog keeps what it has, answers 503 for what it cannot look up, and reads
/// everything once it can. And a notification feed that fails is read again.
/// </summary>
public sealed class NeutronOutageTests : IAsyncLifetime
{
    // Not 5 s, the feed's retry delay: the test tells that timer from the poll's by its due time.
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(7);
    private static readonly Lazy<Task<string>> AdminToken = new(() => OpenStackLab.IssueTokenAsync("admin"));
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-outage-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock clock = new(DateTimeOffset.UtcNow);
    private readonly TcpRelay relay = new(new IPEndPoint(IPAddress.Loopback, OpenStackLab.NeutronUrl.Port));
    private readonly FlakyFeed feed = new();
    private WebApplication app = null!;
    private NeutronCatalogSync sync = null!;
    private string token = "";

    public async Task InitializeAsync()
    {
        relay.Start();
        token = await AdminToken.Value;
        app = ServerHost.Build(
            new ServerOptions
            {
                Bind = "127.0.0.1:0",
                DataDir = directory,
                AuthStrategy = AuthStrategy.Keystone,
                KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
                Catalog = "neutron",
                NeutronUrl = $"http://127.0.0.1:{relay.Port}",
                NeutronPollInterval = (int)PollInterval.TotalSeconds,
                ConfigFile = new Dictionary<string, string>
                {
                    ["keystone_authtoken:auth_url"] = OpenStackLab.KeystoneUrl.ToString(),
                    ["keystone_authtoken:username"] = "neutron",
                    ["keystone_authtoken:password"] = "osv-neutron",
                    ["keystone_authtoken:project_name"] = "service",
                },
            },
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(clock);
                builder.Services.AddSingleton<INotificationFeed>(feed);
            });
        sync = app.Services.GetRequiredService<NeutronCatalogSync>();
        var first = sync.NextPass;
        await ServerHost.StartAsync(app);
        Assert.True((await first.WaitAsync(TimeSpan.FromMinutes(2))).Succeeded);
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        await relay.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>The first poll or complete read that ends after the clock moves on (a lookup's pass may end in between).</summary>
    private async Task<CatalogSyncPass> NextReadAfterAsync(TimeSpan advance)
    {
        var next = sync.NextPass;
        clock.Advance(advance);
        while (true)
        {
            var pass = await next.WaitAsync(TimeSpan.FromMinutes(2));
            next = sync.NextPass;
            if (pass.Kind != CatalogSyncPass.Lookup)
            {
                return pass;
            }
        }
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(ServerHost.Urls(app)[0]) };
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Auth-Token", token);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task While_neutron_is_unreachable_the_catalog_stays_and_lookups_are_503_then_a_complete_read_follows()
    {
        var store = app.Services.GetRequiredService<Persistence.Store>();
        var hosts = await store.ReadAsync(db => db.Hosts.Select(h => h.Name + " " + h.TunnelIp).ToListAsync());
        Assert.Contains("osv-compute1 10.77.0.2", hosts);
        await ServerHost.ReportSwitchAsync(app, new SwitchInventory("out-tor", ["10.77.0.1"], FaultStatus.Up, [new SwitchPortInventory("p1", FaultStatus.Up)]));
        var (created, gateway) = await SendAsync(
            HttpMethod.Post, "/v2.0/l2-gateways", """{"l2_gateway": {"name": "out", "devices": [{"device_name": "out-tor", "interfaces": [{"name": "p1"}]}]}}""");
        Assert.Equal(HttpStatusCode.Created, created);
        var gatewayId = (string)gateway!["l2_gateway"]!["id"]!;

        await relay.StopAsync();
        var failed = await NextReadAfterAsync(PollInterval);
        var (status, error) = await SendAsync(
            HttpMethod.Post,
            "/v2.0/l2-gateway-connections",
            $$$"""{"l2_gateway_connection": {"l2_gateway_id": "{{{gatewayId}}}", "network_id": "{{{Guid.NewGuid()}}}", "segmentation_id": "100"}}""");

        Assert.Equal((CatalogSyncPass.Poll, false), (failed.Kind, failed.Succeeded));
        Assert.Equal(hosts, await store.ReadAsync(db => db.Hosts.Select(h => h.Name + " " + h.TunnelIp).ToListAsync()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("ServiceUnavailable", (string)error!["NeutronError"]!["type"]!);

        relay.Start();
        var back = await NextReadAfterAsync(PollInterval);
        Assert.Equal((CatalogSyncPass.Full, true), (back.Kind, back.Succeeded));
    }

    [Fact]
    public async Task A_notification_feed_that_fails_is_read_again_five_seconds_later()
    {
        await clock.ArmedAsync(TimeSpan.FromSeconds(5));
        Assert.False(feed.ReadAgain.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(5));
        await feed.ReadAgain.WaitAsync(TimeSpan.FromMinutes(1));

        var next = sync.NextPass;
        feed.Publish("port.delete.end", $$$"""{"port_id": "{{{Guid.NewGuid()}}}"}""");
        var pass = await next.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal((CatalogSyncPass.Notifications, true, 0), (pass.Kind, pass.Succeeded, pass.RowsWritten));
    }
}
