using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Testing;

namespace L2Gateway.EndToEnd.Tests;

/// <summary>
/// The product's promise, proven with packets: a VM on a VXLAN network and a bare-metal server on a VLAN behind an
/// emulated hardware VTEP (shared/testbed/vtep-lab.sh) ping each other once the product has programmed the switch,
/// stop when the connection goes, and again after the switch reboots empty or the agent restarts.
/// Needs root (network namespaces); everything lives in the lab's own namespaces and on loopback.
/// </summary>
public sealed class TrafficTests : IAsyncLifetime
{
    private static readonly string Root = SourceTree.Root;
    private static readonly string LabScript = Path.GetFullPath(Path.Combine(Root, "..", "shared", "testbed", "vtep-lab.sh"));

    private readonly string labDir = Path.Combine(Path.GetTempPath(), "l2gw-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int labPort = FreePort();
    private readonly int apiPort = FreePort();
    private readonly HttpClient http = new();
    private Process? server;
    private JsonNode lab = null!;

    private string Api => $"http://127.0.0.1:{apiPort}";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private (int Exit, string Output) Run(string program, params string[] args) => RunIn(null, program, args);

    private (int Exit, string Output) RunIn(Dictionary<string, string>? env, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["VTEP_LAB_DIR"] = labDir;
        start.Environment["VTEP_LAB_PORT"] = labPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in env ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private string Must(string program, params string[] args)
    {
        var (exit, output) = Run(program, args);
        Assert.True(exit == 0, $"{program} {string.Join(' ', args)} exited {exit}: {output}");
        return output;
    }

    private JsonNode OpenStack(params string[] args) =>
        JsonNode.Parse(Must("/usr/bin/python3", ["/usr/bin/openstack", "--os-auth-type", "none", "--os-endpoint", Api, .. args, "-f", "json"]))!;

    // Through bash: the lab's copy of shared/ may come without execute bits.
    private bool Ping() => Run("bash", LabScript, "ping").Exit == 0;

    private string Vtep(params string[] args) => Must("vtep-ctl", ["--timeout=10", $"--db=tcp:127.0.0.1:{labPort}", .. args]);

    private async Task<JsonNode> GetAsync(string path) => JsonNode.Parse(await http.GetStringAsync(new Uri(Api + path)))!;

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never happened: {what}");
            await Task.Delay(250);
        }
    }

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "the data-plane test needs root for network namespaces");
        Assert.True(File.Exists(LabScript), $"lab script not found at {LabScript}");
        Must("bash", LabScript, "up");
        lab = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(labDir, "lab.json")))!;
        await File.WriteAllTextAsync(Path.Combine(labDir, "l2gw.ini"), $"""
            [DEFAULT]
            bind = 127.0.0.1:{apiPort}
            data_dir = {labDir}/l2gw-data
            host = e2e-agent

            [ovsdb]
            ovsdb_hosts = tor:127.0.0.1:{labPort}
            periodic_interval = 2
            socket_timeout = 5
            """);
        StartServer();
        await EventuallyAsync(
            async () =>
            {
                try
                {
                    return (await GetAsync("/v2.0/l2-gateway-switches"))["l2_gateway_switches"]!.AsArray()
                        .Any(s => (string?)s!["name"] == (string?)lab["physical_switch"] && (bool)s["connected"]! && s["ports"]!.AsArray().Count > 0);
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "the embedded agent reports the lab switch");
    }

    private void StartServer()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"), "server", "--config-file", Path.Combine(labDir, "l2gw.ini") })
        {
            start.ArgumentList.Add(arg);
        }

        server = Process.Start(start)!;
        var log = new StringBuilder();
        server.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        server.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
    }

    private void KillServer()
    {
        if (server is { HasExited: false })
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit();
        }

        server?.Dispose();
        server = null;
    }

    public async Task DisposeAsync()
    {
        KillServer();
        var down = Run("bash", LabScript, "down");
        http.Dispose();

        // Nothing of the lab may be left behind: no namespace of its prefix, no daemon of its directory.
        var px = (string?)lab?["netns"]?["tor"];
        if (px is not null)
        {
            var prefix = px[..px.LastIndexOf('-')];
            Assert.DoesNotContain(prefix + "-", Run("ip", "netns", "list").Output, StringComparison.Ordinal);
        }

        Assert.Equal(0, down.Exit);
        Assert.DoesNotContain(labDir, Run("ps", "-eo", "stat,args").Output.Split('\n').Where(l => !l.StartsWith('Z')).Aggregate("", (a, b) => a + b + "\n"), StringComparison.Ordinal);
        await Task.CompletedTask;
        try
        {
            Directory.Delete(labDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Vm_and_bare_metal_share_one_broadcast_domain_through_the_gateway()
    {
        var vni = (int)lab["vni"]!;
        var vlan = (int)lab["vlan"]!;
        var sw = (string)lab["physical_switch"]!;
        var port = (string)lab["port"]!;
        var vm = lab["vm"]!;
        var bm = lab["bm"]!;

        // 2. The real OpenStack client: network, host, port, gateway, connection.
        var network = (string)OpenStack("network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(System.Globalization.CultureInfo.InvariantCulture), "lab-net")["id"]!;
        using (var response = await http.PostAsync(new Uri(Api + "/v2.0/hosts"), new StringContent($$$"""{"host":{"name":"compute1","tunnel_ip":"{{{lab["compute_tunnel_ip"]}}}"}}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        OpenStack("port", "create", "--network", "lab-net", "--mac-address", (string)vm["mac"]!, "--fixed-ip", $"ip-address={vm["ip"]}", "--host", "compute1", "vm-port");
        OpenStack("l2gw", "create", "lab-gw", "--device", $"name={sw},interface_names={port}|{vlan}");
        var connection = (string)OpenStack("l2gw", "connection", "create", "lab-gw", "lab-net")["ID"]!;

        // 3. The compute side floods towards the gateway's tunnel IPs, as a compute agent would from l2gw-fdb.
        var fdb = (await GetAsync($"/v2.0/networks/{network}/l2gw-fdb"))["l2gw_fdb"]!;
        var flood = fdb["flood"]!.AsArray().Select(f => (string)f!).ToList();
        Assert.Equal([(string)lab["tor_tunnel_ip"]!], flood);
        foreach (var ip in flood)
        {
            Must("ip", "netns", "exec", (string)lab["netns"]!["compute"]!, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", (string)lab["compute_vxlan_dev"]!, "dst", ip);
        }

        // 4. Packets flow both ways; the bare-metal MAC is learned and shown.
        await EventuallyAsync(() => Task.FromResult(Ping()), "VM <-> bare metal ping after programming", 60);
        await EventuallyAsync(
            async () => (string?)(await GetAsync($"/v2.0/l2-gateway-connections/{connection}"))["l2_gateway_connection"]!["status"] == "ACTIVE",
            "connection ACTIVE", 30);
        Assert.True(Ping(), "a second ping, to be learned right now");
        await EventuallyAsync(
            async () => (await GetAsync($"/v2.0/networks/{network}/l2gw-fdb"))["l2gw_fdb"]!["macs"]!.AsArray().Any(m => (string?)m!["mac"] == (string?)bm["mac"]),
            "bare-metal MAC in l2gw-fdb", 30);
        var inventory = (await GetAsync($"/v2.0/l2-gateway-switches/{sw}"))["l2_gateway_switch"]!;
        Assert.Contains(inventory["local_macs"]!.AsArray(), m => (string?)m!["mac"] == (string?)bm["mac"]);

        // 5. Connection deleted: no more traffic, and none of the product's rows on the switch.
        OpenStackNoOutput("l2gw", "connection", "delete", connection);
        await EventuallyAsync(() => Task.FromResult(Vtep("list-ls").Trim().Length == 0), "logical switch removed", 30);
        Assert.Equal("", Vtep("list-bindings", sw, port).Trim());
        // ovs-vtep applies the switch database on a one-second poll: the ping stops a moment after the rows go,
        // and then stays down, ping after ping.
        await EventuallyAsync(() => Task.FromResult(!Ping()), "the ping stops after the connection was deleted", 30);
        for (var i = 0; i < 3; i++)
        {
            Assert.False(Ping(), $"the ping came back {i + 1} ping(s) after it had stopped, with the connection deleted");
        }

        // 6. Connected again, then the switch reboots with an empty database: reprogrammed with no manual step.
        connection = (string)OpenStack("l2gw", "connection", "create", "lab-gw", "lab-net")["ID"]!;
        await EventuallyAsync(() => Task.FromResult(Ping()), "ping after reconnecting", 60);
        Must("bash", Path.Combine(AppContext.BaseDirectory, "reboot-switch.sh"), labDir);
        await EventuallyAsync(() => Task.FromResult(Ping()), "ping after the switch rebooted empty", 90);

        // The agent (embedded in the server) killed and restarted: no duplicate rows.
        KillServer();
        StartServer();
        await EventuallyAsync(
            async () =>
            {
                try
                {
                    return (string?)(await GetAsync($"/v2.0/l2-gateway-connections/{connection}"))["l2_gateway_connection"]!["status"] == "ACTIVE";
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "connection ACTIVE after the agent restarted");
        Assert.Equal([network], Vtep("list-ls").Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Single(Vtep("--columns=_uuid", "list", "Ucast_Macs_Remote").Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Single(Vtep("--columns=_uuid", "list", "Mcast_Macs_Remote").Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(Ping(), "ping after the agent restarted");
    }

    private void OpenStackNoOutput(params string[] args) =>
        Must("/usr/bin/python3", ["/usr/bin/openstack", "--os-auth-type", "none", "--os-endpoint", Api, .. args]);
}
