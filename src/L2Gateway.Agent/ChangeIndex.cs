using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Replication;

namespace L2Gateway.Agent;

/// <summary>
/// What the switch holds, indexed from the replica's change events, and what changed since the last pass: the
/// snapshot the index describes (<see cref="View"/>), the remote MAC rows by logical switch and key, and the dirty
/// keys (from the switch and from new desired states) that scope the next pass. Owned by one
/// <see cref="SwitchActor"/>: fed the replica's updates once each and in order, so the index always matches
/// <see cref="View"/>. Not thread-safe.
/// </summary>
internal sealed class ChangeIndex
{
    private readonly RemoteMacIndex ucastIndex = new();
    private readonly RemoteMacIndex mcastIndex = new();
    private readonly HashSet<Guid> changedLogicalSwitches = [];
    private readonly HashSet<string> dirtyLogicalSwitches = new(StringComparer.Ordinal);
    private readonly HashSet<DesiredUcastKey> dirtyUcast = [];
    private readonly HashSet<string> dirtyMcast = new(StringComparer.Ordinal);

    /// <summary>The snapshot the index describes; null before the replica's first update.</summary>
    public ReplicaSnapshot? View { get; private set; }

    /// <summary>Whether the next pass compares everything (a resync, a shared locator changed, a failure, the lock granted).</summary>
    public bool SweepRequested { get; private set; } = true;

    public void RequestSweep() => SweepRequested = true;

    /// <summary>Indexes one replica update.</summary>
    public void Apply(ReplicaChangedEventArgs e)
    {
        if (e.IsInitial || e.IsResync || View is null)
        {
            ucastIndex.Clear();
            mcastIndex.Clear();
            foreach (var row in e.Snapshot[VtepTables.UcastMacsRemote].Rows.Values)
            {
                ucastIndex.Add(row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"), row.Uuid);
            }

            foreach (var row in e.Snapshot[VtepTables.McastMacsRemote].Rows.Values)
            {
                mcastIndex.Add(row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"), row.Uuid);
            }

            SweepRequested = true;
        }
        else
        {
            var before = View;
            string? NameOf(Guid ls) =>
                (e.Snapshot[VtepTables.LogicalSwitch].Get(ls) ?? before[VtepTables.LogicalSwitch].Get(ls))?.GetString("name");

            foreach (var change in e.Changes)
            {
                switch (change.Table)
                {
                    case VtepTables.UcastMacsRemote or VtepTables.McastMacsRemote:
                        var ucast = change.Table == VtepTables.UcastMacsRemote;
                        var index = ucast ? ucastIndex : mcastIndex;
                        if (change.Old is { } old)
                        {
                            Index(index, ucast, old, added: false);
                        }

                        if (change.New is { } added)
                        {
                            Index(index, ucast, added, added: true);
                        }

                        break;
                    case VtepTables.LogicalSwitch:
                        changedLogicalSwitches.Add(change.Uuid);
                        break;
                    case VtepTables.PhysicalLocator or VtepTables.PhysicalLocatorSet when change.Kind == RowChangeKind.Modify:
                        SweepRequested = true; // rows of any logical switch may point at it
                        break;
                }
            }

            void Index(RemoteMacIndex index, bool ucast, Ovsdb.Data.Row row, bool added)
            {
                var (ls, mac, ip) = (row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"));
                if (added)
                {
                    index.Add(ls, mac, ip, row.Uuid);
                }
                else
                {
                    index.Remove(ls, mac, ip, row.Uuid);
                }

                // Rows of a logical switch that is gone went with it; the logical switches themselves are always compared.
                if (NameOf(ls) is { } name)
                {
                    _ = ucast ? dirtyUcast.Add(new DesiredUcastKey(name, mac, ip)) : dirtyMcast.Add(name);
                }
            }
        }

        View = e.Snapshot;
    }

    /// <summary>Marks what a new desired state changes against <paramref name="before"/>.</summary>
    /// <param name="delta">The delta that made <paramref name="state"/>, when it came as one: then only its rows are compared.</param>
    public void DesiredChanged(SwitchDesiredState? before, SwitchDesiredState state, SwitchDesiredDelta? delta)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (delta is not null && before?.Revision == delta.BaseRevision)
        {
            dirtyLogicalSwitches.UnionWith(delta.LogicalSwitches.Select(l => l.Name));
            dirtyLogicalSwitches.UnionWith(delta.RemovedLogicalSwitches);
            // Rows of a logical switch compared whole anyway need no key of their own (a new network's 10,000).
            dirtyUcast.UnionWith(delta.UcastRemotes.Where(u => !dirtyLogicalSwitches.Contains(u.LogicalSwitch)).Select(u => new DesiredUcastKey(u.LogicalSwitch, u.Mac, u.IpAddress)));
            dirtyUcast.UnionWith(delta.RemovedUcastRemotes.Where(k => !dirtyLogicalSwitches.Contains(k.LogicalSwitch)));
            dirtyMcast.UnionWith(delta.McastRemotes.Select(m => m.LogicalSwitch));
            dirtyMcast.UnionWith(delta.RemovedMcastRemotes);
        }
        else
        {
            dirtyLogicalSwitches.UnionWith(state.ChangedLogicalSwitches(before));
        }
    }

    /// <summary>
    /// What the next pass compares, and the remote MAC rows it reads (null scope: everything, a sweep); clears the
    /// dirty keys. Call only when <see cref="View"/> is set.
    /// </summary>
    public (ReconcileScope? Scope, List<Guid> UcastRows, List<Guid> McastRows) TakeScope()
    {
        var snapshot = View ?? throw new InvalidOperationException("no replica update indexed yet");
        List<Guid> ucastRows = [], mcastRows = [];
        ReconcileScope? scope = null;
        if (SweepRequested)
        {
            SweepRequested = false;
        }
        else
        {
            var logicalSwitches = snapshot[VtepTables.LogicalSwitch];
            var full = new HashSet<string>(dirtyLogicalSwitches, StringComparer.Ordinal);
            foreach (var uuid in changedLogicalSwitches)
            {
                if (logicalSwitches.Get(uuid) is { } row)
                {
                    full.Add(row.GetString("name"));
                }
            }

            scope = new ReconcileScope(full, new HashSet<DesiredUcastKey>(dirtyUcast), new HashSet<string>(dirtyMcast, StringComparer.Ordinal));
            var uuidsByName = logicalSwitches.Rows.Values.ToLookup(r => r.GetString("name"), r => r.Uuid, StringComparer.Ordinal);
            foreach (var name in full)
            {
                foreach (var uuid in uuidsByName[name])
                {
                    ucastRows.AddRange(ucastIndex.Of(uuid));
                }
            }

            foreach (var key in scope.UcastRemotes)
            {
                if (!full.Contains(key.LogicalSwitch))
                {
                    foreach (var uuid in uuidsByName[key.LogicalSwitch])
                    {
                        ucastRows.AddRange(ucastIndex.Of(uuid, key.Mac, key.IpAddress));
                    }
                }
            }

            foreach (var name in full.Union(scope.McastRemotes, StringComparer.Ordinal))
            {
                foreach (var uuid in uuidsByName[name])
                {
                    mcastRows.AddRange(mcastIndex.Of(uuid));
                }
            }
        }

        changedLogicalSwitches.Clear();
        dirtyLogicalSwitches.Clear();
        dirtyUcast.Clear();
        dirtyUcast.TrimExcess(); // after a bulk write it held every row's key
        dirtyMcast.Clear();
        return (scope, ucastRows, mcastRows);
    }
}
