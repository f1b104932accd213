using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.OpenStack.Messaging;

namespace L2Gateway.OpenStack.Tests;

/// <summary>The oslo.messaging wire format against bodies captured on the lab's bus.</summary>
public sealed class OsloWireTests
{
    private static string Capture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Captures", name + ".json")).TrimEnd('\n');

    private static DateTimeOffset PythonTime(string text) =>
        new(DateTime.ParseExact(text, "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal), TimeSpan.Zero);

    [Theory]
    [InlineData("report-state-ovs-agent")]
    [InlineData("report-state-l2gw-agent")]
    public void A_call_is_byte_for_byte_what_a_Neutron_agent_sends(string capture)
    {
        var captured = Capture(capture);
        var inner = OsloWire.Open(Encoding.UTF8.GetBytes(captured));

        var body = OsloWire.Call(
            inner["method"]!.GetValue<string>(),
            inner["args"]!.AsObject(),
            inner["version"]!.GetValue<string>(),
            inner["_msg_id"]!.GetValue<string>(),
            inner["_reply_q"]!.GetValue<string>(),
            new MessageIds(inner["_unique_id"]!.GetValue<string>(), inner["_context_request_id"]!.GetValue<string>()),
            PythonTime(inner["_context_timestamp"]!.GetValue<string>()));

        Assert.Equal(captured, Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void A_cast_carries_method_args_version_unique_id_then_the_admin_context()
    {
        var captured = OsloWire.Open(Encoding.UTF8.GetBytes(Capture("l2pop-add")));
        var time = new DateTimeOffset(2026, 12, 1, 20, 48, 32, TimeSpan.Zero).AddTicks(41070);

        var body = OsloWire.Cast("add_fdb_entries", captured["args"]!.AsObject(), "1.0", new MessageIds("95f01a19e8c64a9aaec35ca9d6853a74", "req-265b758e-c1f2-41e3-b279-fccb9bb25675"), time);

        var text = Encoding.UTF8.GetString(body);
        var capturedText = Capture("l2pop-add");

        // Everything up to the context is the captured cast, byte for byte.
        var head = capturedText[..capturedText.IndexOf("\\\"_context_", StringComparison.Ordinal)];
        Assert.StartsWith(head, text, StringComparison.Ordinal);
        var inner = OsloWire.Open(body);
        Assert.Equal(
            ["method", "args", "version", "_unique_id"],
            inner.Select(p => p.Key).Take(4));
        Assert.DoesNotContain(inner, p => p.Key is "_msg_id" or "_reply_q" or "_timeout");
        Assert.True(inner["_context_is_admin"]!.GetValue<bool>());
        Assert.Equal("2026-12-01 20:48:32.004107", inner["_context_timestamp"]!.GetValue<string>());
        Assert.Equal("- - - - -", inner["_context_user_identity"]!.GetValue<string>());
    }

    [Fact]
    public void Reads_neutron_servers_reply()
    {
        var reply = OsloWire.ParseReply(Encoding.UTF8.GetBytes(Capture("report-state-reply")));

        Assert.NotNull(reply);
        Assert.Equal("052df5a697714d9ebcce01442828f28c", reply.MessageId);
        Assert.Equal("new", reply.Result!.GetValue<string>());
        Assert.Null(reply.Failure);
        Assert.True(reply.Ending);
    }

    [Fact]
    public void Reads_a_remote_failure()
    {
        var failure = new JsonObject { ["class"] = "NoSuchMethod", ["module"] = "oslo_messaging.rpc.dispatcher", ["message"] = "Endpoint does not support RPC method nope", ["tb"] = new JsonArray() };
        var body = OsloWire.Envelope(new JsonObject { ["result"] = null, ["failure"] = failure.ToJsonString(), ["ending"] = true, ["_msg_id"] = "m1" });

        var reply = OsloWire.ParseReply(body)!;

        Assert.Equal(new RemoteError("NoSuchMethod", "oslo_messaging.rpc.dispatcher", "Endpoint does not support RPC method nope"), reply.Failure);
    }

    [Fact]
    public void Reads_a_notification()
    {
        var notification = OsloWire.ParseNotification(Encoding.UTF8.GetBytes(Capture("port-create-end")));

        Assert.Equal("port.create.end", notification.EventType);
        Assert.Equal("fa:16:3e:30:54:7e", notification.Payload.GetProperty("port").GetProperty("mac_address").GetString());
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 21, 9, 45, TimeSpan.Zero).AddTicks(7330940), notification.Timestamp);
    }

    [Fact]
    public void A_message_without_envelope_is_read_as_oslo_1_0()
    {
        var inner = OsloWire.Open("{\"method\": \"m\", \"args\": {}}"u8);

        Assert.Equal("m", inner["method"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"oslo.version\": \"3.0\", \"oslo.message\": \"{}\"}", "unsupported oslo.version \"3.0\"")]
    [InlineData("{\"oslo.version\": \"2.0\"}", "oslo.message is missing")]
    [InlineData("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{x\"}", "oslo.message is not JSON")]
    [InlineData("{\"oslo.version\": \"2.0\", \"oslo.message\": \"[]\"}", "oslo.message is not a JSON object")]
    public void Malformed_messages_are_refused_with_the_reason(string body, string reason)
    {
        var error = Assert.Throws<FormatException>(() => OsloWire.Open(Encoding.UTF8.GetBytes(body)));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_notification_needs_an_event_type()
    {
        Assert.Throws<FormatException>(() => OsloWire.ParseNotification(OsloWire.Envelope(new JsonObject { ["payload"] = 1 })));
    }

    [Fact]
    public void Json_text_is_pythons()
    {
        var node = new JsonObject
        {
            ["a"] = new JsonArray(1, 2.5, 30.0, 1e20, -0.0001),
            ["s"] = "é \"q\" \\ \n \u0001 \u007f / 😀",
            ["t"] = true,
            ["n"] = null,
            ["o"] = new JsonObject(),
        };

        Assert.Equal(
            "{\"a\": [1, 2.5, 30.0, 1e+20, -0.0001], \"s\": \"\\u00e9 \\\"q\\\" \\\\ \\n \\u0001 \\u007f / \\ud83d\\ude00\", \"t\": true, \"n\": null, \"o\": {}}",
            PythonJson.Serialize(node));
    }

    [Fact]
    public void Parsed_numbers_keep_their_text()
    {
        var node = JsonNode.Parse("{\"f\": 5.0, \"i\": 5, \"e\": 1e-05}");

        Assert.Equal("{\"f\": 5.0, \"i\": 5, \"e\": 1e-05}", PythonJson.Serialize(node));
    }

    [Fact]
    public void Timestamps_are_pythons()
    {
        var t = new DateTimeOffset(2026, 12, 1, 21, 13, 59, TimeSpan.Zero);

        Assert.Equal("2026-12-01 21:13:59", OsloWire.PythonTimestamp(t));
        Assert.Equal("2026-12-01 21:13:59.705609", OsloWire.PythonTimestamp(t.AddTicks(7056090)));
        Assert.Equal("2026-12-01T21:13:59.000000", OsloWire.AgentTime(t));
        Assert.Equal("2026-12-01T21:13:59.849799", OsloWire.AgentTime(t.AddTicks(8497990).ToOffset(TimeSpan.FromHours(2))));
    }

    [Fact]
    public void Every_message_gets_new_ids()
    {
        var a = MessageIds.New();
        var b = MessageIds.New();

        Assert.NotEqual(a, b);
        Assert.Matches("^[0-9a-f]{32}$", a.UniqueId);
        Assert.Matches("^req-[0-9a-f-]{36}$", a.RequestId);
        _ = JsonSerializer.Serialize(a);
    }
}
