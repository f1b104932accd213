using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Agent.Tests;
using L2Gateway.Testing;

namespace L2Gateway.Service.Tests;

/// <summary>
/// What an operator's tools see of running l2gw processes: the Prometheus scrape of a server with its embedded agent
/// and a real switch (ovsdb-server with the vtep schema), of a standalone agent, JSON logs, and systemd's notify
/// protocol.
/// </summary>
public sealed class ObservabilityProcessTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-obsp-" + Guid.NewGuid().ToString("N")[..8]);

    public ObservabilityProcessTests() => Directory.CreateDirectory(dir);

    private string Ini(string name, params (string Section, string Key, string Value)[] entries)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, OpenStackLab.Ini(entries));
        return path;
    }

    private static async Task WaitForAsync(HttpClient http, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"no answer from {path}");
            await Task.Delay(100);
        }
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds; returns that scrape.</summary>
    private static async Task<Scrape> UntilAsync(HttpClient http, Func<Scrape, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var scrape = await Scrape.FromAsync(http);
            if (condition(scrape))
            {
                return scrape;
            }

            Assert.True(DateTime.UtcNow < deadline, $"never seen in the scrape: {what}\n{scrape.Text}");
            await Task.Delay(200);
        }
    }

    private static async Task<(JsonNode Body, string RequestId)> PostAsync(HttpClient http, string path, string json)
    {
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)response.StatusCode} {body}");
        return (JsonNode.Parse(body)!, response.Headers.GetValues("X-Openstack-Request-Id").Single());
    }

    private static (string, string) Switch(string name) => ("l2gw_switch", name);

    /// <summary>The agent's applied revision equals the one it holds, and the server's for the switch when it has one.</summary>
    private static bool Converged(Scrape s, string physicalSwitch, bool planned)
    {
        var labels = new[] { ("l2gw_switch", "tor1"), ("l2gw_physical_switch", physicalSwitch) };
        var applied = s.Value("l2gw_agent_switch_revision_applied", labels);
        var desired = s.Value("l2gw_agent_switch_revision_desired", labels);
        var server = s.Value("l2gw_desired_state_revision", ("l2gw_physical_switch", physicalSwitch));
        return applied is > 0 && applied == desired && (planned ? server == applied : server is null);
    }

    [Fact]
    public async Task A_server_with_its_embedded_agent_exports_the_api_the_planner_the_switch_and_the_ovsdb_client()
    {
        using var sw = new SwitchDb();
        var port = SwitchDb.FreePort();
        var ini = Ini(
            "l2gw.ini",
            ("DEFAULT", "bind", $"127.0.0.1:{port}"),
            ("DEFAULT", "host", "obs-embedded"),
            ("database", "connection", $"sqlite:///{dir.TrimStart('/')}/l2gw.sqlite"),
            ("ovsdb", "ovsdb_hosts", $"tor1:127.0.0.1:{sw.Port}"),
            ("ovsdb", "periodic_interval", "1"),
            ("ovsdb", "socket_timeout", "5"));
        using var server = L2gwProcess.Start([L2gwProcess.Dll, "server", "--config-file", ini, "--log-format", "json"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await WaitForAsync(http, "/healthz");

        // The switch: connected, this agent its writer, and at the (empty) state the server wants for it.
        var scrape = await UntilAsync(
            http,
            s => s.Value("l2gw_agent_switch_connected", Switch("tor1")) == 1 && s.Value("l2gw_agent_switch_lock_held", Switch("tor1")) == 1 && Converged(s, "tor1", planned: false)
                && s.Value("l2gw_agents_connected") == 1,
            "tor1 connected, locked and converged to its empty state; its agent reported");
        Assert.Equal(0, scrape.Value("l2gw_agent_switch_rows_written_total", Switch("tor1")));

        // A connection: the server plans a revision for tor1, the agent writes it and converges to it.
        await PostAsync(http, "/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = (string)(await PostAsync(http, "/v2.0/networks", """{"network":{"name":"blue","provider:network_type":"vxlan","provider:segmentation_id":5000}}""")).Body["network"]!["id"]!;
        await PostAsync(http, "/v2.0/ports", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:00:01","fixed_ips":[{"ip_address":"192.168.0.1"}],"binding:host_id":"compute1"}}""");
        var gw = (string)(await PostAsync(http, "/v2.0/l2-gateways", """{"l2_gateway":{"name":"gw","devices":[{"device_name":"tor1","interfaces":[{"name":"p1"}]}]}}""")).Body["l2_gateway"]!["id"]!;
        var (connection, connectionRequest) = await PostAsync(
            http, "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}","segmentation_id":100}}""");
        scrape = await UntilAsync(http, s => Converged(s, "tor1", planned: true), "tor1 converged to the server's revision");

        // Logical switch, binding, remote MAC, its locator, the flooding row: written, nothing deleted.
        Assert.True(scrape.Value("l2gw_agent_switch_rows_written_total", Switch("tor1")) >= 4, scrape.Text);
        Assert.Equal(0, scrape.Value("l2gw_agent_switch_rows_deleted_total", Switch("tor1")));
        Assert.Equal(0, scrape.Value("l2gw_agent_switch_drift_repairs_total", Switch("tor1")));
        Assert.Equal(0, scrape.Value("l2gw_agent_switch_reconnects_total", Switch("tor1")));
        Assert.True(scrape.Value("l2gw_agent_switch_pass_duration_seconds", Switch("tor1")) is > 0 and < 60, scrape.Text);
        Assert.True(scrape.Value("l2gw_desired_state_revisions_total") >= 1, scrape.Text);
        Assert.True(scrape.Sum("l2gw_desired_state_planning_duration_seconds_count", _ => true) >= 2, scrape.Text);
        Assert.Equal(1, scrape.Value("l2gw_agents_connected"));

        // The OVSDB client's own meter, per connection to the switch database.
        bool ToSwitch(IReadOnlyDictionary<string, string> l) => l.TryGetValue("server_address", out var a) && a.EndsWith($":{sw.Port}", StringComparison.Ordinal);
        Assert.True(scrape.Sum("ovsdb_client_messages_sent_total", ToSwitch) > 0, scrape.Text);
        Assert.True(scrape.Sum("ovsdb_client_messages_received_total", ToSwitch) > 0, scrape.Text);
        Assert.True(scrape.Sum("ovsdb_client_bytes_sent_bytes_total", ToSwitch) > 0, scrape.Text);
        Assert.True(scrape.Sum("ovsdb_client_bytes_received_bytes_total", ToSwitch) > 0, scrape.Text);

        // The HTTP server's histogram (OpenTelemetry's semantic-convention name) counts every request, by route.
        static bool ListGateways(IReadOnlyDictionary<string, string> l) => l.GetValueOrDefault("http_route") == "/v2.0/l2-gateways/" && l.GetValueOrDefault("http_request_method") == "GET";
        var listed = scrape.Sum("http_server_request_duration_seconds_count", ListGateways);
        for (var i = 0; i < 3; i++)
        {
            (await http.GetAsync(new Uri("/v2.0/l2-gateways", UriKind.Relative))).Dispose();
        }

        scrape = await UntilAsync(http, s => s.Sum("http_server_request_duration_seconds_count", ListGateways) == listed + 3, "three more GET /v2.0/l2-gateways");
        Assert.Equal(listed + 3, scrape.Sum("http_server_request_duration_seconds_bucket", l => ListGateways(l) && l["le"] == "+Inf"));
        Assert.Contains("service_name=\"l2gw-server\"", scrape.Text, StringComparison.Ordinal);
        Assert.True(scrape.Value("dotnet_process_memory_working_set_bytes") > 0);

        // Drift: a row deleted by hand is written again, counted as a repair, and the switch is converged again.
        sw.Vtep($"del-ucast-remote {net} 02:00:00:00:00:01");
        scrape = await UntilAsync(
            http, s => s.Value("l2gw_agent_switch_drift_repairs_total", Switch("tor1")) == 1 && Converged(s, "tor1", planned: true), "one drift repair, converged again");

        // The switch database restarts: seen down, then reconnected and counted; the client counts the lost connection.
        sw.Kill();
        await UntilAsync(http, s => s.Value("l2gw_agent_switch_connected", Switch("tor1")) == 0, "tor1 disconnected");
        sw.Start();
        scrape = await UntilAsync(
            http,
            s => s.Value("l2gw_agent_switch_connected", Switch("tor1")) == 1 && s.Value("l2gw_agent_switch_reconnects_total", Switch("tor1")) == 1 && Converged(s, "tor1", planned: true),
            "tor1 reconnected once and converged");
        Assert.True(scrape.Sum("ovsdb_client_errors_total", ToSwitch) >= 1, scrape.Text);
        if (Environment.GetEnvironmentVariable("L2GW_SCRAPE_SAMPLE") is { Length: > 0 } sample)
        {
            File.WriteAllText(sample, scrape.Text); // docs/operations.md shows a real scrape
        }

        // The connection goes: its logical switch, remote MAC and flooding row are deleted (the database collects
        // the locators no row refers to any more) and the switch converges to wanting none of them.
        (await http.DeleteAsync(new Uri($"/v2.0/l2-gateway-connections/{connection["l2_gateway_connection"]!["id"]}", UriKind.Relative))).Dispose();
        scrape = await UntilAsync(
            http, s => s.Value("l2gw_agent_switch_rows_deleted_total", Switch("tor1")) >= 3 && Converged(s, "tor1", planned: false), "tor1's rows deleted, converged");
        Assert.Equal(0, await server.StopAsync());

        // JSON logs: every line one event, the request id and the switch as fields of their scopes.
        var events = server.Lines.Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
        Assert.All(events, e => Assert.True(e.ContainsKey("Timestamp") && e.ContainsKey("LogLevel") && e.ContainsKey("Category") && e.ContainsKey("Message")));
        static IEnumerable<JsonNode> Scopes(JsonObject e) => e["Scopes"]!.AsArray().Select(s => s!);
        Assert.Contains(events, e => (string?)e["Category"] == "L2Gateway.Api"
            && ((string?)e["Message"])!.StartsWith("POST /v2.0/l2-gateway-connections 201", StringComparison.Ordinal)
            && Scopes(e).Any(s => s is JsonObject o && (string?)o["RequestId"] == connectionRequest));
        Assert.Contains(events, e => ((string?)e["Category"])!.StartsWith("L2Gateway.Agent.tor1", StringComparison.Ordinal)
            && ((string?)e["Message"])!.Contains("converged", StringComparison.Ordinal)
            && Scopes(e).Any(s => s is JsonObject o && (string?)o["Switch"] == "tor1"));
    }

    [Fact]
    public async Task A_standalone_agent_serves_its_metrics_on_metrics_bind()
    {
        using var sw = new SwitchDb();
        var serverPort = SwitchDb.FreePort();
        var metricsPort = SwitchDb.FreePort();
        using var server = L2gwProcess.Start([L2gwProcess.Dll, "server", "--bind", $"127.0.0.1:{serverPort}", "--data-dir", dir]);
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{serverPort}/") };
        await WaitForAsync(api, "/healthz");

        var ini = Ini(
            "l2gateway_agent.ini",
            ("DEFAULT", "host", "obs-standalone"),
            ("DEFAULT", "l2gw_server_url", $"http://127.0.0.1:{serverPort}"),
            ("DEFAULT", "metrics_bind", $"127.0.0.1:{metricsPort}"),
            ("DEFAULT", "log_format", "json"),
            ("ovsdb", "ovsdb_hosts", $"tor1:127.0.0.1:{sw.Port}"),
            ("ovsdb", "periodic_interval", "1"));
        using var agent = L2gwProcess.Start([L2gwProcess.Dll, "agent", "--config-file", ini]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}/") };
        await WaitForAsync(http, "/healthz");
        Assert.Equal("""{"status":"Healthy","checks":{}}""", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

        var scrape = await UntilAsync(
            http,
            s => s.Value("l2gw_agent_switch_connected", Switch("tor1")) == 1 && s.Value("l2gw_agent_switch_lock_held", Switch("tor1")) == 1 && Converged(s, "tor1", planned: false),
            "tor1 connected, locked and converged");
        Assert.True(scrape.Sum("ovsdb_client_messages_received_total", _ => true) > 0, scrape.Text);
        Assert.Contains("service_name=\"l2gw-agent\"", scrape.Text, StringComparison.Ordinal);
        Assert.Empty(scrape.Named("http_server_request_duration_seconds_count", ("http_route", "/v2.0/l2-gateways/")));

        // The server counts the agent that reports to it.
        await UntilAsync(api, s => s.Value("l2gw_agents_connected") == 1, "the standalone agent counted by the server");

        Assert.Equal(0, await agent.StopAsync());
        Assert.Contains(
            agent.Lines.Select(l => JsonNode.Parse(l)!.AsObject()),
            e => e["Scopes"]!.AsArray().Any(s => s is JsonObject o && (string?)o["Switch"] == "tor1"));
        Assert.Equal(0, await server.StopAsync());
    }

    /// <summary>
    /// The arguments of a server on <paramref name="port"/>, or of an agent of one unreachable switch and server, with
    /// its metrics on <paramref name="port"/> when <paramref name="metrics"/>.
    /// </summary>
    private string[] Program(string command, int port, bool metrics) => command == "server"
        ? ["server", "--bind", $"127.0.0.1:{port}", "--data-dir", dir]
        : ["agent", "--config-file", Ini(
            "agent.ini",
            [
                ("DEFAULT", "l2gw_server_url", $"http://127.0.0.1:{SwitchDb.FreePort()}"),
                ("ovsdb", "ovsdb_hosts", $"tor1:127.0.0.1:{SwitchDb.FreePort()}"),
                .. metrics ? new[] { ("DEFAULT", "metrics_bind", $"127.0.0.1:{port}") } : [],
            ])];

    [Theory]
    [InlineData("server")]
    [InlineData("agent with metrics")]
    [InlineData("agent")]
    public async Task The_program_watches_nothing_in_its_working_directory(string command)
    {
        // The packages run it in /var/lib/l2gw, where SQLite writes: a watch there wakes on every write.
        using var process = L2gwProcess.Start([L2gwProcess.Dll, .. Program(command, SwitchDb.FreePort(), metrics: command != "agent")], workingDirectory: dir);

        // Up: its first line is logged after the host was built, which is when a configuration watch would begin.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!process.Lines.Any(l => l.Contains(command == "server" ? "l2gw server listening" : "l2gw agent", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "not started: " + string.Join("\n", process.Lines));
            await Task.Delay(100);
        }

        // An inotify watch names its directory by inode, in hex ("ino:b2a18c").
        var stat = await ChildProcess.RunAsync("stat", ["-c", "%i", dir], TimeSpan.FromSeconds(30));
        Assert.Equal(0, stat.Exit);
        var inode = "ino:" + long.Parse(stat.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture).ToString("x", System.Globalization.CultureInfo.InvariantCulture) + " ";
        Assert.DoesNotContain(process.InotifyWatches(), w => w.Contains(inode, StringComparison.Ordinal));
        Assert.Equal(0, await process.StopAsync());
    }

    [Theory]
    [InlineData("server")]
    [InlineData("agent")]
    public async Task Under_systemd_the_program_notifies_ready_then_stopping_and_logs_with_priorities(string command)
    {
        // systemd's side: the notify socket, and a parent process named systemd (how .NET knows it runs under it).
        var socketPath = Path.Combine(dir, "notify");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var systemd = Path.Combine(dir, "systemd");
        File.Copy("/usr/bin/dash", systemd);
        var pidFile = Path.Combine(dir, "main.pid");
        var port = SwitchDb.FreePort();
        var program = Program(command, port, metrics: true);
        using var parent = L2gwProcess.Start(
            ["-c", "\"$@\" & echo $! > \"$MAIN_PID_FILE\"; wait $!", "systemd", "dotnet", L2gwProcess.Dll, .. program],
            systemd,
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["MAIN_PID_FILE"] = pidFile });

        var ready = await ReceiveAsync(socket);
        Assert.Contains("READY=1", ready, StringComparison.Ordinal);

        // Ready means serving.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        using (var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        L2gwProcess.Terminate(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));
        var stopping = await ReceiveAsync(socket);
        Assert.Contains("STOPPING=1", stopping, StringComparison.Ordinal);
        Assert.Equal(0, await parent.WaitAsync());

        // journald reads each line's priority from its <N> prefix.
        Assert.Contains(parent.Lines, l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains(command == "server" ? "l2gw server listening" : "l2gw agent", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("server", "--log-format", "xml")]
    [InlineData("agent", "--log-format=xml")]
    public async Task An_unknown_log_format_is_a_one_line_error(params string[] args)
    {
        var ini = Ini("agent.ini", ("ovsdb", "ovsdb_hosts", "tor1:127.0.0.1:6640"));
        var result = await ChildProcess.RunAsync("dotnet", [L2gwProcess.Dll, .. args, .. args[0] == "agent" ? new[] { "--config-file", ini } : []], TimeSpan.FromMinutes(1));
        Assert.Equal(2, result.Exit);
        Assert.Equal("l2gw: invalid log_format 'xml': expected text or json", result.Err.Trim());
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var count = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        return Encoding.UTF8.GetString(buffer, 0, count);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
