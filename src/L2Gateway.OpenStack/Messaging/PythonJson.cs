using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>
/// JSON text as Python's <c>json.dumps</c> writes it with its defaults, which is what oslo.messaging puts on the wire:
/// <c>", "</c> and <c>": "</c> as separators, every character outside ASCII escaped as <c>\uXXXX</c>, a float always
/// with a fraction or exponent (<c>30.0</c>). Messages we send are then byte for byte what a Python peer would send.
/// </summary>
public static class PythonJson
{
    public static string Serialize(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonNode? node)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject o:
                text.Append('{');
                var first = true;
                foreach (var (key, value) in o)
                {
                    if (!first)
                    {
                        text.Append(", ");
                    }

                    first = false;
                    WriteString(text, key);
                    text.Append(": ");
                    Write(text, value);
                }

                text.Append('}');
                break;
            case JsonArray a:
                text.Append('[');
                for (var i = 0; i < a.Count; i++)
                {
                    if (i > 0)
                    {
                        text.Append(", ");
                    }

                    Write(text, a[i]);
                }

                text.Append(']');
                break;
            case JsonValue v:
                WriteValue(text, v);
                break;
            default:
                throw new NotSupportedException(node.GetType().Name);
        }
    }

    private static void WriteValue(StringBuilder text, JsonValue value)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            // Parsed from text: numbers keep their own text (an integer stays one, 5.0 stays 5.0).
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    WriteString(text, element.GetString()!);
                    return;
                case JsonValueKind.Number:
                    text.Append(element.GetRawText());
                    return;
                case JsonValueKind.True:
                    text.Append("true");
                    return;
                case JsonValueKind.False:
                    text.Append("false");
                    return;
                case JsonValueKind.Null:
                    text.Append("null");
                    return;
                default:
                    Write(text, JsonNode.Parse(element.GetRawText()));
                    return;
            }
        }

        if (value.TryGetValue<string>(out var s))
        {
            WriteString(text, s);
        }
        else if (value.TryGetValue<bool>(out var b))
        {
            text.Append(b ? "true" : "false");
        }
        else if (value.TryGetValue<int>(out var i))
        {
            text.Append(i.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<long>(out var l))
        {
            text.Append(l.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<double>(out var d))
        {
            text.Append(Float(d));
        }
        else if (value.TryGetValue<float>(out var f))
        {
            text.Append(Float(f));
        }
        else
        {
            // Anything else (Guid, DateTime, ...) as System.Text.Json writes it, re-read as plain JSON.
            Write(text, JsonNode.Parse(value.ToJsonString()));
        }
    }

    /// <summary>A float as Python's <c>repr</c>: the shortest text that reads back the same, with <c>.0</c> when integral.</summary>
    internal static string Float(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "Infinity" : "-Infinity";
        }

        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            // 1E+16 -> 1e+16, 1E-05 -> 1e-05 (Python keeps two exponent digits at least).
            var mantissa = r[..e];
            var sign = r[e + 1];
            var digits = r[(e + 2)..].TrimStart('0').PadLeft(2, '0');
            return mantissa + "e" + sign + digits;
        }

        return r.Contains('.', StringComparison.Ordinal) ? r : r + ".0";
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
                    break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        // Non-ASCII as \uXXXX (a character beyond the BMP is its two UTF-16 halves, as Python writes it).
                        text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        text.Append('"');
    }
}
