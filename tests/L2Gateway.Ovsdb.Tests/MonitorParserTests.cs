using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using CsCheck;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Tests;

/// <summary>The one-pass parser of monitor traffic against the generic path (JsonDocument, then <see cref="TableUpdates.Parse"/>).</summary>
public class MonitorParserTests
{
    private static readonly DatabaseSchema Schema = DatabaseSchema.Load(OvsdbServer.VtepSchema);

    private static readonly Lookup Monitors = new();

    private sealed class Lookup : IMonitorLookup
    {
        public Dictionary<string, MonitorContext> ById { get; } = new()
        {
            ["m1"] = new("m1", MonitorMethod.Monitor, Schema),
            ["m2"] = new("m2", MonitorMethod.MonitorCond, Schema),
            ["m3"] = new("m3", MonitorMethod.MonitorCondSince, Schema),
        };

        public MonitorContext? ByMonitorId(string monitorId) => ById.GetValueOrDefault(monitorId);

        public MonitorContext? ByRequestId(long requestId) => requestId switch
        {
            1 => ById["m1"],
            2 => ById["m2"],
            3 => ById["m3"],
            _ => null,
        };
    }

    private static readonly string[] Texts = ["a", "02:00:00:00:00:01", "é", "漢😀", "\"", "\\", "\n", "192.0.2.1", ""];

    private static readonly Gen<string> GenText = Gen.OneOf(Texts.Select(Gen.Const).ToArray()).Array[0, 3].Select(p => string.Concat(p));

