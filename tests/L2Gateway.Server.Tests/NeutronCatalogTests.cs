using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.OpenStack;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>
/// A server with <c>catalog = neutron</c> against the lab's real Keystone and Neutron, as the service user
/// neutron/osv-neutron, Neutron's endpoint taken from Keystone's catalog. Its clock is a manual one: polls and complete
/// reads happen when a test moves it. It has a network of its own (a VNI drawn at random), a port bound to
/// osv-compute1 with an allowed address pair, a switch reported with port p1, and a gateway connected to the network.
/// Notifications come from a feed the tests write to, with the payloads Neutron's API gives.
/// </summary>
public sealed class NeutronCatalogFixture : IAsyncLifetime
{
    public const string Switch = "cat-tor";
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan FullInterval = TimeSpan.FromSeconds(300);

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-neutron-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> ports = [];
    private readonly List<string> networks = [];

    public string Prefix { get; } = "cat-" + Guid.NewGuid().ToString("N")[..8];

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public TestFeed Feed { get; } = new();

    public RecordedEvents Events { get; } = new();

    public WebApplication App { get; private set; } = null!;

    public NeutronCatalogSync Sync { get; private set; } = null!;

    public Uri BaseUrl { get; private set; } = null!;

    public string AdminToken { get; private set; } = "";

    public string NetworkId { get; private set; } = "";

    public int Vni { get; private set; }

    public JsonNode FirstPort { get; private set; } = null!;

    public string PairMac { get; } = "fa:16:3e:ca:7a:01";

    public string GatewayId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        (NetworkId, Vni) = await CreateNetworkAsync(Prefix + "-net");
        await OpenStackLab.OpenStackAsync(
            "admin", "subnet", "create", "--network", NetworkId, "--subnet-range", "192.168.50.0/24", "--no-dhcp", "--gateway", "none", Prefix + "-sub");
        FirstPort = await CreatePortAsync("p1", "192.168.50.10", "--allowed-address", $"ip-address=192.168.50.11,mac-address={PairMac}");
        AdminToken = await OpenStackLab.IssueTokenAsync("admin");

