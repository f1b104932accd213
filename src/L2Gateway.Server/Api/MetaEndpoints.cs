using System.Text.Json.Nodes;

namespace L2Gateway.Server.Api;

/// <summary>Version discovery and the extension list clients look at before they call anything.</summary>
public static class MetaEndpoints
{
    private static readonly (string Alias, string Name, string Description)[] Extensions =
    [
        ("l2-gateway", "L2 Gateway", "Connects Neutron networks with external networks at layer 2."),
        ("l2-gateway-connection", "L2 Gateway connection", "Connects Neutron networks with external networks at layer 2."),
        ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
        ("multi-provider", "Multi Provider Network", "Expose mapping of virtual networks to multiple physical networks"),
        ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
        ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
        ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
        ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
        ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
        ("fields", "Fields", "Extension that indicates that the fields query parameter is supported."),
        ("agent", "agent", "The agent management extension."),
    ];

    /// <summary>The product's own extensions: in proxy mode they join Neutron's list.</summary>
    internal static IEnumerable<(string Alias, string Name, string Description)> GatewayExtensions =>
        Extensions.Where(e => e.Alias is "l2-gateway" or "l2-gateway-connection");

    private static readonly string[] Collections =
        ["l2-gateways", "l2-gateway-connections", "networks", "ports", "hosts", "agents", "l2-gateway-switches"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Http.Json(new JsonObject
        {
            ["versions"] = new JsonArray(new JsonObject
            {
                ["id"] = "v2.0",
                ["status"] = "CURRENT",
                ["links"] = new JsonArray(new JsonObject { ["href"] = $"{http.Request.Scheme}://{http.Request.Host}/v2.0/", ["rel"] = "self" }),
            }),
        }));
        app.MapGet("/v2.0", (HttpContext http) => Http.Json(new JsonObject
        {
            ["resources"] = new JsonArray([.. Collections.Select(c => (JsonNode)new JsonObject
                {
                    ["name"] = c.TrimEnd('s'),
                    ["collection"] = c,
                    ["links"] = new JsonArray(new JsonObject { ["href"] = $"{http.Request.Scheme}://{http.Request.Host}/v2.0/{c}", ["rel"] = "self" }),
                })]),
        }));
        app.MapGet("/v2.0/extensions", () => Http.Json(new JsonObject
        {
            ["extensions"] = new JsonArray([.. Extensions.Select(e => (JsonNode)View(e))]),
        }));
        app.MapGet("/v2.0/extensions/{alias}", (string alias) =>
        {
            var match = Extensions.FirstOrDefault(e => e.Alias == alias);
            return match.Alias is null
                ? Http.Json(Http.Error("ExtensionNotFound", $"Extension {alias} could not be found."), StatusCodes.Status404NotFound)
                : Http.Json(new JsonObject { ["extension"] = View(match) });
        });
    }

    internal static JsonObject View((string Alias, string Name, string Description) e) => new()
    {
        ["alias"] = e.Alias,
        ["name"] = e.Name,
        ["description"] = e.Description,
        ["updated"] = "2026-11-26T00:00:00-00:00",
        ["links"] = new JsonArray(),
    };
}
