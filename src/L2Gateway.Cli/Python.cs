using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.Cli;

/// <summary>
/// How the OpenStack client (Python) turns JSON values into text: <c>str()</c>, <c>repr()</c> and
/// <c>json.dump</c>; the machine formats must read the same byte for byte.
/// </summary>
internal static class Python
{
    /// <summary>Python's <c>str(value)</c> of a value decoded from JSON.</summary>
    public static string Str(JsonNode? node) => node switch
    {
        null => "None",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue => Repr(node),
        _ => Repr(node),
    };

    /// <summary>Python's <c>repr(value)</c>.</summary>
    public static string Repr(JsonNode? node)
    {
        var builder = new StringBuilder();
        AppendRepr(builder, node);
        return builder.ToString();
    }

    private static void AppendRepr(StringBuilder builder, JsonNode? node)
    {
        switch (node)
        {
            case null:
                builder.Append("None");
                break;
            case JsonArray array:
                builder.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(", ");
                    }

                    AppendRepr(builder, array[i]);
                }

                builder.Append(']');
                break;
            case JsonObject obj:
                builder.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first)
                    {
                        builder.Append(", ");
                    }

                    first = false;
                    AppendStringRepr(builder, key);
                    builder.Append(": ");
                    AppendRepr(builder, value);
                }

                builder.Append('}');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        AppendStringRepr(builder, value.GetValue<string>());
                        break;
                    case JsonValueKind.True:
                        builder.Append("True");
                        break;
                    case JsonValueKind.False:
                        builder.Append("False");
                        break;
                    case JsonValueKind.Null:
                        builder.Append("None");
                        break;
                    default:
                        builder.Append(NumberText(value));
                        break;
                }

                break;
        }
    }

    /// <summary>The text of a JSON number as Python prints it (ints as digits, floats with a dot).</summary>
    public static string NumberText(JsonValue value)
    {
        var raw = value.ToJsonString();
        if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            return raw;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            var text = d.ToString("R", CultureInfo.InvariantCulture);
            return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text.Replace("E+", "e+", StringComparison.Ordinal).Replace("E-", "e-", StringComparison.Ordinal) : text + ".0";
        }

        return raw;
    }

    private static void AppendStringRepr(StringBuilder builder, string text)
    {
        var quote = text.Contains('\'', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        builder.Append(quote);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                default:
                    if (c == quote)
                    {
                        builder.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c == 0x7f)
                    {
                        builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        builder.Append(quote);
    }

    /// <summary>osc_lib's <c>format_dict</c>: <c>key='value', ...</c> sorted by key, nested dicts flattened with dots.</summary>
    public static string FormatDict(JsonObject obj, string? prefix = null)
    {
        var builder = new StringBuilder();
        foreach (var key in obj.Select(p => p.Key).Order(StringComparer.Ordinal))
        {
            var keyText = prefix is null ? key : prefix + "." + key;
            var value = obj[key];
            if (value is JsonObject nested)
            {
                builder.Append(FormatDict(nested, keyText)).Append(", ");
            }
            else if (value is null || (value is JsonValue v && v.GetValueKind() == JsonValueKind.Null))
            {
                builder.Append(keyText).Append("=, ");
            }
            else
            {
                builder.Append(keyText).Append("='").Append(Str(value)).Append("', ");
            }
        }

        return builder.Length >= 2 ? builder.ToString(0, builder.Length - 2) : "";
    }

    /// <summary>Python's <c>json.dump</c> (ensure_ascii, indent 2 or none).</summary>
    public static void WriteJson(StringBuilder builder, JsonNode? node, bool indent, int level = 0)
    {
        switch (node)
        {
            case null:
                builder.Append("null");
                break;
            case JsonArray array:
                if (array.Count == 0)
                {
                    builder.Append("[]");
                    break;
                }

                builder.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(indent ? "," : ", ");
                    }

                    NewLine(builder, indent, level + 1);
                    WriteJson(builder, array[i], indent, level + 1);
                }

                NewLine(builder, indent, level);
                builder.Append(']');
                break;
            case JsonObject obj:
                if (obj.Count == 0)
                {
                    builder.Append("{}");
                    break;
                }

                builder.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first)
                    {
                        builder.Append(indent ? "," : ", ");
                    }

                    first = false;
                    NewLine(builder, indent, level + 1);
                    WriteJsonString(builder, key);
                    builder.Append(": ");
                    WriteJson(builder, value, indent, level + 1);
                }

                NewLine(builder, indent, level);
                builder.Append('}');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        WriteJsonString(builder, value.GetValue<string>());
                        break;
                    case JsonValueKind.True:
                        builder.Append("true");
                        break;
                    case JsonValueKind.False:
                        builder.Append("false");
                        break;
                    case JsonValueKind.Null:
                        builder.Append("null");
                        break;
                    default:
                        builder.Append(NumberText(value));
                        break;
                }

                break;
        }
    }

    private static void NewLine(StringBuilder builder, bool indent, int level)
    {
        if (indent)
        {
            builder.Append('\n').Append(' ', level * 2);
        }
    }

    private static void WriteJsonString(StringBuilder builder, string text)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case '\b':
                    builder.Append("\\b");
                    break;
                case '\f':
                    builder.Append("\\f");
                    break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        builder.Append('"');
    }

    public static bool IsNumber(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False;
}
