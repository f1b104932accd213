using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>A message as it goes on the wire: the AMQP body and the properties that differ between messages.</summary>
public sealed record WireMessage(byte[] Body, string? Expiration = null);

/// <summary>An RPC answer: <c>result</c>, or <c>failure</c> (oslo's serialised exception) when the call failed remotely.</summary>
public sealed record RpcReply(string MessageId, JsonNode? Result, RemoteError? Failure, bool Ending);

/// <summary>An exception raised by the remote side of a call, as oslo.messaging serialises it.</summary>
public sealed record RemoteError(string ExceptionType, string Module, string Message)
{
    public override string ToString() => $"{Module}.{ExceptionType}: {Message}";
}

/// <summary>
/// oslo.messaging's wire format (message version 2.0), as captured from neutron-server and its agents in
/// <c>testbed/openstack/captures</c>: the body is <c>{"oslo.version": "2.0", "oslo.message": TEXT}</c> where TEXT is
/// the inner message serialised as a JSON string. The inner message of a cast is <c>method</c>, <c>args</c>,
/// <c>version</c>, <c>_unique_id</c> and the request context as <c>_context_*</c> keys; a call adds <c>_msg_id</c>,
/// <c>_reply_q</c> and <c>_timeout</c>. Pure: ids and the clock are parameters.
/// </summary>
public static class OsloWire
{
    public const string ContentType = "application/json";
    public const string ContentEncoding = "utf-8";

    /// <summary>
    /// The request context of an internal (admin) call, as Neutron's <c>get_admin_context()</c> serialises it, in
    /// its order. Neutron's RPC callbacks read it back into their context; nothing of it identifies a user.
    /// </summary>
    public static JsonObject AdminContext(string requestId, DateTimeOffset timestamp) => new()
    {
        ["_context_user"] = null,
        ["_context_project_id"] = null,
        ["_context_system_scope"] = null,
        ["_context_project"] = null,
        ["_context_domain"] = null,
        ["_context_user_domain"] = null,
        ["_context_project_domain"] = null,
        ["_context_is_admin"] = true,
        ["_context_read_only"] = false,
        ["_context_show_deleted"] = false,
        ["_context_auth_token"] = null,
        ["_context_request_id"] = requestId,
        ["_context_global_request_id"] = null,
        ["_context_resource_uuid"] = null,
        ["_context_roles"] = new JsonArray(),
        ["_context_user_identity"] = "- - - - -",
        ["_context_is_admin_project"] = true,
        ["_context_user_id"] = null,
        ["_context_tenant_id"] = null,
        ["_context_timestamp"] = PythonTimestamp(timestamp),
        ["_context_tenant_name"] = null,
        ["_context_project_name"] = null,
        ["_context_user_name"] = null,
    };

    /// <summary>A cast: <c>method</c>, <c>args</c>, <c>version</c>, then <c>_unique_id</c> and the context.</summary>
    public static byte[] Cast(string method, JsonObject args, string version, MessageIds ids, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var inner = Request(method, args, version);
        inner["_unique_id"] = ids.UniqueId;
        AppendContext(inner, ids, now);
        return Envelope(inner);
    }

    /// <summary>A call: as a cast, with the reply's address (<c>_msg_id</c>, <c>_reply_q</c>) and <c>_timeout</c> null.</summary>
    public static byte[] Call(string method, JsonObject args, string version, string messageId, string replyQueue, MessageIds ids, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var inner = Request(method, args, version);
        inner["_msg_id"] = messageId;
        inner["_reply_q"] = replyQueue;
        inner["_timeout"] = null;
        inner["_unique_id"] = ids.UniqueId;
        AppendContext(inner, ids, now);
        return Envelope(inner);
    }

    /// <summary>A reply to a call, as neutron-server sends it (used by tests that play the server).</summary>
    public static byte[] Reply(string messageId, JsonNode? result, string uniqueId) => Envelope(new JsonObject
    {
        ["result"] = result?.DeepClone(),
        ["failure"] = null,
        ["ending"] = true,
        ["_msg_id"] = messageId,
        ["_unique_id"] = uniqueId,
    });

