using System.Buffers;
using System.Text.Json;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>Serializes JSON-RPC 1.0 messages; one message per buffer so callers never interleave.</summary>
public static class JsonRpcWriter
{
    /// <summary>
    /// Minimal escaping: the peer is an OVSDB server, not an HTML page, so '&lt;' or non-ASCII text need
    /// not become \u escapes (which would only make messages larger).
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        Indented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A request (or, with a null <paramref name="id"/>, a notification) of <paramref name="method"/> with the parameters <paramref name="writeParams"/> writes.</summary>
    public static ReadOnlyMemory<byte> Request(string method, Action<Utf8JsonWriter> writeParams, long? id)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("method"u8, method);
            w.WritePropertyName("params"u8);
            w.WriteStartArray();
            writeParams(w);
            w.WriteEndArray();
            w.WritePropertyName("id"u8);
            if (id is { } v)
            {
                w.WriteNumberValue(v);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>The response to request <paramref name="id"/>: its result, or <paramref name="error"/>.</summary>
    public static ReadOnlyMemory<byte> Response(JsonElement id, Action<Utf8JsonWriter>? writeResult, string? error)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WritePropertyName("id"u8);
            id.WriteTo(w);
            w.WritePropertyName("result"u8);
            if (writeResult is null)
            {
                w.WriteNullValue();
            }
            else
            {
                writeResult(w);
            }

            w.WritePropertyName("error"u8);
            if (error is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStartObject();
                w.WriteString("error"u8, error);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
