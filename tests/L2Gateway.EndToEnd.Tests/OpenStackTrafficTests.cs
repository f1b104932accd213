using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using L2Gateway.Testing;

namespace L2Gateway.EndToEnd.Tests;

/// <summary>
/// The product inside the OpenStack lab (../shared/testbed/openstack: real Keystone, Neutron, RabbitMQ and a real
/// neutron-openvswitch-agent whose VMs reach the emulated hardware VTEP over VXLAN), proven with packets.
/// One <c>l2gw server</c> process in OpenStack mode (catalog from Neutron, Keystone, the lab's bus, the cloud's network
/// endpoint, its embedded agent on the lab's ToR) is the <c>network</c> endpoint of a Keystone region of the test's own;
/// everything is then done through the real <c>openstack</c> client with a plain clouds.yaml. Nothing else writes the
/// ToR's rows or the OVS agent's l2population entries: when the VM pings the bare-metal server, the product did both.
/// Needs root (the lab's namespaces).
/// </summary>
public sealed class OpenStackTrafficTests : IAsyncLifetime
{
    private const string Tor = "br-tor"; // the lab's Physical_Switch
    private const string TorPort = "p1";
    private const string BareMetalIp = "192.168.50.20";

    private static readonly string LabScripts = SourceTree.Testbed("openstack");

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-os-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string name = "l2gw-e2e-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<(string Kind, string Id)> created = [];
    private readonly List<string> endpoints = [];
    private readonly List<(string Port, string Namespace)> plugged = [];
    private ServiceProcess server = null!;
    private bool regionCreated;

    private string CloudsYaml => Path.Combine(directory, "clouds.yaml");

    private static string Lab(string file) => Path.Combine(OpenStackLab.Directory, file);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var endpoint = $"http://127.0.0.1:{port}";
        var ini = Path.Combine(directory, "l2gw.ini");
        var keystone = OpenStackLab.KeystoneUrl.ToString();
        await File.WriteAllTextAsync(ini, OpenStackLab.Ini(
            ("DEFAULT", "bind", $"127.0.0.1:{port}"),
            ("DEFAULT", "data_dir", directory),
            ("DEFAULT", "catalog", "neutron"),
            ("DEFAULT", "auth_strategy", "keystone"),
            ("DEFAULT", "transport_url", OpenStackLab.RabbitUrl),
            ("DEFAULT", "host", name),
            ("DEFAULT", "l2pop_resync_interval", "15"),
            ("keystone_authtoken", "www_authenticate_uri", keystone),
            ("keystone_authtoken", "auth_url", keystone),
            ("keystone_authtoken", "username", "neutron"),
            ("keystone_authtoken", "password", "osv-neutron"),
            ("keystone_authtoken", "project_name", "service"),
            ("keystone_authtoken", "user_domain_name", "Default"),
            ("keystone_authtoken", "project_domain_name", "Default"),
            ("neutron", "url", OpenStackLab.NeutronUrl.ToString()),
            ("neutron", "proxy", "true"),
            ("neutron", "poll_interval", "2"),
            ("ovsdb", "ovsdb_hosts", "tor1:127.0.0.1:" + OpenStackLab.TorDatabase.Split(':')[^1]),
            ("AGENT", "report_interval", "5")));
        server = ServiceProcess.Start("l2gw server", "server", "--config-file", ini);
        await ReadyAsync(endpoint);

        await OpenStackLab.OpenStackAsync("admin", "region", "create", name);
        regionCreated = true;
        foreach (var face in (string[])["public", "internal"])
        {
            endpoints.Add(await OpenStackLab.OpenStackAsync("admin", "endpoint", "create", "--region", name, "network", face, endpoint, "-f", "value", "-c", "id"));
        }

