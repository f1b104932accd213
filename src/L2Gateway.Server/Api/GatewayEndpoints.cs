using System.Text.Json;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Api;

/// <summary>/v2.0/l2-gateways and /v2.0/l2-gateway-connections.</summary>
public static class GatewayEndpoints
{
    private static readonly Column[] GatewayColumns =
    [
        new("id", nameof(GatewayRow.Id)),
        new("name", nameof(GatewayRow.Name)),
        new("tenant_id", nameof(GatewayRow.ProjectId)),
        new("project_id", nameof(GatewayRow.ProjectId)),
    ];

    private static readonly Column[] ConnectionColumns =
    [
        new("id", nameof(ConnectionRow.Id)),
        new("l2_gateway_id", nameof(ConnectionRow.GatewayId)),
        new("network_id", nameof(ConnectionRow.NetworkId)),
        new("segmentation_id", nameof(ConnectionRow.SegmentationId), Sortable: false),
        new("tenant_id", nameof(ConnectionRow.ProjectId)),
        new("project_id", nameof(ConnectionRow.ProjectId)),
    ];

    private static readonly string[] GatewayCreateKeys = ["name", "devices", "tenant_id", "project_id"];
    private static readonly string[] GatewayUpdateKeys = ["name", "devices"];
    private static readonly string[] ConnectionKeys = ["l2_gateway_id", "network_id", "segmentation_id", "tenant_id", "project_id"];

    public static void Map(IEndpointRouteBuilder app)
    {
        var gateways = app.MapGroup("/v2.0/l2-gateways");
        gateways.MapPost("", CreateGateway);
        gateways.MapGet("", ListGateways);
        gateways.MapGet("/{id}", ShowGateway);
        gateways.MapPut("/{id}", UpdateGateway);
        gateways.MapDelete("/{id}", DeleteGateway);

        var connections = app.MapGroup("/v2.0/l2-gateway-connections");
        connections.MapPost("", CreateConnection);
        connections.MapGet("", ListConnections);
        connections.MapGet("/{id}", ShowConnection);
        connections.MapDelete("/{id}", DeleteConnection);
    }

