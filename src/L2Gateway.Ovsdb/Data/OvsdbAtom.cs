using System.Globalization;
using System.Text.Json;

namespace L2Gateway.Ovsdb.Data;

/// <summary>RFC 7047 atomic types, plus named-uuid which only appears inside a transaction.</summary>
public enum AtomKind : byte
{
    /// <summary>An integer (64-bit).</summary>
    Integer,
    /// <summary>A real number.</summary>
    Real,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>A string.</summary>
    String,
    /// <summary>A row's uuid.</summary>
    Uuid,
    /// <summary>A row inserted earlier in the same transaction, by its "uuid-name".</summary>
    NamedUuid,
}

/// <summary>One OVSDB atom: integer, real, boolean, string, uuid or named-uuid.</summary>
public readonly struct OvsdbAtom : IEquatable<OvsdbAtom>, IComparable<OvsdbAtom>
{
    private readonly long _bits;
    private readonly Guid _uuid;
    private readonly string? _string;

    private OvsdbAtom(AtomKind kind, long bits, Guid uuid, string? str)
    {
        Kind = kind;
        _bits = bits;
        _uuid = uuid;
        _string = str;
    }

    /// <summary>Which of the atomic types this atom is.</summary>
    public AtomKind Kind { get; }

    /// <summary>An integer atom.</summary>
    public static OvsdbAtom Integer(long value) => new(AtomKind.Integer, value, default, null);

    /// <summary>A real atom.</summary>
    public static OvsdbAtom Real(double value) => new(AtomKind.Real, BitConverter.DoubleToInt64Bits(value), default, null);

    /// <summary>A boolean atom.</summary>
    public static OvsdbAtom Boolean(bool value) => new(AtomKind.Boolean, value ? 1 : 0, default, null);

    /// <summary>A string atom.</summary>
    public static OvsdbAtom String(string value) => new(AtomKind.String, 0, default, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>A uuid atom.</summary>
    public static OvsdbAtom Uuid(Guid value) => new(AtomKind.Uuid, 0, value, null);

    /// <summary>A reference to a row inserted earlier in the same transaction under "uuid-name".</summary>
    public static OvsdbAtom NamedUuid(string name) => new(AtomKind.NamedUuid, 0, default, name ?? throw new ArgumentNullException(nameof(name)));

    /// <summary>The integer; throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public long AsInteger() => Kind == AtomKind.Integer ? _bits : throw WrongKind(AtomKind.Integer);

    /// <summary>The real number (an integer converted); throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public double AsReal() => Kind switch
    {
        AtomKind.Real => BitConverter.Int64BitsToDouble(_bits),
        AtomKind.Integer => _bits,
        _ => throw WrongKind(AtomKind.Real),
    };

    /// <summary>The boolean; throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public bool AsBoolean() => Kind == AtomKind.Boolean ? _bits != 0 : throw WrongKind(AtomKind.Boolean);

    /// <summary>The string; throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public string AsString() => Kind == AtomKind.String ? _string! : throw WrongKind(AtomKind.String);

    /// <summary>The uuid; throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public Guid AsUuid() => Kind == AtomKind.Uuid ? _uuid : throw WrongKind(AtomKind.Uuid);

    /// <summary>The uuid-name; throws <see cref="InvalidOperationException"/> for any other kind.</summary>
    public string AsNamedUuid() => Kind == AtomKind.NamedUuid ? _string! : throw WrongKind(AtomKind.NamedUuid);

    /// <summary>An integer atom.</summary>
    public static implicit operator OvsdbAtom(long value) => Integer(value);

    /// <summary>A real atom.</summary>
    public static implicit operator OvsdbAtom(double value) => Real(value);

    /// <summary>A boolean atom.</summary>
    public static implicit operator OvsdbAtom(bool value) => Boolean(value);

    /// <summary>A string atom.</summary>
    public static implicit operator OvsdbAtom(string value) => String(value);

    /// <summary>A uuid atom.</summary>
    public static implicit operator OvsdbAtom(Guid value) => Uuid(value);

    /// <summary>Writes the atom in its RFC 7047 JSON form (a number, boolean or string; ["uuid", ...] or ["named-uuid", ...]).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case AtomKind.Integer:
                writer.WriteNumberValue(_bits);
                break;
            case AtomKind.Real:
                writer.WriteNumberValue(AsReal());
                break;
            case AtomKind.Boolean:
                writer.WriteBooleanValue(_bits != 0);
                break;
            case AtomKind.String:
                writer.WriteStringValue(_string);
                break;
            case AtomKind.Uuid:
                writer.WriteStartArray();
                writer.WriteStringValue("uuid"u8);
                Span<byte> text = stackalloc byte[36];
                _uuid.TryFormat(text, out _, "D");
                writer.WriteStringValue(text);
                writer.WriteEndArray();
                break;
            default:
                writer.WriteStartArray();
                writer.WriteStringValue("named-uuid"u8);
                writer.WriteStringValue(_string);
                writer.WriteEndArray();
                break;
        }
    }

    /// <summary>
    /// Parses an atom. <paramref name="expected"/> resolves the one ambiguity of the wire format:
    /// a JSON number with no fraction is an integer unless the column's type is real.
    /// </summary>
    public static OvsdbAtom Parse(JsonElement json, AtomKind? expected = null)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String:
                return String(json.GetString()!);
            case JsonValueKind.True:
                return Boolean(true);
            case JsonValueKind.False:
                return Boolean(false);
            case JsonValueKind.Number:
                if (expected != AtomKind.Real && json.TryGetInt64(out var l))
                {
                    return Integer(l);
                }

                return Real(json.GetDouble());
            case JsonValueKind.Array when json.GetArrayLength() == 2 && json[0].ValueKind == JsonValueKind.String && json[1].ValueKind == JsonValueKind.String:
                var tag = json[0];
                if (tag.ValueEquals("uuid"u8))
                {
                    // TryGetGuid reads the "D" form (RFC 7047's <uuid>) straight from the UTF-8, without a string.
                    return json[1].TryGetGuid(out var g) ? Uuid(g) : throw new OvsdbProtocolException($"malformed uuid \"{json[1].GetString()}\"");
                }

                if (tag.ValueEquals("named-uuid"u8))
                {
                    return NamedUuid(json[1].GetString()!);
                }

                break;
        }

        throw new OvsdbProtocolException($"not an OVSDB atom: {Truncate(json.GetRawText())}");
    }

    internal static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";

    /// <inheritdoc/>
    public bool Equals(OvsdbAtom other) => Kind == other.Kind && _bits == other._bits && _uuid == other._uuid && string.Equals(_string, other._string, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is OvsdbAtom a && Equals(a);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, _bits, _uuid, _string is null ? 0 : StringComparer.Ordinal.GetHashCode(_string));

    /// <summary>Orders atoms by kind, then by value (strings ordinally), as RFC 7047 sets and maps are kept sorted.</summary>
    public int CompareTo(OvsdbAtom other)
    {
        if (Kind != other.Kind)
        {
            return Kind.CompareTo(other.Kind);
        }

        return Kind switch
        {
            AtomKind.Integer => _bits.CompareTo(other._bits),
            AtomKind.Real => AsReal().CompareTo(other.AsReal()),
            AtomKind.Boolean => _bits.CompareTo(other._bits),
            AtomKind.Uuid => _uuid.CompareTo(other._uuid),
            _ => string.CompareOrdinal(_string, other._string),
        };
    }

    /// <summary>Whether the atoms are of one kind and equal.</summary>
    public static bool operator ==(OvsdbAtom left, OvsdbAtom right) => left.Equals(right);

    /// <summary>Whether the atoms differ.</summary>
    public static bool operator !=(OvsdbAtom left, OvsdbAtom right) => !left.Equals(right);

    /// <summary>Whether <paramref name="left"/> sorts before <paramref name="right"/>.</summary>
    public static bool operator <(OvsdbAtom left, OvsdbAtom right) => left.CompareTo(right) < 0;

    /// <summary>Whether <paramref name="left"/> sorts before or equal to <paramref name="right"/>.</summary>
    public static bool operator <=(OvsdbAtom left, OvsdbAtom right) => left.CompareTo(right) <= 0;

    /// <summary>Whether <paramref name="left"/> sorts after <paramref name="right"/>.</summary>
    public static bool operator >(OvsdbAtom left, OvsdbAtom right) => left.CompareTo(right) > 0;

    /// <summary>Whether <paramref name="left"/> sorts after or equal to <paramref name="right"/>.</summary>
    public static bool operator >=(OvsdbAtom left, OvsdbAtom right) => left.CompareTo(right) >= 0;

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        AtomKind.Integer => _bits.ToString(CultureInfo.InvariantCulture),
        AtomKind.Real => AsReal().ToString("R", CultureInfo.InvariantCulture),
        AtomKind.Boolean => _bits != 0 ? "true" : "false",
        AtomKind.String => _string!,
        AtomKind.Uuid => _uuid.ToString("D"),
        _ => "@" + _string,
    };

    private InvalidOperationException WrongKind(AtomKind wanted) => new($"atom is {Kind}, not {wanted}");
}
