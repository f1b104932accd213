using System.Buffers;
using System.Text.Json;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>The three shapes of a JSON-RPC 1.0 message.</summary>
public enum JsonRpcMessageKind
{
    /// <summary>A request: "method", "params" and an "id".</summary>
    Request,
    /// <summary>A notification: a request with a null "id", never answered.</summary>
    Notification,
    /// <summary>A response: "result", "error" and the "id" of its request.</summary>
    Response,
}

/// <summary>One JSON-RPC 1.0 message as used by RFC 7047 (section 4).</summary>
public sealed class JsonRpcMessage
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 512 };

    private JsonRpcMessage(JsonRpcMessageKind kind, string? method, JsonElement parameters, JsonElement id, JsonElement result, JsonElement error)
    {
        Kind = kind;
        Method = method;
        Params = parameters;
        Id = id;
        Result = result;
        Error = error;
    }

    private JsonRpcMessage(JsonRpcMessageKind kind, string? method, long requestId, MonitorUpdate update)
    {
        Kind = kind;
        Method = method;
        RequestId = requestId;
        Update = update;
    }

    /// <summary>An "update", "update2" or "update3" notification parsed by <see cref="MonitorMessageParser"/> (no <see cref="Params"/>).</summary>
    internal static JsonRpcMessage ForUpdate(string method, MonitorUpdate update) => new(JsonRpcMessageKind.Notification, method, 0, update);

    /// <summary>A successful reply to a monitor request parsed by <see cref="MonitorMessageParser"/> (no <see cref="Id"/> or <see cref="Result"/>).</summary>
    internal static JsonRpcMessage ForMonitorReply(long requestId, MonitorUpdate update) => new(JsonRpcMessageKind.Response, null, requestId, update);

    /// <summary>Monitor traffic parsed straight into table updates; null for a message parsed the generic way.</summary>
    internal MonitorUpdate? Update { get; }

    /// <summary>The id of the request a parsed monitor reply answers.</summary>
    internal long RequestId { get; }

    /// <summary>Which of request, notification or response this is.</summary>
    public JsonRpcMessageKind Kind { get; }

    /// <summary>The "method" of a request or notification.</summary>
    public string? Method { get; }

    /// <summary>The "params" array of a request or notification.</summary>
    public JsonElement Params { get; }

    /// <summary>The "id" (JSON null for notifications).</summary>
    public JsonElement Id { get; }

    /// <summary>A response's "result".</summary>
    public JsonElement Result { get; }

    /// <summary>A response's "error" (JSON null when none).</summary>
    public JsonElement Error { get; }

    /// <summary>Whether this is a response with a non-null "error".</summary>
    public bool IsError => Kind == JsonRpcMessageKind.Response && Error.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);

    /// <summary>Parses one complete message; any malformation raises <see cref="OvsdbProtocolException"/>.</summary>
    public static JsonRpcMessage Parse(ReadOnlySequence<byte> utf8)
    {
        // JsonDocument checks UTF-8 only when a string is read; checking here keeps errors at the protocol layer.
        // The pipe's memory is reused after the read is advanced, so the document must own a copy.
        ReadOnlyMemory<byte> bytes = utf8.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            throw new OvsdbProtocolException("JSON-RPC message is not valid UTF-8");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new OvsdbProtocolException($"invalid JSON in JSON-RPC message: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new OvsdbProtocolException($"invalid JSON in JSON-RPC message: {ex.Message}", ex);
        }

        // The elements below reference the document, which therefore lives as long as the message.
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new OvsdbProtocolException("JSON-RPC message is not an object");
        }

        var hasId = root.TryGetProperty("id", out var id);
        if (root.TryGetProperty("method", out var method))
        {
            if (method.ValueKind != JsonValueKind.String)
            {
                throw new OvsdbProtocolException("JSON-RPC \"method\" is not a string");
            }

            if (!root.TryGetProperty("params", out var p) || p.ValueKind != JsonValueKind.Array)
            {
                throw new OvsdbProtocolException($"JSON-RPC request \"{method.GetString()}\" has no \"params\" array");
            }

            var isNotification = !hasId || id.ValueKind == JsonValueKind.Null;
            return new JsonRpcMessage(isNotification ? JsonRpcMessageKind.Notification : JsonRpcMessageKind.Request, method.GetString(), p, id, default, default);
        }

        var hasResult = root.TryGetProperty("result", out var result);
        var hasError = root.TryGetProperty("error", out var error);
        if (!hasId || (!hasResult && !hasError))
        {
            throw new OvsdbProtocolException("JSON-RPC message is neither a request nor a response");
        }

        return new JsonRpcMessage(JsonRpcMessageKind.Response, null, default, id, result, error);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        if (Update is not null)
        {
            return Kind == JsonRpcMessageKind.Response ? $"response id={RequestId}" : $"notification {Method} id=null";
        }

        return Kind switch
        {
            JsonRpcMessageKind.Response => $"response id={Id.GetRawText()}",
            _ => $"{Kind.ToString().ToLowerInvariant()} {Method} id={(Id.ValueKind == JsonValueKind.Undefined ? "null" : Id.GetRawText())}",
        };
    }
}
