using System.Text.Json;
using L2Gateway.Ovsdb.Data;

// CS1591 (public member without an XML comment) is off in this file alone. The schema objects of RFC 7047 section 3.2: each property is the member of the same name in a <database-schema>, <table-schema>, <column-schema>, <type> or <base-type>.
#pragma warning disable CS1591

namespace L2Gateway.Ovsdb.Schema;

/// <summary>A &lt;database-schema&gt; (RFC 7047 section 3.2).</summary>
public sealed class DatabaseSchema
{
    public DatabaseSchema(string name, string? version, string? checksum, IReadOnlyDictionary<string, TableSchema> tables)
    {
        Name = name;
        Version = version;
        Checksum = checksum;
        Tables = tables;
    }

    public string Name { get; }

    public string? Version { get; }

    /// <summary>The "cksum" member.</summary>
    public string? Checksum { get; }

    public IReadOnlyDictionary<string, TableSchema> Tables { get; }

    public TableSchema GetTable(string name) =>
        Tables.TryGetValue(name, out var t) ? t : throw new OvsdbSchemaException($"database \"{Name}\" has no table \"{name}\"");

    public static DatabaseSchema Parse(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbSchemaException("database schema is not a JSON object");
        }

        var name = RequireString(json, "name", "database schema");
        var tables = new Dictionary<string, TableSchema>(StringComparer.Ordinal);
        if (!json.TryGetProperty("tables", out var t) || t.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbSchemaException($"schema \"{name}\" has no \"tables\" object");
        }

        foreach (var p in t.EnumerateObject())
        {
            tables[p.Name] = TableSchema.Parse(p.Name, p.Value);
        }

        foreach (var table in tables.Values)
        {
            foreach (var column in table.Columns.Values)
            {
                foreach (var bt in new[] { column.Type.Key, column.Type.Value })
                {
                    if (bt?.RefTable is { } rt && !tables.ContainsKey(rt))
                    {
                        throw new OvsdbSchemaException($"column {table.Name}.{column.Name} refers to unknown table \"{rt}\"");
                    }
                }
            }
        }

