using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>Gateways and connections: the operator's intent, validated against the rules and stored.</summary>
public sealed class GatewayService(Store store, ServerOptions options)
{
    public static string NewId() => Guid.NewGuid().ToString();

    private static long Now() => DateTime.UtcNow.Ticks;

    public async Task<Gateway> CreateGatewayAsync(string name, string projectId, IReadOnlyList<DeviceSpec> devices, CancellationToken cancellationToken)
    {
        var gateway = new Gateway(NewId(), name, projectId, GatewayRules.NewDevices(devices, NewId));
        return await store.WriteAsync(
            async db =>
            {
                if (options.QuotaL2Gateway >= 0)
                {
                    var used = await db.Gateways.CountAsync(g => g.ProjectId == projectId, cancellationToken);
                    if (used >= options.QuotaL2Gateway)
                    {
                        throw L2GatewayException.Conflict(
                            "OverQuota", $"Quota exceeded for resources: ['l2_gateway'] (limit {options.QuotaL2Gateway})");
                    }
                }

                db.Gateways.Add(new GatewayRow
                {
                    Id = gateway.Id,
                    Name = gateway.Name,
                    ProjectId = gateway.ProjectId,
                    DevicesJson = Mapping.DevicesToJson(gateway.Devices),
                    CreatedAt = Now(),
                });
                return gateway;
            },
            cancellationToken);
    }

    public Task<Gateway?> FindGatewayAsync(string id, CancellationToken cancellationToken) =>
        store.ReadAsync(async db => (await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, cancellationToken))?.ToDomain(), cancellationToken);

    /// <summary>Renames and/or replaces the interfaces of existing devices; a connected gateway is rechecked for VLAN conflicts.</summary>
    public Task<Gateway> UpdateGatewayAsync(string id, Func<Gateway, bool> visible, string? name, IReadOnlyList<DeviceSpec>? devices, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
                var gateway = row?.ToDomain();
                if (row is null || gateway is null || !visible(gateway))
                {
                    throw GatewayNotFound(id);
                }

                if (devices is not null)
                {
                    gateway = gateway with { Devices = GatewayRules.ApplyDeviceUpdate(gateway, devices) };
                    var mine = await db.Connections.Where(c => c.GatewayId == id).ToListAsync(cancellationToken);
                    if (mine.Count > 0)
                    {
                        foreach (var connection in mine)
                        {
                            ConnectionRules.CheckSegmentation(gateway, connection.SegmentationId);
                        }

                        var others = await OtherConnectionsAsync(db, id, cancellationToken);
                        ConnectionRules.CheckVlanConflicts(
                            mine.SelectMany(c => ConnectionRules.Bindings(gateway, c.SegmentationId).Select(b => (b, c.NetworkId))),
                            others);
                    }

                    row.DevicesJson = Mapping.DevicesToJson(gateway.Devices);
                }

                if (name is not null)
                {
                    gateway = gateway with { Name = name };
                    row.Name = name;
                }

                db.Gateways.Update(row);
                return gateway;
            },
            cancellationToken);

    public Task DeleteGatewayAsync(string id, Func<Gateway, bool> visible, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
                if (row is null || !visible(row.ToDomain()))
                {
                    throw GatewayNotFound(id);
                }

                if (await db.Connections.AnyAsync(c => c.GatewayId == id, cancellationToken))
                {
                    throw L2GatewayException.Conflict(
                        "L2GatewayInUse", $"L2 Gateway '{id}' still has active mappings with one or more neutron networks.");
                }

                db.Gateways.Remove(row);
                return true;
            },
            cancellationToken);

    public Task<Connection> CreateConnectionAsync(
        string gatewayId, string networkId, int? segmentationId, string projectId, Func<Gateway, bool> gatewayVisible, Func<NetworkRow, bool> networkVisible,
        CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var gateway = (await db.Gateways.FirstOrDefaultAsync(g => g.Id == gatewayId, cancellationToken))?.ToDomain();
                if (gateway is null || !gatewayVisible(gateway))
                {
                    throw GatewayNotFound(gatewayId);
                }

                var row = await db.Networks.FirstOrDefaultAsync(n => n.Id == networkId, cancellationToken);
                var network = row is not null && networkVisible(row)
                    ? row.ToDomain()
                    : throw L2GatewayException.NotFound("NetworkNotFound", $"Network {networkId} could not be found.");
                ConnectionRules.CheckSegmentation(gateway, segmentationId);
                ConnectionRules.VxlanSegment(network);
                if (await db.Connections.AnyAsync(c => c.GatewayId == gatewayId && c.NetworkId == networkId, cancellationToken))
                {
                    throw L2GatewayException.Conflict(
                        "L2GatewayConnectionExists",
                        $"The specified mapping '{networkId}' exists on network gateway '{gatewayId}'.");
                }

                var switches = await db.Switches.ToListAsync(cancellationToken);
                ConnectionRules.CheckInventory(gateway, switches.ToDictionary(s => s.Name, s => s.ToDomain(), StringComparer.Ordinal));
                ConnectionRules.CheckVlanConflicts(
                    ConnectionRules.Bindings(gateway, segmentationId).Select(b => (b, networkId)),
                    await OtherConnectionsAsync(db, null, cancellationToken));

                var connection = new Connection(NewId(), gatewayId, networkId, segmentationId, projectId);
                db.Connections.Add(new ConnectionRow
                {
                    Id = connection.Id,
                    GatewayId = gatewayId,
                    NetworkId = networkId,
                    SegmentationId = segmentationId,
                    ProjectId = projectId,
                    Status = connection.Status,
                    CreatedAt = Now(),
                });
                return connection;
            },
            cancellationToken);

    public Task<Connection?> FindConnectionAsync(string id, CancellationToken cancellationToken) =>
        store.ReadAsync(async db => (await db.Connections.FirstOrDefaultAsync(c => c.Id == id, cancellationToken))?.ToDomain(), cancellationToken);

    public Task DeleteConnectionAsync(string id, Func<Connection, bool> visible, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Connections.FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
                if (row is null || !visible(row.ToDomain()))
                {
                    throw ConnectionNotFound(id);
                }

                db.Connections.Remove(row);
                return true;
            },
            cancellationToken);

    private static async Task<List<(Connection, Gateway)>> OtherConnectionsAsync(L2GatewayDbContext db, string? exceptGatewayId, CancellationToken cancellationToken)
    {
        var connections = await db.Connections.Where(c => c.GatewayId != exceptGatewayId).ToListAsync(cancellationToken);
        var gatewayIds = connections.Select(c => c.GatewayId).Distinct().ToList();
        var gateways = await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.ToDomain(), cancellationToken);
        return [.. connections.Select(c => (c.ToDomain(), gateways[c.GatewayId]))];
    }

    public static L2GatewayException GatewayNotFound(string id) =>
        L2GatewayException.NotFound("L2GatewayNotFound", $"L2 Gateway {id} could not be found");

    public static L2GatewayException ConnectionNotFound(string id) =>
        L2GatewayException.NotFound("L2GatewayConnectionNotFound", $"The connection {id} not found on the l2 gateway");
}
