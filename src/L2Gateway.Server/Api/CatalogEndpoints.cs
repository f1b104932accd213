using System.Globalization;
using System.Net;
using System.Text.Json;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Api;

/// <summary>The standalone catalog: /v2.0/networks, /v2.0/ports, /v2.0/hosts, and the switch inventory.</summary>
public static class CatalogEndpoints
{
    private static readonly Column[] NetworkColumns =
    [
        new("id", nameof(NetworkRow.Id)),
        new("name", nameof(NetworkRow.Name)),
        new("tenant_id", nameof(NetworkRow.ProjectId)),
        new("project_id", nameof(NetworkRow.ProjectId)),
        new("admin_state_up", nameof(NetworkRow.AdminStateUp), Sortable: false),
        new("shared", nameof(NetworkRow.Shared), Sortable: false),
        new("description", nameof(NetworkRow.Description)),
    ];

    private static readonly Column[] PortColumns =
    [
        new("id", nameof(PortRow.Id)),
        new("name", nameof(PortRow.Name)),
        new("network_id", nameof(PortRow.NetworkId)),
        new("tenant_id", nameof(PortRow.ProjectId)),
        new("project_id", nameof(PortRow.ProjectId)),
        new("mac_address", nameof(PortRow.MacAddress)),
        new("binding:host_id", nameof(PortRow.HostId), Sortable: false),
        new("device_owner", nameof(PortRow.DeviceOwner)),
        new("device_id", nameof(PortRow.DeviceId)),
        new("admin_state_up", nameof(PortRow.AdminStateUp), Sortable: false),
        new("description", nameof(PortRow.Description)),
    ];

    private static readonly Column[] HostColumns =
    [
        new("id", nameof(HostRow.Id)),
        new("name", nameof(HostRow.Name)),
        new("tunnel_ip", nameof(HostRow.TunnelIp)),
    ];

    private static readonly Column[] SwitchColumns =
    [
        new("name", nameof(SwitchRow.Name)),
        new("fault_status", nameof(SwitchRow.FaultStatus)),
    ];

    private static readonly string[] IgnoredNeutronKeys =
    [
        "port_security_enabled", "availability_zone_hints", "is_default", "router:external", "qos_policy_id",
        "dns_domain", "dns_name", "security_groups", "binding:vnic_type", "binding:profile", "tags", "extra_dhcp_opts",
        "propagate_uplink_status", "numa_affinity_policy", "vlan_transparent",
    ];

    private static readonly string[] NetworkKeys =
    [
        "name", "admin_state_up", "shared", "description", "mtu", "provider:network_type", "provider:segmentation_id",
        "provider:physical_network", "segments", "tenant_id", "project_id", .. IgnoredNeutronKeys,
    ];

    private static readonly string[] PortKeys =
    [
        "name", "network_id", "mac_address", "fixed_ips", "binding:host_id", "allowed_address_pairs", "device_owner",
        "device_id", "admin_state_up", "description", "tenant_id", "project_id", .. IgnoredNeutronKeys,
    ];

    private static readonly string[] HostKeys = ["name", "tunnel_ip"];

    public static void Map(IEndpointRouteBuilder app)
    {
        // With catalog = neutron, networks and ports are Neutron's and the hosts its OVS agents': only reads of the
        // hosts (their VTEP IPs as mirrored) and the switch inventory are served here.
        if (app.ServiceProvider.GetRequiredService<ServerOptions>().Catalog != OpenStack.NeutronCatalog.Standalone)
        {
            app.MapGet("/v2.0/hosts", ListHosts);
            app.MapGet("/v2.0/hosts/{id}", ShowHost);
            app.MapGet("/v2.0/l2-gateway-switches", ListSwitches);
            app.MapGet("/v2.0/l2-gateway-switches/{name}", ShowSwitch);
            return;
        }

        var networks = app.MapGroup("/v2.0/networks");
        networks.MapPost("", CreateNetwork);
        networks.MapGet("", ListNetworks);
        networks.MapGet("/{id}", ShowNetwork);
        networks.MapPut("/{id}", UpdateNetwork);
        networks.MapDelete("/{id}", DeleteNetwork);

        var ports = app.MapGroup("/v2.0/ports");
        ports.MapPost("", CreatePort);
        ports.MapGet("", ListPorts);
        ports.MapGet("/{id}", ShowPort);
        ports.MapPut("/{id}", UpdatePort);
        ports.MapDelete("/{id}", DeletePort);

        var hosts = app.MapGroup("/v2.0/hosts");
        hosts.MapPost("", CreateHost);
        hosts.MapGet("", ListHosts);
        hosts.MapGet("/{id}", ShowHost);
        hosts.MapPut("/{id}", UpdateHost);
        hosts.MapDelete("/{id}", DeleteHost);

        app.MapGet("/v2.0/l2-gateway-switches", ListSwitches);
        app.MapGet("/v2.0/l2-gateway-switches/{name}", ShowSwitch);
    }

