using System.Net;

namespace L2Gateway.Server.Tests;

/// <summary>A server whose policy file opens gateway and connection calls to each project's members.</summary>
public sealed class OpenPolicyServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-policy-" + Guid.NewGuid().ToString("N"));

    protected override Task<string> DatabaseUrlAsync()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "policy.yaml"), """
            # Members manage their own project's gateways and connections.
            "create_l2_gateway": "rule:admin_or_owner"
            "update_l2_gateway": "rule:admin_or_owner"
            "get_l2_gateway": "rule:admin_or_owner"
            "delete_l2_gateway": "rule:admin_or_owner"
            "create_l2_gateway_connection": "rule:admin_or_owner"
            "get_l2_gateway_connection": "rule:admin_or_owner"
            "delete_l2_gateway_connection": "role:admin"
            """);
        return Task.FromResult("sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/'));
    }

    protected override void Configure(ServerOptions options) => options.PolicyFile = Path.Combine(directory, "policy.yaml");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

public sealed class PolicyTests(OpenPolicyServerFixture server) : IClassFixture<OpenPolicyServerFixture>
{
    private const string Body = """{"l2_gateway":{"name":"g","devices":[{"device_name":"sw","interfaces":[{"name":"e"}]}]}}""";

    [Fact]
    public async Task Members_see_and_touch_only_their_own_project()
    {
        using var alice = server.Client(roles: "member");
        using var bob = server.Client(roles: "member");
        using var admin = server.Client();
        var aliceGw = (string)(await alice.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Body))["id"]!;
        var bobGw = (string)(await bob.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Body))["id"]!;

        var (_, aliceList) = await alice.GetAsync("/v2.0/l2-gateways");
        Assert.Equal([aliceGw], aliceList!["l2_gateways"]!.AsArray().Select(g => (string)g!["id"]!));
        var (_, spy) = await alice.GetAsync($"/v2.0/l2-gateways?tenant_id={bob.Project}");
        Assert.Empty(spy!["l2_gateways"]!.AsArray());

        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/v2.0/l2-gateways/{bobGw}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.PutAsync($"/v2.0/l2-gateways/{bobGw}", """{"l2_gateway":{"name":"x"}}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.DeleteAsync($"/v2.0/l2-gateways/{bobGw}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"/v2.0/l2-gateways/{bobGw}")).Status);

        // A member cannot create in another project; the admin sees everyone's.
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/v2.0/l2-gateways", Body.Replace("\"name\":\"g\"", $"\"name\":\"g\",\"tenant_id\":\"{bob.Project}\"", StringComparison.Ordinal))).Status);
        var (_, all) = await admin.GetAsync($"/v2.0/l2-gateways?id={aliceGw}&id={bobGw}");
        Assert.Equal(2, all!["l2_gateways"]!.AsArray().Count);

        // Rules left admin-only stay closed, before any lookup.
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.DeleteAsync($"/v2.0/l2-gateway-connections/{Guid.NewGuid()}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/v2.0/l2-gateways/{aliceGw}")).Status);
    }
}
