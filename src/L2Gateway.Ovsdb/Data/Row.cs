using System.Text.Json;

namespace L2Gateway.Ovsdb.Data;

/// <summary>One row: its "_uuid" and the values of the columns that were read or monitored.</summary>
public sealed class Row
{
    public Row(Guid uuid, IReadOnlyDictionary<string, OvsdbDatum> columns)
    {
        Uuid = uuid;
        Columns = columns;
    }

    public Guid Uuid { get; }

    public IReadOnlyDictionary<string, OvsdbDatum> Columns { get; }

    public OvsdbDatum this[string column] => Get(column);

    public OvsdbDatum Get(string column) =>
        Columns.TryGetValue(column, out var d) ? d : throw new KeyNotFoundException($"row {Uuid} has no column \"{column}\"");

    public bool TryGet(string column, out OvsdbDatum value)
    {
        if (Columns.TryGetValue(column, out var d))
        {
            value = d;
            return true;
        }

        value = OvsdbDatum.EmptySet;
        return false;
    }

    public string GetString(string column) => Get(column).Single.AsString();

    public long GetInteger(string column) => Get(column).Single.AsInteger();

    public double GetReal(string column) => Get(column).Single.AsReal();

    public bool GetBoolean(string column) => Get(column).Single.AsBoolean();

    public Guid GetUuid(string column) => Get(column).Single.AsUuid();

    public string? GetOptionalString(string column) => TryGet(column, out var d) ? d.Optional?.AsString() : null;

    public long? GetOptionalInteger(string column) => TryGet(column, out var d) ? d.Optional?.AsInteger() : null;

    public Guid? GetOptionalUuid(string column) => TryGet(column, out var d) ? d.Optional?.AsUuid() : null;

    public IReadOnlyList<string> GetStringSet(string column) => TryGet(column, out var d) ? [.. d.Keys.Select(a => a.AsString())] : [];

    public IReadOnlyList<Guid> GetUuidSet(string column) => TryGet(column, out var d) ? [.. d.Keys.Select(a => a.AsUuid())] : [];

    public IReadOnlyDictionary<string, string> GetStringMap(string column) =>
        TryGet(column, out var d) ? d.Pairs.ToDictionary(p => p.Key.AsString(), p => p.Value.AsString()) : new Dictionary<string, string>();

    public IReadOnlyDictionary<long, Guid> GetIntegerUuidMap(string column) =>
        TryGet(column, out var d) ? d.Pairs.ToDictionary(p => p.Key.AsInteger(), p => p.Value.AsUuid()) : new Dictionary<long, Guid>();

    /// <summary>True when both rows have the same uuid and the same column values.</summary>
    public bool ContentEquals(Row? other)
    {
        if (other is null || other.Uuid != Uuid || other.Columns.Count != Columns.Count)
        {
            return false;
        }

        foreach (var (name, value) in Columns)
        {
            if (!other.Columns.TryGetValue(name, out var o) || !o.Equals(value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses a &lt;row&gt; object. "_uuid" comes from the object or <paramref name="uuid"/>; "_version" is dropped.</summary>
    public static Row Parse(JsonElement json, Schema.TableSchema? table, Guid? uuid = null)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbProtocolException("row is not a JSON object");
        }

        var columns = new Dictionary<string, OvsdbDatum>(StringComparer.Ordinal);
        var id = uuid ?? Guid.Empty;
        foreach (var p in json.EnumerateObject())
        {
            if (p.NameEquals("_uuid"u8))
            {
                id = OvsdbAtom.Parse(p.Value, AtomKind.Uuid).AsUuid();
                continue;
            }

            if (p.NameEquals("_version"u8))
            {
                continue;
            }

            columns[p.Name] = ParseColumn(p.Value, table, p.Name);
        }

        return new Row(id, columns);
    }

    internal static OvsdbDatum ParseColumn(JsonElement value, Schema.TableSchema? table, string name)
    {
        if (table is not null && table.Columns.TryGetValue(name, out var c))
        {
            return OvsdbDatum.Parse(value, c.Type.Key.Kind, c.Type.Value?.Kind);
        }

        return OvsdbDatum.Parse(value);
    }

    public override string ToString() => $"{Uuid} {{{string.Join(", ", Columns.Select(c => $"{c.Key}={c.Value}"))}}}";
}