        var admin = OpenStackLab.Credentials("admin");
        await File.WriteAllTextAsync(CloudsYaml, $"""
            clouds:
              admin:
                auth:
                  auth_url: {admin["OS_AUTH_URL"]}
                  username: {admin["OS_USERNAME"]}
                  password: '{admin["OS_PASSWORD"]}'
                  project_name: {admin["OS_PROJECT_NAME"]}
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: {name}
                interface: public
                identity_api_version: 3

            """);
    }

    [Fact]
    public async Task A_vm_of_a_neutron_network_and_a_bare_metal_server_share_its_broadcast_domain_through_the_product()
    {
        // Create, through the product as the cloud's network endpoint.
        var vni = OpenStackLab.Vni;
        var network = await CreateAsync("network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(CultureInfo.InvariantCulture), name);
        var subnet = await CreateAsync(
            "subnet", "create", "--network", network, "--subnet-range", "192.168.50.0/24", "--gateway", "none", "--no-dhcp",
            "--allocation-pool", "start=192.168.50.100,end=192.168.50.199", name);
        var vm1 = await PlugVmAsync(network, subnet, "192.168.50.10", 1);

        var gateway = await CreateAsync("l2gw", "create", "--device", $"name={Tor},interface_names={TorPort}", name);
        var connection = await CreateAsync("l2gw connection", "create", gateway, network, "--default-segmentation-id", "100");

        // Ping: the ToR's rows (the VM behind the compute host's tunnel IP) and br-tun's entries (the ToR's flood
        // entry, a tunnel port to it) are the product's.
        await EventuallyAsync(() => TorRemoteMacsAsync(network), macs => macs.Contains(vm1.Mac, StringComparison.Ordinal), "the ToR's Ucast_Macs_Remote of the VM");
        await EventuallyAsync(BrTunPortsAsync, ports => ports.Contains(OpenStackLab.TorTunnelPort, StringComparison.Ordinal), "the OVS agent's tunnel port to the ToR");
        Assert.True(await PingsAsync(vm1.Namespace, BareMetalIp), "VM -> bare metal: no answer");
        Assert.True(await PingsAsync(OpenStackLab.Namespace("bm"), vm1.Ip), "bare metal -> VM: no answer");

        // The embedded agent in Neutron's agent list.
        var agent = await EventuallyAsync(
            async () => (JsonArray)await JsonAsync("network", "agent", "list", "--host", name),
            list => list.Count == 1 && list[0]!["Alive"]!.ToString() is "true" or "True" or ":-)",
            "the L2 gateway agent alive in openstack network agent list");
        Assert.Equal("L2 Gateway agent", (string)agent[0]!["Agent Type"]!);
        var shown = await JsonAsync("network", "agent", "show", (string)agent[0]!["ID"]!);
        Assert.Contains("tor1", shown["configuration"]!.ToJsonString(), StringComparison.Ordinal);

        // A second port on the network gets its row on the ToR and its traffic through.
        var vm2 = await PlugVmAsync(network, subnet, "192.168.50.11", 2);
        await EventuallyAsync(() => TorRemoteMacsAsync(network), macs => macs.Contains(vm2.Mac, StringComparison.Ordinal), "the ToR's Ucast_Macs_Remote of the second VM");
        Assert.True(await PingsAsync(vm2.Namespace, BareMetalIp), "second VM -> bare metal: no answer");

        // The OVS agent restarts and forgets the switches' entries: the product tells it again (at the latest one
        // l2pop_resync_interval later, 15 s here).
        // The tunnel port outlives the agent (it is a row of the compute host's OVSDB), so what proves the restore is the
        // network's flood flow installed again under the new agent process's cookie, which only an add_fdb_entries
        // received after the restart can do.
        var before = await FloodFlowCookieAsync(vni);
        Assert.NotNull(before);
        await RestartOvsAgentAsync();
        await server.WaitForAsync($"the OVS agent of {OpenStackLab.AgentHost} restarted", seconds: 120);
        await EventuallyAsync(() => FloodFlowCookieAsync(vni), cookie => cookie is not null && cookie != before, "the flood flow to the ToR installed by the restarted OVS agent");
        Assert.True(await PingsAsync(vm1.Namespace, BareMetalIp, seconds: 60), "VM -> bare metal after the OVS agent restarted: no answer");

        // Delete: the ToR's rows and br-tun's entries go, and so does the traffic.
        await OpenStackAsync("l2gw", "connection", "delete", connection);
        await EventuallyAsync(TorLogicalSwitchesAsync, switches => !switches.Contains(network, StringComparison.Ordinal), "the network's Logical_Switch removed from the ToR");
        await EventuallyAsync(BrTunPortsAsync, ports => !ports.Contains(OpenStackLab.TorTunnelPort, StringComparison.Ordinal), "the tunnel port to the ToR removed");
        Assert.True(await PingsAsync(vm1.Namespace, BareMetalIp, expectAnswer: false), "VM -> bare metal still answered after the connection was deleted");
        await OpenStackAsync("l2gw", "delete", gateway);
    }

    /// <summary>Creates a Neutron port bound to the lab's compute host, plugs a fake VM for it, and waits for ACTIVE.</summary>
    private async Task<(string Id, string Mac, string Ip, string Namespace)> PlugVmAsync(string network, string subnet, string ip, int n)
    {
        var portName = $"{name}-vm{n}";
        var port = await JsonAsync(
            "port", "create", "--network", network, "--host", OpenStackLab.AgentHost, "--fixed-ip", $"subnet={subnet},ip-address={ip}", portName);
        var id = (string)port["id"]!;
        created.Add(("port", id));
        var mac = (string)port["mac_address"]!;
        var netns = OpenStackLab.Namespace($"e2e-vm{n}");
        plugged.Add((id, netns));
        var plug = await ChildProcess.RunAsync("bash", [Path.Combine(LabScripts, "plug_vm.sh"), id, mac, ip + "/24", netns], TimeSpan.FromMinutes(1), LabEnvironment);
        Assert.True(plug.Exit == 0, $"plug_vm.sh: {plug.Out}{plug.Err}");
        await EventuallyAsync(async () => (string)(await JsonAsync("port", "show", id))["status"]!, status => status == "ACTIVE", $"port {portName} ACTIVE");
        return (id, mac, ip, netns);
    }

    private static void LabEnvironment(System.Diagnostics.ProcessStartInfo start) => start.Environment["OSV_DIR"] = OpenStackLab.Directory;

    /// <summary>Stops the lab's OVS agent by its recorded PID and has the lab's own up.sh start it again.</summary>
    private async Task RestartOvsAgentAsync()
    {
        var pid = File.ReadAllLines(Lab("pids")).Select(l => l.Split(' ')).Last(f => f[0] == "ovs-agent")[1];
        var kill = await ChildProcess.RunAsync("kill", ["--", "-" + pid], TimeSpan.FromSeconds(10));
        Assert.True(kill.Exit == 0, $"kill the OVS agent: {kill.Err}");
        await EventuallyAsync(() => Task.FromResult(Directory.Exists("/proc/" + pid)), running => !running, "the OVS agent gone");
        var up = await ChildProcess.RunAsync("bash", ["-c", $"cd '{LabScripts}' && bash up.sh"], TimeSpan.FromMinutes(4), LabEnvironment);
        Assert.True(up.Exit == 0, $"up.sh after stopping the OVS agent: {up.Out}{up.Err}");
    }

    /// <summary>Pings (at most <paramref name="seconds"/> s); true when the answer is the one expected.</summary>
    private static async Task<bool> PingsAsync(string netns, string ip, bool expectAnswer = true, int seconds = 20)
    {
        // A lost answer is certain only for a deadline: three probes a second apart, none answered.
        string[] args = expectAnswer
            ? ["netns", "exec", netns, "ping", "-c1", "-w", seconds.ToString(CultureInfo.InvariantCulture), ip]
            : ["netns", "exec", netns, "ping", "-c3", "-i0.5", "-W1", ip];
        var result = await ChildProcess.RunAsync("ip", args, TimeSpan.FromSeconds(seconds + 10));
        return expectAnswer ? result.Exit == 0 : result.Exit != 0;
    }

    private static async Task<string> VtepCtlAsync(params string[] args)
    {
        var result = await ChildProcess.RunAsync("vtep-ctl", ["--timeout=10", $"--db={OpenStackLab.TorDatabase}", .. args], TimeSpan.FromSeconds(30));
        return result.Exit == 0 ? result.Out : $"(vtep-ctl {string.Join(' ', args)} failed: {result.Err.Trim()})";
    }

    private static Task<string> TorLogicalSwitchesAsync() => VtepCtlAsync("list-ls");

    /// <summary>The ToR's Ucast_Macs_Remote rows in the network's Logical_Switch (named by the network's id).</summary>
    private static Task<string> TorRemoteMacsAsync(string network) => VtepCtlAsync("list-remote-macs", network);

    private static async Task<string> BrTunPortsAsync()
    {
        var result = await ChildProcess.RunAsync(
            "ip",
            ["netns", "exec", OpenStackLab.Namespace("cmp"), "ovs-vsctl", "--timeout=10", $"--db=unix:{Lab("ovs/db.sock")}", "list-ports", "br-tun"],
            TimeSpan.FromSeconds(30));
        Assert.True(result.Exit == 0, $"ovs-vsctl list-ports br-tun: {result.Err}");
        return result.Out;
    }

    /// <summary>The cookie of br-tun's table 22 flood flow of the VNI (null when there is none): each OVS agent process stamps its own.</summary>
    private static async Task<string?> FloodFlowCookieAsync(int vni)
    {
        var result = await ChildProcess.RunAsync(
            "ip",
            ["netns", "exec", OpenStackLab.Namespace("cmp"), "env", $"OVS_RUNDIR={Lab("ovs")}", "ovs-ofctl", "dump-flows", "br-tun", "table=22"],
            TimeSpan.FromSeconds(30));
        Assert.True(result.Exit == 0, $"ovs-ofctl dump-flows br-tun: {result.Err}");
        var tunnelId = $"0x{vni:x}";
        var flow = result.Out.Split('\n').FirstOrDefault(l => l.Contains(tunnelId + "->", StringComparison.Ordinal) && l.Contains("output:", StringComparison.Ordinal));
        return flow?.Split(',')[0].Trim();
    }

    /// <summary>Reads <paramref name="read"/> again (every half second, up to two minutes) until <paramref name="holds"/>.</summary>
    private async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> holds, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        T last;
        while (true)
        {
            last = await read();
            if (holds(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"never happened: {what}; last seen: {last}\nthe server's log:\n{string.Join('\n', server.Lines.Where(l => !l.Contains(" 200 ", StringComparison.Ordinal)).TakeLast(80))}");
            }

            await Task.Delay(500);
        }
    }

    private async Task<string> CreateAsync(string kind, params string[] args)
    {
        var shown = await JsonAsync([.. kind.Split(' '), .. args]);
        var id = (string?)(shown["id"] ?? shown["ID"]) ?? throw new InvalidOperationException($"openstack {kind} create showed no id: {shown}"); // networking-l2gw's columns are "ID"
        created.Add((kind, id));
        return id;
    }

    private async Task<JsonNode> JsonAsync(params string[] args) => JsonNode.Parse(await OpenStackAsync([.. args, "-f", "json"]))!;

    /// <summary>The real openstack client as the clouds.yaml's admin: nothing from the environment, the product as network endpoint.</summary>
    private async Task<string> OpenStackAsync(params string[] args)
    {
        var result = await RunOpenStackAsync(args);
        Assert.True(result.Exit == 0, $"openstack {string.Join(' ', args)} ({result.Exit}): {result.Err}\nthe server's log:\n{string.Join('\n', server.Lines.TakeLast(40))}");
        return result.Out;
    }

    private Task<ProcessResult> RunOpenStackAsync(string[] args) =>
        ChildProcess.RunAsync("/usr/bin/python3", ["/usr/bin/openstack", "--os-cloud", "admin", .. args], TimeSpan.FromMinutes(2), start =>
        {
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(key);
            }

            start.Environment["OS_CLIENT_CONFIG_FILE"] = CloudsYaml;
        });

    private async Task ReadyAsync(string endpoint)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync(new Uri(endpoint + "/readyz"));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (server.Exited || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the server never got ready; its log:\n{string.Join('\n', server.Lines)}");
            }

            await Task.Delay(250);
        }
    }

    public async Task DisposeAsync()
    {
        // Best effort, in reverse: a failed test leaves the shared lab as it found it; the server is stopped whatever fails.
        try
        {
            await CleanUpAsync();
        }
        finally
        {
            server?.Dispose();
        }

        foreach (var endpoint in endpoints)
        {
            await Quietly(() => OpenStackLab.OpenStackAsync("admin", "endpoint", "delete", endpoint));
        }

        if (regionCreated)
        {
            await Quietly(() => OpenStackLab.OpenStackAsync("admin", "region", "delete", name));
        }

        var agents = await Quietly(() => OpenStackLab.OpenStackAsync("admin", "network", "agent", "list", "--host", name, "-f", "value", "-c", "ID"));
        foreach (var id in (agents ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await Quietly(() => OpenStackLab.OpenStackAsync("admin", "network", "agent", "delete", id));
        }

        Directory.Delete(directory, recursive: true);
    }

    private async Task CleanUpAsync()
    {
        foreach (var (port, netns) in plugged)
        {
            await ChildProcess.RunAsync("bash", [Path.Combine(LabScripts, "plug_vm.sh"), "-d", port], TimeSpan.FromMinutes(1), LabEnvironment);
            await ChildProcess.RunAsync("ip", ["netns", "del", netns], TimeSpan.FromSeconds(30));
        }

        foreach (var (kind, id) in Enumerable.Reverse(created))
        {
            await RunOpenStackAsync([.. kind.Split(' '), "delete", id]); // Through the product: the l2gw resources are its own.
        }
    }

    private static async Task<string?> Quietly(Func<Task<string>> action)
    {
        try
        {
            return await action();
        }
        catch (InvalidOperationException)
        {
            return null; // Gone already, or the lab is down: nothing left to clean.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

}