    private static readonly Gen<OvsdbAtom> GenAtom = Gen.OneOf(
        Gen.Long.Select(OvsdbAtom.Integer),
        Gen.Int[-5, 5].Select(i => OvsdbAtom.Real(i + 0.5)),
        Gen.Bool.Select(OvsdbAtom.Boolean),
        GenText.Select(OvsdbAtom.String),
        Gen.Int[0, 4].Select(i => OvsdbAtom.Uuid(new Guid(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]))));

    private static readonly Gen<OvsdbDatum> GenDatum = Gen.OneOf(
        GenAtom.Select(OvsdbDatum.Scalar),
        GenAtom.Array[0, 4].Select(a => OvsdbDatum.Set(a)),
        Gen.Select(GenAtom, GenAtom).Array[0, 3].Select(p => OvsdbDatum.Map(p)));

    // Columns of the vtep schema (typed), one it lacks, and the implicit ones the parsers drop.
    private static readonly string[] Columns = ["MAC", "logical_switch", "locator", "ipaddr", "name", "tunnel_key", "other_config", "vlan_bindings", "description", "_version", "_uuid", "no_such_column"];

    private static readonly string[] Tables = ["Ucast_Macs_Remote", "Logical_Switch", "Physical_Port", "No_Such_Table"];

    /// <summary>A value the schema's type fits (the parsers use the type only to tell integers from reals), or any value for other columns.</summary>
    private static Gen<OvsdbDatum> ValueFor(string column) => column switch
    {
        "MAC" or "ipaddr" or "name" or "description" => GenText.Select(t => OvsdbDatum.Scalar(t)),
        "logical_switch" or "locator" or "_uuid" => Gen.Int[0, 4].Select(i => OvsdbDatum.Scalar(new Guid(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]))),
        "tunnel_key" => Gen.Long.Array[0, 1].Select(a => OvsdbDatum.Set(a.Select(OvsdbAtom.Integer))),
        "other_config" => Gen.Select(GenText, GenText).Array[0, 3].Select(p => OvsdbDatum.Map(p.Select(x => (OvsdbAtom.String(x.Item1), OvsdbAtom.String(x.Item2))).ToArray())),
        "vlan_bindings" => Gen.Select(Gen.Int[0, 4095], Gen.Int[0, 4]).Array[0, 3].Select(p => OvsdbDatum.Map(p.Select(x => (OvsdbAtom.Integer(x.Item1), OvsdbAtom.Uuid(new Guid(x.Item2, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1])))).ToArray())),
        _ => GenDatum,
    };

    private static readonly Gen<(string Name, bool Escaped, OvsdbDatum Value)[]> GenRow =
        Gen.Int[0, Columns.Length - 1].SelectMany(i => ValueFor(Columns[i]).Select(v => (i, v))).Select(Gen.Bool, (x, escaped) => (Columns[x.i], escaped, x.v)).Array[0, 6];

    private static readonly string[] Kinds2 = ["initial", "insert", "modify", "delete"];

    /// <summary>A table-updates object: v1 rows carry "old"/"new", v2 rows one of initial/insert/modify/delete.</summary>
    private static Gen<string> GenTableUpdates(bool version2) =>
        Gen.Select(Gen.Int[0, Tables.Length - 1], Gen.Select(Gen.Guid, Gen.Bool, Gen.Int[0, 3], GenRow, GenRow).Array[0, 5])
            .Array[0, 3]
            .Select(tables =>
            {
                var sb = new StringBuilder("{");
                foreach (var (t, rows) in tables.DistinctBy(x => x.Item1))
                {
                    sb.Append(sb.Length > 1 ? "," : "").Append(Quote(Tables[t], false)).Append(":{");
                    var first = true;
                    foreach (var (uuid, escapedKey, kind, a, b) in rows.DistinctBy(r => r.Item1))
                    {
                        sb.Append(first ? "" : ",").Append(Quote(uuid.ToString("D"), escapedKey)).Append(':');
                        first = false;
                        if (version2)
                        {
                            sb.Append('{').Append(Quote(Kinds2[kind], false)).Append(':').Append(kind == 3 ? "null" : Row(a)).Append('}');
                        }
                        else
                        {
                            sb.Append(kind switch
                            {
                                0 => $"{{\"new\":{Row(a)}}}",
                                1 => $"{{\"old\":{Row(a)}}}",
                                2 => $"{{\"old\":{Row(a)},\"new\":{Row(b)}}}",
                                _ => $"{{\"new\":{Row(a)},\"old\":null}}",
                            });
                        }
                    }

                    sb.Append('}');
                }

                return sb.Append('}').ToString();
            });

    private static string Row((string Name, bool Escaped, OvsdbDatum Value)[] columns)
    {
        var sb = new StringBuilder("{");
        foreach (var (name, escaped, value) in columns.DistinctBy(c => c.Name))
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer, JsonRpcWriter.WriterOptions))
            {
                value.WriteTo(w);
            }

            sb.Append(sb.Length > 1 ? "," : "").Append(Quote(name, escaped)).Append(':').Append(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return sb.Append('}').ToString();
    }

    /// <summary>A JSON string; <paramref name="escaped"/> writes its first character as a \u escape (legal, and off the parser's fast path).</summary>
    private static string Quote(string s, bool escaped) =>
        escaped && s.Length > 0 ? $"\"\\u{(int)s[0]:x4}{s[1..]}\"" : JsonSerializer.Serialize(s);

    /// <summary>The message in chunks of the given sizes, as the pipe hands it over (several segments).</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int[] cuts)
    {
        Segment? first = null, last = null;
        var pos = 0;
        foreach (var c in cuts.Length == 0 ? [bytes.Length] : cuts.Cycle())
        {
            if (pos >= bytes.Length)
            {
                break;
            }

            var n = Math.Min(Math.Max(c, 1), bytes.Length - pos);
            var s = new Segment(bytes.AsMemory(pos, n));
            if (last is null)
            {
                first = s;
            }
            else
            {
                last.Append(s);
            }

            last = s;
            pos += n;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }

    private static TableUpdates Generic(string message, Func<JsonRpcMessage, JsonElement> select, bool version2, bool initial) =>
        TableUpdates.Parse(select(JsonRpcMessage.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(message)))), Schema, version2, initial);

    private static MonitorUpdate OnePass(string message, int[] cuts)
    {
        var parsed = MonitorMessageParser.TryParse(Segmented(Encoding.UTF8.GetBytes(message), cuts), Monitors);
        Assert.NotNull(parsed);
        return parsed.Update!;
    }

    private static void AssertSame(TableUpdates expected, TableUpdates actual)
    {
        Assert.Equal(expected.Tables.Keys.Order(), actual.Tables.Keys.Order());
        foreach (var (table, rows) in expected.Tables)
        {
            var other = actual.Tables[table];
            Assert.Equal(rows.Count, other.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                Assert.Equal(rows[i].Uuid, other[i].Uuid);
                Assert.Equal(rows[i].Kind, other[i].Kind);
                Assert.Equal(rows[i].NewIsDiff, other[i].NewIsDiff);
                AssertSame(rows[i].New, other[i].New);
                AssertSame(rows[i].Old, other[i].Old);
            }
        }
    }

    private static void AssertSame(IReadOnlyDictionary<string, OvsdbDatum>? expected, IReadOnlyDictionary<string, OvsdbDatum>? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is null)
        {
            return;
        }

        Assert.Equal(expected.GetType(), actual!.GetType());
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, v) in expected)
        {
            Assert.Equal(v, actual[k]);
        }
    }

    [Fact]
    public void Notifications_parse_as_the_generic_path_does()
    {
        Gen.Select(Gen.Int[0, 2], GenTableUpdates(false), GenTableUpdates(true), Gen.Int[1, 64].Array[0, 8]).Sample((flavour, v1, v2, cuts) =>
        {
            var (message, version2, select) = flavour switch
            {
                0 => ($"{{\"id\":null,\"method\":\"update\",\"params\":[\"m1\",{v1}]}}", false, (Func<JsonRpcMessage, JsonElement>)(m => m.Params[1])),
                1 => ($"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{v2}]}}", true, m => m.Params[1]),
                _ => ($"{{\"id\":null,\"method\":\"update3\",\"params\":[\"m3\",\"1b3c\",{v2}]}}", true, m => m.Params[2]),
            };
            var update = OnePass(message, cuts);
            Assert.Equal(new[] { "m1", "m2", "m3" }[flavour], update.MonitorId);
            Assert.False(update.IsInitial);
            Assert.Equal(flavour == 2 ? "1b3c" : null, update.LastTransactionId);
            AssertSame(Generic(message, select, version2, initial: false), update.Updates);
        }, iter: 400);
    }

    [Fact]
    public void Monitor_replies_parse_as_the_generic_path_does()
    {
        Gen.Select(Gen.Int[0, 2], GenTableUpdates(false), GenTableUpdates(true), Gen.Bool, Gen.Int[1, 64].Array[0, 8]).Sample((flavour, v1, v2, found, cuts) =>
        {
            var (message, version2, select) = flavour switch
            {
                0 => ($"{{\"id\":1,\"result\":{v1},\"error\":null}}", false, (Func<JsonRpcMessage, JsonElement>)(m => m.Result)),
                1 => ($"{{\"id\":2,\"result\":{v2},\"error\":null}}", true, m => m.Result),
                _ => ($"{{\"id\":3,\"result\":[{(found ? "true" : "false")},\"00000000-0000-0000-0000-000000000000\",{v2}],\"error\":null}}", true, m => m.Result[2]),
            };
            var update = OnePass(message, cuts);
            Assert.True(update.IsInitial);
            Assert.Equal(flavour == 2 && found, update.Found);
            AssertSame(Generic(message, select, version2, initial: true), update.Updates);
        }, iter: 400);
    }

    [Theory]
    [InlineData("{\"method\":\"update2\",\"id\":null,\"params\":[\"m2\",{}]}")] // members in another order
    [InlineData("{\"id\":null,\"method\":\"update2\",\"params\":[\"other\",{}]}")] // a monitor the connection does not have
    [InlineData("{\"id\":null,\"method\":\"locked\",\"params\":[\"l\"]}")]
    [InlineData("{\"id\":7,\"result\":{},\"error\":null}")] // not a monitor's request
    [InlineData("{\"id\":2,\"result\":null,\"error\":{\"error\":\"unknown method\"}}")] // an error reply
    [InlineData("{\"id\":\"echo\",\"result\":[],\"error\":null}")]
    public void Other_messages_are_left_to_the_generic_path(string message)
    {
        Assert.Null(MonitorMessageParser.TryParse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(message)), Monitors));
        JsonRpcMessage.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(message)));
    }

    [Theory]
    [InlineData("[\"m2\",{\"T\":{\"x\":{\"insert\":{}}}}]", "row-update key \"x\" is not a uuid")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"other\":{}}}}]", "has no initial/insert/modify/delete")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":[]}}]", "is not an object")]
    [InlineData("[\"m2\",{\"Logical_Switch\":[]}]", "table-update of \"Logical_Switch\" is not an object")]
    [InlineData("[\"m2\",[]]", "table-updates is not an object")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":{}}}}}]", "not an OVSDB atom")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":[\"uuid\",\"nope\"]}}}}]", "uuid \"nope\" is not a uuid")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":[\"set\",1]}}}}]", "\"set\" must be followed by an array")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"other_config\":[\"map\",[[\"a\"]]]}}}}]", "map entries must be [key, value] pairs")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":[\"set\",[1],2]}}}}]", "not an OVSDB atom")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":\"\\uZZZZ\"}}}}]", "invalid JSON")]
    [InlineData("[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\" \"a\"}}}}]", "invalid JSON")]
    public async Task Malformed_updates_raise_the_protocol_exception_with_the_reason(string parameters, string reason)
    {
        var message = $"{{\"id\":null,\"method\":\"update2\",\"params\":{parameters}}}";
        var ex = Assert.Throws<OvsdbProtocolException>(() => MonitorMessageParser.TryParse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(message)), Monitors));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);

        // The read loop, whole or in pieces: the same error, after the well-formed message before it.
        foreach (var chunk in new[] { 1 << 20, 1, 7 })
        {
            var stream = new ChunkedStream(Encoding.UTF8.GetBytes(Update2Text + message), [chunk]);
            var reader = new JsonRpcReader(PipeReader.Create(stream), 1 << 20, Monitors);
            Assert.NotNull((await reader.ReadAsync())!.Update);
            var fromReader = await Assert.ThrowsAsync<OvsdbProtocolException>(async () => await reader.ReadAsync());
            Assert.Equal(ex.Message, fromReader.Message);
        }
    }

    [Fact]
    public async Task Invalid_utf8_anywhere_is_a_protocol_error_even_in_a_column_that_is_skipped()
    {
        byte[] bytes = [.. "{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"no_such_column\":\"a"u8, 0xE6, 0xBC, .. "\"}}}}]}"u8];
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var ex = Assert.Throws<OvsdbProtocolException>(() => MonitorMessageParser.TryParse(Segmented(bytes, [cut]), Monitors));
            Assert.Contains("UTF-8", ex.Message, StringComparison.Ordinal);

            var reader = new JsonRpcReader(PipeReader.Create(new ChunkedStream(bytes, [cut])), 1 << 20, Monitors);
            var fromReader = await Assert.ThrowsAsync<OvsdbProtocolException>(async () => await reader.ReadAsync());
            Assert.Contains("UTF-8", fromReader.Message, StringComparison.Ordinal);

            // The read loop's fast path, over the whole message in segments: it must not take the message either.
            var buffered = Segmented(bytes, [cut]);
            Assert.False(MonitorMessageParser.TryParseFirst(ref buffered, Monitors, new UuidDatumCache(), 1 << 20, out _, out _));
        }

        // The whole message in one read, which the fast path sees complete.
        var whole = new JsonRpcReader(PipeReader.Create(new ChunkedStream(bytes, [bytes.Length])), 1 << 20, Monitors);
        Assert.Contains("UTF-8", (await Assert.ThrowsAsync<OvsdbProtocolException>(async () => await whole.ReadAsync())).Message, StringComparison.Ordinal);

        // The same character whole, cut at every byte: valid.
        byte[] good = [.. "{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":\"a漢😀\"}}}}]}"u8];
        for (var cut = 1; cut < good.Length; cut++)
        {
            var update = MonitorMessageParser.TryParse(Segmented(good, [cut]), Monitors)!.Update!;
            Assert.Equal("a漢😀", ((Row)update.Updates.Tables["Logical_Switch"][0].New!).GetString("name"));

            var buffered = Segmented(good, [cut]);
            Assert.True(MonitorMessageParser.TryParseFirst(ref buffered, Monitors, new UuidDatumCache(), 1 << 20, out var first, out _));
            Assert.Equal("a漢😀", ((Row)first!.Update!.Updates.Tables["Logical_Switch"][0].New!).GetString("name"));
        }
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_a_protocol_error()
    {
        var deep = new string('[', 600) + new string(']', 600);
        var message = $"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{{\"Logical_Switch\":{{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{{\"insert\":{{\"no_such_column\":{deep}}}}}}}}}]}}";
        var ex = Assert.Throws<OvsdbProtocolException>(() => MonitorMessageParser.TryParse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(message)), Monitors));
        Assert.Contains("depth", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_reader_keeps_its_size_limit_for_monitor_updates()
    {
        var row = "{\"insert\":{\"name\":\"" + new string('x', 200) + "\"}}";
        var message = Encoding.UTF8.GetBytes($"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{{\"Logical_Switch\":{{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{row}}}}}]}}");

        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(message);
        await pipe.Writer.CompleteAsync();
        var ex = await Assert.ThrowsAsync<OvsdbProtocolException>(async () => await new JsonRpcReader(pipe.Reader, 128, Monitors).ReadAsync());
        Assert.Contains("maximum size of 128 bytes", ex.Message, StringComparison.Ordinal);

        pipe = new Pipe();
        await pipe.Writer.WriteAsync(message);
        await pipe.Writer.CompleteAsync();
        var parsed = await new JsonRpcReader(pipe.Reader, message.Length, Monitors).ReadAsync();
        Assert.Equal(200, ((Row)parsed!.Update!.Updates.Tables["Logical_Switch"][0].New!).GetString("name").Length);
    }

    [Fact]
    public void Repeated_uuid_values_share_one_datum()
    {
        var ls = "[\"uuid\",\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\"]";
        var message = $"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{{\"Ucast_Macs_Remote\":{{\"{Guid.NewGuid()}\":{{\"insert\":{{\"logical_switch\":{ls}}}}},\"{Guid.NewGuid()}\":{{\"insert\":{{\"logical_switch\":{ls}}}}}}}}}]}}";
        var rows = OnePass(message, []).Updates.Tables["Ucast_Macs_Remote"];
        Assert.Same(((Row)rows[0].New!)["logical_switch"], ((Row)rows[1].New!)["logical_switch"]);
    }

    private const string Update2Text = "{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{}]}";

    [Fact]
    public async Task The_read_loop_takes_a_stream_cut_anywhere_as_the_generic_path_does()
    {
        // Monitor traffic the read loop frames with the JSON reader itself, mixed with messages it leaves to the splitter.
        string[] others = ["{\"id\":\"echo\",\"result\":[],\"error\":null}", "{\"id\":7,\"result\":{\"a\":[1,2]},\"error\":null}", "{\"id\":null,\"method\":\"locked\",\"params\":[\"l\"]}", "{\"id\":2,\"result\":null,\"error\":{\"error\":\"e\"}}"];
        var genMessage = Gen.Select(Gen.Int[0, 6], GenTableUpdates(false), GenTableUpdates(true), Gen.Int[0, others.Length - 1]).Select((kind, v1, v2, other) => kind switch
        {
            0 => $"{{\"id\":null,\"method\":\"update\",\"params\":[\"m1\",{v1}]}}",
            1 => $"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{v2}]}}",
            2 => $"{{\"id\":null,\"method\":\"update3\",\"params\":[\"m3\",\"1b3c\",{v2}]}}",
            3 => $"{{\"id\":1,\"result\":{v1},\"error\":null}}",
            4 => $"{{\"id\":3,\"result\":[true,\"00000000-0000-0000-0000-000000000000\",{v2}],\"error\":null}}",
            _ => others[other],
        });
        var gen = Gen.Select(Gen.Select(genMessage, Gen.OneOf(Gen.Const(""), Gen.Const(" "), Gen.Const("\n"))).Array[1, 6], Gen.Int[1, 300].Array[1, 6]);
        await gen.SampleAsync(async (messages, cuts) =>
        {
            var bytes = Encoding.UTF8.GetBytes(string.Concat(messages.Select(m => m.Item1 + m.Item2)));
            var reader = new JsonRpcReader(PipeReader.Create(new ChunkedStream(bytes, cuts)), 1 << 20, Monitors);
            foreach (var (text, _) in messages)
            {
                var read = await reader.ReadAsync();
                Assert.NotNull(read);
                Assert.Equal(Encoding.UTF8.GetByteCount(text), reader.LastMessageLength);
                var generic = JsonRpcMessage.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)));
                if (read.Update is not { } update)
                {
                    Assert.Equal(generic.Kind, read.Kind);
                    Assert.Equal(generic.Method, read.Method);
                    continue;
                }

                var (version2, updates) = generic.Method switch
                {
                    "update" => (false, generic.Params[1]),
                    "update2" => (true, generic.Params[1]),
                    "update3" => (true, generic.Params[2]),
                    _ => update.Method == MonitorMethod.Monitor ? (false, generic.Result) : (true, generic.Result[2]),
                };
                AssertSame(TableUpdates.Parse(updates, Schema, version2, initial: generic.Method is null), update.Updates);
            }

            Assert.Null(await reader.ReadAsync());
        }, iter: 300);
    }

    [Fact]
    public void The_fast_path_frames_a_whole_monitor_message_and_refuses_every_prefix_of_one()
    {
        const string message = "{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{\"Logical_Switch\":{\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\":{\"insert\":{\"name\":\"a漢😀\"}}}}]}";
        const string next = "{\"id\":null,\"met";
        var length = Encoding.UTF8.GetByteCount(message);
        var bytes = Encoding.UTF8.GetBytes(" \n" + message + next);
        foreach (var cut in new[] { 1, 3, 7, 64, bytes.Length })
        {
            // What follows the message (the start of the next one) is left in the buffer, whitespace before it consumed.
            var buffered = Segmented(bytes, [cut]);
            Assert.True(MonitorMessageParser.TryParseFirst(ref buffered, Monitors, new UuidDatumCache(), 1 << 20, out var parsed, out var consumed));
            Assert.Equal(length, consumed);
            Assert.Equal(next, Encoding.UTF8.GetString(buffered.ToArray()));
            Assert.Equal("a漢😀", ((Row)parsed!.Update!.Updates.Tables["Logical_Switch"][0].New!).GetString("name"));
        }

        // Every proper prefix is not a message yet: refused, and the buffer left as it was.
        var whole = Encoding.UTF8.GetBytes(" \n" + message);
        for (var end = 1; end < whole.Length; end++)
        {
            var prefix = Segmented(whole[..end], [5]);
            var before = prefix;
            Assert.False(MonitorMessageParser.TryParseFirst(ref prefix, Monitors, new UuidDatumCache(), 1 << 20, out _, out _));
            Assert.Equal(before.Start, prefix.Start);
            Assert.Equal(before.Length, prefix.Length);
        }

        // The size limit: a message of exactly the limit is taken, one byte more is left to the splitter, which refuses it.
        var atLimit = Segmented(whole, [7]);
        Assert.True(MonitorMessageParser.TryParseFirst(ref atLimit, Monitors, new UuidDatumCache(), length, out _, out _));
        var overLimit = Segmented(whole, [7]);
        Assert.False(MonitorMessageParser.TryParseFirst(ref overLimit, Monitors, new UuidDatumCache(), length - 1, out _, out _));
    }

    [Fact]
    public async Task One_connection_shares_a_uuid_value_across_messages()
    {
        var ls = "[\"uuid\",\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\"]";
        string Insert() => $"{{\"id\":null,\"method\":\"update2\",\"params\":[\"m2\",{{\"Ucast_Macs_Remote\":{{\"{Guid.NewGuid()}\":{{\"insert\":{{\"logical_switch\":{ls}}}}}}}}}]}}";
        var reader = new JsonRpcReader(PipeReader.Create(new ChunkedStream(Encoding.UTF8.GetBytes(Insert() + Insert()), [50])), 1 << 20, Monitors);

        var first = (Row)(await reader.ReadAsync())!.Update!.Updates.Tables["Ucast_Macs_Remote"][0].New!;
        var second = (Row)(await reader.ReadAsync())!.Update!.Updates.Tables["Ucast_Macs_Remote"][0].New!;

        Assert.Same(first["logical_switch"], second["logical_switch"]);
    }

    /// <summary>A stream that hands its bytes over in reads of the given sizes, as a socket may.</summary>
    private sealed class ChunkedStream(byte[] bytes, int[] cuts) : Stream
    {
        private int _position;
        private int _next;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => bytes.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, Math.Max(1, cuts[_next++ % cuts.Length])), bytes.Length - _position);
            bytes.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