    private static async Task<IResult> CreateGateway(HttpContext http, Policy policy, GatewayService service)
    {
        var caller = http.Caller();
        policy.Authorize("create_l2_gateway", caller);
        var body = await Http.ReadResourceAsync(http, "l2_gateway", GatewayCreateKeys);
        var project = body.OwnerProject(caller);
        if (!policy.Check("create_l2_gateway", caller, project))
        {
            throw new L2GatewayException(ErrorKind.Forbidden, "PolicyNotAuthorized", "rule:create_l2_gateway is disallowed by policy");
        }

        var name = body.OptionalString("name") ?? "";
        var devices = GatewayRules.ParseDevices(body.TryGetProperty("devices", out var d) ? d : null);
        var gateway = await service.CreateGatewayAsync(name, project, devices, http.RequestAborted);
        return Http.One("l2_gateway", Views.Gateway(gateway), status: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListGateways(HttpContext http, Policy policy, Store store, GatewayReadModel readModel)
    {
        var caller = http.Caller();
        policy.Authorize("get_l2_gateway", caller);
        var query = ListQuery.Parse(http.Request.Query);
        var all = policy.SeesAllProjects("get_l2_gateway", caller);
        if (readModel.Current is { } copy)
        {
            var (page, pageMore) = query.Page(
                copy.GatewaysInOrder, g => all || g.ProjectId == caller.ProjectId, GatewayColumns, id => copy.Gateways.GetValueOrDefault(id)?.Row);
            return query.Fields is null or { Count: 0 }
                ? Http.ManySerialized(http, "l2_gateways", [.. page.Select(r => copy.Gateways[r.Id].Json)], query, pageMore, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id)
                : Http.Many(http, "l2_gateways", page.Select(r => Views.Gateway(r.ToDomain())), query, pageMore, o => (string)o["id"]!);
        }

        var (rows, more) = await store.ReadAsync(
            db =>
            {
                var source = db.Gateways.AsQueryable();
                if (!all)
                {
                    source = source.Where(g => g.ProjectId == caller.ProjectId);
                }

                return query.PageAsync(source, GatewayColumns, (id, q) => q.FirstOrDefaultAsync(g => g.Id == id), http.RequestAborted);
            },
            http.RequestAborted);
        return Http.Many(http, "l2_gateways", rows.Select(r => Views.Gateway(r.ToDomain())), query, more, o => (string)o["id"]!);
    }

    private static async Task<IResult> ShowGateway(HttpContext http, string id, Policy policy, GatewayService service, GatewayReadModel readModel)
    {
        var caller = http.Caller();
        policy.Authorize("get_l2_gateway", caller);
        if (readModel.Current is { } copy)
        {
            if (!copy.Gateways.TryGetValue(id, out var entry) || !policy.Check("get_l2_gateway", caller, entry.Row.ProjectId))
            {
                throw GatewayService.GatewayNotFound(id);
            }

            var fields = ListQuery.ParseFields(http.Request.Query);
            return fields is null or { Count: 0 }
                ? Http.OneSerialized("l2_gateway", entry.Json)
                : Http.One("l2_gateway", Views.Gateway(entry.Row.ToDomain()), fields);
        }

        var gateway = await service.FindGatewayAsync(id, http.RequestAborted);
        if (gateway is null || !policy.Check("get_l2_gateway", caller, gateway.ProjectId))
        {
            throw GatewayService.GatewayNotFound(id);
        }

        return Http.One("l2_gateway", Views.Gateway(gateway), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> UpdateGateway(HttpContext http, string id, Policy policy, GatewayService service)
    {
        var caller = http.Caller();
        policy.Authorize("update_l2_gateway", caller);
        var body = await Http.ReadResourceAsync(http, "l2_gateway", GatewayUpdateKeys);
        var name = body.OptionalString("name");
        IReadOnlyList<DeviceSpec>? devices = body.TryGetProperty("devices", out var d) ? GatewayRules.ParseDevices(d) : null;
        var gateway = await service.UpdateGatewayAsync(
            id, g => policy.Check("update_l2_gateway", caller, g.ProjectId), name, devices, http.RequestAborted);
        return Http.One("l2_gateway", Views.Gateway(gateway));
    }

    private static async Task<IResult> DeleteGateway(HttpContext http, string id, Policy policy, GatewayService service)
    {
        var caller = http.Caller();
        policy.Authorize("delete_l2_gateway", caller);
        await service.DeleteGatewayAsync(id, g => policy.Check("delete_l2_gateway", caller, g.ProjectId), http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> CreateConnection(HttpContext http, Policy policy, GatewayService service, AgentService agents)
    {
        var caller = http.Caller();
        policy.Authorize("create_l2_gateway_connection", caller);
        var body = await Http.ReadResourceAsync(http, "l2_gateway_connection", ConnectionKeys);
        var project = body.OwnerProject(caller);
        int? segmentationId = body.TryGetProperty("segmentation_id", out var s)
            && s.ValueKind != JsonValueKind.Null
            && !(s.ValueKind == JsonValueKind.String && s.GetString()!.Length == 0)
            ? SegmentationId.Parse(s)
            : null;
        var networkId = body.OptionalString("network_id");
        if (string.IsNullOrEmpty(networkId))
        {
            throw L2GatewayException.InvalidInput(
                "A valid network identifier must be specified when connecting a network to a network gateway. Unable to complete operation");
        }

        var gatewayId = body.OptionalString("l2_gateway_id");
        if (string.IsNullOrEmpty(gatewayId))
        {
            throw L2GatewayException.InvalidInput("A valid l2_gateway_id must be specified");
        }

        // A catalog mirrored from Neutron may not have read a network created a moment ago: ask Neutron first.
        if (http.RequestServices.GetService<INetworkLookup>() is { } lookup)
        {
            await lookup.EnsureNetworkAsync(networkId, http.RequestAborted);
        }

        var connection = await service.CreateConnectionAsync(
            gatewayId, networkId, segmentationId, project, g => policy.Check("get_l2_gateway", caller, g.ProjectId) || policy.Check("create_l2_gateway_connection", caller, g.ProjectId),
            n => policy.Check("get_network", caller, n.ProjectId) || n.Shared, http.RequestAborted);
        var statuses = await agents.StatusesAsync([connection], http.RequestAborted);
        return Http.One("l2_gateway_connection", WithStatus(connection, statuses), status: StatusCodes.Status201Created);
    }

    private static System.Text.Json.Nodes.JsonObject WithStatus(Connection connection, Dictionary<string, ConnectionState> statuses)
    {
        if (!statuses.TryGetValue(connection.Id, out var state))
        {
            return Views.Connection(connection);
        }

        var view = Views.Connection(connection with { Status = state.Status, StatusReason = state.Reason });
        view["switches"] = new System.Text.Json.Nodes.JsonArray([.. state.Switches.Select(s => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
        {
            ["switch"] = s.Switch,
            ["status"] = s.Status,
            ["reason"] = s.Reason,
        })]);
        return view;
    }

    private static async Task<IResult> ListConnections(HttpContext http, Policy policy, Store store, AgentService agents, GatewayReadModel readModel)
    {
        var caller = http.Caller();
        policy.Authorize("get_l2_gateway_connection", caller);
        var query = ListQuery.Parse(http.Request.Query);
        var all = policy.SeesAllProjects("get_l2_gateway_connection", caller);
        List<ConnectionRow> rows;
        bool more;
        if (readModel.Current is { } copy)
        {
            (rows, more) = query.Page(
                copy.ConnectionsInOrder, c => all || c.ProjectId == caller.ProjectId, ConnectionColumns, id => copy.Connections.GetValueOrDefault(id));
        }
        else
        {
            (rows, more) = await store.ReadAsync(
                db =>
                {
                    var source = db.Connections.AsQueryable();
                    if (!all)
                    {
                        source = source.Where(c => c.ProjectId == caller.ProjectId);
                    }

                    return query.PageAsync(source, ConnectionColumns, (id, q) => q.FirstOrDefaultAsync(c => c.Id == id), http.RequestAborted);
                },
                http.RequestAborted);
        }

        var connections = rows.Select(r => r.ToDomain()).ToList();
        var statuses = await agents.StatusesAsync(connections, http.RequestAborted);
        return Http.Many(http, "l2_gateway_connections", connections.Select(c => WithStatus(c, statuses)), query, more, o => (string)o["id"]!);
    }

    private static async Task<IResult> ShowConnection(HttpContext http, string id, Policy policy, GatewayService service, AgentService agents, GatewayReadModel readModel)
    {
        var caller = http.Caller();
        policy.Authorize("get_l2_gateway_connection", caller);
        var connection = readModel.Current is { } copy
            ? copy.Connections.GetValueOrDefault(id)?.ToDomain()
            : await service.FindConnectionAsync(id, http.RequestAborted);
        if (connection is null || !policy.Check("get_l2_gateway_connection", caller, connection.ProjectId))
        {
            throw GatewayService.ConnectionNotFound(id);
        }

        var statuses = await agents.StatusesAsync([connection], http.RequestAborted);
        return Http.One("l2_gateway_connection", WithStatus(connection, statuses), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> DeleteConnection(HttpContext http, string id, Policy policy, GatewayService service)
    {
        var caller = http.Caller();
        policy.Authorize("delete_l2_gateway_connection", caller);
        await service.DeleteConnectionAsync(id, c => policy.Check("delete_l2_gateway_connection", caller, c.ProjectId), http.RequestAborted);
        return Results.NoContent();
    }
}
