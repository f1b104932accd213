using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core.Planning;
using L2Gateway.Server.Dashboard;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

public sealed class DashboardServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-dash-" + Guid.NewGuid().ToString("N"));

    protected override Task<string> DatabaseUrlAsync() => Task.FromResult("sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/'));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>A dashboard server whose clock moves only when the test says so; agents die 10 s after their last heartbeat.</summary>
public sealed class DashboardClockServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-dash-clock-" + Guid.NewGuid().ToString("N"));

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override Task<string> DatabaseUrlAsync() => Task.FromResult("sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/'));

    protected override void Configure(ServerOptions options) => options.AgentDownTime = 10;

    protected override void Configure(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>The dashboard's server-sent events, read as the page reads them: one <c>state</c> event per document.</summary>
internal sealed class DashboardStream : IAsyncDisposable
{
    private readonly HttpClient http;
    private readonly HttpResponseMessage response;
    private readonly StreamReader reader;

    private DashboardStream(HttpClient http, HttpResponseMessage response, StreamReader reader) => (this.http, this.response, this.reader) = (http, response, reader);

    public static async Task<DashboardStream> OpenAsync(Uri server)
    {
        var http = new HttpClient { BaseAddress = server };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2.0/l2gw-dashboard");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new DashboardStream(http, response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next document the server pushes (a deadline guards the test, it is not what it waits for).</summary>
    public async Task<JsonNode> NextAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? type = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.Length == 0)
            {
                if (type == "state" && data.Length > 0)
                {
                    return JsonNode.Parse(data.ToString())!["l2gw_dashboard"]!;
                }

                (type, data) = (null, new StringBuilder());
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
        }
    }

    /// <summary>The next line of the stream as sent (events and comments alike); null when the server ended it.</summary>
    public async Task<string?> NextLineAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await reader.ReadLineAsync(deadline.Token);
    }

    /// <summary>Documents in the order pushed, until one satisfies <paramref name="condition"/>.</summary>
    public async Task<JsonNode> NextWhereAsync(Func<JsonNode, bool> condition)
    {
        while (true)
        {
            var document = await NextAsync();
            if (condition(document))
            {
                return document;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        reader.Dispose();
        response.Dispose();
        http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The dashboard's data and page as a client sees them: the document, its stream, the page's files, the login.</summary>
public sealed class DashboardApiTests(DashboardServerFixture server) : IClassFixture<DashboardServerFixture>
{
    private static string Id() => Guid.NewGuid().ToString("N")[..6];

    private static async Task ReportAsync(Api api, string json)
    {
        var (status, body) = await api.PostAsync("/v2.0/l2gw-agent/report", json);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
    }

    private static string Report(string host, string sw, string? applied, bool connected = true, bool writer = true, string error = "",
        bool standingBy = false, string? received = null, params LocalMac[] macs) =>
        JsonSerializer.Serialize(
            new AgentReport(host, DateTime.UtcNow, [new SwitchReport(
                sw, connected, writer, applied, error, ["192.0.2.7"], "UP", [new Core.SwitchPortInventory("p1", "UP"), new Core.SwitchPortInventory("p2", "DOWN")],
                "rack 7", macs, standingBy, received)]),
            AgentProtocol.Json);

    private static async Task<JsonNode> DocumentAsync(Api api)
    {
        var (status, body) = await api.GetAsync("/v2.0/l2gw-dashboard");
        Assert.Equal(HttpStatusCode.OK, status);
        return body!["l2gw_dashboard"]!;
    }

    private static JsonNode SwitchOf(JsonNode document, string name) =>
        document["switches"]!.AsArray().Single(s => (string?)s!["name"] == name)!;

    private static async Task<string> NextRevisionAsync(Api api, string sw, string known)
    {
        var (_, body) = await api.GetAsync($"/v2.0/l2gw-agent/desired-state?switch={sw}&known={known}&wait=30");
        var batch = body.Deserialize<DesiredStateBatch>(AgentProtocol.Json)!;
        return batch.Switches.Select(s => s.Revision).Concat((batch.Deltas ?? []).Select(d => d.Revision)).Single();
    }

    [Fact]
    public async Task A_switch_shows_converged_or_the_first_reason_it_is_not()
    {
        using var api = server.Client();
        var sw = "dash-" + Id();
        var host = "agent-" + Id();

        // A report of an agent that predates standing_by and desired_revision is read as it always was.
        await ReportAsync(api, $$"""
            {"host":"{{host}}","started_at":"2026-01-01T00:00:00Z","switches":[{"name":"{{sw}}","connected":true,"writer":true,
             "applied_revision":null,"error":"","tunnel_ips":["192.0.2.7"],"fault_status":"UP","ports":[{"name":"p1","fault_status":"UP"}],
             "description":"","local_macs":[]}]}
            """);
        var shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.False((bool)shown["converged"]!);
        Assert.Equal("not_programmed", (string?)shown["problem"]);
        Assert.StartsWith("not programmed yet", (string?)shown["reason"], StringComparison.Ordinal);

        var empty = SwitchDesiredState.Empty(sw).Revision;
        await ReportAsync(api, Report(host, sw, empty, received: empty));
        shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.True((bool)shown["converged"]!);
        Assert.Equal(host, (string?)shown["agent"]!["host"]);
        Assert.Equal(host, (string?)shown["lock_holder"]);
        Assert.Equal("""["192.0.2.7"]""", shown["tunnel_ips"]!.ToJsonString());
        Assert.Equal("""[{"name":"p1","fault_status":"UP"},{"name":"p2","fault_status":"DOWN"}]""", shown["ports"]!.ToJsonString());

        // A connection: the switch is one revision behind until its agent applies it.
        var vni = 40_000 + Environment.ProcessId % 10_000;
        var net = (string)(await api.CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"dash-net","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""))["id"]!;
        await api.CreateAsync("/v2.0/hosts", "host", $$$"""{"host":{"name":"{{{host}}}-c1","tunnel_ip":"10.0.0.21"}}""");
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"gw-{{{sw}}}","devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p1"}]}]}}"""))["id"]!;
        var connection = (string)(await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}","segmentation_id":100}}"""))["id"]!;
        var r1 = await NextRevisionAsync(api, sw, empty);
        var document = await DocumentAsync(api);
        shown = SwitchOf(document, sw);
        Assert.Equal("behind", (string?)shown["problem"]);
        Assert.Equal($"behind by 1 revision (agent {host} has not received revision {r1} yet)", (string?)shown["reason"]);
        Assert.Equal(1, (int)shown["revisions_behind"]!);
        var gateway = document["gateways"]!.AsArray().Single(g => (string?)g!["id"] == gw)!;
        var shownConnection = gateway["connections"]!.AsArray().Single()!;
        Assert.Equal((connection, "dash-net", "PENDING"), ((string?)shownConnection["id"], (string?)shownConnection["network_name"], (string?)shownConnection["status"]));

        await ReportAsync(api, Report(host, sw, r1, received: r1, macs: new LocalMac(net, "02:00:00:00:aa:01", "10.9.0.1", "192.0.2.7")));
        document = await DocumentAsync(api);
        Assert.True((bool)SwitchOf(document, sw)["converged"]!);
        Assert.Equal(1, (int)SwitchOf(document, sw)["local_mac_count"]!);
        Assert.Equal("ACTIVE", (string?)document["gateways"]!.AsArray().Single(g => (string?)g!["id"] == gw)!["connections"]![0]!["status"]);
        var network = document["networks"]!.AsArray().Single(n => (string?)n!["id"] == net)!;
        Assert.Equal(vni, (int)network["vni"]!);
        Assert.Equal("""["192.0.2.7"]""", network["fdb"]!["flood"]!.ToJsonString());
        Assert.Equal("""[{"mac":"02:00:00:00:aa:01","ip":"10.9.0.1","tunnel_ip":"192.0.2.7","switch":"SW"}]""".Replace("SW", sw, StringComparison.Ordinal), network["fdb"]!["macs"]!.ToJsonString());

        // Two more desired states: two revisions behind, the agent holding the newest and programming it.
        await api.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:bb:01","fixed_ips":[{"ip_address":"10.9.0.11"}],"binding:host_id":"{{{host}}}-c1"}}""");
        var r2 = await NextRevisionAsync(api, sw, r1);
        await api.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:bb:02","fixed_ips":[{"ip_address":"10.9.0.12"}],"binding:host_id":"{{{host}}}-c1"}}""");
        var r3 = await NextRevisionAsync(api, sw, r2);
        await ReportAsync(api, Report(host, sw, r1, received: r3));
        shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.Equal("behind by 2 revisions (being programmed)", (string?)shown["reason"]);
        Assert.Equal((r1, r3), ((string?)shown["applied_revision"], (string?)shown["desired_revision"]));

        // Everything else comes before being behind: lock, error, connection.
        await ReportAsync(api, Report(host, sw, r3, writer: false, standingBy: true, received: r3));
        shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.Equal(("lock_not_held", $"lock not held: agent {host} waits for the writer lock, which another session holds"), ((string?)shown["problem"], (string?)shown["reason"]));
        Assert.Null((string?)shown["lock_holder"]);

        await ReportAsync(api, Report(host, sw, r3, error: "port p9 is not on the switch", received: r3));
        shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.Equal(("error", "error: port p9 is not on the switch"), ((string?)shown["problem"], (string?)shown["reason"]));

        await ReportAsync(api, Report(host, sw, r3, connected: false, writer: false, error: "cannot connect: Connection refused", received: r3));
        shown = SwitchOf(await DocumentAsync(api), sw);
        Assert.Equal(("disconnected", "disconnected: cannot connect: Connection refused"), ((string?)shown["problem"], (string?)shown["reason"]));
        Assert.False((bool)shown["connected"]!);

        // A switch a gateway names that no agent reports.
        await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"gw-ghost","devices":[{"device_name":"{{{sw}}}-ghost","interfaces":[{"name":"p1"}]}]}}""");
        shown = SwitchOf(await DocumentAsync(api), sw + "-ghost");
        Assert.Equal(("no_agent", "no agent serves it"), ((string?)shown["problem"], (string?)shown["reason"]));
    }

    [Fact]
    public async Task A_stream_pushes_a_document_at_once_and_another_after_a_write()
    {
        using var api = server.Client();
        await using var stream = await DashboardStream.OpenAsync(server.BaseUrl);
        var first = await stream.NextAsync();
        Assert.NotNull(first["switches"]);

        var name = "gw-stream-" + Id();
        await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"sw-{{{name}}}","interfaces":[{"name":"p1"}]}]}}""");
        var pushed = await stream.NextWhereAsync(d => d["gateways"]!.AsArray().Any(g => (string?)g!["name"] == name));
        Assert.Contains(pushed["switches"]!.AsArray(), s => (string?)s!["name"] == "sw-" + name);
    }

    [Fact]
    public async Task The_page_is_served_from_the_assembly_under_a_strict_content_security_policy()
    {
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        using var page = await http.GetAsync(new Uri("/dashboard", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/dashboard/dashboard.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http", html.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.Ordinal);

        using var script = await http.GetAsync(new Uri("/dashboard/dashboard.js", UriKind.Relative));
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/dashboard/dashboard.js");
        conditional.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        using var notModified = await http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var missing = await http.GetAsync(new Uri("/dashboard/nothing.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("HTTPNotFound", (string?)JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["NeutronError"]!["type"]);
    }

    [Fact]
    public async Task Without_keystone_a_login_is_not_needed_and_is_refused_in_Neutrons_shape()
    {
        using var api = server.Client();
        var (status, body) = await api.PostAsync("/dashboard/login", """{"username":"admin","password":"x","project_name":"admin"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("does not use Keystone", (string?)body!["NeutronError"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboard_is_for_admins_unless_the_policy_says_otherwise()
    {
        using var member = server.Client(roles: "member");
        var (status, body) = await member.GetAsync("/v2.0/l2gw-dashboard");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("rule:get_l2gw_dashboard is disallowed by policy", (string?)body!["NeutronError"]!["message"]);
    }
}

/// <summary>The stream follows time as well as writes: an agent that falls silent turns dead on the page when it is due.</summary>
public sealed class DashboardClockTests(DashboardClockServerFixture server) : IClassFixture<DashboardClockServerFixture>
{
    [Fact]
    public async Task An_agent_that_falls_silent_is_pushed_dead_when_its_heartbeat_is_overdue()
    {
        using var api = server.Client();
        var host = "agent-" + Guid.NewGuid().ToString("N")[..6];
        var sw = "sw-" + host;
        var report = new AgentReport(host, DateTime.UtcNow, [new SwitchReport(sw, true, true, SwitchDesiredState.Empty(sw).Revision, "", ["192.0.2.9"], "UP", [], "", [])]);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/v2.0/l2gw-agent/report", JsonSerializer.Serialize(report, AgentProtocol.Json))).Status);

        await using var stream = await DashboardStream.OpenAsync(server.BaseUrl);
        var alive = await stream.NextAsync();
        Assert.True((bool)alive["agents"]!.AsArray().Single(a => (string?)a!["host"] == host)!["alive"]!);

        // No heartbeat for agent_down_time (10 s): the feed's timer for that moment brings the next document by itself.
        await server.Clock.ArmedAsync(DashboardFeed.MinimumInterval).WaitAsync(TimeSpan.FromSeconds(30));
        server.Clock.Advance(TimeSpan.FromSeconds(10));
        var dead = await stream.NextWhereAsync(d => d["agents"]!.AsArray().Any(a => (string?)a!["host"] == host && !(bool)a["alive"]!));
        var shown = dead["switches"]!.AsArray().Single(s => (string?)s!["name"] == sw)!;
        Assert.Equal("agent_dead", (string?)shown["problem"]);
        Assert.Equal($"agent {host} is not alive: last heartbeat 10 s ago", (string?)shown["reason"]);
    }
}

/// <summary>A stream's own clock: keep-alives when nothing changes, and an end after five minutes.</summary>
public sealed class DashboardStreamLifetimeTests(DashboardClockServerFixture server) : IClassFixture<DashboardClockServerFixture>
{
    [Fact]
    public async Task A_quiet_stream_carries_keep_alives_and_ends_after_five_minutes()
    {
        await using var stream = await DashboardStream.OpenAsync(server.BaseUrl);
        await stream.NextAsync();

        await server.Clock.ArmedAsync(DashboardEndpoints.KeepAlive).WaitAsync(TimeSpan.FromSeconds(30));
        server.Clock.Advance(DashboardEndpoints.KeepAlive);
        Assert.Equal(": keep-alive", await stream.NextLineAsync());

        // The page opens the next stream when one ends, and its token is checked again then.
        await server.Clock.ArmedAsync(DashboardEndpoints.KeepAlive).WaitAsync(TimeSpan.FromSeconds(30));
        server.Clock.Advance(TimeSpan.FromMinutes(5) - DashboardEndpoints.KeepAlive);
        string? line;
        do
        {
            line = await stream.NextLineAsync();
        }
        while (line is not null);
    }
}

/// <summary>Two servers on one PostgreSQL database: a stream on one shows what was written through the other.</summary>
public sealed class DashboardPostgresTests : IAsyncLifetime
{
    private readonly PostgresServer postgres = new();
    private readonly List<WebApplication> servers = [];
    private readonly ManualClock clock = new(DateTimeOffset.UtcNow);

    public async Task InitializeAsync()
    {
        await postgres.StartAsync();
        await postgres.CreateDatabaseAsync("l2gw");
    }

    private async Task<Uri> StartServerAsync(TimeProvider? time)
    {
        var app = ServerHost.Build(
            new ServerOptions { Bind = "127.0.0.1:0", Database = postgres.Url("l2gw"), DataDir = Path.GetTempPath() },
            builder =>
            {
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            });
        servers.Add(app);
        await ServerHost.StartAsync(app);
        return new Uri(ServerHost.Urls(app)[0]);
    }

    [Fact]
    public async Task Writes_through_another_server_reach_the_stream_within_ten_seconds()
    {
        var watched = await StartServerAsync(clock);
        var other = await StartServerAsync(null);
        await using var stream = await DashboardStream.OpenAsync(watched);
        await stream.NextAsync();

        // This server learns of the other's writes only by reading the database: its feed reads it again 10 s on.
        await Task.WhenAll(clock.ArmedAsync(TimeSpan.FromSeconds(10)), clock.ArmedAsync(DashboardFeed.MinimumInterval)).WaitAsync(TimeSpan.FromSeconds(30));
        using var api = new Api(other, "p", null);
        var name = "gw-elsewhere-" + Guid.NewGuid().ToString("N")[..6];
        await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"sw","interfaces":[{"name":"p1"}]}]}}""");
        clock.Advance(TimeSpan.FromSeconds(10));
        var document = await stream.NextAsync();
        Assert.Contains(document["gateways"]!.AsArray(), g => (string?)g!["name"] == name);
    }

    public async Task DisposeAsync()
    {
        foreach (var app in servers)
        {
            await app.DisposeAsync();
        }

        await postgres.DisposeAsync();
    }
}
