using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using L2Gateway.Ovsdb.Data;

namespace L2Gateway.Ovsdb.Operations;

/// <summary>
/// The column values an insert or update carries, in the order they were set. A row has a handful of columns, so
/// two small arrays searched in order beat a hash table: a bulk write builds tens of thousands of these.
/// </summary>
public sealed class ColumnValueDictionary : IReadOnlyDictionary<string, OvsdbDatum>
{
    private string[] _names = new string[4];
    private OvsdbDatum[] _values = new OvsdbDatum[4];
    private int _count;

    /// <inheritdoc/>
    public int Count => _count;

    /// <inheritdoc/>
    public OvsdbDatum this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no column \"{key}\"");

    /// <inheritdoc/>
    public IEnumerable<string> Keys => _names.Take(_count);

    /// <inheritdoc/>
    public IEnumerable<OvsdbDatum> Values => _values.Take(_count);

    /// <summary>Sets a column, replacing its earlier value if it has one.</summary>
    public void Set(string column, OvsdbDatum value)
    {
        ArgumentNullException.ThrowIfNull(column);
        ArgumentNullException.ThrowIfNull(value);
        var i = IndexOf(column);
        if (i >= 0)
        {
            _values[i] = value;
            return;
        }

        if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
        }

        _names[_count] = column;
        _values[_count++] = value;
    }

    /// <inheritdoc/>
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out OvsdbDatum value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _values[i] : null;
        return i >= 0;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, OvsdbDatum>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return KeyValuePair.Create(_names[i], _values[i]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Writes <c>"row": {...}</c>.</summary>
    internal void WriteTo(Utf8JsonWriter w)
    {
        w.WritePropertyName("row"u8);
        w.WriteStartObject();
        for (var i = 0; i < _count; i++)
        {
            w.WritePropertyName(_names[i]);
            _values[i].WriteTo(w);
        }

        w.WriteEndObject();
    }

    private int IndexOf(string column)
    {
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(_names[i], column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
