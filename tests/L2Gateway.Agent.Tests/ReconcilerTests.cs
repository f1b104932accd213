using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Agent.Tests;

public class ReconcilerTests
{
    private static readonly Guid Sw = Guid.NewGuid();
    private static readonly Guid P1 = Guid.NewGuid();
    private static readonly Guid Loc = Guid.NewGuid();

    private static SwitchDesiredState Desired(params DesiredUcastRemote[] macs) => new(
        "tor",
        [new DesiredLogicalSwitch("net-1", 5000, "blue")],
        [new DesiredVlanBinding("p1", 100, "net-1")],
        macs,
        [new DesiredMcastRemote("net-1", ["10.0.0.2"])]);

    private static VtepState State(
        IReadOnlyList<VtepState.LogicalSwitch>? ls = null,
        IReadOnlyDictionary<long, Guid>? bindings = null,
        IReadOnlyList<VtepState.MacRow>? ucast = null,
        IReadOnlyList<VtepState.MacRow>? mcast = null,
        Dictionary<Guid, IReadOnlyList<Guid>>? sets = null) => new(
        [new VtepState.Switch(Sw, "tor", ["10.0.0.1"], [P1], [], "")],
        [new VtepState.Port(P1, "p1", bindings ?? new Dictionary<long, Guid>(), [])],
        ls ?? [],
        ucast ?? [],
        mcast ?? [],
        [],
        [],
        new Dictionary<Guid, string> { [Loc] = "10.0.0.2" },
        sets ?? []);

    private static readonly Dictionary<string, string> Owner = new() { [VtepState.OwnerKey] = VtepState.OwnerValue };

    /// <summary>Every insert of a plan in the library's general form (remote MAC rows come as <see cref="UcastRemoteInsert"/>).</summary>
    private static List<InsertOperation> Inserts(IEnumerable<Operation> ops) =>
        [.. ops.Select(o => o is UcastRemoteInsert u ? u.ToInsertOperation() : o).OfType<InsertOperation>()];

