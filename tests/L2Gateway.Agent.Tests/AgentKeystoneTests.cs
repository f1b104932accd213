using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.Server;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;

namespace L2Gateway.Agent.Tests;

/// <summary>
/// The agent against a server under auth_strategy=keystone, with the service user's password credentials, all
/// against the real Keystone of the OpenStack lab.
/// </summary>
public sealed class AgentKeystoneTests : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-agent-ks-" + Guid.NewGuid().ToString("N")[..10]);
    private WebApplication? app;

    private static KeystoneCredentials ServiceUser(string password = "osv-neutron") =>
        new(OpenStackLab.KeystoneUrl, "neutron", password, "service");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<Uri> StartServerAsync(int tokenCacheTime = 300)
    {
        app = ServerHost.Build(new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = dir,
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
            TokenCacheTime = tokenCacheTime,
            AgentDownTime = 5,
        });
        await ServerHost.StartAsync(app);
        return new Uri(ServerHost.Urls(app)[0]);
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static async Task<JsonNode> CreateAsync(HttpClient http, string path, string json)
    {
        var (status, body) = await SendAsync(http, HttpMethod.Post, path, json);
        Assert.True(status == HttpStatusCode.Created, $"POST {path}: {(int)status} {body?.ToJsonString()}");
        return body!;
    }

    [Fact]
    public async Task An_agent_with_service_credentials_reports_and_programs_its_switch()
    {
        var server = await StartServerAsync();
        using var sw = new SwitchDb("tor-ks", "192.0.2.7", "p1");
        var options = new AgentOptions
        {
            Host = "agent-ks",
            ServerUrl = server,
            OvsdbHosts = [new OvsdbHost(sw.Name, "127.0.0.1", sw.Port)],
            PeriodicInterval = 2,
            SocketTimeout = 5,
            Keystone = ServiceUser(),
        };
        await using var agent = await RunningAgent.StartAsync(options);
        using var admin = new HttpClient { BaseAddress = server };
        admin.DefaultRequestHeaders.Add("X-Auth-Token", await OpenStackLab.IssueTokenAsync("admin"));

        // Its heartbeat got in: the agent is listed alive and its switch is in the inventory.
        await Eventually.HoldsAsync(
            async () => (await SendAsync(admin, HttpMethod.Get, "/v2.0/l2-gateway-switches/tor-ks")).Status == HttpStatusCode.OK,
            "the agent's report of tor-ks reached the server");
        var (_, agents) = await SendAsync(admin, HttpMethod.Get, "/v2.0/agents");
        Assert.Contains(agents!["agents"]!.AsArray(), a => (string?)a!["host"] == "agent-ks" && (bool?)a["alive"] == true);

        // Its long poll got in: a connection reaches the switch.
        var network = (string)(await CreateAsync(admin, "/v2.0/networks", """{"network":{"name":"ks","provider:network_type":"vxlan","provider:segmentation_id":7001}}"""))["network"]!["id"]!;
        var gateway = (string)(await CreateAsync(
            admin, "/v2.0/l2-gateways", """{"l2_gateway":{"name":"ks","devices":[{"device_name":"tor-ks","interfaces":[{"name":"p1","segmentation_id":[100]}]}]}}"""))["l2_gateway"]!["id"]!;
        await CreateAsync(admin, "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}"}}""");
        await Eventually.HoldsAsync(
            async () => (await sw.RowsAsync("Logical_Switch")).Any(r => r.GetString("name") == network),
            "the connection's Logical_Switch reached the switch");
    }

    [Fact]
    public async Task The_token_is_renewed_before_it_expires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        using var tokens = new KeystoneTokenSource(ServiceUser(), clock);
        var first = await tokens.GetAsync(default);
        Assert.Equal(first, await tokens.GetAsync(default));
        Assert.Equal(1, tokens.Issued);

        // The lab's tokens live an hour; with five minutes left the source asks for a new one.
        clock.Advance(TimeSpan.FromMinutes(54));
        Assert.Equal(first, await tokens.GetAsync(default));
        clock.Advance(TimeSpan.FromMinutes(2));
        var second = await tokens.GetAsync(default);
        Assert.NotEqual(first, second);
        Assert.Equal(2, tokens.Issued);
    }

    [Fact]
    public async Task A_refused_token_is_replaced_and_the_call_retried_once()
    {
        var server = await StartServerAsync(tokenCacheTime: -1);
        using var tokens = new KeystoneTokenSource(ServiceUser());
        using var link = new ServerLink(server, tokens);
        await link.ReportAsync(new AgentReport("agent-retry", DateTime.UtcNow, []), default);
        var first = await tokens.GetAsync(default);

        await OpenStackLab.RevokeTokenAsync(first);
        await link.ReportAsync(new AgentReport("agent-retry", DateTime.UtcNow, []), default);

        Assert.Equal(2, tokens.Issued);
        Assert.NotEqual(first, await tokens.GetAsync(default));
    }

    [Fact]
    public async Task Wrong_credentials_fail_with_a_clear_error_and_no_token_means_401()
    {
        var server = await StartServerAsync();
        using var tokens = new KeystoneTokenSource(ServiceUser(password: "wrong"));
        using var link = new ServerLink(server, tokens);
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => link.ReportAsync(new AgentReport("agent-bad", DateTime.UtcNow, []), default));
        Assert.Contains("refused the agent's credentials", error.Message, StringComparison.Ordinal);

        using var anonymous = new ServerLink(server);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.ReportAsync(new AgentReport("agent-none", DateTime.UtcNow, []), default));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public void Credentials_come_from_keystone_authtoken()
    {
        var ini = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["keystone_authtoken:auth_url"] = "http://127.0.0.1:5000/v3",
            ["keystone_authtoken:username"] = "l2gw",
            ["keystone_authtoken:password"] = "secret",
            ["keystone_authtoken:project_name"] = "service",
        };
        var options = AgentOptions.FromIni(ini);
        Assert.Equal(new KeystoneCredentials(new Uri("http://127.0.0.1:5000/v3"), "l2gw", "secret", "service"), options.Keystone);
        Assert.DoesNotContain("secret", options.Keystone!.ToString(), StringComparison.Ordinal);

        ini.Remove("keystone_authtoken:project_name");
        var error = Assert.Throws<FormatException>(() => AgentOptions.FromIni(ini));
        Assert.Contains("project_name", error.Message, StringComparison.Ordinal);
        Assert.Null(AgentOptions.FromIni(new Dictionary<string, string>()).Keystone);
    }
}
