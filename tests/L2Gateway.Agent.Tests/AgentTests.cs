using System.Text.Json.Nodes;
using L2Gateway.Ovsdb.Data;

namespace L2Gateway.Agent.Tests;

/// <summary>The agent against real switch databases: what a connection writes, and convergence after failures.</summary>
public sealed class AgentTests
{
    /// <summary>The switch's content as sorted lines, one per row or binding; duplicates stay visible.</summary>
    private static async Task<List<string>> ContentAsync(SwitchDb sw)
    {
        var db = await sw.RowsAsync(["Logical_Switch", "Physical_Locator", "Physical_Locator_Set", "Physical_Port", "Ucast_Macs_Remote", "Mcast_Macs_Remote"]);
        var ls = db["Logical_Switch"].ToDictionary(r => r.Uuid, r => r.GetString("name"));
        var locators = db["Physical_Locator"].ToDictionary(r => r.Uuid, r => r.GetString("dst_ip"));
        var sets = db["Physical_Locator_Set"].ToDictionary(r => r.Uuid, r => r.GetUuidSet("locators"));
        var lines = new List<string>();
        foreach (var row in db["Logical_Switch"])
        {
            lines.Add($"LS {row.GetString("name")} key={row.GetOptionalInteger("tunnel_key")} desc={row.GetString("description")}");
        }

        foreach (var row in db["Physical_Port"])
        {
            foreach (var (vlan, target) in row.GetIntegerUuidMap("vlan_bindings"))
            {
                lines.Add($"BIND {row.GetString("name")}/{vlan} {ls[target]}");
            }
        }

        foreach (var row in db["Ucast_Macs_Remote"])
        {
            lines.Add($"UCAST {row.GetString("MAC")} {row.GetString("ipaddr")} {ls[row.GetUuid("logical_switch")]} {locators[row.GetUuid("locator")]}");
        }

        foreach (var row in db["Mcast_Macs_Remote"])
        {
            var ips = sets[row.GetUuid("locator_set")].Select(l => locators[l]).Order(StringComparer.Ordinal);
            lines.Add($"MCAST {row.GetString("MAC")} {ls[row.GetUuid("logical_switch")]} {string.Join(",", ips)}");
        }

        lines.Add($"LOCATORS {locators.Count}/{locators.Values.Distinct().Count()}");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static async Task ConvergesToAsync(SwitchDb sw, List<string> expected, string what)
    {
        List<string> last = [];
        try
        {
            await Eventually.HoldsAsync(async () => (last = await ContentAsync(sw)).SequenceEqual(expected), what);
        }
        catch (Exception e) when (e is Xunit.Sdk.FailException)
        {
            Assert.Fail($"{what}\nexpected:\n  {string.Join("\n  ", expected)}\nactual:\n  {string.Join("\n  ", last)}");
        }
    }

    private sealed record World(Controller Server, string Network, string Gateway, string Connection);

    private static async Task<string> NetworkAsync(Controller server, string name, int vni) =>
        (string)(await server.PostAsync("/v2.0/networks", $$$"""{"network":{"name":"{{{name}}}","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""))["network"]!["id"]!;

    private static async Task<string> PortAsync(Controller server, string network, string mac, string ip, string host) =>
        (string)(await server.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{network}}}","mac_address":"{{{mac}}}","fixed_ips":[{"ip_address":"{{{ip}}}"}],"binding:host_id":"{{{host}}}"}}"""))["port"]!["id"]!;

    private static async Task<string> GatewayAsync(Controller server, string name, string device, string interfaces) =>
        (string)(await server.PostAsync("/v2.0/l2-gateways", $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"{{{device}}}","interfaces":{{{interfaces}}}}]}}"""))["l2_gateway"]!["id"]!;

    private static async Task<string> ConnectAsync(Controller server, string gateway, string network, string extra = "") =>
        (string)(await server.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}"{{{extra}}}}}"""))["l2_gateway_connection"]!["id"]!;

    private static async Task SwitchKnownAsync(Controller server, string name) =>
        await Eventually.HoldsAsync(
            async () => ((await server.GetAsync("/v2.0/l2-gateway-switches"))["l2_gateway_switches"]!.AsArray())
                .Any(s => (string?)s!["name"] == name && (bool)s["connected"]! && s["ports"]!.AsArray().Count > 0),
            $"switch {name} reported with its ports");

    private static async Task<string> StatusAsync(Controller server, string connection) =>
        (string)(await server.GetAsync($"/v2.0/l2-gateway-connections/{connection}"))["l2_gateway_connection"]!["status"]!;

    [Fact]
    public async Task Connection_lifecycle_writes_exactly_the_spec_rows_and_keeps_them_right()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        await using var agent = await RunningAgent.StartAsync(server.Url, "agent-a", sw);
        await SwitchKnownAsync(server, "tor1");

        // Foreign configuration on the switch: must survive everything below.
        sw.Vtep("add-ls foreign -- set Logical_Switch foreign tunnel_key=9 -- bind-ls tor1 p2 9 foreign -- add-ucast-remote foreign 02:00:00:00:99:99 198.51.100.9");
        var foreign = new List<string> { "BIND p2/9 foreign", "LS foreign key=9 desc=", "UCAST 02:00:00:00:99:99  foreign 198.51.100.9" };

        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute2","tunnel_ip":"10.0.0.12"}}""");
        var net = await NetworkAsync(server, "blue", 5000);
        var vm1 = await PortAsync(server, net, "02:00:00:00:00:01", "192.168.0.1", "compute1");
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1","segmentation_id":[100]}]""");
        var connection = await ConnectAsync(server, gw, net);

        List<string> Expected(params string[] rows) => [.. foreign, .. rows];
        await ConvergesToAsync(sw, [.. Expected(
            $"LS {net} key=5000 desc=blue",
            $"BIND p1/100 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.11",
            $"MCAST unknown-dst {net} 10.0.0.11",
            "LOCATORS 2/2").Order(StringComparer.Ordinal)], "connection create");
        await Eventually.HoldsAsync(async () => await StatusAsync(server, connection) == "ACTIVE", "connection ACTIVE");

        // A port added, one moved to another host: the rows and the flood list follow.
        await PortAsync(server, net, "02:00:00:00:00:02", "192.168.0.2", "compute2");
        await server.PutAsync($"/v2.0/ports/{vm1}", """{"port":{"binding:host_id":"compute2"}}""");
        await ConvergesToAsync(sw, [.. Expected(
            $"LS {net} key=5000 desc=blue",
            $"BIND p1/100 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.12",
            $"UCAST 02:00:00:00:00:02 192.168.0.2 {net} 10.0.0.12",
            $"MCAST unknown-dst {net} 10.0.0.12",
            "LOCATORS 2/2").Order(StringComparer.Ordinal)], "port added and moved");

        // Drift: rows deleted and altered by hand are repaired.
        sw.Vtep($"del-ucast-remote {net} 02:00:00:00:00:02 -- unbind-ls tor1 p1 100");
        await ConvergesToAsync(sw, [.. Expected(
            $"LS {net} key=5000 desc=blue",
            $"BIND p1/100 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.12",
            $"UCAST 02:00:00:00:00:02 192.168.0.2 {net} 10.0.0.12",
            $"MCAST unknown-dst {net} 10.0.0.12",
            "LOCATORS 2/2").Order(StringComparer.Ordinal)], "drift repaired");

        // Gateway update moves the binding; connection delete removes exactly what was the product's.
        await server.PutAsync($"/v2.0/l2-gateways/{gw}", """{"l2_gateway":{"devices":[{"device_name":"tor1","interfaces":[{"name":"p1","segmentation_id":[200]}]}]}}""");
        await ConvergesToAsync(sw, [.. Expected(
            $"LS {net} key=5000 desc=blue",
            $"BIND p1/200 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.12",
            $"UCAST 02:00:00:00:00:02 192.168.0.2 {net} 10.0.0.12",
            $"MCAST unknown-dst {net} 10.0.0.12",
            "LOCATORS 2/2").Order(StringComparer.Ordinal)], "gateway update");
        await server.DeleteAsync($"/v2.0/l2-gateway-connections/{connection}");
        await ConvergesToAsync(sw, [.. Expected("LOCATORS 1/1").Order(StringComparer.Ordinal)], "connection delete");
    }

    [Fact]
    public async Task Two_gateways_on_one_network_share_rows_and_switches_flood_to_each_other()
    {
        using var tor1 = new SwitchDb("tor1", "192.0.2.1");
        using var tor2 = new SwitchDb("tor2", "192.0.2.2", "e1");
        await using var server = await Controller.StartAsync();
        await using var agent = await RunningAgent.StartAsync(server.Url, "agent-b", tor1, tor2);
        await SwitchKnownAsync(server, "tor1");
        await SwitchKnownAsync(server, "tor2");
        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = await NetworkAsync(server, "blue", 6000);
        await PortAsync(server, net, "02:00:00:00:00:01", "192.168.0.1", "compute1");
        var a = await GatewayAsync(server, "a", "tor1", """[{"name":"p1"}]""");
        var b = await GatewayAsync(server, "b", "tor1", """[{"name":"p2"}]""");
        var c = await GatewayAsync(server, "c", "tor2", """[{"name":"e1"}]""");
        await ConnectAsync(server, a, net, ""","segmentation_id":10""");
        await ConnectAsync(server, b, net, ""","segmentation_id":20""");
        await ConnectAsync(server, c, net, ""","segmentation_id":30""");

        await ConvergesToAsync(tor1, [.. new[]
        {
            $"LS {net} key=6000 desc=blue", $"BIND p1/10 {net}", $"BIND p2/20 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.11",
            $"MCAST unknown-dst {net} 10.0.0.11,192.0.2.2", "LOCATORS 2/2",
        }.Order(StringComparer.Ordinal)], "tor1 shares one logical switch and floods to tor2");
        await ConvergesToAsync(tor2, [.. new[]
        {
            $"LS {net} key=6000 desc=blue", $"BIND e1/30 {net}",
            $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.11",
            $"MCAST unknown-dst {net} 10.0.0.11,192.0.2.1", "LOCATORS 2/2",
        }.Order(StringComparer.Ordinal)], "tor2 floods to tor1");
    }

    [Fact]
    public async Task Wiped_switch_restarted_agent_and_outage_all_converge_without_duplicates()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        var agent = await RunningAgent.StartAsync(server.Url, "agent-c", sw);
        await SwitchKnownAsync(server, "tor1");
        var (net, expected) = await OnePortConnectedAsync(server, 7000);
        await ConvergesToAsync(sw, expected, "first programming");

        sw.WipeAndRestart();
        await ConvergesToAsync(sw, expected, "switch database wiped and restarted");

        // While no agent serves the switch, a hand deletes one of the product's rows and alters another: the
        // restarted agent must repair both (so it is seen doing something, not only finding the rows in place).
        await agent.DisposeAsync();
        sw.Vtep($"del-ucast-remote {net} 02:00:00:00:00:01 -- set Logical_Switch {net} tunnel_key=1");
        Assert.NotEqual(expected, await ContentAsync(sw));
        agent = await RunningAgent.StartAsync(server.Url, "agent-c", sw);
        await ConvergesToAsync(sw, expected, "agent restarted: what changed while it was down is repaired");

        // The switch is away while a port is added: the change lands when it is back. The switch comes back only
        // once the agent has seen it go and holds the desired state with the new port.
        sw.Kill();
        await Eventually.HoldsAsync(() => Task.FromResult(!agent.IsConnected("tor1")), "the agent sees the switch gone");
        await PortAsync(server, net, "02:00:00:00:00:02", "192.168.0.2", "compute1");
        await Eventually.HoldsAsync(() => Task.FromResult(agent.Wants("tor1", "02:00:00:00:00:02")), "the agent holds the port added during the outage");
        sw.Start();
        expected = [.. expected.Append($"UCAST 02:00:00:00:00:02 192.168.0.2 {net} 10.0.0.11").Order(StringComparer.Ordinal)];
        await ConvergesToAsync(sw, expected, "change made during an outage");
        await agent.DisposeAsync();
    }

    [Fact]
    public async Task Two_agents_on_one_switch_one_writes_and_the_other_takes_over()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        var first = await RunningAgent.StartAsync(server.Url, "agent-1", sw);
        await Eventually.HoldsAsync(() => Task.FromResult(first.IsWriter("tor1")), "first agent writes");
        await using var second = await RunningAgent.StartAsync(server.Url, "agent-2", sw);
        await Eventually.HoldsAsync(() => Task.FromResult(second.IsStandingBy("tor1")), "the switch queues the second agent's lock request");
        Assert.False(second.IsWriter("tor1"));

        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = await NetworkAsync(server, "blue", 8000);
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await SwitchKnownAsync(server, "tor1");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        await ConvergesToAsync(sw, [.. new[] { $"LS {net} key=8000 desc=blue", $"BIND p1/100 {net}", "LOCATORS 0/0" }.Order(StringComparer.Ordinal)], "programmed by the writer");

        await first.DisposeAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(second.IsWriter("tor1")), "second agent takes the lock");
        await PortAsync(server, net, "02:00:00:00:00:01", "192.168.0.1", "compute1");
        await ConvergesToAsync(sw, OnePortRows(net, 8000), "programmed by the new writer");
    }

    [Fact]
    public async Task An_agent_whose_lock_is_stolen_stops_writing_until_it_gets_the_lock_back()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        await using var agent = await RunningAgent.StartAsync(server.Url, "agent-1", sw);
        await Eventually.HoldsAsync(() => Task.FromResult(agent.IsWriter("tor1")), "the agent writes");
        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = await NetworkAsync(server, "blue", 8000);
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await SwitchKnownAsync(server, "tor1");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        List<string> programmed = [.. new[] { $"LS {net} key=8000 desc=blue", $"BIND p1/100 {net}", "LOCATORS 0/0" }.Order(StringComparer.Ordinal)];
        await ConvergesToAsync(sw, programmed, "programmed");

        // An operator's tool takes the lock: the agent must leave the switch alone while it is held elsewhere.
        var thief = await L2Gateway.Ovsdb.OvsdbClient.ConnectAsync(sw.Endpoint);
        await thief.StealAsync(SwitchActor.LockName);
        await Eventually.HoldsAsync(() => Task.FromResult(!agent.IsWriter("tor1")), "the agent knows it lost the lock");
        await PortAsync(server, net, "02:00:00:00:00:01", "192.168.0.1", "compute1");
        await Eventually.HoldsAsync(() => Task.FromResult(agent.Wants("tor1", "02:00:00:00:00:01")), "the agent's loop handled the new port");
        Assert.False(agent.IsWriter("tor1"));
        Assert.Equal(programmed, await ContentAsync(sw));

        // Its heartbeat says why it holds back: the dashboard shows the switch waiting for its lock.
        await Eventually.HoldsAsync(
            async () => (string?)(await server.GetAsync("/v2.0/l2gw-dashboard"))["l2gw_dashboard"]!["switches"]!.AsArray().Single(s => (string?)s!["name"] == "tor1")!["reason"]
                == "lock not held: agent agent-1 waits for the writer lock, which another session holds",
            "the dashboard shows tor1 waiting for its lock");

        // Released: the agent was waiting for it, takes it back and writes what it held back.
        await thief.DisposeAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(agent.IsWriter("tor1")), "the agent gets the lock back");
        await ConvergesToAsync(sw, OnePortRows(net, 8000), "the held-back port written");
    }

    [Fact]
    public async Task Learned_macs_and_faults_reach_the_inventory_and_the_fdb()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        await using var agent = await RunningAgent.StartAsync(server.Url, "agent-d", sw);
        await SwitchKnownAsync(server, "tor1");
        var net = await NetworkAsync(server, "blue", 9000);
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        await Eventually.HoldsAsync(async () => (await sw.RowsAsync("Logical_Switch")).Count == 1, "logical switch written");

        sw.Vtep($"add-ucast-local {net} 02:00:00:00:00:20 192.0.2.1");
        await Eventually.HoldsAsync(
            async () => (await server.GetAsync($"/v2.0/networks/{net}/l2gw-fdb"))["l2gw_fdb"]!["macs"]!.AsArray().Any(m => (string?)m!["mac"] == "02:00:00:00:00:20"),
            "learned MAC in l2gw-fdb");
        var fdb = (await server.GetAsync($"/v2.0/networks/{net}/l2gw-fdb"))["l2gw_fdb"]!;
        Assert.Equal("""["192.0.2.1"]""", fdb["flood"]!.ToJsonString());

        sw.Vtep("set Physical_Port p2 port_fault_status=[\\\"down\\\"]");
        await Eventually.HoldsAsync(
            async () => (await server.GetAsync("/v2.0/l2-gateway-switches/tor1"))["l2_gateway_switch"]!["ports"]!.AsArray()
                .Any(p => (string?)p!["name"] == "p2" && (string?)p["fault_status"] == "down"),
            "port fault in the inventory");

        // Now that the inventory knows p2 is faulty, a connection to it is refused.
        var gw2 = await GatewayAsync(server, "gw2", "tor1", """[{"name":"p2"}]""");
        using var http = new HttpClient { BaseAddress = server.Url };
        using var response = await http.PostAsync(
            new Uri("v2.0/l2-gateway-connections", UriKind.Relative),
            new StringContent($$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw2}}}","network_id":"{{{net}}}","segmentation_id":5}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, response.StatusCode);
        var agents = (await server.GetAsync("/v2.0/agents"))["agents"]!.AsArray();
        Assert.Contains(agents, a => (string?)a!["host"] == "agent-d" && (bool)a["alive"]!);
    }

    [Fact]
    public async Task Passive_mode_programs_a_switch_that_dials_in()
    {
        using var sw = new SwitchDb(dialsOut: true);
        await using var server = await Controller.StartAsync();
        var port = SwitchDb.FreePort();
        await using var agent = await RunningAgent.StartPassiveAsync(server.Url, "agent-p", port);
        await Eventually.HoldsAsync(() => Task.FromResult(agent.Listening), "the agent listens for switches");
        sw.Vtep($"set-manager tcp:127.0.0.1:{port}");
        await SwitchKnownAsync(server, "tor1");

        var (net, expected) = await OnePortConnectedAsync(server, 9100);
        await ConvergesToAsync(sw, expected, "a switch that dialled in is programmed");

        // The switch restarts: it dials in again and is reprogrammed from scratch.
        sw.WipeAndRestart();
        sw.Vtep($"set-manager tcp:127.0.0.1:{port}");
        await ConvergesToAsync(sw, expected, "after the switch restarted empty and dialled in again");
    }

    /// <summary>
    /// Host compute1 with one port on a new network "blue" with this VNI, connected through gateway "gw" to tor1's p1
    /// on VLAN 100; with the rows tor1 must then hold.
    /// </summary>
    private static async Task<(string Net, List<string> Expected)> OnePortConnectedAsync(Controller server, int vni)
    {
        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = await NetworkAsync(server, "blue", vni);
        await PortAsync(server, net, "02:00:00:00:00:01", "192.168.0.1", "compute1");
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        return (net, OnePortRows(net, vni));
    }

    private static List<string> OnePortRows(string net, int vni) => [.. new[]
    {
        $"LS {net} key={vni} desc=blue", $"BIND p1/100 {net}",
        $"UCAST 02:00:00:00:00:01 192.168.0.1 {net} 10.0.0.11",
        $"MCAST unknown-dst {net} 10.0.0.11", "LOCATORS 1/1",
    }.Order(StringComparer.Ordinal)];

    /// <summary>The reference's per-switch files for switch tor1 in a new folder: tor1.key, tor1.cert, tor1.ca_cert.</summary>
    private static string TlsFiles(string folder, (string Cert, string Key) identity, string caCert)
    {
        Directory.CreateDirectory(folder);
        File.Copy(identity.Key, Path.Combine(folder, "tor1.key"));
        File.Copy(identity.Cert, Path.Combine(folder, "tor1.cert"));
        File.Copy(caCert, Path.Combine(folder, "tor1.ca_cert"));
        return folder;
    }

    [Fact]
    public async Task Tls_with_the_reference_per_switch_files()
    {
        using var pki = new L2Gateway.Ovsdb.Tests.TestPki();
        using var sw = SwitchDb.WithTls(pki.ServerCert.Key, pki.ServerCert.Cert, pki.CaCert);
        var certs = TlsFiles(Path.Combine(pki.Dir, "agent"), pki.ClientCert, pki.CaCert);
        await using var server = await Controller.StartAsync();
        await using var agent = await RunningAgent.StartTlsAsync(server.Url, "agent-tls", sw, certs);
        await SwitchKnownAsync(server, "tor1");
        var net = await NetworkAsync(server, "blue", 9200);
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        await ConvergesToAsync(sw, [.. new[] { $"LS {net} key=9200 desc=blue", $"BIND p1/100 {net}", "LOCATORS 0/0" }.Order(StringComparer.Ordinal)], "programmed over TLS");
    }

    [Fact]
    public async Task Passive_mode_over_tls_accepts_a_switch_with_its_own_files()
    {
        using var pki = new L2Gateway.Ovsdb.Tests.TestPki();
        using var sw = SwitchDb.DialingOutWithTls(pki.ClientCert.Key, pki.ClientCert.Cert, pki.CaCert);
        var certs = TlsFiles(Path.Combine(pki.Dir, "agent-passive"), pki.ServerCert, pki.CaCert);
        await using var server = await Controller.StartAsync();
        var port = SwitchDb.FreePort();
        await using var agent = await RunningAgent.StartPassiveTlsAsync(server.Url, "agent-ptls", port, certs);
        await Eventually.HoldsAsync(() => Task.FromResult(agent.Listening), "the agent listens for switches");

        // A plain connection is not a switch: refused, and the listener goes on.
        using (var plain = new System.Net.Sockets.TcpClient())
        {
            await plain.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await plain.GetStream().WriteAsync("""{"method":"echo","params":[],"id":0}"""u8.ToArray());
        }

        sw.Vtep($"set-manager ssl:127.0.0.1:{port}");
        await SwitchKnownAsync(server, "tor1");
        var net = await NetworkAsync(server, "blue", 9300);
        var gw = await GatewayAsync(server, "gw", "tor1", """[{"name":"p1"}]""");
        await ConnectAsync(server, gw, net, ""","segmentation_id":100""");
        await ConvergesToAsync(sw, [.. new[] { $"LS {net} key=9300 desc=blue", $"BIND p1/100 {net}", "LOCATORS 0/0" }.Order(StringComparer.Ordinal)], "programmed over TLS after dialling in");
    }

    [Fact]
    public void A_switch_dialling_in_is_named_by_its_address_in_ovsdb_hosts()
    {
        var options = new AgentOptions
        {
            OvsdbHosts = AgentOptions.ParseOvsdbHosts("tor1:192.0.2.10:6632,tor2:[2001:db8::2]:6632"),
            PrivateKeyBasePath = "/keys",
            CertificateBasePath = "/certs",
            CaCertificateBasePath = "/ca",
        };
        Assert.Equal("tor1", options.HostAt(System.Net.IPAddress.Parse("192.0.2.10"))!.Name);
        Assert.Equal("tor1", options.HostAt(System.Net.IPAddress.Parse("::ffff:192.0.2.10"))!.Name);
        Assert.Equal("tor2", options.HostAt(System.Net.IPAddress.Parse("2001:db8::2"))!.Name);
        Assert.Null(options.HostAt(System.Net.IPAddress.Parse("192.0.2.11")));
        Assert.Equal(("/keys/tor2.key", "/certs/tor2.cert", "/ca/tor2.ca_cert"), options.TlsFiles("tor2"));
    }
}