    private static async Task<IResult> CreateNetwork(HttpContext http, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("create_network", caller);
        var body = await Http.ReadResourceAsync(http, "network", NetworkKeys);
        var segments = ParseSegments(body);
        var row = new NetworkRow
        {
            Id = GatewayService.NewId(),
            Name = body.OptionalString("name") ?? "",
            ProjectId = body.OwnerProject(caller),
            SegmentsJson = Mapping.ToJson(segments),
            AdminStateUp = body.OptionalBool("admin_state_up") ?? true,
            Shared = body.OptionalBool("shared") ?? false,
            Description = body.OptionalString("description") ?? "",
            Mtu = body.TryGetProperty("mtu", out var mtu) && mtu.ValueKind == JsonValueKind.Number && mtu.TryGetInt32(out var m) ? m : 1450,
        };
        await catalog.CreateNetworkAsync(row, segments, http.RequestAborted);
        return Http.One("network", Views.Network(row), status: StatusCodes.Status201Created);
    }

    private static List<NetworkSegment> ParseSegments(JsonElement body)
    {
        var result = new List<NetworkSegment>();
        if (body.TryGetProperty("segments", out var segments) && segments.ValueKind == JsonValueKind.Array)
        {
            foreach (var segment in segments.EnumerateArray())
            {
                if (ParseSegment(segment) is { } s)
                {
                    result.Add(s);
                }
            }

            if (body.TryGetProperty("provider:network_type", out _))
            {
                throw L2GatewayException.InvalidInput("Segments and provider values cannot both be set.");
            }
        }
        else if (ParseSegment(body) is { } single)
        {
            result.Add(single);
        }

        return result;
    }

    private static NetworkSegment? ParseSegment(JsonElement segment)
    {
        if (segment.ValueKind != JsonValueKind.Object)
        {
            throw L2GatewayException.InvalidInput("a segment must be an object");
        }

        var type = segment.OptionalString("provider:network_type");
        var physical = segment.OptionalString("provider:physical_network");
        int? id = null;
        if (segment.TryGetProperty("provider:segmentation_id", out var idValue) && idValue.ValueKind != JsonValueKind.Null)
        {
            if (!(idValue.ValueKind == JsonValueKind.Number ? idValue.TryGetInt32(out var n) :
                    int.TryParse(idValue.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out n)))
            {
                throw L2GatewayException.InvalidInput($"Invalid segmentation_id '{idValue}'");
            }

            id = n;
        }

        if (type is null)
        {
            return id is null && physical is null ? null : throw L2GatewayException.InvalidInput("provider:network_type required");
        }

        var range = type switch
        {
            "vxlan" or "geneve" => (1, 16_777_215),
            "gre" => (1, int.MaxValue),
            "vlan" => (1, 4094),
            "flat" or "local" => (0, 0),
            _ => throw L2GatewayException.InvalidInput($"network_type value '{type}' not supported"),
        };
        if (id is int v && (range.Item2 == 0 || v < range.Item1 || v > range.Item2))
        {
            throw L2GatewayException.InvalidInput($"Segmentation ID {v} is out of range for network type {type}");
        }

        if (id is null && range.Item2 != 0)
        {
            throw L2GatewayException.InvalidInput($"provider:segmentation_id required for network type {type}");
        }

        return new NetworkSegment(type, id, physical);
    }

    private static Task<IResult> ListNetworks(HttpContext http, Policy policy, Store store) =>
        ListAsync(http, policy, store, "get_network", "networks", db => db.Networks, NetworkColumns, Views.Network, (q, id) => q.FirstOrDefaultAsync(n => n.Id == id));

