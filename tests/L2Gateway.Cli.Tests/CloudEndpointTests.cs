using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Cli.Tests;

/// <summary>
/// The product as the cloud's network endpoint: a proxy-mode server authenticating against the lab's real Keystone,
/// in front of the lab's real Neutron, with a policy file that opens gateways and connections to project members.
/// Keystone's catalog gets a region of the test's own (RegionOne is shared and never changed) whose <c>network</c>
/// endpoint is the product, and a clouds.yaml with password auth names that region.
/// </summary>
public sealed class CloudEndpointFixture : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-cloud-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> endpoints = [];
    private bool regionCreated;

    public string Prefix { get; } = "l2gw-proxy-" + Guid.NewGuid().ToString("N")[..8];

    public WebApplication App { get; private set; } = null!;

    public string Endpoint { get; private set; } = "";

    public string CloudsYaml => Path.Combine(directory, "clouds.yaml");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        var policy = Path.Combine(directory, "policy.yaml");
        await File.WriteAllTextAsync(policy, """
            "create_l2_gateway": "rule:admin_or_owner"
            "update_l2_gateway": "rule:admin_or_owner"
            "get_l2_gateway": "rule:admin_or_owner"
            "delete_l2_gateway": "rule:admin_or_owner"
            "create_l2_gateway_connection": "rule:admin_or_owner"
            "get_l2_gateway_connection": "rule:admin_or_owner"
            "delete_l2_gateway_connection": "rule:admin_or_owner"
            """);
        App = ServerHost.Build(new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = directory,
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
            PolicyFile = policy,
            NeutronProxy = true,
            NeutronUrl = OpenStackLab.NeutronUrl.ToString(),
        });
        await ServerHost.StartAsync(App);
        Endpoint = ServerHost.Urls(App)[0].TrimEnd('/');

        await OpenStackLab.OpenStackAsync("admin", "region", "create", Prefix);
        regionCreated = true;
        foreach (var face in (string[])["public", "internal"])
        {
            endpoints.Add(await OpenStackLab.OpenStackAsync("admin", "endpoint", "create", "--region", Prefix, "network", face, Endpoint, "-f", "value", "-c", "id"));
        }

        var yaml = new StringBuilder("clouds:\n");
        foreach (var user in (string[])["admin", "demo"])
        {
            var credentials = OpenStackLab.Credentials(user);
            yaml.Append(CultureInfo.InvariantCulture, $"""
                  {user}:
                    auth:
                      auth_url: {credentials["OS_AUTH_URL"]}
                      username: {credentials["OS_USERNAME"]}
                      password: '{credentials["OS_PASSWORD"]}'
                      project_name: {credentials["OS_PROJECT_NAME"]}
                      user_domain_name: Default
                      project_domain_name: Default
                    region_name: {Prefix}
                    interface: public
                    identity_api_version: 3

                """);
        }

        await File.WriteAllTextAsync(CloudsYaml, yaml.ToString());
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var endpoint in endpoints)
            {
                await OpenStackLab.OpenStackAsync("admin", "endpoint", "delete", endpoint);
            }

            if (regionCreated)
            {
                await OpenStackLab.OpenStackAsync("admin", "region", "delete", Prefix);
            }
        }
        finally
        {
            await App.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Cleanup after a failed test: deletes a lab resource (in RegionOne, as admin) unless it is gone already.</summary>
    public static async Task DeleteIfThereAsync(string kind, string id)
    {
        try
        {
            await OpenStackLab.OpenStackAsync("admin", kind, "delete", id);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("No ", StringComparison.Ordinal) || e.Message.Contains("not found", StringComparison.OrdinalIgnoreCase))
        {
            // Deleted by the test itself.
        }
    }

    /// <summary>The real openstack client as <paramref name="cloud"/> of the clouds.yaml, nothing else from the environment.</summary>
    public async Task<Result> OpenStackAsync(string cloud, params string[] args)
    {
        var result = await ChildProcess.RunAsync("/usr/bin/python3", ["/usr/bin/openstack", "--os-cloud", cloud, .. args], TimeSpan.FromMinutes(2), start =>
        {
            start.StandardOutputEncoding = Encoding.UTF8;
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal) || k.StartsWith("CLIFF_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(key);
            }

            start.Environment["OS_CLIENT_CONFIG_FILE"] = CloudsYaml;
        });
        return new Result(result.Exit, result.Out, result.Err);
    }

    public async Task<JsonNode> JsonAsync(string cloud, params string[] args)
    {
        var result = await OpenStackAsync(cloud, [.. args, "-f", "json"]);
        Assert.True(result.Exit == 0, $"openstack --os-cloud {cloud} {string.Join(' ', args)}: {result}");
        return JsonNode.Parse(result.Out)!;
    }

    /// <summary>The product's own client, in-process, as <paramref name="cloud"/> of the clouds.yaml.</summary>
    public Result L2gw(string cloud, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Cli.Run(["--os-cloud", cloud, .. args], stdout, stderr, k => k == "OS_CLIENT_CONFIG_FILE" ? CloudsYaml : null);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Puts a Neutron network into the product's catalog as its Neutron reader would (SPEC §8: catalog from Neutron),
    /// with the VNI Neutron gave it.
    /// </summary>
    public async Task MirrorNetworkAsync(string id)
    {
        var network = await JsonAsync("admin", "network", "show", id);
        var segments = new List<NetworkSegment> { new("vxlan", (int)network["provider:segmentation_id"]!) };
        await App.Services.GetRequiredService<CatalogService>().CreateNetworkAsync(
            new NetworkRow { Id = id, Name = (string)network["name"]!, ProjectId = (string)network["project_id"]!, SegmentsJson = Mapping.ToJson(segments) },
            segments,
            default);
    }
}

