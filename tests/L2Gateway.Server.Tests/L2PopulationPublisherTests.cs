using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Core.L2Population;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Server.OpenStack;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace L2Gateway.Server.Tests;

/// <summary>A server with transport_url on the lab's RabbitMQ, a manual clock, and its own SQLite database.</summary>
public sealed class L2PopServer : IAsyncDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-l2pop-" + Guid.NewGuid().ToString("N")[..10]);

    private L2PopServer(WebApplication app, ManualClock clock)
    {
        App = app;
        Clock = clock;
        Client = new Api(new Uri(ServerHost.Urls(app)[0]), "l2pop-test", "admin");
    }

    public WebApplication App { get; }

    public ManualClock Clock { get; }

    public Api Client { get; }

    public L2PopulationPublisher Publisher => App.Services.GetRequiredService<L2PopulationPublisher>();

    public string AgentHost { get; } = "l2pop-test-agent-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<L2PopServer> StartAsync(int resyncInterval = 30)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var dir = Path.Combine(Path.GetTempPath(), "l2gw-l2pop-" + Guid.NewGuid().ToString("N")[..10]);
        var app = ServerHost.Build(
            new ServerOptions { Bind = "127.0.0.1:0", DataDir = dir, QuotaL2Gateway = -1, TransportUrl = OpenStackLab.RabbitUrl, L2PopResyncInterval = resyncInterval },
            b => b.Services.AddSingleton<TimeProvider>(clock));
        await ServerHost.StartAsync(app);
        await app.Services.GetRequiredService<RabbitBus>().ConnectedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return new L2PopServer(app, clock);
    }

    /// <summary>A switch as its agent reports it: one port p1, a tunnel IP, and the MACs it learned.</summary>
    public Task ReportSwitchAsync(string name, string tunnelIp, params LocalMac[] learned) =>
        App.Services.GetRequiredService<AgentService>().ReportAsync(
            new AgentReport(AgentHost, DateTime.UtcNow, [new SwitchReport(name, true, true, null, "", [tunnelIp], "UP", [new SwitchPortInventory("p1", "UP")], "", learned)]),
            CancellationToken.None);

    /// <summary>A network of the catalog with a given id (a Neutron network's, in OpenStack mode) and VNI.</summary>
    public async Task<string> NetworkAsync(int vni, string? id = null)
    {
        id ??= Guid.NewGuid().ToString();
        NetworkSegment[] segments = [new("vxlan", vni)];
        await App.Services.GetRequiredService<CatalogService>().CreateNetworkAsync(
            new NetworkRow { Id = id, Name = "l2pop-" + vni, ProjectId = "l2pop-test", SegmentsJson = Mapping.ToJson(segments) }, segments, CancellationToken.None);
        return id;
    }

    public async Task<string> GatewayAsync(string switchName)
    {
        var (status, body) = await Client.PostAsync("/v2.0/l2-gateways", $$$"""{"l2_gateway":{"name":"gw-{{{switchName}}}","devices":[{"device_name":"{{{switchName}}}","interfaces":[{"name":"p1"}]}]}}""");
        Assert.True(status == System.Net.HttpStatusCode.Created, $"gateway create: {status} {body}");
        return (string)body!["l2_gateway"]!["id"]!;
    }

    public async Task<string> ConnectAsync(string gateway, string network)
    {
        var (status, body) = await Client.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}","segmentation_id":100}}""");
        Assert.True(status == System.Net.HttpStatusCode.Created, $"connection create: {status} {body}");
        return (string)body!["l2_gateway_connection"]!["id"]!;
    }

    public async Task DisconnectAsync(string connection)
    {
        var (status, _) = await Client.SendAsync(HttpMethod.Delete, $"/v2.0/l2-gateway-connections/{connection}");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, status);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>
/// The l2population publisher on the lab's real RabbitMQ, seen from a queue of the test's own bound to the OVS agents'
/// fanout exchange (it gets a copy of every l2population cast; the test keeps those of its own network).
/// </summary>
public sealed class L2PopulationPublisherTests
{
    private const string Fanout = L2PopulationWire.Topic + "_fanout";

    private static async Task<LabQueue> FanoutCopiesAsync(params (string Exchange, string Key)[] more)
    {
        var queue = await LabQueue.BindAsync(more);
        await queue.Channel.ExchangeDeclareAsync(Fanout, ExchangeType.Fanout, durable: false, autoDelete: true);
        await queue.Channel.QueueBindAsync(queue.Name, Fanout, "");
        return queue;
    }

