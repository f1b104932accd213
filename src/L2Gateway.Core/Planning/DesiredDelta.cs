using System.Text.Json.Serialization;

namespace L2Gateway.Core.Planning;

/// <summary>The identity of a <c>Ucast_Macs_Remote</c> row: one per (logical switch, MAC, IP).</summary>
public sealed record DesiredUcastKey(string LogicalSwitch, string Mac, string IpAddress);

/// <summary>
/// What changed in one switch's desired state between two revisions, row by row: what the server sends an agent
/// that already holds <see cref="BaseRevision"/>, so that one port added to a network of 10,000 costs one row on
/// the wire instead of 10,000. Applying it is checked end to end: the result must digest to <see cref="Revision"/>.
/// </summary>
public sealed record SwitchDesiredDelta(
    string Switch,
    string BaseRevision,
    string Revision,
    IReadOnlyList<DesiredLogicalSwitch> LogicalSwitches,
    IReadOnlyList<string> RemovedLogicalSwitches,
    IReadOnlyList<DesiredVlanBinding> VlanBindings,
    IReadOnlyList<DesiredVlanBinding> RemovedVlanBindings,
    [property: JsonConverter(typeof(UcastRowsWireForm))] IReadOnlyList<DesiredUcastRemote> UcastRemotes,
    [property: JsonConverter(typeof(UcastKeysWireForm))] IReadOnlyList<DesiredUcastKey> RemovedUcastRemotes,
    IReadOnlyList<DesiredMcastRemote> McastRemotes,
    IReadOnlyList<string> RemovedMcastRemotes)
{
    /// <summary>The delta that takes <paramref name="before"/> to <paramref name="after"/> (added or changed rows, and removed keys).</summary>
    public static SwitchDesiredDelta Between(SwitchDesiredState before, SwitchDesiredState after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.Switch != after.Switch)
        {
            throw new ArgumentException("both states must be of the same switch", nameof(after));
        }

        var lsBefore = before.LogicalSwitches.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var lsAfter = after.LogicalSwitches.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var bindingsBefore = before.VlanBindings.ToHashSet();
        var bindingsAfter = after.VlanBindings.ToHashSet();
        var mcastBefore = before.McastRemotes.ToDictionary(m => m.LogicalSwitch, StringComparer.Ordinal);
        var mcastAfter = after.McastRemotes.ToDictionary(m => m.LogicalSwitch, StringComparer.Ordinal);

        var ucast = new List<DesiredUcastRemote>();
        var removedUcast = new List<DesiredUcastKey>();
        foreach (var ls in before.UcastDigests.Keys.Union(after.UcastDigests.Keys, StringComparer.Ordinal))
        {
            if (before.UcastDigests.GetValueOrDefault(ls) != after.UcastDigests.GetValueOrDefault(ls))
            {
                DiffSorted(before.UcastOf(ls), after.UcastOf(ls), ucast, removedUcast);
            }
        }

        return new SwitchDesiredDelta(
            after.Switch,
            before.Revision,
            after.Revision,
            [.. after.LogicalSwitches.Where(l => !Equals(lsBefore.GetValueOrDefault(l.Name), l))],
            [.. before.LogicalSwitches.Select(l => l.Name).Where(n => !lsAfter.ContainsKey(n))],
            [.. after.VlanBindings.Where(b => !bindingsBefore.Contains(b))],
            [.. before.VlanBindings.Where(b => !bindingsAfter.Contains(b))],
            ucast,
            removedUcast,
            [.. after.McastRemotes.Where(m => !mcastBefore.TryGetValue(m.LogicalSwitch, out var old) || !old.DstIps.SequenceEqual(m.DstIps, StringComparer.Ordinal))],
            [.. before.McastRemotes.Select(m => m.LogicalSwitch).Where(n => !mcastAfter.ContainsKey(n))]);
    }

    // Both sides are in (MAC, IP) order: one merge finds what was added, changed or removed.
    private static void DiffSorted(ArraySegment<DesiredUcastRemote> before, ArraySegment<DesiredUcastRemote> after, List<DesiredUcastRemote> upserts, List<DesiredUcastKey> removed)
    {
        int i = 0, j = 0;
        while (i < before.Count || j < after.Count)
        {
            var c = i == before.Count ? 1 : j == after.Count ? -1 : CompareKeys(before[i], after[j]);
            if (c < 0)
            {
                removed.Add(new DesiredUcastKey(before[i].LogicalSwitch, before[i].Mac, before[i].IpAddress));
                i++;
            }
            else if (c > 0)
            {
                upserts.Add(after[j]);
                j++;
            }
            else
            {
                if (before[i].DstIp != after[j].DstIp)
                {
                    upserts.Add(after[j]);
                }

                i++;
                j++;
            }
        }
    }

    // The server sends rows in order: checking is linear, sorting is not.
    private static T[] InOrder<T>(IReadOnlyList<T> items, Comparison<T> order)
    {
        var array = items.ToArray();
        for (var i = 1; i < array.Length; i++)
        {
            if (order(array[i - 1], array[i]) > 0)
            {
                Array.Sort(array, order);
                break;
            }
        }

        return array;
    }

    private static int CompareKeys(DesiredUcastKey a, DesiredUcastKey b)
    {
        var c = string.CompareOrdinal(a.LogicalSwitch, b.LogicalSwitch);
        c = c != 0 ? c : string.CompareOrdinal(a.Mac, b.Mac);
        return c != 0 ? c : string.CompareOrdinal(a.IpAddress, b.IpAddress);
    }

    private static int CompareKeys(DesiredUcastKey a, DesiredUcastRemote b)
    {
        var c = string.CompareOrdinal(a.LogicalSwitch, b.LogicalSwitch);
        c = c != 0 ? c : string.CompareOrdinal(a.Mac, b.Mac);
        return c != 0 ? c : string.CompareOrdinal(a.IpAddress, b.IpAddress);
    }

    private static int CompareKeys(DesiredUcastRemote a, DesiredUcastRemote b)
    {
        var c = string.CompareOrdinal(a.Mac, b.Mac);
        return c != 0 ? c : string.CompareOrdinal(a.IpAddress, b.IpAddress);
    }

    /// <summary>The logical switches whose rows this delta touches.</summary>
    public IReadOnlySet<string> ChangedLogicalSwitches()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        names.UnionWith(LogicalSwitches.Select(l => l.Name));
        names.UnionWith(RemovedLogicalSwitches);
        names.UnionWith(UcastRemotes.Select(u => u.LogicalSwitch));
        names.UnionWith(RemovedUcastRemotes.Select(u => u.LogicalSwitch));
        names.UnionWith(McastRemotes.Select(m => m.LogicalSwitch));
        names.UnionWith(RemovedMcastRemotes);
        return names;
    }

    /// <summary>
    /// <paramref name="before"/> with this delta applied. The remote MAC digests of the logical switches it touches
    /// are computed again from the rows, so a delta applied to the wrong base, or applied wrongly, cannot go
    /// unnoticed: the result would not digest to <see cref="Revision"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The base is not <see cref="BaseRevision"/>, or the result is not <see cref="Revision"/>.</exception>
    public SwitchDesiredState ApplyTo(SwitchDesiredState before)
    {
        ArgumentNullException.ThrowIfNull(before);
        if (before.Switch != Switch || before.Revision != BaseRevision)
        {
            throw new InvalidDataException($"delta for {Switch}@{BaseRevision} cannot apply to {before.Switch}@{before.Revision}");
        }

        var logicalSwitches = before.LogicalSwitches.ToDictionary(l => l.Name, StringComparer.Ordinal);
        foreach (var name in RemovedLogicalSwitches)
        {
            logicalSwitches.Remove(name);
        }

        foreach (var ls in LogicalSwitches)
        {
            logicalSwitches[ls.Name] = ls;
        }

        var bindings = before.VlanBindings.ToHashSet();
        bindings.ExceptWith(RemovedVlanBindings);
        bindings.UnionWith(VlanBindings);

        var mcast = before.McastRemotes.ToDictionary(m => m.LogicalSwitch, StringComparer.Ordinal);
        foreach (var name in RemovedMcastRemotes)
        {
            mcast.Remove(name);
        }

        foreach (var m in McastRemotes)
        {
            mcast[m.LogicalSwitch] = m;
        }

        var touched = new HashSet<string>(StringComparer.Ordinal);
        var removed = InOrder(RemovedUcastRemotes, CompareKeys);
        var added = InOrder(UcastRemotes, SwitchDesiredState.UcastOrder);
        touched.UnionWith(removed.Select(k => k.LogicalSwitch));
        touched.UnionWith(added.Select(r => r.LogicalSwitch));

        // All three are in (logical switch, MAC, IP) order: one merge. An added row replaces a row with its key.
        var ucast = new List<DesiredUcastRemote>(before.UcastRemotes.Count + added.Length);
        int a = 0, r = 0;
        foreach (var row in before.UcastRemotes)
        {
            while (a < added.Length && SwitchDesiredState.UcastOrder(added[a], row) < 0)
            {
                ucast.Add(added[a++]);
            }

            if (a < added.Length && SwitchDesiredState.UcastOrder(added[a], row) == 0)
            {
                continue;
            }

            while (r < removed.Length && CompareKeys(removed[r], row) < 0)
            {
                r++;
            }

            if (r < removed.Length && CompareKeys(removed[r], row) == 0)
            {
                continue;
            }

            ucast.Add(row);
        }

        while (a < added.Length)
        {
            ucast.Add(added[a++]);
        }

        var digests = before.UcastDigests.Where(d => !touched.Contains(d.Key)).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);
        var after = new SwitchDesiredState(Switch, [.. logicalSwitches.Values], [.. bindings], ucast, [.. mcast.Values], digests);
        if (after.Revision != Revision)
        {
            throw new InvalidDataException($"delta for {Switch} from {BaseRevision} gave {after.Revision}, not {Revision}");
        }

        return after;
    }
}