        return new DatabaseSchema(name, OptionalString(json, "version"), OptionalString(json, "cksum"), tables);
    }

    public static DatabaseSchema Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return Parse(doc.RootElement);
        }
        catch (JsonException ex)
        {
            throw new OvsdbSchemaException($"schema is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Loads an .ovsschema file.</summary>
    public static DatabaseSchema Load(string path) => Parse(File.ReadAllText(path));

    internal static string RequireString(JsonElement obj, string member, string what) =>
        obj.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new OvsdbSchemaException($"{what} has no string \"{member}\"");

    internal static string? OptionalString(JsonElement obj, string member) =>
        obj.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>A &lt;table-schema&gt;. <see cref="Columns"/> includes the implicit "_uuid" and "_version".</summary>
public sealed class TableSchema
{
    public TableSchema(string name, IReadOnlyDictionary<string, ColumnSchema> columns, long? maxRows, bool isRoot, IReadOnlyList<IReadOnlyList<string>> indexes)
    {
        Name = name;
        Columns = columns;
        MaxRows = maxRows;
        IsRoot = isRoot;
        Indexes = indexes;
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, ColumnSchema> Columns { get; }

    public long? MaxRows { get; }

    public bool IsRoot { get; }

    public IReadOnlyList<IReadOnlyList<string>> Indexes { get; }

    /// <summary>The columns declared in the schema, without "_uuid" and "_version".</summary>
    public IEnumerable<ColumnSchema> UserColumns => Columns.Values.Where(c => !c.Name.StartsWith('_'));

    /// <summary>The layout of full rows of this table: the user columns in schema order.</summary>
    internal RowLayout Layout => _layout ??= new RowLayout(UserColumns.Select(c => c.Name));

    private RowLayout? _layout;

    /// <summary>The columns of <see cref="Layout"/>, by position.</summary>
    internal ColumnSchema[] LayoutColumns => _layoutColumns ??= [.. Layout.Names.Select(n => Columns[n])];

    private ColumnSchema[]? _layoutColumns;

    public ColumnSchema GetColumn(string name) =>
        Columns.TryGetValue(name, out var c) ? c : throw new OvsdbSchemaException($"table \"{Name}\" has no column \"{name}\"");

    public static TableSchema Parse(string name, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("columns", out var cols) || cols.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbSchemaException($"table \"{name}\" has no \"columns\" object");
        }

        var columns = new Dictionary<string, ColumnSchema>(StringComparer.Ordinal);
        foreach (var p in cols.EnumerateObject())
        {
            if (p.Name.StartsWith('_'))
            {
                throw new OvsdbSchemaException($"column names starting with '_' are reserved: {name}.{p.Name}");
            }

            columns[p.Name] = ColumnSchema.Parse(name, p.Name, p.Value);
        }

        var uuidType = new ColumnType(new BaseType(AtomKind.Uuid), null, 1, 1);
        columns["_uuid"] = new ColumnSchema("_uuid", uuidType, ephemeral: false, mutable: false);
        columns["_version"] = new ColumnSchema("_version", uuidType, ephemeral: false, mutable: false);

        long? maxRows = json.TryGetProperty("maxRows", out var mr) && mr.ValueKind == JsonValueKind.Number ? mr.GetInt64() : null;
        var isRoot = json.TryGetProperty("isRoot", out var ir) && ir.ValueKind == JsonValueKind.True;
        var indexes = new List<IReadOnlyList<string>>();
        if (json.TryGetProperty("indexes", out var ix) && ix.ValueKind == JsonValueKind.Array)
        {
            foreach (var index in ix.EnumerateArray())
            {
                indexes.Add([.. index.EnumerateArray().Select(c => c.GetString()!)]);
            }
        }

        return new TableSchema(name, columns, maxRows, isRoot, indexes);
    }
}

/// <summary>A &lt;column-schema&gt;.</summary>
public sealed class ColumnSchema
{
    public ColumnSchema(string name, ColumnType type, bool ephemeral, bool mutable)
    {
        Name = name;
        Type = type;
        Ephemeral = ephemeral;
        Mutable = mutable;
    }

    public string Name { get; }

    public ColumnType Type { get; }

    public bool Ephemeral { get; }

    public bool Mutable { get; }

    public static ColumnSchema Parse(string table, string name, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("type", out var type))
        {
            throw new OvsdbSchemaException($"column {table}.{name} has no \"type\"");
        }

        var ephemeral = json.TryGetProperty("ephemeral", out var e) && e.ValueKind == JsonValueKind.True;
        var mutable = !(json.TryGetProperty("mutable", out var m) && m.ValueKind == JsonValueKind.False);
        return new ColumnSchema(name, ColumnType.Parse($"{table}.{name}", type), ephemeral, mutable);
    }
}

/// <summary>A &lt;type&gt;: key, optional value (a map), and min/max number of elements.</summary>
public sealed class ColumnType
{
    public const long Unlimited = long.MaxValue;

    public ColumnType(BaseType key, BaseType? value, long min, long max)
    {
        Key = key;
        Value = value;
        Min = min;
        Max = max;
    }

    public BaseType Key { get; }

    public BaseType? Value { get; }

    public long Min { get; }

    /// <summary>Maximum number of elements; <see cref="Unlimited"/> for "unlimited".</summary>
    public long Max { get; }

    public bool IsMap => Value is not null;

    /// <summary>Exactly one atom (min = max = 1, not a map).</summary>
    public bool IsScalar => !IsMap && Min == 1 && Max == 1;

    /// <summary>Optional scalar (min 0, max 1).</summary>
    public bool IsOptional => !IsMap && Min == 0 && Max == 1;

    /// <summary>
    /// Whether "update2" modify notifications carry a diff rather than the new value: this is the case
    /// for sets and maps that may hold more than one element.
    /// </summary>
    public bool IsComposite => Max > 1;

    public static ColumnType Parse(string where, JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.String)
        {
            return new ColumnType(BaseType.Parse(where, json), null, 1, 1);
        }

        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("key", out var key))
        {
            throw new OvsdbSchemaException($"{where}: type must be an atomic-type string or an object with \"key\"");
        }

        var k = BaseType.Parse(where, key);
        var v = json.TryGetProperty("value", out var value) ? BaseType.Parse(where, value) : null;
        long min = 1;
        if (json.TryGetProperty("min", out var mn))
        {
            min = mn.ValueKind == JsonValueKind.Number && mn.TryGetInt64(out var x) && x is 0 or 1
                ? x
                : throw new OvsdbSchemaException($"{where}: \"min\" must be 0 or 1");
        }

        long max = 1;
        if (json.TryGetProperty("max", out var mx))
        {
            if (mx.ValueKind == JsonValueKind.String && mx.GetString() == "unlimited")
            {
                max = Unlimited;
            }
            else if (mx.ValueKind == JsonValueKind.Number && mx.TryGetInt64(out var y) && y >= 1)
            {
                max = y;
            }
            else
            {
                throw new OvsdbSchemaException($"{where}: \"max\" must be a positive integer or \"unlimited\"");
            }
        }

        if (min > max)
        {
            throw new OvsdbSchemaException($"{where}: min {min} is greater than max {max}");
        }

        return new ColumnType(k, v, min, max);
    }

    /// <summary>
    /// The value a column holds when it was never set: empty for min 0, otherwise the key type's
    /// default atom (0, 0.0, false, "" or the all-zeros uuid). ovsdb-server omits such columns from
    /// "initial"/"insert" updates.
    /// </summary>
    public OvsdbDatum DefaultValue => _default ??= Min == 0
        ? (IsMap ? OvsdbDatum.EmptyMap : OvsdbDatum.EmptySet)
        : OvsdbDatum.Scalar(Key.Kind switch
        {
            AtomKind.Integer => OvsdbAtom.Integer(0),
            AtomKind.Real => OvsdbAtom.Real(0),
            AtomKind.Boolean => OvsdbAtom.Boolean(false),
            AtomKind.String => OvsdbAtom.String(""),
            _ => OvsdbAtom.Uuid(Guid.Empty),
        });

    private OvsdbDatum? _default;

    /// <summary>Checks a complete column value (insert/update row, wait) against this type.</summary>
    public void Validate(OvsdbDatum datum, string where)
    {
        ValidateElements(datum, where, allowKeySetForMap: false);
        if (datum.Count < Min || datum.Count > Max)
        {
            var max = Max == Unlimited ? "unlimited" : Max.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new OvsdbSchemaException($"{where}: {datum.Count} element(s) is outside the allowed range [{Min}, {max}]");
        }
    }

    /// <summary>Checks the atoms of a value without the min/max size rule (conditions, mutations).</summary>
    public void ValidateElements(OvsdbDatum datum, string where, bool allowKeySetForMap)
    {
        if (IsMap && !datum.IsMap && !(allowKeySetForMap || datum.IsEmpty))
        {
            throw new OvsdbSchemaException($"{where}: a map value is required");
        }

        if (!IsMap && datum.IsMap)
        {
            throw new OvsdbSchemaException($"{where}: a map was given for a non-map column");
        }

        foreach (var k in datum.Keys)
        {
            Key.Validate(k, where);
        }

        if (Value is not null)
        {
            foreach (var v in datum.Values)
            {
                Value.Validate(v, where);
            }
        }
    }

    public override string ToString() => IsMap ? $"map<{Key}, {Value}>[{Min},{Max}]" : IsScalar ? Key.ToString() : $"set<{Key}>[{Min},{Max}]";
}

