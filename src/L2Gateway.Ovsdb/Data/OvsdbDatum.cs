using System.Text.Json;

namespace L2Gateway.Ovsdb.Data;

/// <summary>
/// The value of one column: a set of atoms (a scalar is a set of one) or a map of atom to atom.
/// Immutable; kept sorted by key so that equal values compare equal.
/// </summary>
public sealed class OvsdbDatum : IEquatable<OvsdbDatum>
{
    private static readonly OvsdbAtom[] None = [];

    private readonly OvsdbAtom[] _keys;
    private readonly OvsdbAtom[]? _values;

    private OvsdbDatum(OvsdbAtom[] keys, OvsdbAtom[]? values)
    {
        _keys = keys;
        _values = values;
    }

    /// <summary>The empty set (also an optional value that is absent).</summary>
    public static OvsdbDatum EmptySet { get; } = new(None, null);

    /// <summary>The empty map.</summary>
    public static OvsdbDatum EmptyMap { get; } = new(None, None);

    /// <summary>Whether this is a map (else a set; a single atom is a set of one).</summary>
    public bool IsMap => _values is not null;

    /// <summary>The number of atoms (of a set) or pairs (of a map).</summary>
    public int Count => _keys.Length;

    /// <summary>Whether it holds nothing.</summary>
    public bool IsEmpty => _keys.Length == 0;

    /// <summary>The atoms of a set, or the keys of a map, sorted.</summary>
    public IReadOnlyList<OvsdbAtom> Keys => _keys;

    /// <summary>The map values, parallel to <see cref="Keys"/>; empty for a set.</summary>
    public IReadOnlyList<OvsdbAtom> Values => _values ?? None;

    /// <summary>A set of one atom: what a column of a scalar type holds.</summary>
    public static OvsdbDatum Scalar(OvsdbAtom atom) => new([atom], null);

    /// <summary>A set of <paramref name="atoms"/>; duplicates count once.</summary>
    public static OvsdbDatum Set(params IEnumerable<OvsdbAtom> atoms)
    {
        var keys = atoms.Distinct().ToArray();
        Array.Sort(keys);
        return keys.Length == 0 ? EmptySet : new OvsdbDatum(keys, null);
    }

    /// <summary>A map of <paramref name="pairs"/>; a key given twice keeps its last value.</summary>
    public static OvsdbDatum Map(IEnumerable<KeyValuePair<OvsdbAtom, OvsdbAtom>> pairs)
    {
        var dict = new Dictionary<OvsdbAtom, OvsdbAtom>();
        foreach (var (k, v) in pairs)
        {
            dict[k] = v;
        }

        return FromSortedPairs(dict.OrderBy(p => p.Key));
    }

    /// <summary>A map of <paramref name="pairs"/>; a key given twice keeps its last value.</summary>
    public static OvsdbDatum Map(params (OvsdbAtom Key, OvsdbAtom Value)[] pairs) =>
        Map(pairs.Select(p => KeyValuePair.Create(p.Key, p.Value)));

    private static OvsdbDatum FromSortedPairs(IEnumerable<KeyValuePair<OvsdbAtom, OvsdbAtom>> sorted)
    {
        var list = sorted.ToList();
        if (list.Count == 0)
        {
            return EmptyMap;
        }

        var keys = new OvsdbAtom[list.Count];
        var values = new OvsdbAtom[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            keys[i] = list[i].Key;
            values[i] = list[i].Value;
        }

        return new OvsdbDatum(keys, values);
    }

    /// <summary>A set of one atom.</summary>
    public static implicit operator OvsdbDatum(OvsdbAtom atom) => Scalar(atom);

    /// <summary>A set of one string.</summary>
    public static implicit operator OvsdbDatum(string value) => Scalar(value);

    /// <summary>A set of one integer.</summary>
    public static implicit operator OvsdbDatum(long value) => Scalar(value);

    /// <summary>A set of one boolean.</summary>
    public static implicit operator OvsdbDatum(bool value) => Scalar(value);

    /// <summary>A set of one real.</summary>
    public static implicit operator OvsdbDatum(double value) => Scalar(value);

    /// <summary>A set of one uuid.</summary>
    public static implicit operator OvsdbDatum(Guid value) => Scalar(value);

    /// <summary>Whether the set, or the keys of the map, hold <paramref name="key"/>.</summary>
    public bool Contains(OvsdbAtom key) => Array.BinarySearch(_keys, key) >= 0;

