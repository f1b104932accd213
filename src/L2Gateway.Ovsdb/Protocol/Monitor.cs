using System.Text.Json;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>The monitor flavour: RFC 7047 "monitor", or the ovsdb-server extensions.</summary>
public enum MonitorMethod
{
    /// <summary>RFC 7047 "monitor": whole rows in "update" notifications.</summary>
    Monitor,
    /// <summary>"monitor_cond" (OVS extension): row diffs in "update2", with conditions.</summary>
    MonitorCond,
    /// <summary>"monitor_cond_since" (OVS extension): resumes after a reconnect from the last transaction id, "update3".</summary>
    MonitorCondSince,
}

/// <summary>A &lt;monitor-request&gt; (or &lt;monitor-cond-request&gt; when <see cref="Where"/> is set) for one table.</summary>
public sealed record MonitorRequest(string Table)
{
    /// <summary>Columns to monitor; null means all.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Condition for monitor_cond / monitor_cond_since; null means all rows.</summary>
    public IReadOnlyList<Condition>? Where { get; init; }

    /// <summary>Send the existing rows in the reply ("initial").</summary>
    public bool Initial { get; init; } = true;

    /// <summary>Report inserted rows.</summary>
    public bool Insert { get; init; } = true;

    /// <summary>Report deleted rows.</summary>
    public bool Delete { get; init; } = true;

    /// <summary>Report modified rows.</summary>
    public bool Modify { get; init; } = true;

