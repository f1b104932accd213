using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Agent;

/// <summary>
/// What a pass compares: every row of <see cref="LogicalSwitches"/>, and elsewhere only the remote MAC rows with the
/// keys in <see cref="UcastRemotes"/> and the flood rows of <see cref="McastRemotes"/>. Logical switches and VLAN
/// bindings are always compared whole; they are few.
/// </summary>
public sealed record ReconcileScope(IReadOnlySet<string> LogicalSwitches, IReadOnlySet<DesiredUcastKey> UcastRemotes, IReadOnlySet<string> McastRemotes);

/// <summary>The operations that take a switch from what it holds to what is desired, and what stands in the way.</summary>
public sealed record ReconcilePlan(IReadOnlyList<Operation> Operations, IReadOnlyList<string> Problems, bool Truncated)
{
    public bool Converged => Operations.Count == 0 && !Truncated;
}

/// <summary>
/// Diffs desired against actual <c>hardware_vtep</c> content and produces one minimal transaction. It only touches
/// what the product owns: logical switches marked as its own (or named by a desired network, which it adopts),
/// the MAC rows in them and the VLAN bindings that point at them. Locators and locator sets are not root rows:
/// the database drops them when nothing references them, so they are created when needed and never deleted.
/// </summary>
public static class Reconciler
{
    public const string Encapsulation = "vxlan_over_ipv4";