    /// <summary>The value of <paramref name="key"/> in a map.</summary>
    public bool TryGetValue(OvsdbAtom key, out OvsdbAtom value)
    {
        var i = Array.BinarySearch(_keys, key);
        if (i >= 0 && _values is not null)
        {
            value = _values[i];
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>The single atom of a scalar column.</summary>
    public OvsdbAtom Single => _keys.Length == 1 ? _keys[0] : throw new InvalidOperationException($"datum has {_keys.Length} atoms, expected exactly one");

    /// <summary>The atom of an optional (min 0, max 1) column, or null.</summary>
    public OvsdbAtom? Optional => _keys.Length switch
    {
        0 => (OvsdbAtom?)null,
        1 => _keys[0],
        _ => throw new InvalidOperationException($"datum has {_keys.Length} atoms, expected at most one"),
    };

    /// <summary>The pairs of a map, sorted by key; nothing for a set.</summary>
    public IEnumerable<KeyValuePair<OvsdbAtom, OvsdbAtom>> Pairs
    {
        get
        {
            for (var i = 0; i < _keys.Length; i++)
            {
                yield return KeyValuePair.Create(_keys[i], _values is null ? default : _values[i]);
            }
        }
    }

    /// <summary>
    /// Applies an RFC 7047bis "update2" modify diff: for a set, the symmetric difference; for a map,
    /// a key absent from this datum is added, a key present with the same value is removed, and a
    /// key present with another value is updated.
    /// </summary>
    public OvsdbDatum ApplyDiff(OvsdbDatum diff)
    {
        if (!IsMap && !diff.IsMap)
        {
            var set = new SortedSet<OvsdbAtom>(_keys);
            foreach (var k in diff._keys)
            {
                if (!set.Remove(k))
                {
                    set.Add(k);
                }
            }

            return set.Count == 0 ? EmptySet : new OvsdbDatum([.. set], null);
        }

        var map = new SortedDictionary<OvsdbAtom, OvsdbAtom>();
        foreach (var (k, v) in Pairs)
        {
            map[k] = v;
        }

        foreach (var (k, v) in diff.Pairs)
        {
            if (map.TryGetValue(k, out var old) && old == v)
            {
                map.Remove(k);
            }
            else
            {
                map[k] = v;
            }
        }

        return FromSortedPairs(map);
    }

    /// <summary>Writes the value in its RFC 7047 JSON form: an atom alone for a set of one, else ["set", [...]] or ["map", [...]].</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        if (_values is not null)
        {
            writer.WriteStartArray();
            writer.WriteStringValue("map"u8);
            writer.WriteStartArray();
            for (var i = 0; i < _keys.Length; i++)
            {
                writer.WriteStartArray();
                _keys[i].WriteTo(writer);
                _values[i].WriteTo(writer);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndArray();
            return;
        }

        if (_keys.Length == 1)
        {
            _keys[0].WriteTo(writer);
            return;
        }

        writer.WriteStartArray();
        writer.WriteStringValue("set"u8);
        writer.WriteStartArray();
        foreach (var k in _keys)
        {
            k.WriteTo(writer);
        }

        writer.WriteEndArray();
        writer.WriteEndArray();
    }

    /// <summary>Parses the wire form of a value; the kinds (when known from the schema) only disambiguate numbers.</summary>
    public static OvsdbDatum Parse(JsonElement json, AtomKind? keyKind = null, AtomKind? valueKind = null)
    {
        if (json.ValueKind == JsonValueKind.Array && json.GetArrayLength() == 2 && json[0].ValueKind == JsonValueKind.String)
        {
            var tag = json[0];
            if (tag.ValueEquals("set"u8))
            {
                var elements = json[1];
                if (elements.ValueKind != JsonValueKind.Array)
                {
                    throw new OvsdbProtocolException("\"set\" must be followed by an array");
                }

                if (elements.GetArrayLength() == 1)
                {
                    return Scalar(OvsdbAtom.Parse(elements[0], keyKind));
                }

                var atoms = new OvsdbAtom[elements.GetArrayLength()];
                var i = 0;
                foreach (var e in elements.EnumerateArray())
                {
                    atoms[i++] = OvsdbAtom.Parse(e, keyKind);
                }

                return Set(atoms);
            }

            if (tag.ValueEquals("map"u8))
            {
                var pairs = json[1];
                if (pairs.ValueKind != JsonValueKind.Array)
                {
                    throw new OvsdbProtocolException("\"map\" must be followed by an array");
                }

                var list = new List<KeyValuePair<OvsdbAtom, OvsdbAtom>>(pairs.GetArrayLength());
                foreach (var p in pairs.EnumerateArray())
                {
                    if (p.ValueKind != JsonValueKind.Array || p.GetArrayLength() != 2)
                    {
                        throw new OvsdbProtocolException("map entries must be [key, value] pairs");
                    }

                    list.Add(KeyValuePair.Create(OvsdbAtom.Parse(p[0], keyKind), OvsdbAtom.Parse(p[1], valueKind)));
                }

                return Map(list);
            }
        }

        return Scalar(OvsdbAtom.Parse(json, keyKind));
    }

    /// <inheritdoc/>
    public bool Equals(OvsdbDatum? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || IsMap != other.IsMap || !_keys.AsSpan().SequenceEqual(other._keys))
        {
            return false;
        }

        return _values is null || _values.AsSpan().SequenceEqual(other._values);
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is OvsdbDatum d && Equals(d);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(IsMap);
        foreach (var k in _keys)
        {
            h.Add(k);
        }

        if (_values is not null)
        {
            foreach (var v in _values)
            {
                h.Add(v);
            }
        }

        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => IsMap
        ? "{" + string.Join(", ", Pairs.Select(p => $"{p.Key}={p.Value}")) + "}"
        : _keys.Length == 1 ? _keys[0].ToString() : "[" + string.Join(", ", _keys) + "]";
}
