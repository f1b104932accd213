using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Agent.Tests;
using L2Gateway.Testing;

namespace L2Gateway.ScaleOut.Tests;

/// <summary>A <c>l2gw server</c> process on a free loopback port, and an HTTP client of it.</summary>
public sealed class ServerNode : IDisposable
{
    private ServerNode(string name, int port, ServiceProcess process)
    {
        Name = name;
        Url = new Uri($"http://127.0.0.1:{port}/");
        Process = process;
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Name { get; }

    public Uri Url { get; }

    public ServiceProcess Process { get; }

    public HttpClient Http { get; }

    /// <summary>
    /// Starts a server whose full reload runs once an hour, so that only the other servers' notifications can bring
    /// their writes in time.
    /// </summary>
    public static ServerNode Start(string name, string database)
    {
        var port = Lab.FreePort();
        return new ServerNode(
            name,
            port,
            ServiceProcess.Start(name, "server", "--bind", $"127.0.0.1:{port}", "--database", database, "--quota-l2-gateway", "-1", "--full-reload-interval", "3600"));
    }

    /// <summary>Waits until the server listens for the other servers' writes and has read the database.</summary>
    public Task ReadyAsync() => Process.WaitForAsync("planner inputs reloaded from the database: LISTEN was (re)established");

    /// <summary>The desired-state requests this server answered (its log lines), oldest first.</summary>
    public IReadOnlyList<string> DesiredStatePolls => [.. Process.Lines.Where(l => l.Contains("GET /v2.0/l2gw-agent/desired-state", StringComparison.Ordinal))];

    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? json = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(path.TrimStart('/'), UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>POSTs and insists on 201; returns the created resource's id.</summary>
    public async Task<string> CreateAsync(string path, string key, string json)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, path, json);
        Assert.True(status == HttpStatusCode.Created, $"{Name}: POST {path} answered {(int)status}: {body?.ToJsonString()}");
        return (string)body![key]!["id"]!;
    }

    public void Dispose()
    {
        Http.Dispose();
        Process.Dispose();
    }
}

/// <summary>An <c>l2gw agent</c> process serving one switch, with its servers in the order it tries them.</summary>
public sealed class AgentNode : IDisposable
{
    private readonly string ini;

    private AgentNode(string host, string ini, ServiceProcess process)
    {
        Host = host;
        this.ini = ini;
        Process = process;
    }

    public string Host { get; }

    public ServiceProcess Process { get; }

    public static AgentNode Start(string host, SwitchDb sw, string directory, params ServerNode[] servers)
    {
        var ini = Path.Combine(directory, host + ".ini");
        File.WriteAllText(ini, $"""
            [DEFAULT]
            host = {host}
            l2gw_server_url = {string.Join(", ", servers.Select(s => s.Url.ToString().TrimEnd('/')))}

            [ovsdb]
            ovsdb_hosts = {sw.Name}:127.0.0.1:{sw.Port}
            periodic_interval = 1
            socket_timeout = 5
            """);
        return new AgentNode(host, ini, ServiceProcess.Start(host, "agent", "--config-file", ini));
    }

    public void Dispose()
    {
        Process.Dispose();
        File.Delete(ini);
    }
}

/// <summary>
/// The scale-out topology: one PostgreSQL, several <c>l2gw server</c> processes on it, one switch (a real
/// ovsdb-server with the vtep schema) and the agents that serve it. Everything runs on loopback, on free ports,
/// and is stopped by PID.
/// </summary>
public sealed class Lab : IAsyncDisposable
{
    public const string Database = "l2gw";

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-scale-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<AgentNode> agents = [];
    private readonly List<ServerNode> servers = [];
    private readonly List<IAsyncDisposable> owned = [];

    private Lab(PostgresCluster postgres)
    {
        Postgres = postgres;
        Directory.CreateDirectory(directory);
    }

    public PostgresCluster Postgres { get; }

    public IReadOnlyList<ServerNode> Servers => servers;

