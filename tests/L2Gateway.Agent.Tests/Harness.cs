using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;

namespace L2Gateway.Agent.Tests;

/// <summary>A switch: a real ovsdb-server with the hardware_vtep schema on a free port, driven by vtep-ctl.</summary>
public sealed class SwitchDb : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-sw-" + Guid.NewGuid().ToString("N")[..10]);
    private Process? process;

    // Starting switches and running vtep-ctl block threads while test classes run in parallel on 2 cores; a larger
    // pool keeps the agents' read loops (and their answers to inactivity probes) from waiting for a thread.
    static SwitchDb() => ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount), Math.Max(32, Environment.ProcessorCount));

    private readonly bool dialsOut;

    public SwitchDb(string name = "tor1", string tunnelIp = "192.0.2.1", params string[] ports)
        : this(false, name, tunnelIp, ports)
    {
    }

    private string[] extraArgs = [];

    /// <summary>A switch whose database also listens for TLS clients on <see cref="SslPort"/>.</summary>
    public static SwitchDb WithTls(string privateKey, string certificate, string caCertificate)
    {
        var sw = new SwitchDb();
        sw.Kill();
        sw.SslPort = FreePort();
        sw.extraArgs = [$"--private-key={privateKey}", $"--certificate={certificate}", $"--ca-cert={caCertificate}", $"--remote=pssl:{sw.SslPort}:127.0.0.1"];
        sw.Start();
        return sw;
    }

    /// <summary>A switch that dials the managers its Global row lists, over TLS with these files.</summary>
    public static SwitchDb DialingOutWithTls(string privateKey, string certificate, string caCertificate)
    {
        var sw = new SwitchDb(dialsOut: true);
        sw.Kill();
        sw.extraArgs = [$"--private-key={privateKey}", $"--certificate={certificate}", $"--ca-cert={caCertificate}"];
        sw.Start();
        return sw;
    }

    public int SslPort { get; private set; }

    /// <param name="dialsOut">Whether the server also connects to the managers its Global row lists (passive mode).</param>
    public SwitchDb(bool dialsOut, string name = "tor1", string tunnelIp = "192.0.2.1", params string[] ports)
    {
        this.dialsOut = dialsOut;
        Name = name;
        TunnelIp = tunnelIp;
        Ports = ports.Length == 0 ? ["p1", "p2"] : ports;
        Directory.CreateDirectory(dir);
        Port = FreePort();
        Create();
        Start();
        Register();
    }

    public string Name { get; }

    public string TunnelIp { get; }

    public string[] Ports { get; }

    public int Port { get; }

    public string Endpoint => $"tcp:127.0.0.1:{Port}";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string DbPath => Path.Combine(dir, "vtep.db");

    private void Create() => Run("ovsdb-tool", $"create {DbPath} /usr/share/openvswitch/vtep.ovsschema");

    /// <summary>The switch's own side: its Physical_Switch with tunnel IP and ports, as a booting switch writes them.</summary>
    public void Register()
    {
        var commands = new StringBuilder($"add-ps {Name} -- set Physical_Switch {Name} tunnel_ips={TunnelIp}");
        foreach (var port in Ports)
        {
            commands.Append($" -- add-port {Name} {port}");
        }

        Vtep(commands.ToString());
    }

    public void Start()
    {
        var start = new ProcessStartInfo("ovsdb-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { DbPath, $"--remote=ptcp:{Port}:127.0.0.1", $"--unixctl={dir}/ctl", $"--log-file={dir}/ovsdb.log", "-vconsole:off" })
        {
            start.ArgumentList.Add(arg);
        }

        if (dialsOut)
        {
            start.ArgumentList.Add("--remote=db:hardware_vtep,Global,managers");
        }

        foreach (var arg in extraArgs)
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start)!;
        for (var i = 0; i < 500; i++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(10);
            }
        }

        throw new InvalidOperationException("ovsdb-server did not start");
    }

    public void Kill()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            process.WaitForExit();
        }

        process?.Dispose();
        process = null;
    }

    /// <summary>A rebooted switch: database gone, the switch re-registers itself and its ports.</summary>
    public void WipeAndRestart()
    {
        Kill();
        File.Delete(DbPath);
        Create();
        Start();
        Register();
    }

    public string Vtep(string commands) => Run("vtep-ctl", $"--db={Endpoint} --timeout=10 {commands}");

    private static string Run(string program, string arguments)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"{program} {arguments}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"{program} {arguments}: {error}");
    }

    /// <summary>Every row of a table, read with the project's own client (one short-lived connection).</summary>
    public async Task<IReadOnlyList<Row>> RowsAsync(string table) => (await RowsAsync([table]))[table];

    /// <summary>Several tables read in one transaction, so that references between them are consistent.</summary>
    public async Task<Dictionary<string, IReadOnlyList<Row>>> RowsAsync(IReadOnlyList<string> tables)
    {
        await using var client = await OvsdbClient.ConnectAsync(Endpoint);
        var result = (await client.TransactAsync("hardware_vtep", [.. tables.Select(t => (Operation)new SelectOperation(t))])).EnsureSuccess();
        return tables.Select((t, i) => (t, result.Operations[i]!.Rows!)).ToDictionary(x => x.t, x => x.Item2);
    }

    public void Dispose()
    {
        Kill();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>The server, in-process on a free port with its own SQLite database.</summary>
public sealed class Controller : IAsyncDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-ctl-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly HttpClient http = new();

    private Controller(WebApplication app)
    {
        App = app;
        Url = new Uri(ServerHost.Urls(app)[0]);
        http.BaseAddress = Url;
    }

    public WebApplication App { get; }

    public Uri Url { get; }

    public static async Task<Controller> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "l2gw-ctl-" + Guid.NewGuid().ToString("N")[..10]);
        var app = ServerHost.Build(new ServerOptions { Bind = "127.0.0.1:0", DataDir = dir, QuotaL2Gateway = -1, AgentDownTime = 5 });
        await ServerHost.StartAsync(app);
        return new Controller(app);
    }

    public async Task<JsonNode> PostAsync(string path, string json)
    {
        using var response = await http.PostAsync(new Uri(path.TrimStart('/'), UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public async Task<JsonNode> PutAsync(string path, string json)
    {
        using var response = await http.PutAsync(new Uri(path.TrimStart('/'), UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public async Task<JsonNode> GetAsync(string path)
    {
        using var response = await http.GetAsync(new Uri(path.TrimStart('/'), UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public async Task DeleteAsync(string path)
    {
        using var response = await http.DeleteAsync(new Uri(path.TrimStart('/'), UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"DELETE {path}: {(int)response.StatusCode}");
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
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

/// <summary>An agent running in this process, serving the given switches.</summary>
public sealed class RunningAgent : IAsyncDisposable
{
    private readonly L2GatewayAgent agent;

    private RunningAgent(L2GatewayAgent agent) => this.agent = agent;

    public static Task<RunningAgent> StartAsync(Uri server, string host, params SwitchDb[] switches) =>
        StartAsync(new AgentOptions
        {
            Host = host,
            ServerUrl = server,
            OvsdbHosts = [.. switches.Select(s => new OvsdbHost(s.Name, "127.0.0.1", s.Port))],
            PeriodicInterval = 2,
            SocketTimeout = 5,
        });

    /// <summary>An agent that reaches its switch over TLS with the reference's per-switch key, cert and CA files.</summary>
    public static Task<RunningAgent> StartTlsAsync(Uri server, string host, SwitchDb sw, string certDir) =>
        StartAsync(new AgentOptions
        {
            Host = host,
            ServerUrl = server,
            OvsdbHosts = [new OvsdbHost(sw.Name, "127.0.0.1", sw.SslPort)],
            PrivateKeyBasePath = certDir,
            CertificateBasePath = certDir,
            CaCertificateBasePath = certDir,
            PeriodicInterval = 2,
            SocketTimeout = 5,
        });

    /// <summary>An agent that lists no switch and waits for switches to dial in on a free loopback port.</summary>
    public static Task<RunningAgent> StartPassiveAsync(Uri server, string host, int port) =>
        StartAsync(Passive(server, host, port, new AgentOptions()));

    /// <summary>A passive agent that accepts switches over TLS with the reference's per-switch files, named by address.</summary>
    public static Task<RunningAgent> StartPassiveTlsAsync(Uri server, string host, int port, string certDir) =>
        StartAsync(Passive(server, host, port, new AgentOptions
        {
            OvsdbHosts = [new OvsdbHost("tor1", "127.0.0.1", 6640)],
            PrivateKeyBasePath = certDir,
            CertificateBasePath = certDir,
            CaCertificateBasePath = certDir,
        }));

    private static AgentOptions Passive(Uri server, string host, int port, AgentOptions options)
    {
        options.Host = host;
        options.ServerUrl = server;
        options.EnableManager = true;
        options.ManagerTableListeningAddress = "127.0.0.1";
        options.ManagerTableListeningPort = port;
        options.PeriodicInterval = 2;
        options.SocketTimeout = 5;
        return options;
    }

    public static async Task<RunningAgent> StartAsync(AgentOptions options)
    {
        var agent = new L2GatewayAgent(options, NullLoggerFactory.Instance);
        await agent.StartAsync(CancellationToken.None);
        return new RunningAgent(agent);
    }

    public bool IsWriter(string database) => Session(database).Writer;

    public bool IsConnected(string database) => Session(database).Connected;

    /// <summary>Whether the switch queued this agent's request for the writer lock (another agent holds it).</summary>
    public bool IsStandingBy(string database) => Session(database).Status.StandingBy;

    /// <summary>Whether the session's loop has taken in a desired state of <paramref name="database"/> with a remote row for <paramref name="mac"/>.</summary>
    public bool Wants(string database, string mac) =>
        Session(database).Status.Desired.TryGetValue(database, out var state) && state.UcastRemotes.Any(u => u.Mac == mac);

    /// <summary>Whether the passive-mode listener is up.</summary>
    public bool Listening => agent.ManagerEndPoint is not null;

    private SwitchActor Session(string database) => agent.Sessions.Single(s => s.Host.Name == database);

    public async ValueTask DisposeAsync()
    {
        await agent.StopAsync(CancellationToken.None);
        agent.Dispose();
    }
}

public static class Eventually
{
    /// <summary>Polls until the condition holds; fails with the last observation after the deadline.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"never happened: {what}");
            }

            await Task.Delay(100);
        }
    }
}