    internal void WriteTo(Utf8JsonWriter w, bool conditional)
    {
        w.WriteStartObject();
        if (Columns is not null)
        {
            w.WritePropertyName("columns"u8);
            w.WriteStartArray();
            foreach (var c in Columns)
            {
                w.WriteStringValue(c);
            }

            w.WriteEndArray();
        }

        if (conditional && Where is not null)
        {
            w.WritePropertyName("where"u8);
            w.WriteStartArray();
            foreach (var c in Where)
            {
                c.WriteTo(w);
            }

            w.WriteEndArray();
        }

        w.WritePropertyName("select"u8);
        w.WriteStartObject();
        w.WriteBoolean("initial"u8, Initial);
        w.WriteBoolean("insert"u8, Insert);
        w.WriteBoolean("delete"u8, Delete);
        w.WriteBoolean("modify"u8, Modify);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>What a <see cref="RowUpdate"/> reports.</summary>
public enum RowUpdateKind
{
    /// <summary>A row that existed when the monitor started.</summary>
    Initial,
    /// <summary>A new row.</summary>
    Insert,
    /// <summary>A changed row.</summary>
    Modify,
    /// <summary>A deleted row.</summary>
    Delete,
}

/// <summary>
/// One row's change. For "update" (v1) <see cref="New"/> holds the full new row; for "update2"/"update3"
/// modify, <see cref="New"/> is the diff (<see cref="NewIsDiff"/>) as defined by ovsdb-server.
/// </summary>
public sealed record RowUpdate(Guid Uuid, RowUpdateKind Kind, IReadOnlyDictionary<string, OvsdbDatum>? New, IReadOnlyDictionary<string, OvsdbDatum>? Old, bool NewIsDiff);

/// <summary>&lt;table-updates&gt; or &lt;table-updates2&gt;: table name -> row updates.</summary>
public sealed class TableUpdates
{
    /// <summary>Updates of the tables in <paramref name="tables"/>, by table name.</summary>
    public TableUpdates(IReadOnlyDictionary<string, IReadOnlyList<RowUpdate>> tables)
    {
        Tables = tables;
    }

    /// <summary>No updates.</summary>
    public static TableUpdates Empty { get; } = new(new Dictionary<string, IReadOnlyList<RowUpdate>>());

    /// <summary>The row updates of each table, by table name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RowUpdate>> Tables { get; }

    /// <summary>The number of row updates in all tables.</summary>
    public int Count => Tables.Values.Sum(t => t.Count);

    /// <summary>Reads a &lt;table-updates&gt; object (<paramref name="version2"/>: the "update2" form of row diffs); <paramref name="initial"/> marks the rows of a monitor's reply. With <paramref name="schema"/>, values are typed by their columns.</summary>
    public static TableUpdates Parse(JsonElement json, DatabaseSchema? schema, bool version2, bool initial)
    {
        if (json.ValueKind == JsonValueKind.Null)
        {
            return Empty;
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbProtocolException("table-updates is not an object");
        }

        var tables = new Dictionary<string, IReadOnlyList<RowUpdate>>(StringComparer.Ordinal);
        var interned = new Dictionary<Guid, OvsdbDatum>();
        foreach (var t in json.EnumerateObject())
        {
            TableSchema? ts = null;
            schema?.Tables.TryGetValue(t.Name, out ts);
            var rows = new List<RowUpdate>();
            foreach (var r in t.Value.EnumerateObject())
            {
                if (!Guid.TryParseExact(r.Name, "D", out var uuid))
                {
                    throw new OvsdbProtocolException($"row-update key \"{r.Name}\" is not a uuid");
                }

                rows.Add(version2 ? ParseV2(uuid, r.Value, ts, interned) : ParseV1(uuid, r.Value, ts, initial, interned));
            }

            tables[t.Name] = rows;
        }

        return new TableUpdates(tables);
    }

    private static RowUpdate ParseV1(Guid uuid, JsonElement json, TableSchema? ts, bool initial, Dictionary<Guid, OvsdbDatum> interned)
    {
        var old = json.TryGetProperty("old", out var o) && o.ValueKind == JsonValueKind.Object ? Columns(uuid, o, ts, interned) : null;
        var @new = json.TryGetProperty("new", out var n) && n.ValueKind == JsonValueKind.Object ? Columns(uuid, n, ts, interned) : null;
        var kind = (old, @new) switch
        {
            (null, not null) => initial ? RowUpdateKind.Initial : RowUpdateKind.Insert,
            (not null, null) => RowUpdateKind.Delete,
            _ => RowUpdateKind.Modify,
        };
        return new RowUpdate(uuid, kind, @new, old, NewIsDiff: false);
    }

    private static RowUpdate ParseV2(Guid uuid, JsonElement json, TableSchema? ts, Dictionary<Guid, OvsdbDatum> interned)
    {
        foreach (var p in json.EnumerateObject())
        {
            if (p.NameEquals("initial"u8))
            {
                return new RowUpdate(uuid, RowUpdateKind.Initial, Columns(uuid, p.Value, ts, interned), null, false);
            }

            if (p.NameEquals("insert"u8))
            {
                return new RowUpdate(uuid, RowUpdateKind.Insert, Columns(uuid, p.Value, ts, interned), null, false);
            }

            if (p.NameEquals("modify"u8))
            {
                return new RowUpdate(uuid, RowUpdateKind.Modify, Columns(uuid, p.Value, ts, interned), null, true);
            }

            if (p.NameEquals("delete"u8))
            {
                return new RowUpdate(uuid, RowUpdateKind.Delete, null, null, false);
            }
        }

        throw new OvsdbProtocolException($"row-update2 for {uuid} has no initial/insert/modify/delete");
    }

    /// <summary>
    /// Parses a &lt;row&gt; of an update. With a schema the result is a <see cref="Row"/> over the table's shared
    /// layout (absent columns are null), and equal uuid values share one datum: references such as
    /// logical_switch repeat across thousands of rows.
    /// </summary>
    private static IReadOnlyDictionary<string, OvsdbDatum> Columns(Guid uuid, JsonElement row, TableSchema? ts, Dictionary<Guid, OvsdbDatum> interned)
    {
        if (ts is null)
        {
            var columns = new Dictionary<string, OvsdbDatum>(StringComparer.Ordinal);
            if (row.ValueKind == JsonValueKind.Object)
            {
                foreach (var c in row.EnumerateObject())
                {
                    if (!c.NameEquals("_uuid"u8) && !c.NameEquals("_version"u8))
                    {
                        columns[c.Name] = Row.ParseColumn(c.Value, null, c.Name);
                    }
                }
            }

            return columns;
        }

        var layout = ts.Layout;
        var values = new OvsdbDatum?[layout.Count];
        if (row.ValueKind == JsonValueKind.Object)
        {
            foreach (var c in row.EnumerateObject())
            {
                var name = c.Name; // each read of Name allocates
                if (!layout.TryGetIndex(name, out var i))
                {
                    continue;
                }

                var datum = Row.ParseColumn(c.Value, ts, name);
                if (datum.Count == 1 && !datum.IsMap && datum.Keys[0].Kind == AtomKind.Uuid)
                {
                    var g = datum.Keys[0].AsUuid();
                    if (interned.TryGetValue(g, out var shared))
                    {
                        datum = shared;
                    }
                    else
                    {
                        interned[g] = datum;
                    }
                }

                values[i] = datum;
            }
        }

        return new Row(uuid, layout, values);
    }
}

/// <summary>
/// What a monitor delivers: the initial reply (<see cref="IsInitial"/>) and then each update notification.
/// For monitor_cond_since, <see cref="Found"/> tells whether the server could send only the changes after
/// the requested transaction (otherwise the initial updates are a complete dump).
/// </summary>
public sealed record MonitorUpdate(string MonitorId, MonitorMethod Method, bool IsInitial, bool Found, string? LastTransactionId, TableUpdates Updates);