/// <summary>A &lt;base-type&gt;: atomic type plus its constraints (enum, ranges, lengths, reference).</summary>
public sealed class BaseType
{
    public BaseType(AtomKind kind)
    {
        Kind = kind;
    }

    public AtomKind Kind { get; }

    public IReadOnlySet<OvsdbAtom>? Enum { get; init; }

    public long? MinInteger { get; init; }

    public long? MaxInteger { get; init; }

    public double? MinReal { get; init; }

    public double? MaxReal { get; init; }

    public long? MinLength { get; init; }

    public long? MaxLength { get; init; }

    public string? RefTable { get; init; }

    /// <summary>"strong" or "weak" (only meaningful with <see cref="RefTable"/>).</summary>
    public string RefType { get; init; } = "strong";

    public static BaseType Parse(string where, JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.String)
        {
            return new BaseType(ParseKind(where, json.GetString()!));
        }

        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
        {
            throw new OvsdbSchemaException($"{where}: base type must be an atomic-type string or an object with \"type\"");
        }

        var kind = ParseKind(where, t.GetString()!);
        HashSet<OvsdbAtom>? enumSet = null;
        if (json.TryGetProperty("enum", out var e))
        {
            enumSet = [.. OvsdbDatum.Parse(e, kind).Keys];
        }