public sealed class CloudEndpointTests(CloudEndpointFixture cloud) : IClassFixture<CloudEndpointFixture>
{
    [Fact]
    public async Task Through_the_catalog_s_network_endpoint_both_clients_reach_neutron_and_the_product()
    {
        var name = cloud.Prefix + "-net";
        var network = (string)(await cloud.JsonAsync("admin", "network", "create", name))["id"]!;
        try
        {
            // Neutron itself has it (asked in RegionOne, directly).
            Assert.Equal(network, await OpenStackLab.OpenStackAsync("admin", "network", "show", network, "-f", "value", "-c", "id"));
            Assert.Contains((await cloud.JsonAsync("admin", "network", "list")).AsArray(), n => (string?)n!["ID"] == network);
            var port = (string)(await cloud.JsonAsync("admin", "port", "create", "--network", network, cloud.Prefix + "-p1"))["id"]!;
            Assert.Contains((await cloud.JsonAsync("admin", "port", "list", "--network", network)).AsArray(), p => (string?)p!["ID"] == port);
            Assert.Equal(0, (await cloud.OpenStackAsync("admin", "port", "delete", port)).Exit);

            // The product answers the L2 gateway calls: the gateway lands in its database, not in Neutron.
            var gateway = (string)(await cloud.JsonAsync("admin", "l2gw", "create", cloud.Prefix + "-gw", "--device", "name=sw1,interface_names=p1"))["ID"]!;
            Assert.NotNull(await cloud.App.Services.GetRequiredService<GatewayService>().FindGatewayAsync(gateway, default));
            Assert.Contains((await cloud.JsonAsync("admin", "l2gw", "list")).AsArray(), g => (string?)g!["ID"] == gateway);
            Assert.Equal(cloud.Prefix + "-gw", (string?)(await cloud.JsonAsync("admin", "l2gw", "show", gateway))["Name"]);

            // The product's own client takes the same network endpoint from the catalog of the same cloud.
            var listed = cloud.L2gw("admin", "--debug", "list", "-f", "json");
            Assert.True(listed.Exit == 0, listed.ToString());
            Assert.Contains($"GET {cloud.Endpoint}/v2.0/l2-gateways", listed.Err, StringComparison.Ordinal);
            Assert.Contains(JsonNode.Parse(listed.Out)!.AsArray(), g => (string?)g!["ID"] == gateway);

            Assert.Equal(0, (await cloud.OpenStackAsync("admin", "l2gw", "delete", gateway)).Exit);
            Assert.Null(await cloud.App.Services.GetRequiredService<GatewayService>().FindGatewayAsync(gateway, default));
            Assert.Equal(0, (await cloud.OpenStackAsync("admin", "network", "delete", network)).Exit);
        }
        finally
        {
            await CloudEndpointFixture.DeleteIfThereAsync("network", network);
        }
    }