    /// <summary>The switch, when the lab has one.</summary>
    public SwitchDb? Switch { get; private set; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// PostgreSQL with the schema (upgraded once, as an operator would before starting servers), and the servers.
    /// <paramref name="front"/>, given the primary, may set up what stands before it and return the database URL the
    /// servers use instead of the primary's own.
    /// </summary>
    public static async Task<Lab> StartAsync(int servers, bool withSwitch, Func<Lab, Task<string>>? front = null)
    {
        var lab = new Lab(await PostgresCluster.CreateAsync(Database));
        try
        {
            var upgrade = await ChildProcess.RunAsync(
                "dotnet",
                [Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"), "db", "upgrade", "--database", lab.Postgres.Url(Database)],
                TimeSpan.FromMinutes(2));
            Assert.True(upgrade.Exit == 0, $"l2gw db upgrade: {upgrade.Out}{upgrade.Err}");
            var url = front is null ? lab.Postgres.Url(Database) : await front(lab);
            for (var i = 0; i < servers; i++)
            {
                lab.servers.Add(ServerNode.Start(((char)('A' + i)).ToString(), url));
            }

            await Task.WhenAll(lab.servers.Select(s => s.ReadyAsync()));
            lab.Switch = withSwitch ? new SwitchDb("tor1", "192.0.2.1", "p1", "p2") : null;
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Something the lab stops with the rest (after the servers, before the primary).</summary>
    public T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        owned.Add(resource);
        return resource;
    }

    public ServerNode this[string name] => Servers.Single(s => s.Name == name);

    /// <summary>Starts an agent of the switch that tries <paramref name="servers"/> in that order.</summary>
    public AgentNode StartAgent(string host, params ServerNode[] servers)
    {
        var agent = AgentNode.Start(host, Switch!, directory, servers);
        agents.Add(agent);
        return agent;
    }

    /// <summary>The agent's view of the switch as a server shows it (<c>/v2.0/agents</c> configurations), null before its first report.</summary>
    public static async Task<JsonNode?> AgentSwitchAsync(ServerNode server, string host, string switchName = "tor1")
    {
        var (status, body) = await server.SendAsync(HttpMethod.Get, $"/v2.0/agents?host={host}");
        return status == HttpStatusCode.OK && body?["agents"]?.AsArray() is [{ } agent] ? agent["configurations"]?["switches"]?[switchName] : null;
    }

    /// <summary>Waits until <paramref name="host"/> reports itself connected to the switch, and its writer role is <paramref name="writer"/>.</summary>
    public static Task AgentIsAsync(ServerNode server, string host, bool writer) =>
        Eventually.HoldsAsync(
            async () => await AgentSwitchAsync(server, host) is { } sw && (bool?)sw["connected"] == true && (bool?)sw["writer"] == writer,
            $"agent {host} connected to the switch as {(writer ? "the writer" : "a standby")}",
            60);

    /// <summary>Through <paramref name="server"/>: a host, a VXLAN network and a gateway on the switch's port p1, connected.</summary>
    public async Task<string> ConnectedNetworkAsync(ServerNode server, int vni)
    {
        var net = await server.CreateAsync(
            "/v2.0/networks", "network", $$$"""{"network":{"name":"scale","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}""");
        await server.CreateAsync("/v2.0/hosts", "host", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var gateway = await server.CreateAsync(
            "/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"g","devices":[{"device_name":"{{{Switch!.Name}}}","interfaces":[{"name":"p1"}]}]}}""");
        await server.CreateAsync(
            "/v2.0/l2-gateway-connections", "l2_gateway_connection",
            $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{net}}}","segmentation_id":100}}""");
        return net;
    }

    /// <summary>Through <paramref name="server"/>: a port of <paramref name="net"/> on compute1.</summary>
    public static Task<string> CreatePortAsync(ServerNode server, string net, string mac) =>
        server.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"{{{mac}}}","binding:host_id":"compute1"}}""");

    /// <summary>Waits until the switch holds a remote MAC row for <paramref name="mac"/>.</summary>
    public Task SwitchHasMacAsync(string mac, string what) =>
        Eventually.HoldsAsync(async () => (await Switch!.RowsAsync("Ucast_Macs_Remote")).Any(r => r.GetString("MAC") == mac), what, 60);

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in agents)
        {
            agent.Dispose();
        }

        foreach (var server in Servers)
        {
            server.Dispose();
        }

        Switch?.Dispose();
        foreach (var resource in Enumerable.Reverse(owned))
        {
            await resource.DisposeAsync();
        }

        await Postgres.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}
