using System.Collections.Immutable;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Replication;

/// <summary>The values of an index's columns in one row.</summary>
public sealed class IndexKey : IEquatable<IndexKey>
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

    public string Name => Schema.Name;

    public TableSchema Schema { get; }

    /// <summary>Rows by "_uuid".</summary>
    public ImmutableDictionary<Guid, Row> Rows { get; }

    public int Count => Rows.Count;

    internal ImmutableDictionary<string, ImmutableDictionary<IndexKey, ImmutableArray<Guid>>> IndexData { get; }

    internal IReadOnlyDictionary<string, IndexDefinition> Definitions { get; }

    public IEnumerable<string> IndexNames => Definitions.Keys;

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

    public ImmutableDictionary<string, ReplicaTable> Tables { get; }

    public string? LastTransactionId { get; }

    public ReplicaTable this[string table] => Tables.TryGetValue(table, out var t) ? t : throw new KeyNotFoundException($"table \"{table}\" is not replicated");
}

public enum RowChangeKind
{
    Insert,
    Modify,
    Delete,
}

/// <summary>A row's change: <see cref="Old"/> is null for an insert, <see cref="New"/> null for a delete.</summary>
public sealed record RowChange(string Table, Guid Uuid, Row? Old, Row? New)
{
    public RowChangeKind Kind => Old is null ? RowChangeKind.Insert : New is null ? RowChangeKind.Delete : RowChangeKind.Modify;
}

public sealed class ReplicaChangedEventArgs(IReadOnlyList<RowChange> changes, bool isInitial, bool isResync, ReplicaSnapshot snapshot) : EventArgs
{
    public IReadOnlyList<RowChange> Changes { get; } = changes;

    /// <summary>The first dump after <see cref="OvsdbReplica.StartAsync"/>.</summary>
    public bool IsInitial { get; } = isInitial;

    /// <summary>Changes found while resynchronising after a reconnect.</summary>
    public bool IsResync { get; } = isResync;

    /// <summary>The snapshot that includes these changes.</summary>
    public ReplicaSnapshot Snapshot { get; } = snapshot;
}