    private static int UniqueVni() => Random.Shared.Next(200_000, 16_000_000);

    private static string TunnelIp() => $"198.51.100.{Random.Shared.Next(1, 255)}";

    /// <summary>The next cast about <paramref name="network"/>: its method and its entries as "IP MAC MACIP" lines.</summary>
    private static async Task<(string Method, JsonObject Inner, List<string> Entries)> NextAboutAsync(LabQueue queue, string network, Func<Received, bool>? also = null)
    {
        var message = await queue.NextAsync(m => (also?.Invoke(m) ?? true) && OsloWire.Open(m.Body)["args"]?["fdb_entries"]?[network] is not null);

        // The body is what oslo.messaging would have written for the same message, byte for byte.
        var inner = OsloWire.Open(message.Body);
        Assert.Equal(Encoding.UTF8.GetString(OsloWire.Envelope(inner)), Encoding.UTF8.GetString(message.Body));
        Assert.Equal("1.0", (string)inner["version"]!);
        Assert.Equal("application/json", message.Properties.ContentType);
        Assert.Equal(DeliveryModes.Persistent, message.Properties.DeliveryMode);
        var entry = inner["args"]!["fdb_entries"]![network]!;
        Assert.Equal("vxlan", (string)entry["network_type"]!);
        var lines = entry["ports"]!.AsObject()
            .SelectMany(p => p.Value!.AsArray().Select(e => $"{p.Key} {(string)e![0]!} {(string)e[1]!}"))
            .ToList();
        return ((string)inner["method"]!, inner, lines);
    }

    private static void AssertCast(string method, IEnumerable<string> entries, string actualMethod, IEnumerable<string> actualEntries)
    {
        Assert.Equal(method, actualMethod);
        Assert.Equal(entries, actualEntries);
    }

    [Fact]
    public async Task Connections_and_learned_macs_reach_the_agents_as_l2population_casts()
    {
        var vni = UniqueVni();
        var ip = TunnelIp();
        var sw = "l2pop-sw-" + Guid.NewGuid().ToString("N")[..8];
        await using var copies = await FanoutCopiesAsync();
        await using var server = await L2PopServer.StartAsync();
        await server.ReportSwitchAsync(sw, ip);
        var network = await server.NetworkAsync(vni);
        var gateway = await server.GatewayAsync(sw);

        var connection = await server.ConnectAsync(gateway, network);
        var (method, inner, entries) = await NextAboutAsync(copies, network);
        Assert.Equal("add_fdb_entries", method);
        Assert.Equal([$"{ip} 00:00:00:00:00:00 0.0.0.0"], entries);
        Assert.Equal(
            "{\"fdb_entries\": {\"" + network + "\": {\"segment_id\": " + vni + ", \"network_type\": \"vxlan\", \"ports\": {\"" + ip + "\": [[\"00:00:00:00:00:00\", \"0.0.0.0\"]]}}}}",
            PythonJson.Serialize(inner["args"]));

        // The switch learns a MAC: only that entry is added.
        await server.ReportSwitchAsync(sw, ip, new LocalMac(network, "02:00:00:00:00:20", "192.168.50.20", ip));
        (method, _, entries) = await NextAboutAsync(copies, network);
        AssertCast("add_fdb_entries", [$"{ip} 02:00:00:00:00:20 192.168.50.20"], method, entries);

        // Its IP changes: the old entry goes first, then the new one comes.
        await server.ReportSwitchAsync(sw, ip, new LocalMac(network, "02:00:00:00:00:20", "192.168.50.21", ip));
        (method, _, entries) = await NextAboutAsync(copies, network);
        AssertCast("remove_fdb_entries", [$"{ip} 02:00:00:00:00:20 192.168.50.20"], method, entries);
        (method, _, entries) = await NextAboutAsync(copies, network);
        AssertCast("add_fdb_entries", [$"{ip} 02:00:00:00:00:20 192.168.50.21"], method, entries);

        // The connection goes: everything it brought is removed.
        await server.DisconnectAsync(connection);
        (method, _, entries) = await NextAboutAsync(copies, network);
        AssertCast("remove_fdb_entries", [$"{ip} 00:00:00:00:00:00 0.0.0.0", $"{ip} 02:00:00:00:00:20 192.168.50.21"], method, entries);
    }

