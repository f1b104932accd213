using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace L2Gateway.Server.OpenStack;

/// <summary>
/// What one read of Neutron found. A complete list (<see cref="AllNetworks"/>, <see cref="AllPorts"/>) also says that
/// what it does not hold is gone; otherwise only the ids in <see cref="DeletedNetworks"/> and <see cref="DeletedPorts"/>
/// are. <see cref="Agents"/>, when given, is always the complete list of OVS agents.
/// </summary>
internal sealed record MirrorBatch(
    IReadOnlyList<NeutronNetwork> Networks,
    IReadOnlyList<NeutronPort> Ports,
    IReadOnlyList<NeutronAgent>? Agents = null,
    bool AllNetworks = false,
    bool AllPorts = false,
    IReadOnlyCollection<string>? DeletedNetworks = null,
    IReadOnlyCollection<string>? DeletedPorts = null);

/// <summary>
/// Writes a <see cref="MirrorBatch"/> into the catalog's tables (networks, network_segments, ports, hosts) in one
/// <see cref="Store"/> write, comparing with the stored rows inside it and touching only those that differ; a batch
/// that changes nothing commits nothing the planner hears of. Several servers on one database may mirror at once:
/// the comparison runs under the store's write lock, so the second finds the rows already written.
/// </summary>
internal sealed class NeutronMirrorWriter(Store store, TimeProvider time)
{
    /// <summary>Returns how many rows were added, changed or removed.</summary>
    public Task<int> ApplyAsync(MirrorBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return store.WriteAsync(db => WriteAsync(db, batch, cancellationToken), changed => changed > 0, cancellationToken);
    }

