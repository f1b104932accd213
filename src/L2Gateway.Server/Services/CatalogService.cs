using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>The standalone network catalog: networks, ports and hosts (each hypervisor's VTEP IP).</summary>
public sealed class CatalogService(Store store)
{
    private static long Now() => DateTime.UtcNow.Ticks;

    /// <summary>
    /// Stores a network with its segments. A segment already in use is refused here with Neutron's error; the
    /// segments table's key refuses it again at commit when a concurrent write took it first (see <see cref="Store"/>).
    /// </summary>
    public Task<NetworkRow> CreateNetworkAsync(NetworkRow row, IReadOnlyList<NetworkSegment> segments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(segments);
        row.CreatedAt = Now();
        var keyed = segments
            .Where(s => s.SegmentationId is not null)
            .Select(s => new NetworkSegmentRow
            {
                NetworkType = s.NetworkType,
                PhysicalNetwork = s.PhysicalNetwork ?? "",
                SegmentationId = s.SegmentationId!.Value,
                NetworkId = row.Id,
            })
            .ToList();
        return store.WriteAsync(
            async db =>
            {
                foreach (var segment in keyed)
                {
                    if (keyed.Count(s => SameSegment(s, segment)) > 1 || await db.NetworkSegments.AnyAsync(
                        s => s.NetworkType == segment.NetworkType && s.PhysicalNetwork == segment.PhysicalNetwork
                            && s.SegmentationId == segment.SegmentationId,
                        cancellationToken))
                    {
                        throw SegmentationIdInUse(segment.NetworkType, segment.SegmentationId);
                    }
                }

                db.Networks.Add(row);
                db.NetworkSegments.AddRange(keyed);
                return row;
            },
            cancellationToken);
    }

    private static bool SameSegment(NetworkSegmentRow a, NetworkSegmentRow b) =>
        a.NetworkType == b.NetworkType && a.PhysicalNetwork == b.PhysicalNetwork && a.SegmentationId == b.SegmentationId;

    public static L2GatewayException SegmentationIdInUse(string networkType, int segmentationId) =>
        L2GatewayException.Conflict(
            "SegmentationIdInUse", $"Unable to create the network. The {networkType} segmentation id {segmentationId} is in use.");

    public Task<NetworkRow> UpdateNetworkAsync(string id, Func<NetworkRow, bool> visible, Action<NetworkRow> change, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Networks.FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
                if (row is null || !visible(row))
                {
                    throw NetworkNotFound(id);
                }

                change(row);
                db.Networks.Update(row);
                return row;
            },
            cancellationToken);

    public Task DeleteNetworkAsync(string id, Func<NetworkRow, bool> visible, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Networks.FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
                if (row is null || !visible(row))
                {
                    throw NetworkNotFound(id);
                }

                if (await db.Ports.AnyAsync(p => p.NetworkId == id, cancellationToken))
                {
                    throw L2GatewayException.Conflict(
                        "NetworkInUse", $"Unable to complete operation on network {id}. There are one or more ports still in use on the network.");
                }

                if (await db.Connections.AnyAsync(c => c.NetworkId == id, cancellationToken))
                {
                    throw L2GatewayException.Conflict(
                        "NetworkInUse", $"Unable to complete operation on network {id}. It is connected to one or more L2 gateways.");
                }

                db.NetworkSegments.RemoveRange(await db.NetworkSegments.Where(s => s.NetworkId == id).ToListAsync(cancellationToken));
                db.Networks.Remove(row);
                return true;
            },
            cancellationToken);

    public Task<PortRow> CreatePortAsync(PortRow row, Func<NetworkRow, bool> networkVisible, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        row.CreatedAt = Now();
        return store.WriteAsync(
            async db =>
            {
                var network = await db.Networks.FirstOrDefaultAsync(n => n.Id == row.NetworkId, cancellationToken);
                if (network is null || !networkVisible(network))
                {
                    throw NetworkNotFound(row.NetworkId);
                }

                await CheckMacFreeAsync(db, row, cancellationToken);
                db.Ports.Add(row);
                return row;
            },
            cancellationToken);
    }

    public Task<PortRow> UpdatePortAsync(string id, Func<PortRow, bool> visible, Action<PortRow> change, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Ports.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
                if (row is null || !visible(row))
                {
                    throw PortNotFound(id);
                }

                change(row);
                await CheckMacFreeAsync(db, row, cancellationToken);
                db.Ports.Update(row);
                return row;
            },
            cancellationToken);

    private static async Task CheckMacFreeAsync(L2GatewayDbContext db, PortRow row, CancellationToken cancellationToken)
    {
        if (await db.Ports.AnyAsync(p => p.NetworkId == row.NetworkId && p.MacAddress == row.MacAddress && p.Id != row.Id, cancellationToken))
        {
            throw L2GatewayException.Conflict(
                "MacAddressInUse", $"Unable to complete operation for network {row.NetworkId}. The mac address {row.MacAddress} is in use.");
        }
    }

    public Task DeletePortAsync(string id, Func<PortRow, bool> visible, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Ports.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
                if (row is null || !visible(row))
                {
                    throw PortNotFound(id);
                }

                db.Ports.Remove(row);
                return true;
            },
            cancellationToken);

    public Task<HostRow> CreateHostAsync(HostRow row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        row.CreatedAt = Now();
        return store.WriteAsync(
            async db =>
            {
                if (await db.Hosts.AnyAsync(h => h.Name == row.Name, cancellationToken))
                {
                    throw L2GatewayException.Conflict("HostExists", $"Host {row.Name} already exists");
                }

                db.Hosts.Add(row);
                return row;
            },
            cancellationToken);
    }

    public Task<HostRow> UpdateHostAsync(string id, Action<HostRow> change, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Hosts.FirstOrDefaultAsync(h => h.Id == id, cancellationToken) ?? throw HostNotFound(id);
                change(row);
                db.Hosts.Update(row);
                return row;
            },
            cancellationToken);

    public Task DeleteHostAsync(string id, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var row = await db.Hosts.FirstOrDefaultAsync(h => h.Id == id, cancellationToken) ?? throw HostNotFound(id);
                db.Hosts.Remove(row);
                return true;
            },
            cancellationToken);

    /// <summary>Records what an agent reports of a switch (replacing the previous report).</summary>
    public Task ReportSwitchAsync(SwitchInventory inventory, string? agentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        return store.WriteAsync(
            async db =>
            {
                var row = await db.Switches.FirstOrDefaultAsync(s => s.Name == inventory.Name, cancellationToken);
                var isNew = row is null;
                row ??= new SwitchRow { Name = inventory.Name, TunnelIpsJson = "[]", FaultStatus = FaultStatus.Up, PortsJson = "[]" };
                row.TunnelIpsJson = Mapping.ToJson(inventory.TunnelIps);
                row.FaultStatus = inventory.FaultStatus;
                row.PortsJson = Mapping.ToJson(inventory.Ports);
                row.Description = inventory.Description;
                row.AgentId = agentId;
                row.UpdatedAt = Now();
                if (isNew)
                {
                    db.Switches.Add(row);
                }
                else
                {
                    db.Switches.Update(row);
                }

                return true;
            },
            cancellationToken);
    }

    public static L2GatewayException NetworkNotFound(string id) =>
        L2GatewayException.NotFound("NetworkNotFound", $"Network {id} could not be found.");

    public static L2GatewayException PortNotFound(string id) =>
        L2GatewayException.NotFound("PortNotFound", $"Port {id} could not be found.");

    public static L2GatewayException HostNotFound(string id) =>
        L2GatewayException.NotFound("HostNotFound", $"Host {id} could not be found.");
}