    [Fact]
    public async Task Everything_is_sent_again_every_resync_interval_to_a_host_and_per_network_on_request()
    {
        var vni = UniqueVni();
        var ip = TunnelIp();
        var sw = "l2pop-sw-" + Guid.NewGuid().ToString("N")[..8];
        var host = "l2pop-host-" + Guid.NewGuid().ToString("N")[..8];
        await using var copies = await FanoutCopiesAsync((RabbitBus.ControlExchange, $"{L2PopulationWire.Topic}.{host}"));
        await using var server = await L2PopServer.StartAsync(resyncInterval: 45);
        await server.ReportSwitchAsync(sw, ip, new LocalMac("other-network", "02:00:00:00:00:99", "", ip));
        var network = await server.NetworkAsync(vni);
        await server.ConnectAsync(await server.GatewayAsync(sw), network);
        var expected = new List<string> { $"{ip} 00:00:00:00:00:00 0.0.0.0" };
        Assert.Equal(expected, (await NextAboutAsync(copies, network)).Entries);

        // The periodic resync: the same entries again, on the server's clock.
        await server.Clock.ArmedAsync(TimeSpan.FromSeconds(45));
        server.Clock.Advance(TimeSpan.FromSeconds(45));
        var resent = await NextAboutAsync(copies, network);
        AssertCast("add_fdb_entries", expected, resent.Method, resent.Entries);

        // An agent that restarted: everything, to its host only.
        server.Publisher.ResendHost(host);
        var toHost = await NextAboutAsync(copies, network, m => m.RoutingKey == $"{L2PopulationWire.Topic}.{host}" && m.Exchange == RabbitBus.ControlExchange);
        AssertCast("add_fdb_entries", expected, toHost.Method, toHost.Entries);

        // A host's first port on the network: that network, to every agent.
        server.Publisher.ResendNetwork(network);
        var again = await NextAboutAsync(copies, network, m => m.Exchange == Fanout);
        AssertCast("add_fdb_entries", expected, again.Method, again.Entries);
        Assert.Single(again.Inner["args"]!["fdb_entries"]!.AsObject());
    }

    [Fact]
    public void Transport_url_and_resync_interval_are_server_options()
    {
        var options = ServerConfiguration.Load(["--transport-url", "rabbit://u:p@rabbit1:5672/"], new Dictionary<string, string?> { ["L2GW_L2POP_RESYNC_INTERVAL"] = "12" });

        Assert.Equal("rabbit://u:p@rabbit1:5672/", options.TransportUrl);
        Assert.Equal(12, options.L2PopResyncInterval);
        Assert.Null(ServerConfiguration.Load([], new Dictionary<string, string?>()).TransportUrl);
        Assert.Equal(30, ServerConfiguration.Load([], new Dictionary<string, string?>()).L2PopResyncInterval);
        var bad = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--transport-url=rabbit://u:secret@h:99999/"], new Dictionary<string, string?>()));
        Assert.Contains("invalid port '99999'", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--l2pop-resync-interval", "0"], new Dictionary<string, string?>()));
    }

    [Fact]
    public async Task The_real_ovs_agent_gets_a_tunnel_and_flood_flow_to_the_switch_and_loses_them_on_removal()
    {
        var name = "l2gw-l2pop-" + Guid.NewGuid().ToString("N")[..8];
        var switchIp = $"10.77.0.{Random.Shared.Next(150, 250)}";
        var tunnelPort = "vxlan-" + string.Concat(switchIp.Split('.').Select(b => int.Parse(b, CultureInfo.InvariantCulture).ToString("x2", CultureInfo.InvariantCulture)));
        var neutron = await LabNetwork.CreateAsync(name);
        var vm = (Tap: "", Port: "");
        try
        {
            // A port of that network bound to the compute host, plugged on its br-int (an OVS internal port, so no
            // namespace or veth of anyone else's is touched): the agent now has a local port on the network.
            var port = JsonNode.Parse(await OpenStackLab.OpenStackAsync("admin", "port", "create", "--network", neutron.Id, "--host", Compute.Host, name, "-f", "json"))!;
            vm = await Compute.PlugAsync((string)port["id"]!, (string)port["mac_address"]!);
            await Compute.ActiveAsync(vm.Port);

            await using var server = await L2PopServer.StartAsync();
            var sw = "l2pop-sw-" + Guid.NewGuid().ToString("N")[..8];
            await server.ReportSwitchAsync(sw, switchIp, new LocalMac(neutron.Id, "02:00:00:00:77:20", "192.168.77.20", switchIp));
            await server.NetworkAsync(neutron.Vni, neutron.Id);
            var connection = await server.ConnectAsync(await server.GatewayAsync(sw), neutron.Id);

            var ofport = await Compute.TunnelPortAsync(tunnelPort, present: true);
            var tunId = $"load:0x{neutron.Vni:x}->NXM_NX_TUN_ID[]";
            await Compute.FlowsAsync(22, flows => flows.Any(f => f.Contains(tunId, StringComparison.Ordinal) && f.Contains($"output:{ofport}", StringComparison.Ordinal)), "flood flow to the switch in table 22");
            await Compute.FlowsAsync(20, flows => flows.Any(f => f.Contains("dl_dst=02:00:00:00:77:20", StringComparison.Ordinal) && f.Contains($"output:{ofport}", StringComparison.Ordinal)), "unicast flow to the learned MAC in table 20");

            await server.DisconnectAsync(connection);
            await Compute.TunnelPortAsync(tunnelPort, present: false);
            await Compute.FlowsAsync(22, flows => !flows.Any(f => f.Contains(tunId, StringComparison.Ordinal) && f.Contains($"output:{ofport}", StringComparison.Ordinal)), "flood flow gone");
            await Compute.FlowsAsync(20, flows => !flows.Any(f => f.Contains("dl_dst=02:00:00:00:77:20", StringComparison.Ordinal) && f.Contains("priority=2", StringComparison.Ordinal)), "unicast flow gone");
        }
        finally
        {
            if (vm.Tap.Length > 0)
            {
                await Compute.UnplugAsync(vm.Tap);
            }

            if (vm.Port.Length > 0)
            {
                await OpenStackLab.OpenStackAsync("admin", "port", "delete", vm.Port);
            }

            await neutron.DeleteAsync();
        }
    }
}

/// <summary>The lab's compute host (netns osv-cmp): its OVS, read and changed only through its own tools.</summary>
internal static class Compute
{
    public const string Host = "osv-compute1";