        return new BaseType(kind)
        {
            Enum = enumSet,
            MinInteger = Int(json, "minInteger"),
            MaxInteger = Int(json, "maxInteger"),
            MinReal = Real(json, "minReal"),
            MaxReal = Real(json, "maxReal"),
            MinLength = Int(json, "minLength"),
            MaxLength = Int(json, "maxLength"),
            RefTable = DatabaseSchema.OptionalString(json, "refTable"),
            RefType = DatabaseSchema.OptionalString(json, "refType") ?? "strong",
        };
    }

    private static long? Int(JsonElement json, string member) =>
        json.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static double? Real(JsonElement json, string member) =>
        json.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static AtomKind ParseKind(string where, string name) => name switch
    {
        "integer" => AtomKind.Integer,
        "real" => AtomKind.Real,
        "boolean" => AtomKind.Boolean,
        "string" => AtomKind.String,
        "uuid" => AtomKind.Uuid,
        _ => throw new OvsdbSchemaException($"{where}: unknown atomic type \"{name}\""),
    };

    public void Validate(OvsdbAtom atom, string where)
    {
        var ok = atom.Kind == Kind
            || (Kind == AtomKind.Uuid && atom.Kind == AtomKind.NamedUuid)
            || (Kind == AtomKind.Real && atom.Kind == AtomKind.Integer);
        if (!ok)
        {
            throw new OvsdbSchemaException($"{where}: expected {Name(Kind)}, got {Name(atom.Kind)} {atom}");
        }

        if (Enum is not null && !Enum.Contains(atom))
        {
            throw new OvsdbSchemaException($"{where}: \"{atom}\" is not one of the allowed values ({string.Join(", ", Enum.Order())})");
        }

        switch (Kind)
        {
            case AtomKind.Integer:
                var i = atom.AsInteger();
                if (i < (MinInteger ?? long.MinValue) || i > (MaxInteger ?? long.MaxValue))
                {
                    throw new OvsdbSchemaException($"{where}: {i} is outside the range [{MinInteger}, {MaxInteger}]");
                }

                break;
            case AtomKind.Real:
                var r = atom.AsReal();
                if (r < (MinReal ?? double.MinValue) || r > (MaxReal ?? double.MaxValue))
                {
                    throw new OvsdbSchemaException($"{where}: {r} is outside the range [{MinReal}, {MaxReal}]");
                }

                break;
            case AtomKind.String:
                var len = atom.AsString().Length;
                if (len < (MinLength ?? 0) || len > (MaxLength ?? long.MaxValue))
                {
                    throw new OvsdbSchemaException($"{where}: string length {len} is outside [{MinLength}, {MaxLength}]");
                }

                break;
        }
    }

    internal static string Name(AtomKind kind) => kind switch
    {
        AtomKind.NamedUuid => "named-uuid",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public override string ToString() => RefTable is null ? Name(Kind) : $"uuid->{RefTable}";
}
