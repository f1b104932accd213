using System.Collections.Immutable;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Replication;

/// <summary>The values of an index's columns in one row.</summary>
internal sealed class IndexKey : IEquatable<IndexKey>
{
    private readonly OvsdbDatum[] _parts;
    private readonly int _hash;

    public IndexKey(params OvsdbDatum[] parts)
    {
        _parts = parts;
        var h = new HashCode();
        foreach (var p in parts)
        {
            h.Add(p);
        }

        _hash = h.ToHashCode();
    }

    public IReadOnlyList<OvsdbDatum> Parts => _parts;

    public bool Equals(IndexKey? other) => other is not null && other._hash == _hash && _parts.AsSpan().SequenceEqual(other._parts);

    public override bool Equals(object? obj) => obj is IndexKey k && Equals(k);

    public override int GetHashCode() => _hash;

    public override string ToString() => string.Join("|", _parts.Select(p => p.ToString()));
}

/// <summary>A secondary index over one or more columns of a replicated table.</summary>
public sealed record IndexDefinition(string Table, IReadOnlyList<string> Columns)
{
    /// <summary>The columns joined with ','; used to look the index up.</summary>
    public string Name => string.Join(",", Columns);

    internal IndexKey KeyOf(Row row)
    {
        var parts = new OvsdbDatum[Columns.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = row.TryGet(Columns[i], out var d) ? d : OvsdbDatum.EmptySet;
        }

        return new IndexKey(parts);
    }
}

/// <summary>An immutable view of one replicated table; safe to read from any thread.</summary>
public sealed class ReplicaTable
{
    internal ReplicaTable(TableSchema schema, ImmutableDictionary<Guid, Row> rows, ImmutableDictionary<string, ImmutableDictionary<IndexKey, ImmutableArray<Guid>>> indexes, IReadOnlyDictionary<string, IndexDefinition> definitions)
    {
        Schema = schema;
        Rows = rows;
        IndexData = indexes;
        Definitions = definitions;
    }

    /// <summary>The table's name.</summary>
    public string Name => Schema.Name;

    /// <summary>The table's schema.</summary>
    public TableSchema Schema { get; }

    /// <summary>Rows by "_uuid".</summary>
    public ImmutableDictionary<Guid, Row> Rows { get; }

    /// <summary>The number of rows.</summary>
    public int Count => Rows.Count;

    internal ImmutableDictionary<string, ImmutableDictionary<IndexKey, ImmutableArray<Guid>>> IndexData { get; }

    internal IReadOnlyDictionary<string, IndexDefinition> Definitions { get; }

    /// <summary>The names of the table's indexes (their columns joined with ',').</summary>
    public IEnumerable<string> IndexNames => Definitions.Keys;

    /// <summary>The row with "_uuid" <paramref name="uuid"/>, or null.</summary>
    public Row? Get(Guid uuid) => Rows.TryGetValue(uuid, out var r) ? r : null;

    /// <summary>Rows whose index columns equal <paramref name="key"/>; <paramref name="index"/> is the column list joined with ','.</summary>
    public IReadOnlyList<Row> Find(string index, params OvsdbDatum[] key)
    {
        if (!IndexData.TryGetValue(index, out var data))
        {
            throw new ArgumentException($"table {Name} has no index \"{index}\" (have: {string.Join("; ", Definitions.Keys)})", nameof(index));
        }

        return data.TryGetValue(new IndexKey(key), out var uuids) ? [.. uuids.Select(u => Rows[u])] : [];
    }

    /// <summary>The first row whose index columns equal <paramref name="key"/>, or null (see <see cref="Find"/>).</summary>
    public Row? FindOne(string index, params OvsdbDatum[] key)
    {
        var rows = Find(index, key);
        return rows.Count == 0 ? null : rows[0];
    }
}

/// <summary>All replicated tables at one instant: every read through one snapshot is consistent.</summary>
public sealed class ReplicaSnapshot
{
    internal ReplicaSnapshot(ImmutableDictionary<string, ReplicaTable> tables, string? lastTransactionId)
    {
        Tables = tables;
        LastTransactionId = lastTransactionId;
    }

    /// <summary>The replicated tables by name.</summary>
    public ImmutableDictionary<string, ReplicaTable> Tables { get; }

    /// <summary>The id of the last transaction included ("monitor_cond_since"), or null.</summary>
    public string? LastTransactionId { get; }

    /// <summary>The table <paramref name="table"/>; throws <see cref="KeyNotFoundException"/> if it is not replicated.</summary>
    public ReplicaTable this[string table] => Tables.TryGetValue(table, out var t) ? t : throw new KeyNotFoundException($"table \"{table}\" is not replicated");
}

/// <summary>What happened to a row.</summary>
public enum RowChangeKind
{
    /// <summary>The row is new.</summary>
    Insert,
    /// <summary>Columns of the row changed.</summary>
    Modify,
    /// <summary>The row is gone.</summary>
    Delete,
}

/// <summary>A row's change: <see cref="Old"/> is null for an insert, <see cref="New"/> null for a delete.</summary>
public sealed record RowChange(string Table, Guid Uuid, Row? Old, Row? New)
{
    /// <summary>Insert, modify or delete, from which of <see cref="Old"/> and <see cref="New"/> are present.</summary>
    public RowChangeKind Kind => Old is null ? RowChangeKind.Insert : New is null ? RowChangeKind.Delete : RowChangeKind.Modify;
}

/// <summary>One batch of changes of a replica, after its new snapshot is published.</summary>
public sealed class ReplicaChangedEventArgs(IReadOnlyList<RowChange> changes, bool isInitial, bool isResync, ReplicaSnapshot snapshot) : EventArgs
{
    /// <summary>The rows that changed, in the order the server reported them.</summary>
    public IReadOnlyList<RowChange> Changes { get; } = changes;

    /// <summary>The first dump after <see cref="OvsdbReplica.StartAsync"/>.</summary>
    public bool IsInitial { get; } = isInitial;

    /// <summary>Changes found while resynchronising after a reconnect.</summary>
    public bool IsResync { get; } = isResync;

    /// <summary>The snapshot that includes these changes.</summary>
    public ReplicaSnapshot Snapshot { get; } = snapshot;
}
