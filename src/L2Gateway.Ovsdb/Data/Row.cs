using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace L2Gateway.Ovsdb.Data;

/// <summary>
/// Column names shared by many rows, so that a row stores only an array of values (replicas hold
/// hundreds of thousands of rows; a dictionary per row would dominate their memory).
/// </summary>
internal sealed class RowLayout
{
    private readonly Dictionary<string, int> _index;

    private readonly byte[][] _utf8Names;

    public RowLayout(IEnumerable<string> columns)
    {
        Names = [.. columns];
        _index = new Dictionary<string, int>(Names.Count, StringComparer.Ordinal);
        _utf8Names = new byte[Names.Count][];
        for (var i = 0; i < Names.Count; i++)
        {
            _index.Add(Names[i], i);
            _utf8Names[i] = System.Text.Encoding.UTF8.GetBytes(Names[i]);
        }
    }

    public IReadOnlyList<string> Names { get; }

    public int Count => Names.Count;

    public bool TryGetIndex(string column, out int index) => _index.TryGetValue(column, out index);

    /// <summary>
    /// The index of the column whose name is the reader's current property name, without a string: servers send a
    /// table's columns in one order, so the scan starts at <paramref name="hint"/> (the column after the last one).
    /// </summary>
    public bool TryGetIndex(ref Utf8JsonReader reader, int hint, out int index)
    {
        var n = _utf8Names.Length;
        var plain = !reader.ValueIsEscaped && !reader.HasValueSequence;
        var name = plain ? reader.ValueSpan : default;
        for (var k = 0; k < n; k++)
        {
            var i = hint + k;
            if (i >= n)
            {
                i -= n;
            }

            if (plain ? name.SequenceEqual(_utf8Names[i]) : reader.ValueTextEquals(_utf8Names[i]))
            {
                index = i;
                return true;
            }
        }

        index = -1;
        return false;
    }

    /// <summary>Same columns in the same order (layouts of equal schemas fetched on different connections).</summary>
    public bool SameAs(RowLayout other) => ReferenceEquals(this, other) || Names.SequenceEqual(other.Names, StringComparer.Ordinal);
}

/// <summary>One row: its "_uuid" and the values of the columns that were read or monitored.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710", Justification = "A row is named Row in RFC 7047; the dictionary interface is a convenience.")]
public sealed class Row : IReadOnlyDictionary<string, OvsdbDatum>
{
    private readonly RowLayout _layout;
    private readonly OvsdbDatum?[] _values;
    private readonly int _count;