    /// <param name="scope">
    /// The rows to compare (null: all). An agent that knows what changed passes it here and hands in an
    /// <paramref name="actual"/> holding only those MAC rows.
    /// </param>
    public static ReconcilePlan Plan(IReadOnlyList<SwitchDesiredState> desired, VtepState actual, int maxRowInserts = 150_000, ReconcileScope? scope = null)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(actual);
        return new Builder(desired, actual, maxRowInserts, scope).Build();
    }

    private sealed class Builder(IReadOnlyList<SwitchDesiredState> desired, VtepState actual, int maxRowInserts, ReconcileScope? scope)
    {
        private readonly HashSet<Guid> guarded = [];
        private readonly HashSet<string> created = new(StringComparer.Ordinal);

        // Values are immutable: one instance per logical switch and locator serves every row that points at it.
        private readonly Dictionary<string, UcastRemoteInsert.Reference> logicalSwitchValues = new(StringComparer.Ordinal);
        private readonly Dictionary<string, UcastRemoteInsert.Reference> locatorValues = new(StringComparer.Ordinal);
        private readonly List<Operation> structure = [];
        private readonly List<Operation> locators = [];
        private readonly List<Operation> changes = [];
        private readonly List<Operation> waits = [];
        private readonly List<string> problems = [];
        private readonly Dictionary<string, OvsdbAtom> logicalSwitchRefs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, OvsdbAtom> locatorRefs = new(StringComparer.Ordinal);
        private readonly Dictionary<Guid, string> ownedNames = [];
        private readonly HashSet<Guid> doomed = [];
        private int inserts;
        private bool truncated;
        private int names;

        public ReconcilePlan Build()
        {
            LogicalSwitches();
            foreach (var ip in actual.LocatorDstIps.GroupBy(l => l.Value, StringComparer.Ordinal))
            {
                locatorRefs[ip.Key] = OvsdbAtom.Uuid(ip.Min(l => l.Key));
            }

            VlanBindings();
            UcastRemotes();
            McastRemotes();
            // The guards only matter to a transaction that writes something.
            var writes = structure.Count + locators.Count + changes.Count;
            List<Operation> operations = writes == 0 ? [] : [.. waits, .. structure, .. locators, .. changes];
            return new ReconcilePlan(operations, problems, truncated);
        }

        private string NewName(string prefix) => $"{prefix}{names++}";

        private void LogicalSwitches()
        {
            var wanted = desired.SelectMany(d => d.LogicalSwitches).GroupBy(l => l.Name, StringComparer.Ordinal).Select(g => g.First()).ToList();
            var existing = actual.LogicalSwitches.GroupBy(l => l.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            foreach (var ls in wanted)
            {
                if (existing.TryGetValue(ls.Name, out var current))
                {
                    logicalSwitchRefs[ls.Name] = OvsdbAtom.Uuid(current.Uuid);
                    ownedNames[current.Uuid] = ls.Name;
                    KeepInPlace(current, ls);
                }
                else
                {
                    var name = NewName("ls");
                    logicalSwitchRefs[ls.Name] = OvsdbAtom.NamedUuid(name);
                    created.Add(ls.Name); // a new logical switch gets all of its rows, whatever the scope
                    structure.Add(new InsertOperation(VtepTables.LogicalSwitch, name)
                        .Set("name", ls.Name)
                        .Set("tunnel_key", (long)ls.TunnelKey)
                        .Set("description", ls.Description)
                        .Set("other_config", StringMap(new Dictionary<string, string> { [VtepState.OwnerKey] = VtepState.OwnerValue })));
                }
            }

            var wantedNames = wanted.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var ls in actual.LogicalSwitches.Where(l => l.Owned && !wantedNames.Contains(l.Name)))
            {
                doomed.Add(ls.Uuid);
                ownedNames[ls.Uuid] = ls.Name;

                // Everything that references the logical switch goes with it, or the database refuses the delete.
                foreach (var table in new[] { VtepTables.UcastMacsRemote, VtepTables.McastMacsRemote, VtepTables.UcastMacsLocal, VtepTables.McastMacsLocal })
                {
                    changes.Add(new DeleteOperation(table).Where("logical_switch", OvsdbAtom.Uuid(ls.Uuid)));
                }

                changes.Add(new DeleteOperation(VtepTables.LogicalSwitch).WhereUuid(ls.Uuid));
            }
        }

        /// <summary>
        /// A logical switch that already carries the name of a desired network (the product's own, or one another
        /// controller such as networking-l2gw wrote) is kept: same row, same uuid, so the MAC rows and VLAN bindings
        /// that point at it stay as they are and traffic never stops. Only a column that is really wrong
        /// (<c>tunnel_key</c>, <c>description</c>) is written, and, when the row lacks it, the ownership marker is
        /// added to <c>other_config</c> by a mutate that adds that one key and leaves every other key alone. The
        /// marker is what lets the product remove the logical switch when its network is no longer desired there;
        /// no data plane reads <c>other_config</c>.
        /// </summary>
        private void KeepInPlace(VtepState.LogicalSwitch current, DesiredLogicalSwitch ls)
        {
            var fix = new UpdateOperation(VtepTables.LogicalSwitch).WhereUuid(current.Uuid);
            var wrong = false;
            if (current.TunnelKey != ls.TunnelKey)
            {
                fix.Set("tunnel_key", (long)ls.TunnelKey);
                wrong = true;
            }

            if (current.Description != ls.Description)
            {
                fix.Set("description", ls.Description);
                wrong = true;
            }

            if (wrong)
            {
                RefTo(ls.Name); // fail rather than write if the row was renamed or deleted since the replica showed it
                changes.Add(fix);
            }

            if (!current.Owned)
            {
                RefTo(ls.Name);
                var mark = new MutateOperation(VtepTables.LogicalSwitch).WhereUuid(current.Uuid);
                if (current.OtherConfig.TryGetValue(VtepState.OwnerKey, out var other))
                {
                    // "insert" leaves a key that is present as it is: a marker with another value goes first.
                    mark.Mutate("other_config", Mutator.Delete, StringMap(new Dictionary<string, string> { [VtepState.OwnerKey] = other }));
                }

                mark.Mutate("other_config", Mutator.Insert, StringMap(new Dictionary<string, string> { [VtepState.OwnerKey] = VtepState.OwnerValue }));
                changes.Add(mark);
            }
        }

        /// <summary>A reference to a logical switch from a row this transaction writes.</summary>
        private OvsdbAtom RefTo(string lsName)
        {
            var atom = logicalSwitchRefs[lsName];
            if (atom.Kind == AtomKind.Uuid && guarded.Add(atom.AsUuid()))
            {
                // Fail rather than write if the logical switch changed (or went) since the replica showed it.
                waits.Add(new WaitOperation(VtepTables.LogicalSwitch).WhereUuid(atom.AsUuid()).Columns("name")
                    .Row(new Dictionary<string, OvsdbDatum> { ["name"] = lsName }).Until(true).Timeout(0));
            }

            return atom;
        }

        private UcastRemoteInsert.Reference RefValue(string lsName) =>
            logicalSwitchValues.TryGetValue(lsName, out var value) ? value : logicalSwitchValues[lsName] = new(RefTo(lsName));

        private UcastRemoteInsert.Reference LocatorValue(string dstIp) =>
            locatorValues.TryGetValue(dstIp, out var value) ? value : locatorValues[dstIp] = new(Locator(dstIp));

        private bool InScope(string lsName) => scope is null || scope.LogicalSwitches.Contains(lsName) || created.Contains(lsName);

        private bool InScope(string lsName, string mac, string ip) =>
            InScope(lsName) || scope!.UcastRemotes.Contains(new DesiredUcastKey(lsName, mac, ip));

        private bool McastInScope(string lsName) => InScope(lsName) || scope!.McastRemotes.Contains(lsName);

        private OvsdbAtom Locator(string dstIp)
        {
            if (locatorRefs.TryGetValue(dstIp, out var atom))
            {
                return atom;
            }

            var name = NewName("loc");
            locators.Add(new InsertOperation(VtepTables.PhysicalLocator, name).Set("encapsulation_type", Encapsulation).Set("dst_ip", dstIp));
            return locatorRefs[dstIp] = OvsdbAtom.NamedUuid(name);
        }

        private void VlanBindings()
        {
            var portsByUuid = actual.Ports.ToDictionary(p => p.Uuid);
            foreach (var state in desired)
            {
                var sw = actual.Switches.FirstOrDefault(s => s.Name == state.Switch);
                if (sw is null)
                {
                    if (state.VlanBindings.Count > 0)
                    {
                        problems.Add($"Physical_Switch '{state.Switch}' is not in the switch's database");
                    }

                    continue;
                }

                var ports = sw.Ports.Where(portsByUuid.ContainsKey).Select(u => portsByUuid[u]).ToList();
                var wantedByPort = state.VlanBindings.GroupBy(b => b.Port, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToDictionary(b => (long)b.Vlan, b => b.LogicalSwitch), StringComparer.Ordinal);
                foreach (var missing in wantedByPort.Keys.Where(p => ports.All(x => x.Name != p)))
                {
                    problems.Add($"Physical_Port '{missing}' is not on switch '{state.Switch}'");
                }

                foreach (var port in ports)
                {
                    var want = wantedByPort.GetValueOrDefault(port.Name) ?? [];
                    var remove = new List<(OvsdbAtom, OvsdbAtom)>();
                    var add = new List<(OvsdbAtom, OvsdbAtom)>();
                    foreach (var (vlan, lsUuid) in port.VlanBindings)
                    {
                        var owned = ownedNames.ContainsKey(lsUuid) || actual.LogicalSwitches.Any(l => l.Uuid == lsUuid && l.Owned);
                        if (want.TryGetValue(vlan, out var lsName))
                        {
                            var target = logicalSwitchRefs[lsName];
                            if (target.Kind == AtomKind.Uuid && target.AsUuid() == lsUuid)
                            {
                                continue;
                            }

                            if (!owned)
                            {
                                problems.Add($"VLAN {vlan} of port '{port.Name}' on '{state.Switch}' is bound to a logical switch the product does not own");
                                want = new Dictionary<long, string>(want);
                                want.Remove(vlan);
                                continue;
                            }

                            remove.Add((vlan, OvsdbAtom.Uuid(lsUuid)));
                        }
                        else if (owned)
                        {
                            remove.Add((vlan, OvsdbAtom.Uuid(lsUuid)));
                        }
                    }

                    foreach (var (vlan, lsName) in want)
                    {
                        var target = logicalSwitchRefs[lsName];
                        if (!port.VlanBindings.TryGetValue(vlan, out var current) || target.Kind != AtomKind.Uuid || target.AsUuid() != current)
                        {
                            add.Add((vlan, RefTo(lsName)));
                        }
                    }

                    if (remove.Count == 0 && add.Count == 0)
                    {
                        continue;
                    }

                    var mutate = new MutateOperation(VtepTables.PhysicalPort).WhereUuid(port.Uuid);
                    if (remove.Count > 0)
                    {
                        mutate.Mutate("vlan_bindings", Mutator.Delete, OvsdbDatum.Map(remove.ToArray()));
                    }

                    if (add.Count > 0)
                    {
                        mutate.Mutate("vlan_bindings", Mutator.Insert, OvsdbDatum.Map(add.ToArray()));
                    }

                    waits.Add(new WaitOperation(VtepTables.PhysicalPort).WhereUuid(port.Uuid).Columns("name")
                        .Row(new Dictionary<string, OvsdbDatum> { ["name"] = port.Name }).Until(true).Timeout(0));
                    changes.Add(mutate);
                }
            }
        }

        private void UcastRemotes()
        {
            var wanted = new Dictionary<(string Mac, string Ls, string Ip), DesiredUcastRemote>();
            var fresh = new List<DesiredUcastRemote>(); // in logical switches created in this pass: nothing to compare with
            foreach (var state in desired)
            {
                foreach (var ls in state.UcastDigests.Keys.Where(InScope))
                {
                    if (created.Contains(ls) && desired.Count == 1)
                    {
                        fresh.AddRange(state.UcastOf(ls));
                        continue;
                    }

                    foreach (var row in state.UcastOf(ls))
                    {
                        wanted.TryAdd((row.Mac, row.LogicalSwitch, row.IpAddress), row);
                    }
                }

                foreach (var key in scope?.UcastRemotes ?? new HashSet<DesiredUcastKey>())
                {
                    if (!InScope(key.LogicalSwitch) && state.FindUcast(key) is { } row)
                    {
                        wanted.TryAdd((row.Mac, row.LogicalSwitch, row.IpAddress), row);
                    }
                }
            }

            var seen = new HashSet<(string, string, string)>();
            foreach (var row in actual.UcastRemotes)
            {
                if (!ownedNames.TryGetValue(row.LogicalSwitch, out var lsName) || doomed.Contains(row.LogicalSwitch) || !InScope(lsName, row.Mac, row.IpAddress))
                {
                    continue;
                }

                var key = (row.Mac, lsName, row.IpAddress);
                if (!wanted.TryGetValue(key, out var want) || !seen.Add(key))
                {
                    changes.Add(new DeleteOperation(VtepTables.UcastMacsRemote).WhereUuid(row.Uuid));
                }
                else if (actual.LocatorDstIps.GetValueOrDefault(row.Locator) != want.DstIp)
                {
                    changes.Add(new UpdateOperation(VtepTables.UcastMacsRemote).WhereUuid(row.Uuid).Set("locator", Locator(want.DstIp)));
                }
            }

            foreach (var row in wanted.Where(w => !seen.Contains(w.Key)).Select(w => w.Value).Concat(fresh))
            {
                if (inserts >= maxRowInserts)
                {
                    truncated = true;
                    return;
                }

                inserts++;
                changes.Add(new UcastRemoteInsert(row, RefValue(row.LogicalSwitch), LocatorValue(row.DstIp)));
            }
        }

        private void McastRemotes()
        {
            var ownTunnelIps = actual.Switches.SelectMany(s => s.TunnelIps).ToHashSet(StringComparer.Ordinal);
            var wanted = desired.SelectMany(d => d.McastRemotes).Where(m => McastInScope(m.LogicalSwitch)).GroupBy(m => m.LogicalSwitch, StringComparer.Ordinal)
                .ToDictionary(
                    g => g.Key,
                    g => g.SelectMany(m => m.DstIps).Where(ip => !ownTunnelIps.Contains(ip)).Distinct().Order(StringComparer.Ordinal).ToList(),
                    StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var row in actual.McastRemotes)
            {
                if (!ownedNames.TryGetValue(row.LogicalSwitch, out var lsName) || doomed.Contains(row.LogicalSwitch) || !McastInScope(lsName))
                {
                    continue;
                }

                if (row.Mac != DesiredMcastRemote.UnknownDst || !wanted.TryGetValue(lsName, out var ips) || ips.Count == 0 || !seen.Add(lsName))
                {
                    changes.Add(new DeleteOperation(VtepTables.McastMacsRemote).WhereUuid(row.Uuid));
                    continue;
                }

                var current = actual.LocatorSets.GetValueOrDefault(row.Locator) ?? [];
                var currentIps = current.Select(l => actual.LocatorDstIps.GetValueOrDefault(l) ?? "").Order(StringComparer.Ordinal).ToList();
                if (!currentIps.SequenceEqual(ips, StringComparer.Ordinal))
                {
                    changes.Add(new UpdateOperation(VtepTables.McastMacsRemote).WhereUuid(row.Uuid).Set("locator_set", LocatorSet(ips)));
                }
            }

            foreach (var (lsName, ips) in wanted)
            {
                if (ips.Count == 0 || seen.Contains(lsName))
                {
                    continue;
                }

                changes.Add(new InsertOperation(VtepTables.McastMacsRemote)
                    .Set("MAC", DesiredMcastRemote.UnknownDst)
                    .Set("logical_switch", RefTo(lsName))
                    .Set("locator_set", LocatorSet(ips)));
            }
        }

        private OvsdbAtom LocatorSet(IReadOnlyList<string> dstIps)
        {
            var name = NewName("set");
            var members = dstIps.Select(Locator).ToList();
            locators.Add(new InsertOperation(VtepTables.PhysicalLocatorSet, name).Set("locators", OvsdbDatum.Set(members)));
            return OvsdbAtom.NamedUuid(name);
        }

        private static OvsdbDatum StringMap(IReadOnlyDictionary<string, string> map) =>
            OvsdbDatum.Map(map.Select(p => ((OvsdbAtom)p.Key, (OvsdbAtom)p.Value)).ToArray());
    }
}