        var options = new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = directory,
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
            Catalog = "neutron",
            NeutronPollInterval = (int)PollInterval.TotalSeconds,
            NeutronFullSyncInterval = (int)FullInterval.TotalSeconds,
            ConfigFile = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["keystone_authtoken:auth_url"] = OpenStackLab.KeystoneUrl.ToString(),
                ["keystone_authtoken:username"] = "neutron",
                ["keystone_authtoken:password"] = "osv-neutron",
                ["keystone_authtoken:project_name"] = "service",
                ["keystone_authtoken:region_name"] = "RegionOne",
            },
        };
        App = ServerHost.Build(options, builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(Clock);
            builder.Services.AddSingleton<INotificationFeed>(Feed);
            builder.Services.AddSingleton<ICatalogEvents>(Events);
        });
        Sync = App.Services.GetRequiredService<NeutronCatalogSync>();
        var firstRead = Sync.NextPass;
        await ServerHost.StartAsync(App);
        BaseUrl = new Uri(ServerHost.Urls(App)[0]);
        var pass = await firstRead.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(pass is { Kind: CatalogSyncPass.Full, Succeeded: true }, $"the first read failed: {pass}");

        await ServerHost.ReportSwitchAsync(App, new SwitchInventory(Switch, ["10.77.0.1"], FaultStatus.Up, [new SwitchPortInventory("p1", FaultStatus.Up)]));
        var (status, gateway) = await SendAsync(HttpMethod.Post, "/v2.0/l2-gateways", $$$"""
            {"l2_gateway": {"name": "{{{Prefix}}}-gw", "devices": [{"device_name": "{{{Switch}}}", "interfaces": [{"name": "p1"}]}]}}
            """);
        Assert.True(status == HttpStatusCode.Created, $"gateway create answered {status}: {gateway}");
        GatewayId = (string)gateway!["l2_gateway"]!["id"]!;
        (status, var connection) = await ConnectAsync(NetworkId, 100);
        Assert.True(status == HttpStatusCode.Created, $"connection create answered {status}: {connection}");
    }

    public async Task DisposeAsync()
    {
        try
        {
            try
            {
                if (ports.Count > 0)
                {
                    await OpenStackLab.OpenStackAsync("admin", ["port", "delete", .. ports]);
                }
            }
            finally
            {
                // Deleting a network deletes its subnets too.
                if (networks.Count > 0)
                {
                    await OpenStackLab.OpenStackAsync("admin", ["network", "delete", .. networks]);
                }
            }
        }
        finally
        {
            if (App is not null)
            {
                await App.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>A VXLAN network of the test's own; a VNI another test holds is drawn again.</summary>
    public async Task<(string Id, int Vni)> CreateNetworkAsync(string name)
    {
        for (var attempt = 0; ; attempt++)
        {
            var vni = Random.Shared.Next(6000, 9000);
            try
            {
                var id = await OpenStackLab.OpenStackAsync(
                    "admin", "network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(CultureInfo.InvariantCulture),
                    "-f", "value", "-c", "id", name);
                networks.Add(id);
                return (id, vni);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    public async Task DeleteNetworkAsync(string id)
    {
        await OpenStackLab.OpenStackAsync("admin", "network", "delete", id);
        networks.Remove(id);
    }

    /// <summary>A port of the fixture's network bound to osv-compute1, created with the real client; returns it as the client shows it.</summary>
    public async Task<JsonNode> CreatePortAsync(string name, string ip, params string[] more)
    {
        var json = await OpenStackLab.OpenStackAsync(
            "admin", ["port", "create", "--network", NetworkId, "--host", "osv-compute1", "--fixed-ip", "ip-address=" + ip, .. more, "-f", "json", Prefix + "-" + name]);
        var port = JsonNode.Parse(json)!;
        ports.Add((string)port["id"]!);
        return port;
    }

    public async Task DeletePortAsync(string id)
    {
        await OpenStackLab.OpenStackAsync("admin", "port", "delete", id);
        ports.Remove(id);
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> ConnectAsync(string networkId, int vlan) =>
        SendAsync(HttpMethod.Post, "/v2.0/l2-gateway-connections", $$$"""
            {"l2_gateway_connection": {"l2_gateway_id": "{{{GatewayId}}}", "network_id": "{{{networkId}}}", "segmentation_id": "{{{vlan}}}"}}
            """);

    /// <summary>A call to the server with the admin's Keystone token.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var http = new HttpClient { BaseAddress = BaseUrl };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Auth-Token", AdminToken);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A resource as Neutron's API gives it to the service user (what a notification's payload holds).</summary>
    public async Task<string> NeutronJsonAsync(string path)
    {
        var tokens = App.Services.GetRequiredService<KeystoneTokenSource>();
        using var http = new HttpClient(new KeystoneAuthHandler(tokens));
        return await http.GetStringAsync(new Uri(OpenStackLab.NeutronUrl, path));
    }

    /// <summary>Runs <paramref name="trigger"/> and returns the first pass of <paramref name="kind"/> that ends after it; it must succeed.</summary>
    public async Task<CatalogSyncPass> PassAsync(string kind, Action trigger)
    {
        var next = Sync.NextPass;
        trigger();
        while (true)
        {
            var pass = await next.WaitAsync(TimeSpan.FromMinutes(2));
            next = Sync.NextPass;
            if (pass.Kind == kind)
            {
                Assert.True(pass.Succeeded, $"the {kind} read failed: {pass.Error}");
                return pass;
            }
        }
    }

    public Task<CatalogSyncPass> PollAsync() => PassAsync(CatalogSyncPass.Poll, () => Clock.Advance(PollInterval));

    public Task<CatalogSyncPass> FullReadAsync() => PassAsync(CatalogSyncPass.Full, () => Clock.Advance(FullInterval));

    /// <summary>The desired state of the switch once the planner has taken in every committed write.</summary>
    public async Task<SwitchDesiredState> DesiredAsync()
    {
        var desired = App.Services.GetRequiredService<DesiredStateService>();
        await desired.RefreshAsync(full: false, CancellationToken.None);
        return desired.For(Switch);
    }

    public async Task<DesiredUcastRemote[]> RemotesOfAsync(string mac) =>
        [.. (await DesiredAsync()).UcastRemotes.Where(r => r.Mac == mac)];
}

/// <summary>Notifications the tests hand the server, as the bus reader would.</summary>
public sealed class TestFeed : INotificationFeed
{
    private readonly Channel<NeutronNotification> notifications = Channel.CreateUnbounded<NeutronNotification>();

    public void Publish(string eventType, string payload)
    {
        using var json = JsonDocument.Parse(payload);
        notifications.Writer.TryWrite(new NeutronNotification(eventType, json.RootElement.Clone(), DateTimeOffset.UtcNow));
    }

    public async IAsyncEnumerable<NeutronNotification> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var notification in notifications.Reader.ReadAllAsync(cancellationToken))
        {
            yield return notification;
        }
    }
}

/// <summary>The host events the catalog raised, in order.</summary>
public sealed class RecordedEvents : ICatalogEvents
{
    private readonly Channel<string> events = Channel.CreateUnbounded<string>();

    public void AgentRestarted(string host) => events.Writer.TryWrite("restarted " + host);

    public void PortActivated(string host, string networkId) => events.Writer.TryWrite($"activated {host} {networkId}");

    public async Task<string> NextAsync() => await events.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(1));

    public bool TryTake(out string? item) => events.Reader.TryRead(out item);
}

public sealed class NeutronCatalogTests(NeutronCatalogFixture lab) : IClassFixture<NeutronCatalogFixture>
{
    private const string Compute = "10.77.0.2";

    [Fact]
    public async Task The_first_read_programs_a_bound_port_and_its_address_pair_at_the_agents_tunnel_ip()
    {
        var mac = (string)lab.FirstPort["mac_address"]!;

        var desired = await lab.DesiredAsync();

        Assert.Contains(new DesiredLogicalSwitch(lab.NetworkId, lab.Vni, lab.Prefix + "-net"), desired.LogicalSwitches);
        Assert.Contains(new DesiredVlanBinding("p1", 100, lab.NetworkId), desired.VlanBindings);
        Assert.Contains(new DesiredUcastRemote(mac, "192.168.50.10", lab.NetworkId, Compute), desired.UcastRemotes);
        Assert.Contains(new DesiredUcastRemote(lab.PairMac, "192.168.50.11", lab.NetworkId, Compute), desired.UcastRemotes);
        Assert.Contains(desired.McastRemotes, m => m.LogicalSwitch == lab.NetworkId && m.DstIps.Contains(Compute));
    }

    [Fact]
    public async Task The_hosts_are_the_ovs_agents_and_the_catalogs_own_write_endpoints_are_not_served()
    {
        var (status, hosts) = await lab.SendAsync(HttpMethod.Get, "/v2.0/hosts");
        var (created, _) = await lab.SendAsync(HttpMethod.Post, "/v2.0/networks", """{"network": {"name": "x"}}""");
        var (hostCreated, _) = await lab.SendAsync(HttpMethod.Post, "/v2.0/hosts", """{"host": {"name": "h", "tunnel_ip": "10.0.0.9"}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(hosts!["hosts"]!.AsArray(), h => (string)h!["name"]! == "osv-compute1" && (string)h["tunnel_ip"]! == Compute);
        Assert.Equal(HttpStatusCode.NotFound, created);
        Assert.Equal(HttpStatusCode.NotFound, hostCreated);
    }

    [Fact]
    public async Task A_port_created_or_moved_later_arrives_with_the_next_changed_since_poll()
    {
        var port = await lab.CreatePortAsync("poll", "192.168.50.20");
        var id = (string)port["id"]!;
        var mac = (string)port["mac_address"]!;

        await lab.PollAsync();
        Assert.Equal([new DesiredUcastRemote(mac, "192.168.50.20", lab.NetworkId, Compute)], await lab.RemotesOfAsync(mac));

        // A host without an OVS agent has no VTEP the switch could send to.
        await OpenStackLab.OpenStackAsync("admin", "port", "set", "--host", lab.Prefix + "-nowhere", id);
        await lab.PollAsync();
        Assert.Empty(await lab.RemotesOfAsync(mac));

        await OpenStackLab.OpenStackAsync("admin", "port", "set", "--host", "osv-compute1", id);
        await lab.PollAsync();
        Assert.Equal([new DesiredUcastRemote(mac, "192.168.50.20", lab.NetworkId, Compute)], await lab.RemotesOfAsync(mac));
    }

    [Fact]
    public async Task A_deleted_port_leaves_with_the_next_complete_read()
    {
        var port = await lab.CreatePortAsync("gone", "192.168.50.30");
        var mac = (string)port["mac_address"]!;
        await lab.PollAsync();
        Assert.NotEmpty(await lab.RemotesOfAsync(mac));

        await lab.DeletePortAsync((string)port["id"]!);
        await lab.FullReadAsync();

        Assert.Empty(await lab.RemotesOfAsync(mac));
    }

    [Fact]
    public async Task A_complete_read_that_finds_nothing_new_rewrites_none_of_the_rows_it_already_holds()
    {
        await lab.FullReadAsync();
        var store = lab.App.Services.GetRequiredService<Store>();
        var written = new List<RowChange>();
        void Record(IReadOnlyList<RowChange> changes) => written.AddRange(changes);
        store.Committed += Record;
        try
        {
            // Other tests share the lab's Neutron: only this fixture's network and first port are sure to stay as they are.
            await lab.FullReadAsync();
        }
        finally
        {
            store.Committed -= Record;
        }

        var firstPort = (string)lab.FirstPort["id"]!;
        Assert.DoesNotContain(written, c => c.Row is NetworkRow n && n.Id == lab.NetworkId);
        Assert.DoesNotContain(written, c => c.Row is NetworkSegmentRow s && s.NetworkId == lab.NetworkId);
        Assert.DoesNotContain(written, c => c.Row is PortRow p && p.Id == firstPort);
        Assert.DoesNotContain(written, c => c.Row is HostRow h && h.Name == "osv-compute1");
    }

    [Fact]
    public async Task Notifications_apply_their_payload_or_have_the_resource_read_again_and_deletions_at_once()
    {
        var port = await lab.CreatePortAsync("bus", "192.168.50.40");
        var id = (string)port["id"]!;
        var mac = (string)port["mac_address"]!;

        // The payload of port.create.end is the port as the API gives it.
        var body = await lab.NeutronJsonAsync("/v2.0/ports/" + id);
        await lab.PassAsync(CatalogSyncPass.Notifications, () => lab.Feed.Publish("port.create.end", body));
        Assert.Equal([new DesiredUcastRemote(mac, "192.168.50.40", lab.NetworkId, Compute)], await lab.RemotesOfAsync(mac));

        // A payload without the binding (a caller without the admin role) is only a hint: the port is read again.
        await OpenStackLab.OpenStackAsync("admin", "port", "set", "--host", lab.Prefix + "-elsewhere", id);
        await lab.PassAsync(CatalogSyncPass.Notifications, () => lab.Feed.Publish("port.update.end", $$$"""{"port": {"id": "{{{id}}}", "name": "x"}}"""));
        Assert.Empty(await lab.RemotesOfAsync(mac));

        await lab.DeletePortAsync(id);
        await lab.PassAsync(CatalogSyncPass.Notifications, () => lab.Feed.Publish("port.delete.end", $$$"""{"port_id": "{{{id}}}"}"""));
        var store = lab.App.Services.GetRequiredService<Store>();
        Assert.False(await store.ReadAsync(db => db.Ports.AnyAsync(p => p.Id == id)));
    }

    [Fact]
    public async Task A_port_seen_active_on_a_host_for_the_first_time_on_a_network_is_an_event()
    {
        // Turning a port ACTIVE takes a VM plugged into the lab's compute host; the event's path is the same when the
        // notification says so (with a revision above the one read).
        var id = (string)lab.FirstPort["id"]!;
        var port = JsonNode.Parse(await lab.NeutronJsonAsync("/v2.0/ports/" + id))!;
        port["port"]!["status"] = "ACTIVE";
        port["port"]!["revision_number"] = (long)port["port"]!["revision_number"]! + 1;
        while (lab.Events.TryTake(out _))
        {
        }

        await lab.PassAsync(CatalogSyncPass.Notifications, () => lab.Feed.Publish("port.update.end", port.ToJsonString()));

        Assert.Equal($"activated osv-compute1 {lab.NetworkId}", await lab.Events.NextAsync());
    }

    [Fact]
    public async Task A_connection_to_a_network_not_read_yet_looks_it_up_in_neutron_and_an_unknown_one_is_404()
    {
        var (network, vni) = await lab.CreateNetworkAsync(lab.Prefix + "-late");
        try
        {
            var (status, body) = await lab.ConnectAsync(network, 101);
            var (unknown, error) = await lab.ConnectAsync(Guid.NewGuid().ToString(), 102);

            Assert.True(status == HttpStatusCode.Created, $"{status}: {body}");
            Assert.Contains(new DesiredLogicalSwitch(network, vni, lab.Prefix + "-late"), (await lab.DesiredAsync()).LogicalSwitches);
            Assert.Equal(HttpStatusCode.NotFound, unknown);
            Assert.Equal("NetworkNotFound", (string)error!["NeutronError"]!["type"]!);
            var (deleted, _) = await lab.SendAsync(HttpMethod.Delete, "/v2.0/l2-gateway-connections/" + (string)body!["l2_gateway_connection"]!["id"]!);
            Assert.Equal(HttpStatusCode.NoContent, deleted);
        }
        finally
        {
            await lab.DeleteNetworkAsync(network);
        }
    }
}
