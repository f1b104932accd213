using System.Globalization;
using System.Net;

namespace L2Gateway.Server.Tests;

/// <summary>
/// A member connects only networks they may see (their project's, or shared), as the reference does (it reads the
/// network with the caller's context): another project's network is "not found", whatever the gateway.
/// </summary>
public sealed class NetworkVisibilityTests(OpenPolicyServerFixture server) : IClassFixture<OpenPolicyServerFixture>
{
    [Fact]
    public async Task A_member_cannot_connect_another_project_s_network()
    {
        using var alice = server.Client(roles: "member");
        using var bob = server.Client(roles: "member");
        using var admin = server.Client();
        var sw = "sw-" + Guid.NewGuid().ToString("N")[..8];
        await server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        var vni = 30_000 + Random.Shared.Next(60_000);
        string Network(string project, int segment, bool shared) =>
            $$$"""{"network":{"name":"n","tenant_id":"{{{project}}}","shared":{{{(shared ? "true" : "false")}}},"provider:network_type":"vxlan","provider:segmentation_id":{{{segment.ToString(CultureInfo.InvariantCulture)}}}}}""";
        var bobs = (string)(await admin.CreateAsync("/v2.0/networks", "network", Network(bob.Project, vni, shared: false)))["id"]!;
        var shared = (string)(await admin.CreateAsync("/v2.0/networks", "network", Network(bob.Project, vni + 1, shared: true)))["id"]!;
        var gateway = (string)(await alice.CreateAsync(
            "/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"g","devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p1"}]}]}}"""))["id"]!;

        var (status, body) = await alice.PostAsync(
            "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{bobs}}}","segmentation_id":100}}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("NetworkNotFound", (string?)body!["NeutronError"]!["type"]);

        (status, _) = await alice.PostAsync(
            "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{shared}}}","segmentation_id":100}}""");
        Assert.Equal(HttpStatusCode.Created, status);
    }
}
