using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Persistence;

/// <summary>
/// Turns another server's change notification into <see cref="RowChange"/>s: stored rows are read by id (as they are
/// now, which is at least as new as the write that was announced), removed rows become key-only rows marked deleted.
/// Only the tables a server keeps in memory (the planner's inputs) are read; the others are skipped.
/// </summary>
public static class PeerRows
{
    /// <summary>Ids per query, well below PostgreSQL's limit on parameters.</summary>
    private const int ChunkSize = 1000;

    public static async Task<IReadOnlyList<RowChange>> ReadAsync(L2GatewayDbContext db, IReadOnlyList<ChangedIds> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(changes);
        var result = new List<RowChange>();
        foreach (var change in changes)
        {
            if (change.Deleted)
            {
                result.AddRange(change.Ids.Select(id => KeyOnly(change.Table, id)).OfType<object>().Select(row => new RowChange(row, true)));
                continue;
            }

            foreach (var chunk in change.Ids.Chunk(ChunkSize))
            {
                var found = await ReadChunkAsync(db, change.Table, chunk, cancellationToken);
                if (found is null)
                {
                    break; // A table no server keeps a copy of.
                }

                result.AddRange(found.Values.Select(row => new RowChange(row, false)));

                // Gone since: a later write removed it, and its own notification follows.
                result.AddRange(chunk.Where(id => !found.ContainsKey(id)).Select(id => KeyOnly(change.Table, id)).OfType<object>().Select(row => new RowChange(row, true)));
            }
        }

        return result;
    }

    private static async Task<Dictionary<string, object>?> ReadChunkAsync(L2GatewayDbContext db, string table, string[] ids, CancellationToken cancellationToken) =>
        table switch
        {
            "l2_gateways" => await db.Gateways.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (object)r, cancellationToken),
            "l2_gateway_connections" => await db.Connections.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (object)r, cancellationToken),
            "networks" => await db.Networks.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (object)r, cancellationToken),
            "ports" => await db.Ports.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (object)r, cancellationToken),
            "hosts" => await db.Hosts.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (object)r, cancellationToken),
            "switches" => await db.Switches.Where(r => ids.Contains(r.Name)).ToDictionaryAsync(r => r.Name, r => (object)r, cancellationToken),
            _ => null,
        };

    /// <summary>A row that carries only its key, for a removal; null for a table no server keeps a copy of.</summary>
    private static object? KeyOnly(string table, string id) =>
        table switch
        {
            "l2_gateways" => new GatewayRow { Id = id, Name = "", ProjectId = "", DevicesJson = "[]" },
            "l2_gateway_connections" => new ConnectionRow { Id = id, GatewayId = "", NetworkId = "", ProjectId = "", Status = "" },
            "networks" => new NetworkRow { Id = id, Name = "", ProjectId = "", SegmentsJson = "[]" },
            "ports" => new PortRow { Id = id, Name = "", NetworkId = "", ProjectId = "", MacAddress = "", FixedIpsJson = "[]", AllowedAddressPairsJson = "[]" },
            "hosts" => new HostRow { Id = id, Name = "", TunnelIp = "" },
            "switches" => new SwitchRow { Name = id, TunnelIpsJson = "[]", FaultStatus = "", PortsJson = "[]" },
            _ => null,
        };
}