    private async Task<int> WriteAsync(L2GatewayDbContext db, MirrorBatch batch, CancellationToken cancellationToken)
    {
        // Rows are read tracked and changed in place, so that EF writes only the columns that differ and knows a
        // segment's former network (it orders the segment's move before that network's removal). Cascades wait for
        // SaveChanges, by which time a moved segment no longer points at the network being removed.
        db.ChangeTracker.CascadeDeleteTiming = CascadeTiming.OnSaveChanges;
        var now = time.GetUtcNow().UtcTicks;
        var changed = 0;

        // Networks. Removals come last, after their segments have been handed to the networks that now hold them.
        var networks = batch.Networks.GroupBy(n => n.Id, StringComparer.Ordinal).Select(g => NeutronMirror.ToRow(g.Last()))
            .ToDictionary(n => n.Id, StringComparer.Ordinal);
        var deletedNetworkIds = (batch.DeletedNetworks ?? []).Where(id => !networks.ContainsKey(id)).ToHashSet(StringComparer.Ordinal);
        var wanted = networks.Keys.Concat(deletedNetworkIds).ToList();
        var storedNetworks = batch.AllNetworks
            ? await db.Networks.AsTracking().ToListAsync(cancellationToken)
            : await db.Networks.AsTracking().Where(n => wanted.Contains(n.Id)).ToListAsync(cancellationToken);
        var networkById = storedNetworks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var segmentsToCheck = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, row) in networks)
        {
            if (networkById.TryGetValue(id, out var stored))
            {
                if (!NeutronMirror.Same(stored, row))
                {
                    NeutronMirror.CopyInto(stored, row);
                    segmentsToCheck.Add(id);
                    changed++;
                }
                else if (batch.AllNetworks)
                {
                    segmentsToCheck.Add(id);
                }
            }
            else
            {
                row.CreatedAt = row.CreatedAt == 0 ? now : row.CreatedAt;
                db.Networks.Add(row);
                networkById[id] = row;
                segmentsToCheck.Add(id);
                changed++;
            }
        }

        var goneNetworks = batch.AllNetworks
            ? storedNetworks.Where(n => !networks.ContainsKey(n.Id)).ToList()
            : storedNetworks.Where(n => deletedNetworkIds.Contains(n.Id)).ToList();
        var goneNetworkIds = goneNetworks.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        changed += await WriteSegmentsAsync(db, batch.AllNetworks, segmentsToCheck, goneNetworkIds, networkById, cancellationToken);
        db.Networks.RemoveRange(goneNetworks);
        changed += goneNetworks.Count;

        changed += await WritePortsAsync(db, batch, goneNetworkIds, now, cancellationToken);
        if (batch.Agents is { } agents)
        {
            changed += await WriteHostsAsync(db, agents, now, cancellationToken);
        }

        return changed;
    }

    /// <summary>
    /// Makes the segments table say what the checked networks' segments say. A segment stored for another network
    /// moves to the one Neutron now gives it to (Neutron holds each segment once: the other network was deleted or
    /// lost it), and leaves that network's own list too.
    /// </summary>
    private static async Task<int> WriteSegmentsAsync(
        L2GatewayDbContext db,
        bool all,
        HashSet<string> checkedNetworks,
        HashSet<string> goneNetworks,
        Dictionary<string, NetworkRow> networkById,
        CancellationToken cancellationToken)
    {
        if (checkedNetworks.Count == 0 && goneNetworks.Count == 0)
        {
            return 0;
        }

        var desired = checkedNetworks.SelectMany(id => NeutronMirror.SegmentRows(networkById[id])).ToList();
        var segmentIds = desired.Select(s => s.SegmentationId).Distinct().ToList();
        var owners = checkedNetworks.Concat(goneNetworks).ToList();
        var stored = all
            ? await db.NetworkSegments.AsTracking().ToListAsync(cancellationToken)
            : await db.NetworkSegments.AsTracking().Where(s => owners.Contains(s.NetworkId) || segmentIds.Contains(s.SegmentationId)).ToListAsync(cancellationToken);
        var loadedOwner = new Dictionary<NetworkSegmentRow, string>(ReferenceEqualityComparer.Instance);
        foreach (var s in stored)
        {
            loadedOwner[s] = s.NetworkId;
        }

        var byKey = stored.ToDictionary(NeutronMirror.SegmentKey);
        var kept = new HashSet<NetworkSegmentRow>(ReferenceEqualityComparer.Instance);
        var changed = 0;
        foreach (var segment in desired)
        {
            var key = NeutronMirror.SegmentKey(segment);
            if (!byKey.TryGetValue(key, out var row))
            {
                db.NetworkSegments.Add(segment);
                byKey[key] = segment;
                kept.Add(segment);
                changed++;
                continue;
            }

            kept.Add(row);
            if (row.NetworkId == segment.NetworkId)
            {
                continue;
            }

            var previous = row.NetworkId;
            row.NetworkId = segment.NetworkId;
            changed++;
            if (!goneNetworks.Contains(previous) && !checkedNetworks.Contains(previous))
            {
                var other = networkById.GetValueOrDefault(previous) ?? await db.Networks.AsTracking().FirstOrDefaultAsync(n => n.Id == previous, cancellationToken);
                if (other is not null)
                {
                    other.SegmentsJson = NeutronMirror.WithoutSegment(other.SegmentsJson, key);
                    changed++;
                }
            }
        }

        var extra = stored.Where(s => !kept.Contains(s) && (all || owners.Contains(loadedOwner[s]))).ToList();
        db.NetworkSegments.RemoveRange(extra);
        return changed + extra.Count;
    }

    private static async Task<int> WritePortsAsync(
        L2GatewayDbContext db, MirrorBatch batch, HashSet<string> goneNetworks, long now, CancellationToken cancellationToken)
    {
        var ports = batch.Ports.GroupBy(p => p.Id, StringComparer.Ordinal).Select(g => NeutronMirror.ToRow(g.Last()))
            .ToDictionary(p => p.Id, StringComparer.Ordinal);
        var deletedIds = (batch.DeletedPorts ?? []).Where(id => !ports.ContainsKey(id)).ToHashSet(StringComparer.Ordinal);
        if (ports.Count == 0 && deletedIds.Count == 0 && goneNetworks.Count == 0 && !batch.AllPorts)
        {
            return 0;
        }

        // A port whose MAC another stored port of its network holds: that one is gone from Neutron (it keeps a MAC
        // once per network) and goes from here too, before the key on (network, MAC) refuses the write.
        var ids = ports.Keys.Concat(deletedIds).ToList();
        var networkIds = ports.Values.Select(p => p.NetworkId).Concat(goneNetworks).Distinct().ToList();
        var macs = ports.Values.Select(p => p.MacAddress).Distinct().ToList();
        var stored = batch.AllPorts
            ? await db.Ports.AsTracking().ToListAsync(cancellationToken)
            : await db.Ports.AsTracking().Where(p => ids.Contains(p.Id) || goneNetworks.Contains(p.NetworkId)
                || (networkIds.Contains(p.NetworkId) && macs.Contains(p.MacAddress))).ToListAsync(cancellationToken);
        var byId = stored.ToDictionary(p => p.Id, StringComparer.Ordinal);
        var changed = 0;
        foreach (var (id, row) in ports)
        {
            if (byId.TryGetValue(id, out var current))
            {
                if (!NeutronMirror.Same(current, row))
                {
                    NeutronMirror.CopyInto(current, row);
                    changed++;
                }
            }
            else
            {
                row.CreatedAt = row.CreatedAt == 0 ? now : row.CreatedAt;
                db.Ports.Add(row);
                changed++;
            }
        }

        var holders = ports.Values.Select(p => (p.NetworkId, p.MacAddress)).ToHashSet();
        var gone = stored.Where(p => !ports.ContainsKey(p.Id)
            && (batch.AllPorts || deletedIds.Contains(p.Id) || goneNetworks.Contains(p.NetworkId) || holders.Contains((p.NetworkId, p.MacAddress))))
            .ToList();
        db.Ports.RemoveRange(gone);
        return changed + gone.Count;
    }

    private static async Task<int> WriteHostsAsync(L2GatewayDbContext db, IReadOnlyList<NeutronAgent> agents, long now, CancellationToken cancellationToken)
    {
        var hosts = NeutronMirror.HostRows(agents).ToDictionary(h => h.Name, StringComparer.Ordinal);
        var stored = await db.Hosts.AsTracking().ToListAsync(cancellationToken);
        var changed = 0;
        foreach (var row in stored)
        {
            if (!hosts.Remove(row.Name, out var host))
            {
                db.Hosts.Remove(row);
                changed++;
            }
            else if (row.TunnelIp != host.TunnelIp)
            {
                row.TunnelIp = host.TunnelIp;
                changed++;
            }
        }

        foreach (var host in hosts.Values)
        {
            host.CreatedAt = now;
            db.Hosts.Add(host);
            changed++;
        }

        return changed;
    }
}
