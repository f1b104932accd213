using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>A monitor as the parser needs to know it: its id, flavour and schema.</summary>
internal sealed class MonitorContext(string id, MonitorMethod method, DatabaseSchema schema)
{
    public string Id => id;

    public MonitorMethod Method => method;

    public DatabaseSchema Schema => schema;
}

/// <summary>Which monitors a connection has: by monitor id (notifications) and by the id of the request that starts one (its reply).</summary>
internal interface IMonitorLookup
{
    MonitorContext? ByMonitorId(string monitorId);

    MonitorContext? ByRequestId(long requestId);
}

/// <summary>
/// Parses monitor traffic (the "update", "update2" and "update3" notifications and the replies to "monitor",
/// "monitor_cond" and "monitor_cond_since") in one <see cref="Utf8JsonReader"/> pass over the received bytes,
/// straight into <see cref="TableUpdates"/>: no copy of the message, no <see cref="JsonDocument"/>, no string per
/// column name or uuid. Anything else, or a monitor message of an unusual shape (members in another order than
/// ovsdb-server's, an error reply, a monitor the connection does not know), yields null and is parsed the generic way.
/// </summary>
internal static class MonitorMessageParser
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 512 };

    /// <summary>The parsed message, or null when it is not monitor traffic this parser takes. Malformed input raises <see cref="OvsdbProtocolException"/>.</summary>
    public static JsonRpcMessage? TryParse(ReadOnlySequence<byte> utf8, IMonitorLookup monitors, UuidDatumCache? uuids = null)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, Options);
            var message = TryParse(ref reader, monitors, uuids ?? new UuidDatumCache());
            if (message is null || reader.Read())
            {
                return null;
            }

            // The reader checks UTF-8 only in the strings it decodes; the generic path refuses any invalid byte.
            if (!IsValidUtf8(utf8))
            {
                throw new OvsdbProtocolException("JSON-RPC message is not valid UTF-8");
            }

            return message;
        }
        catch (JsonException ex)
        {
            throw new OvsdbProtocolException($"invalid JSON in JSON-RPC message: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on invalid UTF-8 or an invalid escape.
            throw new OvsdbProtocolException($"invalid JSON in JSON-RPC message: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The fast path of the read loop: parses the monitor message at the front of <paramref name="buffered"/>, letting the
    /// reader find where it ends, so that the bytes are scanned once. True, with <paramref name="buffered"/> moved past the
    /// message, only for a complete, valid monitor message of at most <paramref name="maxMessageSize"/> bytes. Anything
    /// else (a message not complete yet, other traffic, an error) is false, and the caller frames the message with the
    /// splitter and parses it the way that raises the right error.
    /// </summary>
    public static bool TryParseFirst(ref ReadOnlySequence<byte> buffered, IMonitorLookup monitors, UuidDatumCache uuids, long maxMessageSize, out JsonRpcMessage? message, out long length)
    {
        message = null;
        length = 0;
        var start = JsonMessageSplitter.SkipWhitespace(buffered);
        if (start.IsEmpty || start.FirstSpan[0] != (byte)'{')
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(start, isFinalBlock: false, new JsonReaderState(Options));
            var parsed = TryParse(ref reader, monitors, uuids);
            if (parsed is null || reader.BytesConsumed > maxMessageSize)
            {
                return false;
            }

            var bytes = start.Slice(0, reader.BytesConsumed);
            if (!IsValidUtf8(bytes))
            {
                return false;
            }

            message = parsed;
            length = bytes.Length;
            buffered = start.Slice(bytes.End);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or OvsdbProtocolException)
        {
            return false;
        }
    }

    private static JsonRpcMessage? TryParse(ref Utf8JsonReader r, IMonitorLookup monitors, UuidDatumCache uuids)
    {
        // ovsdb-server writes "id" first: {"id":null,"method":"update2","params":[...]} and {"id":7,"result":...,"error":null}.
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject || !ReadName(ref r, "id"u8) || !r.Read())
        {
            return null;
        }

        if (r.TokenType == JsonTokenType.Null)
        {
            return TryParseNotification(ref r, monitors, uuids);
        }

        if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var requestId) && monitors.ByRequestId(requestId) is { } monitor)
        {
            return TryParseReply(ref r, requestId, monitor, uuids);
        }

        return null;
    }

    private static JsonRpcMessage? TryParseNotification(ref Utf8JsonReader r, IMonitorLookup monitors, UuidDatumCache uuids)
    {
        if (!ReadName(ref r, "method"u8) || !r.Read() || r.TokenType != JsonTokenType.String)
        {
            return null;
        }

        string method;
        if (r.ValueTextEquals("update2"u8))
        {
            method = "update2";
        }
        else if (r.ValueTextEquals("update3"u8))
        {
            method = "update3";
        }
        else if (r.ValueTextEquals("update"u8))
        {
            method = "update";
        }
        else
        {
            return null;
        }

        if (!ReadName(ref r, "params"u8) || !r.Read() || r.TokenType != JsonTokenType.StartArray
            || !r.Read() || r.TokenType != JsonTokenType.String || monitors.ByMonitorId(r.GetString()!) is not { } monitor)
        {
            return null;
        }

        string? lastTransactionId = null;
        if (method == "update3")
        {
            if (!r.Read() || r.TokenType != JsonTokenType.String)
            {
                return null;
            }

            lastTransactionId = r.GetString();
        }

        r.Read();
        var updates = ReadTableUpdates(ref r, monitor.Schema, method != "update", initial: false, uuids);
        if (!r.Read() || r.TokenType != JsonTokenType.EndArray || !ReadEnd(ref r))
        {
            return null;
        }

        return JsonRpcMessage.ForUpdate(method, new MonitorUpdate(monitor.Id, monitor.Method, false, false, lastTransactionId, updates));
    }

    private static JsonRpcMessage? TryParseReply(ref Utf8JsonReader r, long requestId, MonitorContext monitor, UuidDatumCache uuids)
    {
        if (!ReadName(ref r, "result"u8) || !r.Read())
        {
            return null;
        }

        MonitorUpdate update;
        if (monitor.Method == MonitorMethod.MonitorCondSince)
        {
            // [found, last-txn-id, updates]
            if (r.TokenType != JsonTokenType.StartArray || !r.Read() || r.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            {
                return null;
            }

            var found = r.TokenType == JsonTokenType.True;
            if (!r.Read() || r.TokenType != JsonTokenType.String)
            {
                return null;
            }

            var lastTransactionId = r.GetString();
            r.Read();
            var updates = ReadTableUpdates(ref r, monitor.Schema, version2: true, initial: true, uuids);
            if (!r.Read() || r.TokenType != JsonTokenType.EndArray)
            {
                return null;
            }

            update = new MonitorUpdate(monitor.Id, monitor.Method, true, found, lastTransactionId, updates);
        }
        else
        {
            if (r.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var updates = ReadTableUpdates(ref r, monitor.Schema, monitor.Method == MonitorMethod.MonitorCond, initial: true, uuids);
            update = new MonitorUpdate(monitor.Id, monitor.Method, true, false, null, updates);
        }

        if (!ReadName(ref r, "error"u8) || !r.Read() || r.TokenType != JsonTokenType.Null || !ReadEnd(ref r))
        {
            return null;
        }

        return JsonRpcMessage.ForMonitorReply(requestId, update);
    }

    private static bool ReadName(ref Utf8JsonReader r, ReadOnlySpan<byte> name) =>
        r.Read() && r.TokenType == JsonTokenType.PropertyName && r.ValueTextEquals(name);

    /// <summary>The message's closing brace.</summary>
    private static bool ReadEnd(ref Utf8JsonReader r) => r.Read() && r.TokenType == JsonTokenType.EndObject && r.CurrentDepth == 0;

    /// <summary>Skips the current value; over bytes that end before the value does, that is an error the fast path falls back on.</summary>
    private static void SkipValue(ref Utf8JsonReader r)
    {
        if (!r.TrySkip())
        {
            throw new OvsdbProtocolException("JSON-RPC message ends early");
        }
    }

    /// <summary>Reads a &lt;table-updates&gt; (or &lt;table-updates2&gt;) value; the reader is on its first token and ends on its last.</summary>
    internal static TableUpdates ReadTableUpdates(ref Utf8JsonReader r, DatabaseSchema? schema, bool version2, bool initial, UuidDatumCache uuids)
    {
        if (r.TokenType == JsonTokenType.Null)
        {
            return TableUpdates.Empty;
        }

        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw new OvsdbProtocolException($"table-updates is not an object (found {r.TokenType} at byte {r.TokenStartIndex})");
        }

        var tables = new Dictionary<string, IReadOnlyList<RowUpdate>>(StringComparer.Ordinal);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = r.GetString()!;
            TableSchema? ts = null;
            schema?.Tables.TryGetValue(name, out ts);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                throw new OvsdbProtocolException($"table-update of \"{name}\" is not an object (found {r.TokenType} at byte {r.TokenStartIndex})");
            }

            var rows = new List<RowUpdate>();
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var uuid = ReadUuid(ref r, "row-update key");
                r.Read();
                rows.Add(version2 ? ReadRowUpdate2(ref r, uuid, ts, uuids) : ReadRowUpdate(ref r, uuid, ts, initial, uuids));
            }

            tables[name] = rows;
        }

        return new TableUpdates(tables);
    }

    private static RowUpdate ReadRowUpdate(ref Utf8JsonReader r, Guid uuid, TableSchema? ts, bool initial, UuidDatumCache uuids)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw new OvsdbProtocolException($"row-update for {uuid} is not an object");
        }

        IReadOnlyDictionary<string, OvsdbDatum>? old = null, @new = null;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var isOld = r.ValueTextEquals("old"u8);
            var isNew = !isOld && r.ValueTextEquals("new"u8);
            r.Read();
            if ((isOld || isNew) && r.TokenType == JsonTokenType.StartObject)
            {
                var row = ReadRow(ref r, uuid, ts, uuids);
                if (isOld)
                {
                    old = row;
                }
                else
                {
                    @new = row;
                }
            }
            else
            {
                SkipValue(ref r);
            }
        }

        var kind = (old, @new) switch
        {
            (null, not null) => initial ? RowUpdateKind.Initial : RowUpdateKind.Insert,
            (not null, null) => RowUpdateKind.Delete,
            _ => RowUpdateKind.Modify,
        };
        return new RowUpdate(uuid, kind, @new, old, NewIsDiff: false);
    }

    private static RowUpdate ReadRowUpdate2(ref Utf8JsonReader r, Guid uuid, TableSchema? ts, UuidDatumCache uuids)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw new OvsdbProtocolException($"row-update2 for {uuid} is not an object");
        }

        RowUpdate? update = null;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (update is not null)
            {
                // As the generic parser does: the first of initial/insert/modify/delete counts.
                r.Read();
                SkipValue(ref r);
                continue;
            }

            RowUpdateKind? kind = r.ValueTextEquals("initial"u8) ? RowUpdateKind.Initial
                : r.ValueTextEquals("insert"u8) ? RowUpdateKind.Insert
                : r.ValueTextEquals("modify"u8) ? RowUpdateKind.Modify
                : r.ValueTextEquals("delete"u8) ? RowUpdateKind.Delete
                : null;
            r.Read();
            switch (kind)
            {
                case null:
                    SkipValue(ref r);
                    break;
                case RowUpdateKind.Delete:
                    SkipValue(ref r);
                    update = new RowUpdate(uuid, RowUpdateKind.Delete, null, null, false);
                    break;
                default:
                    update = new RowUpdate(uuid, kind.Value, ReadRow(ref r, uuid, ts, uuids), null, kind == RowUpdateKind.Modify);
                    break;
            }
        }

        return update ?? throw new OvsdbProtocolException($"row-update2 for {uuid} has no initial/insert/modify/delete");
    }

    /// <summary>
    /// A &lt;row&gt;, as <see cref="TableUpdates.Parse"/> reads it: with a schema, a <see cref="Row"/> over the table's
    /// shared layout (columns the schema lacks are skipped), equal single-uuid values sharing one datum.
    /// </summary>
    private static IReadOnlyDictionary<string, OvsdbDatum> ReadRow(ref Utf8JsonReader r, Guid uuid, TableSchema? ts, UuidDatumCache uuids)
    {
        if (ts is null)
        {
            var columns = new Dictionary<string, OvsdbDatum>(StringComparer.Ordinal);
            if (r.TokenType != JsonTokenType.StartObject)
            {
                SkipValue(ref r);
                return columns;
            }

            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var skip = r.ValueTextEquals("_uuid"u8) || r.ValueTextEquals("_version"u8);
                var name = skip ? null : r.GetString()!;
                r.Read();
                if (name is null)
                {
                    SkipValue(ref r);
                }
                else
                {
                    columns[name] = ReadDatum(ref r, null, null, uuids);
                }
            }

            return columns;
        }

        var layout = ts.Layout;
        var types = ts.LayoutColumns;
        var values = new OvsdbDatum?[layout.Count];
        if (r.TokenType != JsonTokenType.StartObject)
        {
            SkipValue(ref r);
            return new Row(uuid, layout, values);
        }

        var hint = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var known = layout.TryGetIndex(ref r, hint, out var i);
            r.Read();
            if (!known)
            {
                SkipValue(ref r);
                continue;
            }

            hint = i + 1 == values.Length ? 0 : i + 1;
            var type = types[i].Type;
            values[i] = ReadDatum(ref r, type.Key.Kind, type.Value?.Kind, uuids);
        }

        return new Row(uuid, layout, values);
    }

    /// <summary>A value in its wire form (see <see cref="OvsdbDatum.Parse"/>); the reader is on its first token and ends on its last.</summary>
    internal static OvsdbDatum ReadDatum(ref Utf8JsonReader r, AtomKind? keyKind, AtomKind? valueKind, UuidDatumCache uuids)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            return OvsdbDatum.Scalar(ReadAtom(ref r, keyKind));
        }

        var start = r.TokenStartIndex;
        if (!r.Read() || r.TokenType != JsonTokenType.String)
        {
            throw NotAnAtom(ref r, start);
        }

        if (r.ValueTextEquals("uuid"u8))
        {
            var g = ReadUuidValue(ref r);
            return r.Read() && r.TokenType == JsonTokenType.EndArray ? uuids.Get(g) : throw NotAnAtom(ref r, start);
        }

        if (r.ValueTextEquals("set"u8))
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartArray)
            {
                throw new OvsdbProtocolException($"\"set\" must be followed by an array (at byte {start})");
            }

            OvsdbDatum datum;
            if (!r.Read() || r.TokenType == JsonTokenType.EndArray)
            {
                datum = OvsdbDatum.EmptySet;
            }
            else
            {
                var first = ReadAtom(ref r, keyKind);
                if (!r.Read() || r.TokenType == JsonTokenType.EndArray)
                {
                    datum = first.Kind == AtomKind.Uuid ? uuids.Get(first.AsUuid()) : OvsdbDatum.Scalar(first);
                }
                else
                {
                    var atoms = new List<OvsdbAtom> { first };
                    do
                    {
                        atoms.Add(ReadAtom(ref r, keyKind));
                    }
                    while (r.Read() && r.TokenType != JsonTokenType.EndArray);
                    datum = OvsdbDatum.Set(atoms);
                }
            }

            return r.Read() && r.TokenType == JsonTokenType.EndArray ? datum : throw NotAnAtom(ref r, start);
        }

        if (r.ValueTextEquals("map"u8))
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartArray)
            {
                throw new OvsdbProtocolException($"\"map\" must be followed by an array (at byte {start})");
            }

            var pairs = new List<KeyValuePair<OvsdbAtom, OvsdbAtom>>();
            while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType != JsonTokenType.StartArray || !r.Read())
                {
                    throw new OvsdbProtocolException($"map entries must be [key, value] pairs (at byte {r.TokenStartIndex})");
                }

                var key = ReadAtom(ref r, keyKind);
                if (!r.Read() || r.TokenType == JsonTokenType.EndArray)
                {
                    throw new OvsdbProtocolException($"map entries must be [key, value] pairs (at byte {r.TokenStartIndex})");
                }

                var value = ReadAtom(ref r, valueKind);
                if (!r.Read() || r.TokenType != JsonTokenType.EndArray)
                {
                    throw new OvsdbProtocolException($"map entries must be [key, value] pairs (at byte {r.TokenStartIndex})");
                }

                pairs.Add(KeyValuePair.Create(key, value));
            }

            var map = OvsdbDatum.Map(pairs);
            return r.Read() && r.TokenType == JsonTokenType.EndArray ? map : throw NotAnAtom(ref r, start);
        }

        if (r.ValueTextEquals("named-uuid"u8))
        {
            if (!r.Read() || r.TokenType != JsonTokenType.String)
            {
                throw NotAnAtom(ref r, start);
            }

            var name = r.GetString()!;
            return r.Read() && r.TokenType == JsonTokenType.EndArray ? OvsdbDatum.Scalar(OvsdbAtom.NamedUuid(name)) : throw NotAnAtom(ref r, start);
        }

        throw NotAnAtom(ref r, start);
    }

    /// <summary>One atom (see <see cref="OvsdbAtom.Parse"/>); the reader is on its first token and ends on its last.</summary>
    private static OvsdbAtom ReadAtom(ref Utf8JsonReader r, AtomKind? expected)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.String:
                return OvsdbAtom.String(r.GetString()!);
            case JsonTokenType.True:
                return OvsdbAtom.Boolean(true);
            case JsonTokenType.False:
                return OvsdbAtom.Boolean(false);
            case JsonTokenType.Number:
                if (expected != AtomKind.Real && r.TryGetInt64(out var l))
                {
                    return OvsdbAtom.Integer(l);
                }

                return r.TryGetDouble(out var d) ? OvsdbAtom.Real(d) : throw new OvsdbProtocolException($"number out of range at byte {r.TokenStartIndex}");
            case JsonTokenType.StartArray:
                var start = r.TokenStartIndex;
                if (!r.Read() || r.TokenType != JsonTokenType.String)
                {
                    throw NotAnAtom(ref r, start);
                }

                OvsdbAtom atom;
                if (r.ValueTextEquals("uuid"u8))
                {
                    atom = OvsdbAtom.Uuid(ReadUuidValue(ref r));
                }
                else if (r.ValueTextEquals("named-uuid"u8))
                {
                    if (!r.Read() || r.TokenType != JsonTokenType.String)
                    {
                        throw NotAnAtom(ref r, start);
                    }

                    atom = OvsdbAtom.NamedUuid(r.GetString()!);
                }
                else
                {
                    throw NotAnAtom(ref r, start);
                }

                return r.Read() && r.TokenType == JsonTokenType.EndArray ? atom : throw NotAnAtom(ref r, start);
            default:
                throw NotAnAtom(ref r, r.TokenStartIndex);
        }
    }

    /// <summary>Reads the string after a "uuid" tag as a uuid.</summary>
    private static Guid ReadUuidValue(ref Utf8JsonReader r)
    {
        if (!r.Read() || r.TokenType != JsonTokenType.String)
        {
            throw new OvsdbProtocolException($"\"uuid\" must be followed by a string (at byte {r.TokenStartIndex})");
        }

        return ReadUuid(ref r, "uuid");
    }

    /// <summary>The current string or property name as an RFC 7047 &lt;uuid&gt; (the "D" form), read from the UTF-8.</summary>
    private static Guid ReadUuid(ref Utf8JsonReader r, string what)
    {
        if (!r.ValueIsEscaped && !r.HasValueSequence)
        {
            if (Utf8Parser.TryParse(r.ValueSpan, out Guid g, out var consumed, 'D') && consumed == r.ValueSpan.Length)
            {
                return g;
            }
        }
        else if (Guid.TryParseExact(r.GetString(), "D", out var g))
        {
            return g;
        }

        var text = r.GetString()!;
        throw new OvsdbProtocolException($"{what} \"{OvsdbAtom.Truncate(text)}\" is not a uuid");
    }

    private static OvsdbProtocolException NotAnAtom(ref Utf8JsonReader r, long start) =>
        new($"not an OVSDB atom at byte {start} (unexpected {r.TokenType} at byte {r.TokenStartIndex})");

    /// <summary>Whether the whole message is valid UTF-8; a character may straddle two segments of the sequence.</summary>
    internal static bool IsValidUtf8(ReadOnlySequence<byte> utf8)
    {
        if (utf8.IsSingleSegment)
        {
            return System.Text.Unicode.Utf8.IsValid(utf8.FirstSpan);
        }

        Span<byte> carry = stackalloc byte[4];
        var carried = 0;
        var need = 0;
        foreach (var memory in utf8)
        {
            var span = memory.Span;
            if (carried > 0)
            {
                var take = Math.Min(need - carried, span.Length);
                span[..take].CopyTo(carry[carried..]);
                carried += take;
                span = span[take..];
                if (carried < need)
                {
                    continue;
                }

                if (!System.Text.Unicode.Utf8.IsValid(carry[..need]))
                {
                    return false;
                }

                carried = 0;
            }

            // A multi-byte character cut by the end of this segment is checked with the next one.
            for (var k = 1; k <= Math.Min(3, span.Length); k++)
            {
                var b = span[^k];
                if ((b & 0xC0) == 0x80)
                {
                    continue;
                }

                if (b >= 0xC0)
                {
                    var length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                    if (length > k)
                    {
                        need = length;
                        carried = k;
                        span[^k..].CopyTo(carry);
                        span = span[..^k];
                    }
                }

                break;
            }

            if (!System.Text.Unicode.Utf8.IsValid(span))
            {
                return false;
            }
        }

        return carried == 0;
    }
}