    private static Task<IResult> ShowNetwork(HttpContext http, string id, Policy policy, Store store) =>
        ShowOwnedAsync(http, policy, store, "get_network", "network", db => db.Networks.FirstOrDefaultAsync(n => n.Id == id, http.RequestAborted), n => n.ProjectId, Views.Network, () => CatalogService.NetworkNotFound(id));

    /// <summary>Show of a project-owned row: 403 before the lookup, 404 for a row the caller may not see.</summary>
    private static async Task<IResult> ShowOwnedAsync<TRow>(
        HttpContext http,
        Policy policy,
        Store store,
        string action,
        string key,
        Func<L2GatewayDbContext, Task<TRow?>> find,
        Func<TRow, string> projectOf,
        Func<TRow, System.Text.Json.Nodes.JsonObject> view,
        Func<L2GatewayException> notFound)
        where TRow : class
    {
        var caller = http.Caller();
        policy.Authorize(action, caller);
        var row = await store.ReadAsync(find, http.RequestAborted);
        if (row is null || !policy.Check(action, caller, projectOf(row)))
        {
            throw notFound();
        }

        return Http.One(key, view(row), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> UpdateNetwork(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("update_network", caller);
        var body = await Http.ReadResourceAsync(http, "network", ["name", "admin_state_up", "shared", "description", "mtu", .. IgnoredNeutronKeys]);
        var row = await catalog.UpdateNetworkAsync(
            id,
            n => policy.Check("update_network", caller, n.ProjectId),
            n =>
            {
                n.Name = body.OptionalString("name") ?? n.Name;
                n.AdminStateUp = body.OptionalBool("admin_state_up") ?? n.AdminStateUp;
                n.Shared = body.OptionalBool("shared") ?? n.Shared;
                n.Description = body.OptionalString("description") ?? n.Description;
            },
            http.RequestAborted);
        return Http.One("network", Views.Network(row));
    }

    private static async Task<IResult> DeleteNetwork(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("delete_network", caller);
        await catalog.DeleteNetworkAsync(id, n => policy.Check("delete_network", caller, n.ProjectId), http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> CreatePort(HttpContext http, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("create_port", caller);
        var body = await Http.ReadResourceAsync(http, "port", PortKeys);
        var networkId = body.OptionalString("network_id");
        if (string.IsNullOrEmpty(networkId))
        {
            throw L2GatewayException.InvalidInput("network_id is required");
        }

        var row = new PortRow
        {
            Id = GatewayService.NewId(),
            Name = body.OptionalString("name") ?? "",
            NetworkId = networkId,
            ProjectId = body.OwnerProject(caller),
            MacAddress = body.OptionalString("mac_address") is { } mac ? MacAddress.Normalize(mac) : MacAddress.Random(),
            FixedIpsJson = Mapping.ToJson(ParseFixedIps(body)),
            HostId = NullIfEmpty(body.OptionalString("binding:host_id")),
            AllowedAddressPairsJson = Mapping.ToJson(ParsePairs(body)),
            DeviceOwner = body.OptionalString("device_owner") ?? "",
            DeviceId = body.OptionalString("device_id") ?? "",
            AdminStateUp = body.OptionalBool("admin_state_up") ?? true,
            Description = body.OptionalString("description") ?? "",
        };
        await catalog.CreatePortAsync(row, n => policy.Check("get_network", caller, n.ProjectId) || n.Shared, http.RequestAborted);
        return Http.One("port", Views.Port(row), status: StatusCodes.Status201Created);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static List<FixedIp> ParseFixedIps(JsonElement body)
    {
        if (!body.TryGetProperty("fixed_ips", out var ips) || ips.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (ips.ValueKind != JsonValueKind.Array)
        {
            throw L2GatewayException.InvalidInput("fixed_ips must be a list");
        }

        var result = new List<FixedIp>();
        foreach (var ip in ips.EnumerateArray())
        {
            if (ip.ValueKind != JsonValueKind.Object)
            {
                throw L2GatewayException.InvalidInput("each fixed_ip must be an object");
            }

            var address = ip.OptionalString("ip_address");
            if (address is null)
            {
                throw L2GatewayException.InvalidInput("fixed_ips need an ip_address: this catalog has no subnets to allocate from");
            }

            result.Add(new FixedIp(ip.OptionalString("subnet_id"), ParseIp(address)));
        }

        return result;
    }

    private static List<AddressPair> ParsePairs(JsonElement body)
    {
        if (!body.TryGetProperty("allowed_address_pairs", out var pairs) || pairs.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (pairs.ValueKind != JsonValueKind.Array)
        {
            throw L2GatewayException.InvalidInput("allowed_address_pairs must be a list");
        }

        var result = new List<AddressPair>();
        var mac = body.OptionalString("mac_address");
        foreach (var pair in pairs.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Object)
            {
                throw L2GatewayException.InvalidInput("each allowed address pair must be an object");
            }

            var ip = pair.OptionalString("ip_address") ?? throw L2GatewayException.InvalidInput("AllowedAddressPair must contain ip_address");
            var pairMac = pair.OptionalString("mac_address") is { } m ? MacAddress.Normalize(m) : (mac is null ? null : MacAddress.Normalize(mac));
            result.Add(new AddressPair(pairMac ?? "", ParseCidrOrIp(ip)));
        }

        return result;
    }

    private static string ParseIp(string text) =>
        IPAddress.TryParse(text, out var ip) ? ip.ToString() : throw L2GatewayException.InvalidInput($"'{text}' is not a valid IP address");

    private static string ParseCidrOrIp(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return ParseIp(text);
        }

        return IPNetwork.TryParse(text, out _) ? text : throw L2GatewayException.InvalidInput($"'{text}' is not a valid IP subnet");
    }

    private static Task<IResult> ListPorts(HttpContext http, Policy policy, Store store) =>
        ListAsync(http, policy, store, "get_port", "ports", db => db.Ports, PortColumns, Views.Port, (q, id) => q.FirstOrDefaultAsync(p => p.Id == id));

    private static Task<IResult> ShowPort(HttpContext http, string id, Policy policy, Store store) =>
        ShowOwnedAsync(http, policy, store, "get_port", "port", db => db.Ports.FirstOrDefaultAsync(p => p.Id == id, http.RequestAborted), p => p.ProjectId, Views.Port, () => CatalogService.PortNotFound(id));

    private static async Task<IResult> UpdatePort(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("update_port", caller);
        var body = await Http.ReadResourceAsync(
            http, "port", ["name", "mac_address", "fixed_ips", "binding:host_id", "allowed_address_pairs", "device_owner", "device_id", "admin_state_up", "description", .. IgnoredNeutronKeys]);
        var mac = body.OptionalString("mac_address") is { } m ? MacAddress.Normalize(m) : null;
        var fixedIps = body.TryGetProperty("fixed_ips", out _) ? ParseFixedIps(body) : null;
        var pairs = body.TryGetProperty("allowed_address_pairs", out _) ? ParsePairs(body) : null;
        var row = await catalog.UpdatePortAsync(
            id,
            p => policy.Check("update_port", caller, p.ProjectId),
            p =>
            {
                p.Name = body.OptionalString("name") ?? p.Name;
                p.MacAddress = mac ?? p.MacAddress;
                p.FixedIpsJson = fixedIps is null ? p.FixedIpsJson : Mapping.ToJson(fixedIps);
                p.AllowedAddressPairsJson = pairs is null ? p.AllowedAddressPairsJson
                    : Mapping.ToJson(pairs.Select(a => a.MacAddress.Length == 0 ? a with { MacAddress = p.MacAddress } : a).ToList());
                p.HostId = body.TryGetProperty("binding:host_id", out _) ? NullIfEmpty(body.OptionalString("binding:host_id")) : p.HostId;
                p.DeviceOwner = body.OptionalString("device_owner") ?? p.DeviceOwner;
                p.DeviceId = body.OptionalString("device_id") ?? p.DeviceId;
                p.AdminStateUp = body.OptionalBool("admin_state_up") ?? p.AdminStateUp;
                p.Description = body.OptionalString("description") ?? p.Description;
            },
            http.RequestAborted);
        return Http.One("port", Views.Port(row));
    }

    private static async Task<IResult> DeletePort(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        var caller = http.Caller();
        policy.Authorize("delete_port", caller);
        await catalog.DeletePortAsync(id, p => policy.Check("delete_port", caller, p.ProjectId), http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> CreateHost(HttpContext http, Policy policy, CatalogService catalog)
    {
        policy.Authorize("create_host", http.Caller());
        var body = await Http.ReadResourceAsync(http, "host", HostKeys);
        var name = body.OptionalString("name");
        if (string.IsNullOrWhiteSpace(name))
        {
            throw L2GatewayException.InvalidInput("a host needs a name");
        }

        var tunnel = body.OptionalString("tunnel_ip") ?? throw L2GatewayException.InvalidInput("a host needs a tunnel_ip");
        var row = new HostRow { Id = GatewayService.NewId(), Name = name, TunnelIp = ParseIp(tunnel) };
        await catalog.CreateHostAsync(row, http.RequestAborted);
        return Http.One("host", Views.Host(row), status: StatusCodes.Status201Created);
    }

    private static Task<IResult> ListHosts(HttpContext http, Policy policy, Store store) =>
        ListAsync(http, policy, store, "get_host", "hosts", db => db.Hosts, HostColumns, Views.Host, (q, id) => q.FirstOrDefaultAsync(h => h.Id == id), scoped: false);

    private static async Task<IResult> ShowHost(HttpContext http, string id, Policy policy, Store store)
    {
        policy.Authorize("get_host", http.Caller());
        var row = await store.ReadAsync(db => db.Hosts.FirstOrDefaultAsync(h => h.Id == id || h.Name == id, http.RequestAborted), http.RequestAborted)
            ?? throw CatalogService.HostNotFound(id);
        return Http.One("host", Views.Host(row), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> UpdateHost(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        policy.Authorize("update_host", http.Caller());
        var body = await Http.ReadResourceAsync(http, "host", ["tunnel_ip"]);
        var tunnel = body.OptionalString("tunnel_ip") is { } t ? ParseIp(t) : null;
        var row = await catalog.UpdateHostAsync(id, h => h.TunnelIp = tunnel ?? h.TunnelIp, http.RequestAborted);
        return Http.One("host", Views.Host(row));
    }

    private static async Task<IResult> DeleteHost(HttpContext http, string id, Policy policy, CatalogService catalog)
    {
        policy.Authorize("delete_host", http.Caller());
        await catalog.DeleteHostAsync(id, http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> ListSwitches(HttpContext http, Policy policy, Store store, DesiredStateService desired)
    {
        var macs = await store.ReadAsync(db => db.LocalMacs.ToListAsync(http.RequestAborted), http.RequestAborted);
        var bySwitch = macs.GroupBy(m => m.Switch, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        return await ListAsync(
            http, policy, store, "get_l2_gateway_switch", "l2_gateway_switches", db => db.Switches, SwitchColumns,
            s => Views.Switch(s, bySwitch.GetValueOrDefault(s.Name) ?? [], desired.For(s.Name)),
            (q, name) => q.FirstOrDefaultAsync(s => s.Name == name), scoped: false, idKey: "name");
    }

    private static async Task<IResult> ShowSwitch(HttpContext http, string name, Policy policy, Store store, DesiredStateService desired)
    {
        policy.Authorize("get_l2_gateway_switch", http.Caller());
        var (row, macs) = await store.ReadAsync(
            async db => (
                await db.Switches.FirstOrDefaultAsync(s => s.Name == name, http.RequestAborted),
                await db.LocalMacs.Where(m => m.Switch == name).OrderBy(m => m.Mac).ToListAsync(http.RequestAborted)),
            http.RequestAborted);
        if (row is null)
        {
            throw L2GatewayException.NotFound("L2GatewaySwitchNotFound", $"Switch {name} has not been reported by any agent");
        }

        return Http.One("l2_gateway_switch", Views.Switch(row, macs, desired.For(name)), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> ListAsync<TRow>(
        HttpContext http,
        Policy policy,
        Store store,
        string action,
        string collection,
        Func<L2GatewayDbContext, IQueryable<TRow>> table,
        Column[] columns,
        Func<TRow, System.Text.Json.Nodes.JsonObject> view,
        Func<IQueryable<TRow>, string, Task<TRow?>> findMarker,
        bool scoped = true,
        string idKey = "id")
        where TRow : class
    {
        var caller = http.Caller();
        policy.Authorize(action, caller);
        var query = ListQuery.Parse(http.Request.Query);
        if (scoped && !policy.SeesAllProjects(action, caller))
        {
            query.Filters["project_id"] = [caller.ProjectId];
        }

        var (rows, more) = await store.ReadAsync(
            db => query.PageAsync(table(db), columns, (id, q) => findMarker(q, id), http.RequestAborted, idKey == "id" ? "Id" : "Name"), http.RequestAborted);
        return Http.Many(http, collection, rows.Select(view), query, more, o => (string)o[idKey]!);
    }
}