    private static JsonObject Request(string method, JsonObject args, string version)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentException.ThrowIfNullOrEmpty(version);
        return new JsonObject { ["method"] = method, ["args"] = args.DeepClone(), ["version"] = version };
    }

    private static void AppendContext(JsonObject inner, MessageIds ids, DateTimeOffset now)
    {
        foreach (var (key, value) in AdminContext(ids.RequestId, now))
        {
            inner[key] = value?.DeepClone();
        }
    }

    /// <summary>Wraps an inner message in the 2.0 envelope: the inner message becomes a JSON string.</summary>
    public static byte[] Envelope(JsonObject inner)
    {
        var outer = new JsonObject { ["oslo.version"] = "2.0", ["oslo.message"] = PythonJson.Serialize(inner) };
        return Encoding.UTF8.GetBytes(PythonJson.Serialize(outer));
    }

    /// <summary>
    /// The inner message of a body: the envelope's <c>oslo.message</c> decoded, or the body itself when it has no
    /// envelope (oslo.messaging 1.0, which peers may still send). Throws <see cref="FormatException"/> on anything else.
    /// </summary>
    public static JsonObject Open(ReadOnlySpan<byte> body)
    {
        JsonNode? outer;
        try
        {
            outer = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw new FormatException("bus message is not JSON: " + e.Message, e);
        }

        if (outer is not JsonObject o)
        {
            throw new FormatException("bus message is not a JSON object");
        }

        if (!o.TryGetPropertyValue("oslo.version", out var version))
        {
            return o;
        }

        if (version?.GetValueKind() != JsonValueKind.String || version.GetValue<string>() != "2.0")
        {
            throw new FormatException($"unsupported oslo.version {version?.ToJsonString() ?? "null"}");
        }

        if (o["oslo.message"] is not JsonValue text || text.GetValueKind() != JsonValueKind.String)
        {
            throw new FormatException("oslo.message is missing or not a string");
        }

        try
        {
            return JsonNode.Parse(text.GetValue<string>()) as JsonObject ?? throw new FormatException("oslo.message is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException("oslo.message is not JSON: " + e.Message, e);
        }
    }

    /// <summary>Reads a reply; null when the message is not one (no <c>_msg_id</c>).</summary>
    public static RpcReply? ParseReply(ReadOnlySpan<byte> body)
    {
        var inner = Open(body);
        if (inner["_msg_id"] is not JsonValue id || id.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }

        RemoteError? failure = null;
        if (inner["failure"] is JsonValue f && f.GetValueKind() == JsonValueKind.String)
        {
            failure = ParseFailure(f.GetValue<string>());
        }

        // Old peers answer in two messages (the result, then an empty "ending"); one without "ending" is complete.
        var ending = inner["ending"] is not JsonValue e || e.GetValueKind() != JsonValueKind.False;
        return new RpcReply(id.GetValue<string>(), inner["result"]?.DeepClone(), failure, ending);
    }

    private static RemoteError ParseFailure(string text)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject o)
            {
                return new RemoteError(Text(o["class"]) ?? "RemoteError", Text(o["module"]) ?? "", Text(o["message"]) ?? text);
            }
        }
        catch (JsonException)
        {
        }

        return new RemoteError("RemoteError", "", text);
    }

    /// <summary>
    /// Reads a notification (<c>event_type</c>, <c>payload</c>, <c>timestamp</c>). Throws <see cref="FormatException"/>
    /// when the message is not one.
    /// </summary>
    public static NeutronNotification ParseNotification(ReadOnlySpan<byte> body)
    {
        var inner = Open(body);
        var eventType = Text(inner["event_type"]) ?? throw new FormatException("notification without event_type");
        var payload = inner["payload"] is { } p ? JsonSerializer.SerializeToElement(p) : JsonSerializer.SerializeToElement<object?>(null);
        DateTimeOffset? timestamp = null;
        if (Text(inner["timestamp"]) is { } t && DateTime.TryParseExact(
            t, ["yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
        {
            timestamp = new DateTimeOffset(parsed, TimeSpan.Zero);
        }

        return new NeutronNotification(eventType, payload, timestamp);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>Python's <c>str(datetime)</c> of a UTC time, as oslo.context writes <c>_context_timestamp</c>.</summary>
    public static string PythonTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString(time.UtcDateTime.Ticks % TimeSpan.TicksPerSecond / 10 == 0 ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    /// <summary>An agent's <c>time</c> of <c>report_state</c>: UTC as <c>%Y-%m-%dT%H:%M:%S.%f</c>.</summary>
    public static string AgentTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
}

/// <summary>The ids a message carries: <c>_unique_id</c> (32 hex digits) and the context's <c>req-UUID</c>.</summary>
public sealed record MessageIds(string UniqueId, string RequestId)
{
    public static MessageIds New() => new(Guid.NewGuid().ToString("N"), "req-" + Guid.NewGuid().ToString("D"));
}