    [Fact]
    public async Task A_member_sees_only_their_project_s_gateways_and_connections()
    {
        var sw = cloud.Prefix + "-sw";
        await ServerHost.ReportSwitchAsync(cloud.App, new SwitchInventory(sw, ["10.0.0.1"], "UP", [new("p1", "UP"), new("p2", "UP")]));
        var adminNet = (string)(await cloud.JsonAsync("admin", "network", "create", cloud.Prefix + "-admin-net"))["id"]!;
        var demoNet = (string)(await cloud.JsonAsync("demo", "network", "create", cloud.Prefix + "-demo-net"))["id"]!;
        try
        {
            await cloud.MirrorNetworkAsync(adminNet);
            await cloud.MirrorNetworkAsync(demoNet);
            var adminGw = (string)(await cloud.JsonAsync("admin", "l2gw", "create", cloud.Prefix + "-admin-gw", "--device", $"name={sw},interface_names=p1"))["ID"]!;
            var demoGw = (string)(await cloud.JsonAsync("demo", "l2gw", "create", cloud.Prefix + "-demo-gw", "--device", $"name={sw},interface_names=p2"))["ID"]!;
            var adminConn = (string)(await cloud.JsonAsync("admin", "l2gw", "connection", "create", adminGw, adminNet, "--default-segmentation-id", "101"))["ID"]!;
            var demoConn = (string)(await cloud.JsonAsync("demo", "l2gw", "connection", "create", demoGw, demoNet, "--default-segmentation-id", "102"))["ID"]!;

            var demoProject = await OpenStackLab.ProjectIdAsync("demo");
            var demoGateways = (await cloud.JsonAsync("demo", "l2gw", "list")).AsArray();
            Assert.Equal([demoGw], demoGateways.Select(g => (string)g!["ID"]!));
            Assert.Equal(demoProject, (string?)demoGateways[0]!["Tenant"]);
            Assert.Equal([demoConn], (await cloud.JsonAsync("demo", "l2gw", "connection", "list")).AsArray().Select(c => (string)c!["ID"]!));
            var peek = await cloud.OpenStackAsync("demo", "l2gw", "show", adminGw);
            Assert.NotEqual(0, peek.Exit);
            Assert.Contains($"Unable to find l2_gateway with name or id '{adminGw}'", peek.Err, StringComparison.Ordinal);

            // Another project's network is not there for a member (the client resolves names through Neutron, which
            // hides it too, so the call goes to the product as is).
            using (var http = new HttpClient { BaseAddress = new Uri(cloud.Endpoint) })
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/v2.0/l2-gateway-connections"))
            {
                request.Headers.Add("X-Auth-Token", await OpenStackLab.IssueTokenAsync("demo"));
                request.Content = new StringContent(
                    $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{demoGw}}}","network_id":"{{{adminNet}}}","segmentation_id":103}}""", Encoding.UTF8, "application/json");
                using var response = await http.SendAsync(request);
                Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
                Assert.Contains("NetworkNotFound", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The admin sees every project's; the product's own client agrees with the reference's.
            var adminSees = (await cloud.JsonAsync("admin", "l2gw", "list")).AsArray().Select(g => (string)g!["ID"]!).ToList();
            Assert.Contains(adminGw, adminSees);
            Assert.Contains(demoGw, adminSees);
            var adminConns = (await cloud.JsonAsync("admin", "l2gw", "connection", "list")).AsArray().Select(c => (string)c!["ID"]!).ToList();
            Assert.Contains(adminConn, adminConns);
            Assert.Contains(demoConn, adminConns);
            var ours = cloud.L2gw("demo", "list", "-f", "json");
            Assert.True(ours.Exit == 0, ours.ToString());
            Assert.Equal([demoGw], JsonNode.Parse(ours.Out)!.AsArray().Select(g => (string)g!["ID"]!));

            // Members delete their own; the admin's stay out of their reach.
            var refused = await cloud.OpenStackAsync("demo", "l2gw", "connection", "delete", adminConn);
            Assert.NotEqual(0, refused.Exit);
            Assert.Equal(0, (await cloud.OpenStackAsync("demo", "l2gw", "connection", "delete", demoConn)).Exit);
            Assert.Equal(0, (await cloud.OpenStackAsync("demo", "l2gw", "delete", demoGw)).Exit);
            Assert.Equal(0, (await cloud.OpenStackAsync("admin", "l2gw", "connection", "delete", adminConn)).Exit);
            Assert.Equal(0, (await cloud.OpenStackAsync("admin", "l2gw", "delete", adminGw)).Exit);
        }
        finally
        {
            await CloudEndpointFixture.DeleteIfThereAsync("network", adminNet);
            await CloudEndpointFixture.DeleteIfThereAsync("network", demoNet);
        }
    }
}