    [Fact]
    public void A_remote_mac_insert_is_written_as_the_general_insert_of_the_same_row()
    {
        var row = new DesiredUcastRemote("02:00:00:00:00:0a", "192.168.0.10", "net-1", "10.0.0.2");
        var insert = new UcastRemoteInsert(row, new(OvsdbAtom.NamedUuid("ls0")), new(OvsdbAtom.Uuid(Loc)));

        static string Json(Operation op)
        {
            using var buffer = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                op.WriteTo(w);
            }

            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        Assert.Equal(Json(insert.ToInsertOperation()), Json(insert));
        Assert.Contains("\"row\":{\"MAC\":\"02:00:00:00:00:0a\",\"logical_switch\":[\"named-uuid\",\"ls0\"]", Json(insert), StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_switch_gets_every_row_in_one_transaction_reusing_the_locator()
    {
        var plan = Reconciler.Plan([Desired(new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"))], State());
        Assert.Empty(plan.Problems);
        var ops = plan.Operations;
        Assert.Single(Inserts(ops), o => o.TableName == "Logical_Switch");
        Assert.Single(Inserts(ops), o => o.TableName == "Ucast_Macs_Remote");
        Assert.Single(Inserts(ops), o => o.TableName == "Mcast_Macs_Remote");
        Assert.Single(Inserts(ops), o => o.TableName == "Physical_Locator_Set");
        Assert.DoesNotContain(Inserts(ops), o => o.TableName == "Physical_Locator");
        Assert.Single(ops.OfType<MutateOperation>(), o => o.TableName == "Physical_Port");
        var ucast = Inserts(ops).Single(o => o.TableName == "Ucast_Macs_Remote");
        Assert.Equal(OvsdbDatum.Scalar(OvsdbAtom.Uuid(Loc)), ucast.Row["locator"]);

        // Rows pointing at the new logical switch use its uuid-name, inserted earlier in the same transaction.
        var ls = Inserts(ops).Single(o => o.TableName == "Logical_Switch");
        Assert.Equal(OvsdbDatum.Scalar(OvsdbAtom.NamedUuid(ls.UuidName!)), ucast.Row["logical_switch"]);
        Assert.True(ops.ToList().FindIndex(o => o.Table == "Logical_Switch") < ops.ToList().FindIndex(o => o is UcastRemoteInsert));
    }

    [Fact]
    public void A_switch_at_the_desired_state_needs_nothing()
    {
        var ls = Guid.NewGuid();
        var set = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", Owner)],
            new Dictionary<long, Guid> { [100] = ls },
            [new VtepState.MacRow(Guid.NewGuid(), "02:00:00:00:00:01", ls, Loc, "1.1.1.1")],
            [new VtepState.MacRow(Guid.NewGuid(), "unknown-dst", ls, set, "")],
            new() { [set] = [Loc] });
        var plan = Reconciler.Plan([Desired(new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"))], state);
        Assert.True(plan.Converged);
    }

    [Fact]
    public void Rows_another_controller_wrote_are_adopted_in_place_and_only_what_is_missing_is_added()
    {
        // networking-l2gw's rows: the logical switch (no marker, a key of someone else's in other_config), the VLAN
        // binding to it, the remote MAC on the compute host's locator; no flooding row.
        var ls = Guid.NewGuid();
        var mac = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", new Dictionary<string, string> { ["theirs"] = "kept" })],
            new Dictionary<long, Guid> { [100] = ls },
            [new VtepState.MacRow(mac, "02:00:00:00:00:01", ls, Loc, "1.1.1.1")]);
        var plan = Reconciler.Plan([Desired(new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"))], state);
        Assert.Empty(plan.Problems);

        // Nothing deleted, nothing rewritten, the binding that already points at the logical switch left alone.
        Assert.DoesNotContain(plan.Operations, o => o is DeleteOperation or UpdateOperation);
        Assert.DoesNotContain(plan.Operations.OfType<MutateOperation>(), m => m.TableName == "Physical_Port");

        // Added: the flooding row on the existing locator, and the ownership marker as one key, by mutate.
        Assert.Equal(new[] { "Mcast_Macs_Remote", "Physical_Locator_Set" }, Inserts(plan.Operations).Select(i => i.TableName).Order(StringComparer.Ordinal));
        var mcast = Inserts(plan.Operations).Single(i => i.TableName == "Mcast_Macs_Remote");
        Assert.Equal(OvsdbDatum.Scalar(OvsdbAtom.Uuid(ls)), mcast.Row["logical_switch"]);
        var set = Inserts(plan.Operations).Single(i => i.TableName == "Physical_Locator_Set");
        Assert.Equal(OvsdbDatum.Set([OvsdbAtom.Uuid(Loc)]), set.Row["locators"]);
        var mark = Assert.Single(plan.Operations.OfType<MutateOperation>());
        Assert.Equal("Logical_Switch", mark.TableName);
        Assert.Equal(ls, mark.Conditions.Single().Value.Single.AsUuid());
        var mutation = Assert.Single(mark.Mutations);
        Assert.Equal(("other_config", Mutator.Insert), (mutation.Column, mutation.Mutator));
        Assert.Equal(OvsdbDatum.Map([((OvsdbAtom)VtepState.OwnerKey, (OvsdbAtom)VtepState.OwnerValue)]), mutation.Value);

        // Guarded: the transaction fails if the logical switch was renamed or deleted meanwhile.
        Assert.Single(plan.Operations.OfType<WaitOperation>(), w => w.TableName == "Logical_Switch");

        // Once marked and flooding, there is nothing left to do.
        var mcastRow = Guid.NewGuid();
        var setRow = Guid.NewGuid();
        var adopted = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", new Dictionary<string, string>(Owner) { ["theirs"] = "kept" })],
            new Dictionary<long, Guid> { [100] = ls },
            [new VtepState.MacRow(mac, "02:00:00:00:00:01", ls, Loc, "1.1.1.1")],
            [new VtepState.MacRow(mcastRow, "unknown-dst", ls, setRow, "")],
            new() { [setRow] = [Loc] });
        Assert.True(Reconciler.Plan([Desired(new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"))], adopted).Converged);

        // Adopted means owned: when the network is no longer wanted there, the logical switch goes like the product's own.
        var gone = Reconciler.Plan([SwitchDesiredState.Empty("tor")], adopted);
        Assert.Contains(gone.Operations.OfType<DeleteOperation>(), d => d.TableName == "Logical_Switch");
    }

    [Fact]
    public void An_adopted_logical_switch_gets_only_its_wrong_columns_written()
    {
        var ls = Guid.NewGuid();
        var state = State([new VtepState.LogicalSwitch(ls, "net-1", 5000, "old name", Owner)], new Dictionary<long, Guid> { [100] = ls });
        var plan = Reconciler.Plan([Desired()], state);
        var update = Assert.Single(plan.Operations.OfType<UpdateOperation>());
        Assert.Equal(new[] { "description" }, update.Row.Keys);
        Assert.Equal(OvsdbDatum.Scalar("blue"), update.Row["description"]);
        Assert.DoesNotContain(plan.Operations.OfType<MutateOperation>(), m => m.TableName == "Logical_Switch");

        // A marker with another value is replaced, not left beside ours (a map holds one value per key).
        state = State([new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", new Dictionary<string, string> { [VtepState.OwnerKey] = "other" })], new Dictionary<long, Guid> { [100] = ls });
        var mark = Reconciler.Plan([Desired()], state).Operations.OfType<MutateOperation>().Single(m => m.TableName == "Logical_Switch");
        Assert.Equal(new[] { Mutator.Delete, Mutator.Insert }, mark.Mutations.Select(m => m.Mutator));
    }

    [Fact]
    public void Rows_not_desired_are_deleted_and_duplicates_collapse()
    {
        var ls = Guid.NewGuid();
        var keep = Guid.NewGuid();
        var duplicate = Guid.NewGuid();
        var stale = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", Owner)],
            new Dictionary<long, Guid> { [100] = ls, [200] = ls },
            [
                new VtepState.MacRow(keep, "02:00:00:00:00:01", ls, Loc, "1.1.1.1"),
                new VtepState.MacRow(duplicate, "02:00:00:00:00:01", ls, Loc, "1.1.1.1"),
                new VtepState.MacRow(stale, "02:00:00:00:00:99", ls, Loc, ""),
            ]);
        var plan = Reconciler.Plan([Desired(new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"))], state);
        var deleted = plan.Operations.OfType<DeleteOperation>().Select(d => d.Conditions.Single().Value.Single.AsUuid()).ToHashSet();
        Assert.Equal(new[] { duplicate, stale }.Order(), deleted.Order());
        var mutate = plan.Operations.OfType<MutateOperation>().Single();
        Assert.Equal(Mutator.Delete, mutate.Mutations.Single().Mutator);
    }

    [Fact]
    public void A_logical_switch_no_longer_desired_goes_with_everything_hanging_off_it()
    {
        var ls = Guid.NewGuid();
        var state = State([new VtepState.LogicalSwitch(ls, "net-old", 7, "", Owner)], new Dictionary<long, Guid> { [300] = ls });
        var plan = Reconciler.Plan([SwitchDesiredState.Empty("tor")], state);
        var deletes = plan.Operations.OfType<DeleteOperation>().ToList();
        Assert.Contains(deletes, d => d.TableName == "Logical_Switch");
        Assert.Contains(deletes, d => d.TableName == "Ucast_Macs_Local" && d.Conditions.Single().Column == "logical_switch");
        Assert.Contains(deletes, d => d.TableName == "Ucast_Macs_Remote");
        Assert.Single(plan.Operations.OfType<MutateOperation>());
    }

    [Fact]
    public void Foreign_configuration_is_never_touched()
    {
        var foreign = Guid.NewGuid();
        var foreignMac = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(foreign, "someone-elses", 42, "", new Dictionary<string, string>())],
            new Dictionary<long, Guid> { [100] = foreign, [7] = foreign },
            [new VtepState.MacRow(foreignMac, "02:00:00:00:00:77", foreign, Loc, "")]);
        var plan = Reconciler.Plan([SwitchDesiredState.Empty("tor")], state);
        Assert.True(plan.Converged);

        // Wanting VLAN 100 where a foreign logical switch sits is a problem to report, not a row to overwrite.
        plan = Reconciler.Plan([Desired()], state);
        Assert.Contains(plan.Problems, p => p.Contains("VLAN 100", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Operations, o => o is DeleteOperation);
        Assert.DoesNotContain(plan.Operations.OfType<MutateOperation>(), m => m.Mutations.Any(x => x.Mutator == Mutator.Delete));
    }

    [Fact]
    public void Moved_macs_and_changed_flood_lists_are_updated_in_place()
    {
        var ls = Guid.NewGuid();
        var set = Guid.NewGuid();
        var mac = Guid.NewGuid();
        var mcast = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", Owner)],
            new Dictionary<long, Guid> { [100] = ls },
            [new VtepState.MacRow(mac, "02:00:00:00:00:01", ls, Loc, "1.1.1.1")],
            [new VtepState.MacRow(mcast, "unknown-dst", ls, set, "")],
            new() { [set] = [Loc] });
        var desired = new SwitchDesiredState(
            "tor", [new DesiredLogicalSwitch("net-1", 5000, "blue")], [new DesiredVlanBinding("p1", 100, "net-1")],
            [new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.3")],
            [new DesiredMcastRemote("net-1", ["10.0.0.2", "10.0.0.3"])]);
        var plan = Reconciler.Plan([desired], state);
        Assert.Contains(plan.Operations.OfType<UpdateOperation>(), u => u.TableName == "Ucast_Macs_Remote" && u.Row.ContainsKey("locator"));
        Assert.Contains(plan.Operations.OfType<UpdateOperation>(), u => u.TableName == "Mcast_Macs_Remote" && u.Row.ContainsKey("locator_set"));
        Assert.Single(Inserts(plan.Operations), i => i.TableName == "Physical_Locator");
        Assert.DoesNotContain(plan.Operations, o => o is DeleteOperation);
    }

    [Fact]
    public void Large_plans_are_cut_into_passes()
    {
        var macs = Enumerable.Range(0, 100).Select(i => new DesiredUcastRemote($"02:00:00:00:01:{i:x2}", "", "net-1", "10.0.0.2")).ToArray();
        var plan = Reconciler.Plan([Desired(macs)], State(), maxRowInserts: 30);
        Assert.True(plan.Truncated);
        Assert.Equal(30, Inserts(plan.Operations).Count(o => o.TableName == "Ucast_Macs_Remote"));
    }

    [Fact]
    public void Missing_switch_or_port_is_reported()
    {
        var desired = new SwitchDesiredState("tor", [new DesiredLogicalSwitch("net-1", 5000, "")], [new DesiredVlanBinding("p9", 5, "net-1")], [], []);
        Assert.Contains(Reconciler.Plan([desired], State()).Problems, p => p.Contains("p9", StringComparison.Ordinal));
        var elsewhere = new SwitchDesiredState("other", [], [new DesiredVlanBinding("p1", 5, "net-1")], [], []);
        Assert.Contains(Reconciler.Plan([elsewhere], State()).Problems, p => p.Contains("other", StringComparison.Ordinal));
    }

    private static ReconcileScope Keys(params DesiredUcastKey[] keys) => new(new HashSet<string>(), keys.ToHashSet(), new HashSet<string>());

    [Fact]
    public void A_scoped_pass_compares_only_the_rows_in_scope()
    {
        var ls = Guid.NewGuid();
        var set = Guid.NewGuid();
        var wrongOutOfScope = Guid.NewGuid();
        var state = State(
            [new VtepState.LogicalSwitch(ls, "net-1", 5000, "blue", Owner)],
            new Dictionary<long, Guid> { [100] = ls },
            [new VtepState.MacRow(wrongOutOfScope, "02:00:00:00:00:99", ls, Loc, "")],
            [new VtepState.MacRow(Guid.NewGuid(), "unknown-dst", ls, set, "")],
            new() { [set] = [Loc] });
        var desired = Desired(
            new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"),
            new DesiredUcastRemote("02:00:00:00:00:02", "1.1.1.2", "net-1", "10.0.0.2"));

        // Only the key in scope: its row is inserted; the stale row and the other missing row wait for their turn.
        var plan = Reconciler.Plan([desired], state, scope: Keys(new DesiredUcastKey("net-1", "02:00:00:00:00:01", "1.1.1.1")));
        var insert = Assert.Single(Inserts(plan.Operations));
        Assert.Equal(OvsdbDatum.Scalar("02:00:00:00:00:01"), insert.Row["MAC"]);
        Assert.Empty(plan.Operations.OfType<DeleteOperation>());

        // The row's logical switch is guarded, since the insert points at it.
        Assert.Single(plan.Operations.OfType<WaitOperation>(), w => w.TableName == "Logical_Switch");

        // The stale row's key in scope: deleted.
        plan = Reconciler.Plan([desired], state, scope: Keys(new DesiredUcastKey("net-1", "02:00:00:00:00:99", "")));
        Assert.Equal(wrongOutOfScope, Assert.Single(plan.Operations.OfType<DeleteOperation>()).Conditions.Single().Value.Single.AsUuid());

        // The whole logical switch in scope: everything at once, as a full pass would.
        var whole = Reconciler.Plan([desired], state, scope: new ReconcileScope(new HashSet<string> { "net-1" }, new HashSet<DesiredUcastKey>(), new HashSet<string>()));
        var full = Reconciler.Plan([desired], state);
        Assert.Equal(full.Operations.Count, whole.Operations.Count);
        Assert.Equal(2, Inserts(whole.Operations).Count);
    }

    [Fact]
    public void A_logical_switch_created_in_a_scoped_pass_gets_all_of_its_rows()
    {
        var desired = Desired(
            new DesiredUcastRemote("02:00:00:00:00:01", "1.1.1.1", "net-1", "10.0.0.2"),
            new DesiredUcastRemote("02:00:00:00:00:02", "1.1.1.2", "net-1", "10.0.0.2"));
        var plan = Reconciler.Plan([desired], State(), scope: Keys());
        Assert.Equal(2, Inserts(plan.Operations).Count(o => o.TableName == "Ucast_Macs_Remote"));
        Assert.Single(Inserts(plan.Operations), o => o.TableName == "Mcast_Macs_Remote");
    }

    [Fact]
    public void The_remote_mac_index_follows_adds_and_removes_including_duplicates()
    {
        var index = new RemoteMacIndex();
        var ls = Guid.NewGuid();
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        index.Add(ls, "m1", "ip", a);
        index.Add(ls, "m1", "ip", b); // a duplicate put there by hand
        index.Add(ls, "m2", "", c);
        Assert.Equal(new[] { a, b }.Order(), index.Of(ls, "m1", "ip").Order());
        Assert.Equal(new[] { a, b, c }.Order(), index.Of(ls).Order());

        index.Remove(ls, "m1", "ip", a);
        Assert.Equal([b], index.Of(ls, "m1", "ip"));
        index.Remove(ls, "m1", "ip", b);
        Assert.Empty(index.Of(ls, "m1", "ip"));
        Assert.Equal([c], index.Of(ls));
        index.Remove(ls, "m2", "", c);
        Assert.Empty(index.Of(ls));
        Assert.Equal(0, index.Count);
    }
}
