using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace L2Gateway.Cli;

/// <summary>
/// Block YAML as PyYAML's <c>safe_dump(default_flow_style=False)</c> writes it: keys sorted, sequences in
/// mappings not indented, strings quoted only when they would read back as something else.
/// </summary>
internal static partial class Yaml
{
    private const int BestWidth = 80;

    public static void Write(StringBuilder builder, JsonNode? node)
    {
        var writer = new Writer(builder);
        writer.Node(node, 0, Context.Root);
        builder.Append('\n');
    }

    private enum Context
    {
        Root,
        MappingValue,
        SequenceItem,
    }

    private sealed class Writer(StringBuilder builder)
    {
        private int column;

        private void Text(string text)
        {
            builder.Append(text);
            var newline = text.LastIndexOf('\n');
            column = newline < 0 ? column + text.Length : text.Length - newline - 1;
        }

        private void Indent(int indent)
        {
            builder.Append('\n').Append(' ', indent);
            column = indent;
        }

        public void Node(JsonNode? node, int indent, Context context)
        {
            switch (node)
            {
                case JsonObject obj when obj.Count > 0:
                    var first = true;
                    foreach (var key in obj.Select(p => p.Key).Order(StringComparer.Ordinal))
                    {
                        if (!first || context == Context.MappingValue)
                        {
                            Indent(indent);
                        }

                        first = false;
                        Scalar(key, indent);
                        Text(":");
                        var value = obj[key];
                        if (value is JsonObject { Count: > 0 })
                        {
                            Node(value, indent + 2, Context.MappingValue);
                        }
                        else if (value is JsonArray { Count: > 0 })
                        {
                            Node(value, indent, Context.MappingValue);
                        }
                        else
                        {
                            Text(" ");
                            Node(value, indent + 2, Context.MappingValue);
                        }
                    }

                    break;
                case JsonArray array when array.Count > 0:
                    for (var i = 0; i < array.Count; i++)
                    {
                        if (i > 0 || context == Context.MappingValue)
                        {
                            Indent(indent);
                        }

                        Text("- ");
                        Node(array[i], indent + 2, Context.SequenceItem);
                    }

                    break;
                case JsonObject:
                    Text("{}");
                    break;
                case JsonArray:
                    Text("[]");
                    break;
                case null:
                    Text("null");
                    break;
                case JsonValue value:
                    switch (value.GetValueKind())
                    {
                        case JsonValueKind.String:
                            Scalar(value.GetValue<string>(), indent);
                            break;
                        case JsonValueKind.True:
                            Text("true");
                            break;
                        case JsonValueKind.False:
                            Text("false");
                            break;
                        case JsonValueKind.Null:
                            Text("null");
                            break;
                        default:
                            Text(Python.NumberText(value));
                            break;
                    }

                    break;
            }
        }

        private void Scalar(string text, int indent)
        {
            if (NeedsDoubleQuotes(text))
            {
                Text(DoubleQuoted(text));
                return;
            }

            var quoted = !IsPlain(text);
            if (quoted)
            {
                Text("'");
            }

            // PyYAML folds at a single space once the line is past 80 columns.
            var start = 0;
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == ' ' && i > 0 && i + 1 < text.Length && text[i + 1] != ' ' && text[i - 1] != ' ')
                {
                    var chunk = text[start..i];
                    Text(chunk.Replace("'", quoted ? "''" : "'", StringComparison.Ordinal));
                    if (column > BestWidth)
                    {
                        Indent(indent);
                    }
                    else
                    {
                        Text(" ");
                    }

                    start = i + 1;
                }
            }

            Text(text[start..].Replace("'", quoted ? "''" : "'", StringComparison.Ordinal));
            if (quoted)
            {
                Text("'");
            }
        }
    }

    private static bool NeedsDoubleQuotes(string text)
    {
        foreach (var c in text)
        {
            if (c < 0x20 || c > 0x7e)
            {
                return true;
            }
        }

        return false;
    }

    private static string DoubleQuoted(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                '\n' => builder.Append("\\n"),
                '\t' => builder.Append("\\t"),
                '\r' => builder.Append("\\r"),
                '\0' => builder.Append("\\0"),
                < (char)0x20 or (char)0x7f => builder.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)),
                > (char)0x7e and <= (char)0xff => builder.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)),
                > (char)0xff => builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Whether PyYAML writes <paramref name="text"/> as a plain (unquoted) block scalar.</summary>
    private static bool IsPlain(string text)
    {
        if (text.Length == 0 || text[0] == ' ' || text[^1] == ' ' || Implicit().IsMatch(text))
        {
            return false;
        }

        if (text.StartsWith("---", StringComparison.Ordinal) || text.StartsWith("...", StringComparison.Ordinal))
        {
            return false;
        }

        if ("#,[]{}&*!|>'\"%@`".Contains(text[0], StringComparison.Ordinal))
        {
            return false;
        }

        if (text[0] is '?' or ':' or '-' && (text.Length == 1 || text[1] == ' '))
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == ':' && (i + 1 == text.Length || text[i + 1] == ' '))
            {
                return false;
            }

            if (c == '#' && i > 0 && text[i - 1] == ' ')
            {
                return false;
            }
        }

        return true;
    }

    // The implicit resolvers of PyYAML's SafeLoader: bool, null, int, float, timestamp, merge, value.
    [GeneratedRegex(
        @"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF" +
        @"|~|null|Null|NULL|<<|=" +
        @"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+" +
        @"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)" +
        @"|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]" +
        @"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        RegexOptions.CultureInvariant)]
    private static partial Regex Implicit();
}