/// <summary>
/// Tokens the lab's real Keystone issued, presented by the real openstack client to a product whose clock is a manual
/// one: a token past its expiry, and a revoked one once the product's cache of it lapses, are refused with 401.
/// </summary>
public sealed class CloudTokenTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-tokens-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock clock = new(DateTimeOffset.UtcNow);
    private WebApplication app = null!;
    private string endpoint = "";

    public async Task InitializeAsync()
    {
        app = ServerHost.Build(
            new ServerOptions
            {
                Bind = "127.0.0.1:0",
                DataDir = directory,
                AuthStrategy = AuthStrategy.Keystone,
                KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
                NeutronProxy = true,
                NeutronUrl = OpenStackLab.NeutronUrl.ToString(),
            },
            builder => builder.Services.AddSingleton<TimeProvider>(clock));
        await ServerHost.StartAsync(app);
        endpoint = ServerHost.Urls(app)[0].TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary><c>openstack l2gw list</c> presenting <paramref name="token"/> to the product as it is.</summary>
    private async Task<Result> ListAsync(string token)
    {
        var result = await ChildProcess.RunAsync(
            "/usr/bin/python3",
            ["/usr/bin/openstack", "--os-auth-type", "admin_token", "--os-endpoint", endpoint, "--os-token", token, "l2gw", "list", "-f", "json"],
            TimeSpan.FromMinutes(2),
            start =>
            {
                foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
                {
                    start.Environment.Remove(key);
                }
            });
        return new Result(result.Exit, result.Out, result.Err);
    }

    private static async Task<(string Id, DateTimeOffset Expires)> IssueAsync(string user)
    {
        var token = JsonNode.Parse(await OpenStackLab.OpenStackAsync(user, "token", "issue", "-f", "json"))!;
        var expires = (string)token["expires"]!;

        // The client prints the offset without its colon (+0000).
        if (expires.Length > 5 && expires[^5] is '+' or '-' && expires[^4..].All(char.IsAsciiDigit))
        {
            expires = expires[..^2] + ":" + expires[^2..];
        }

        return ((string)token["id"]!, DateTimeOffset.Parse(expires, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Revoked_then_expired_tokens_are_refused()
    {
        var (revoked, _) = await IssueAsync("admin");
        var (expiring, expires) = await IssueAsync("admin");
        foreach (var token in (string[])[revoked, expiring])
        {
            var fine = await ListAsync(token);
            Assert.True(fine.Exit == 0, fine.ToString());
        }

        // Revoked: trusted from the cache for token_cache_time (300 s), then asked again and refused.
        await OpenStackLab.RevokeTokenAsync(revoked);
        clock.Advance(TimeSpan.FromSeconds(301));
        var refused = await ListAsync(revoked);
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("requires authentication", refused.Err, StringComparison.Ordinal);

        // Expired: still good a second before its expiry, refused once it is past, though Keystone still knows it.
        clock.Advance(expires - clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await ListAsync(expiring)).Exit);
        clock.Advance(TimeSpan.FromSeconds(2));
        refused = await ListAsync(expiring);
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("requires authentication", refused.Err, StringComparison.Ordinal);
    }
}