    private static string Dir => OpenStackLab.Directory;

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var result = await ChildProcess.RunAsync(program, args, TimeSpan.FromSeconds(60), start => start.Environment["OVS_RUNDIR"] = Path.Combine(Dir, "ovs"));
        return result.Exit == 0 ? result.Out : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({result.Exit}): {result.Err}");
    }

    private static Task<string> VsctlAsync(params string[] args) =>
        RunAsync("ovs-vsctl", ["--timeout=10", $"--db=unix:{Path.Combine(Dir, "ovs", "db.sock")}", .. args]);

    /// <summary>Plugs a port the way os-vif does (iface-id, attached-mac, iface-status on br-int), as an internal port.</summary>
    public static async Task<(string Tap, string Port)> PlugAsync(string portId, string mac)
    {
        var tap = "tap" + portId[..11];
        await VsctlAsync("add-port", "br-int", tap, "--", "set", "Interface", tap, "type=internal",
            $"external_ids:iface-id={portId}", $"external_ids:attached-mac={mac}", "external_ids:iface-status=active");
        return (tap, portId);
    }

    public static Task UnplugAsync(string tap) => VsctlAsync("--if-exists", "del-port", "br-int", tap);

    /// <summary>Waits until the agent has wired the port and Neutron shows it ACTIVE.</summary>
    public static Task ActiveAsync(string portId) =>
        UntilAsync(async () => await OpenStackLab.OpenStackAsync("admin", "port", "show", portId, "-f", "value", "-c", "status") == "ACTIVE", $"port {portId} ACTIVE", 120);

    /// <summary>Waits until br-tun has (or no longer has) the tunnel port; its OpenFlow port number.</summary>
    public static async Task<string> TunnelPortAsync(string name, bool present)
    {
        await UntilAsync(async () => (await VsctlAsync("list-ports", "br-tun")).Split('\n').Contains(name) == present, $"br-tun port {name} {(present ? "created" : "deleted")}", 60);
        return present ? (await VsctlAsync("get", "Interface", name, "ofport")).Trim() : "";
    }

    public static Task FlowsAsync(int table, Func<string[], bool> condition, string what) =>
        UntilAsync(async () => condition((await RunAsync("ovs-ofctl", "dump-flows", "br-tun", $"table={table}")).Split('\n')), what, 60);

    // The agent applies a cast within about a second; it announces nothing, so its tables are read until they show it.
    private static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never happened within {seconds} s: {what}");
            await Task.Delay(250);
        }
    }
}
