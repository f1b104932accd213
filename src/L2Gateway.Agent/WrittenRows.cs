using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Replication;

namespace L2Gateway.Agent;

/// <summary>
/// The rows one transaction inserted and deleted, which the replica must show before the next diff: a diff that
/// does not see them would write the same rows again. The monitor may run behind the write session: rows inserted
/// must be there and rows deleted gone (a row updated and still shown as it was would only be updated again).
/// </summary>
internal sealed class WrittenRows(IReadOnlyList<(string Table, Guid Uuid)> inserted, IReadOnlyList<(string Table, Guid Uuid)> deleted)
{
    public IReadOnlyList<(string Table, Guid Uuid)> Inserted { get; } = inserted;

    public IReadOnlyList<(string Table, Guid Uuid)> Deleted { get; } = deleted;

    /// <summary>The rows of <paramref name="operations"/>, sent after one assert of the lock, as answered by <paramref name="result"/>.</summary>
    public static WrittenRows Of(IReadOnlyList<Operation> operations, TransactResult result)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(result);
        var inserted = operations
            .Select((op, i) => (op, i))
            .Where(x => x.op is { Op: "insert", Table: VtepTables.LogicalSwitch or VtepTables.UcastMacsRemote or VtepTables.McastMacsRemote })
            .Select(x => (x.op.Table!, result.InsertedUuid(x.i + 1)))
            .ToList();
        var deleted = operations
            .OfType<DeleteOperation>()
            .Where(d => d.Conditions is [{ Column: "_uuid", Function: ConditionFunction.Equal }])
            .Select(d => (d.TableName, d.Conditions[0].Value.Single.AsUuid()))
            .ToList();
        return new WrittenRows(inserted, deleted);
    }

    public bool ShownIn(ReplicaSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return ShownIn((table, uuid) => snapshot.Tables.TryGetValue(table, out var t) && t.Rows.ContainsKey(uuid));
    }

    /// <summary>Whether every row inserted is present and every row deleted absent.</summary>
    public bool ShownIn(Func<string, Guid, bool> present)
    {
        ArgumentNullException.ThrowIfNull(present);

        // A transaction's rows arrive in one update: look for the last one cheaply, then check them all once.
        return (Inserted.Count == 0 || present(Inserted[^1].Table, Inserted[^1].Uuid))
            && Inserted.All(r => present(r.Table, r.Uuid))
            && !Deleted.Any(r => present(r.Table, r.Uuid));
    }
}