    /// <summary>The row <paramref name="uuid"/> with the values of <paramref name="columns"/>.</summary>
    public Row(Guid uuid, IReadOnlyDictionary<string, OvsdbDatum> columns)
    {
        Uuid = uuid;
        _layout = new RowLayout(columns.Keys);
        _values = new OvsdbDatum?[_layout.Count];
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i] = columns[_layout.Names[i]];
        }

        _count = _values.Length;
    }

    /// <summary>A row over a shared layout; a null value means the column is absent from this row. The array is not copied.</summary>
    internal Row(Guid uuid, RowLayout layout, OvsdbDatum?[] values)
    {
        if (values.Length != layout.Count)
        {
            throw new ArgumentException("values must match the layout", nameof(values));
        }

        Uuid = uuid;
        _layout = layout;
        _values = values;
        foreach (var v in values)
        {
            if (v is not null)
            {
                _count++;
            }
        }
    }

    /// <summary>The row's "_uuid".</summary>
    public Guid Uuid { get; }

    internal RowLayout Layout => _layout;

    /// <summary>The values parallel to <see cref="Layout"/> (null = absent). Do not modify.</summary>
    internal OvsdbDatum?[] RawValues => _values;

    /// <summary>The columns present in this row (the row itself is the dictionary).</summary>
    public IReadOnlyDictionary<string, OvsdbDatum> Columns => this;

    /// <inheritdoc/>
    public int Count => _count;

    /// <inheritdoc/>
    public IEnumerable<string> Keys => this.Select(p => p.Key);

    /// <inheritdoc/>
    public IEnumerable<OvsdbDatum> Values => this.Select(p => p.Value);

    /// <summary>The value of <paramref name="column"/>; throws <see cref="KeyNotFoundException"/> when the row lacks it.</summary>
    public OvsdbDatum this[string column] => Get(column);

    /// <inheritdoc/>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out OvsdbDatum value)
    {
        if (_layout.TryGetIndex(key, out var i) && _values[i] is { } v)
        {
            value = v;
            return true;
        }

        value = null;
        return false;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, OvsdbDatum>> GetEnumerator()
    {
        for (var i = 0; i < _values.Length; i++)
        {
            if (_values[i] is { } v)
            {
                yield return KeyValuePair.Create(_layout.Names[i], v);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The value of <paramref name="column"/>; throws <see cref="KeyNotFoundException"/> when the row lacks it.</summary>
    public OvsdbDatum Get(string column) =>
        TryGetValue(column, out var d) ? d : throw new KeyNotFoundException($"row {Uuid} has no column \"{column}\"");

    /// <summary>The value of <paramref name="column"/>, if the row has it.</summary>
    public bool TryGet(string column, out OvsdbDatum value)
    {
        if (TryGetValue(column, out var d))
        {
            value = d;
            return true;
        }

        value = OvsdbDatum.EmptySet;
        return false;
    }

    /// <summary>A string column's value.</summary>
    public string GetString(string column) => Get(column).Single.AsString();

    /// <summary>An integer column's value.</summary>
    public long GetInteger(string column) => Get(column).Single.AsInteger();

    /// <summary>A real column's value.</summary>
    public double GetReal(string column) => Get(column).Single.AsReal();

    /// <summary>A boolean column's value.</summary>
    public bool GetBoolean(string column) => Get(column).Single.AsBoolean();

    /// <summary>A uuid column's value.</summary>
    public Guid GetUuid(string column) => Get(column).Single.AsUuid();

    /// <summary>An optional string column's value (a set of at most one), or null.</summary>
    public string? GetOptionalString(string column) => TryGet(column, out var d) ? d.Optional?.AsString() : null;

    /// <summary>An optional integer column's value, or null.</summary>
    public long? GetOptionalInteger(string column) => TryGet(column, out var d) ? d.Optional?.AsInteger() : null;

    /// <summary>An optional uuid column's value, or null.</summary>
    public Guid? GetOptionalUuid(string column) => TryGet(column, out var d) ? d.Optional?.AsUuid() : null;

    /// <summary>A set of strings.</summary>
    public IReadOnlyList<string> GetStringSet(string column) => TryGet(column, out var d) ? [.. d.Keys.Select(a => a.AsString())] : [];

    /// <summary>A set of uuids.</summary>
    public IReadOnlyList<Guid> GetUuidSet(string column) => TryGet(column, out var d) ? [.. d.Keys.Select(a => a.AsUuid())] : [];

    /// <summary>A string-to-string map (e.g. "other_config").</summary>
    public IReadOnlyDictionary<string, string> GetStringMap(string column) =>
        TryGet(column, out var d) ? d.Pairs.ToDictionary(p => p.Key.AsString(), p => p.Value.AsString()) : new Dictionary<string, string>();

    /// <summary>An integer-to-uuid map (e.g. "bindings" of Physical_Port).</summary>
    public IReadOnlyDictionary<long, Guid> GetIntegerUuidMap(string column) =>
        TryGet(column, out var d) ? d.Pairs.ToDictionary(p => p.Key.AsInteger(), p => p.Value.AsUuid()) : new Dictionary<long, Guid>();

    /// <summary>True when both rows have the same uuid and the same column values.</summary>
    public bool ContentEquals(Row? other)
    {
        if (other is null || other.Uuid != Uuid || other.Count != Count)
        {
            return false;
        }

        if (other._layout.SameAs(_layout))
        {
            for (var i = 0; i < _values.Length; i++)
            {
                if (!Equals(_values[i], other._values[i]))
                {
                    return false;
                }
            }

            return true;
        }

        foreach (var (name, value) in this)
        {
            if (!other.TryGetValue(name, out var o) || !o.Equals(value))
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

    /// <inheritdoc/>
    public override string ToString() => $"{Uuid} {{{string.Join(", ", this.Select(c => $"{c.Key}={c.Value}"))}}}";
}
