using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.Cli;

/// <summary>How a value is rendered: as is, or as osc_lib's ListDictColumn / DictColumn.</summary>
internal enum CellKind
{
    Plain,
    ListDict,
    Dict,
}

internal readonly record struct Cell(JsonNode? Value, CellKind Kind = CellKind.Plain)
{
    /// <summary>What the table formatter shows (cliff's <c>human_readable</c>, then <c>str()</c>).</summary>
    public string Human() => Kind switch
    {
        CellKind.ListDict when Value is JsonArray list => string.Join("\n", list.Select(i => i is JsonObject o ? Python.FormatDict(o) : Python.Str(i))),
        CellKind.Dict when Value is JsonObject obj => Python.FormatDict(obj),
        _ => Python.Str(Value).Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', ' '),
    };

    /// <summary>What the machine formats carry (cliff's <c>machine_readable</c>).</summary>
    public JsonNode? Machine() => Kind == CellKind.Dict && Value is null ? new JsonObject() : Value;
}

/// <summary>The formatter options of cliff: <c>-f</c>, <c>-c</c>, <c>--noindent</c>, <c>--max-width</c>, ...</summary>
internal sealed class FormatOptions
{
    public string Format { get; set; } = "table";

    public List<string> Columns { get; } = [];

    public bool NoIndent { get; set; }

    public int MaxWidth { get; set; }

    public bool FitWidth { get; set; }

    public bool PrintEmpty { get; set; }

    public string Quote { get; set; } = "nonnumeric";

    public List<string> SortColumns { get; } = [];

    public bool SortDescending { get; set; }

    /// <summary>The terminal's width when stdout is one, else 0.</summary>
    public int TerminalWidth { get; set; }
}

internal static class Output
{
    public static readonly string[] ListFormats = ["csv", "json", "table", "value", "yaml"];
    public static readonly string[] ShowFormats = ["json", "shell", "table", "value", "yaml"];

    /// <summary>A lister's output (cliff <c>Lister.produce_output</c>).</summary>
    public static string List(IReadOnlyList<string> columns, IReadOnlyList<Cell[]> rows, FormatOptions options)
    {
        IEnumerable<Cell[]> data = rows;
        if (options.SortColumns.Count > 0)
        {
            var indexes = options.SortColumns.Select(c => columns.ToList().IndexOf(c)).Where(i => i >= 0).ToList();
            for (var k = indexes.Count - 1; k >= 0; k--)
            {
                var index = indexes[k];
                data = options.SortDescending
                    ? data.OrderByDescending(r => SortKey(r[index]), SortComparer.Instance).ToList()
                    : data.OrderBy(r => SortKey(r[index]), SortComparer.Instance).ToList();
            }
        }

        var (names, selector) = Select(columns, options.Columns, asTuple: false);
        var selected = data.Select(r => selector.Select(i => r[i]).ToArray()).ToList();
        var builder = new StringBuilder();
        switch (options.Format)
        {
            case "json":
                {
                    var array = new JsonArray();
                    foreach (var row in selected)
                    {
                        array.Add((JsonNode)RowObject(names, row));
                    }

                    Python.WriteJson(builder, array, !options.NoIndent);
                    builder.Append('\n');
                    break;
                }

            case "yaml":
                {
                    var array = new JsonArray();
                    foreach (var row in selected)
                    {
                        array.Add((JsonNode)RowObject(names, row));
                    }

                    Yaml.Write(builder, array);
                    break;
                }

            case "value":
                foreach (var row in selected)
                {
                    builder.Append(string.Join(' ', row.Select(c => Python.Str(c.Machine())))).Append('\n');
                }

                break;
            case "csv":
                builder.Append(string.Join(',', names.Select(n => CsvField(JsonValue.Create(n), options.Quote)))).Append('\n');
                foreach (var row in selected)
                {
                    builder.Append(string.Join(',', row.Select(c => CsvField(c.Kind == CellKind.Plain ? c.Value : JsonValue.Create(Python.Str(c.Machine())), options.Quote)))).Append('\n');
                }

                break;
            default:
                if (selected.Count == 0 && !options.PrintEmpty)
                {
                    builder.Append('\n');
                    break;
                }

                var align = names.Select((_, i) => selected.Count > 0 && selected[0][i].Kind == CellKind.Plain && IsNumeric(selected[0][i].Value) ? 'r' : 'l').ToArray();
                TextTable(builder, names, selected.Select(r => r.Select(c => c.Human()).ToArray()).ToList(), align, options, 8);
                break;
        }

        return builder.ToString();
    }

    /// <summary>A single object's output (cliff <c>ShowOne.produce_output</c>).</summary>
    public static string One(IReadOnlyList<string> columns, Cell[] row, FormatOptions options)
    {
        var (names, selector) = Select(columns, options.Columns, asTuple: true);
        var values = selector.Select(i => row[i]).ToArray();
        var builder = new StringBuilder();
        switch (options.Format)
        {
            case "json":
                Python.WriteJson(builder, RowObject(names, values), !options.NoIndent);
                builder.Append('\n');
                break;
            case "yaml":
                for (var i = 0; i < names.Count; i++)
                {
                    Yaml.Write(builder, new JsonObject { [names[i]] = values[i].Machine()?.DeepClone() });
                }

                break;
            case "value":
                foreach (var value in values)
                {
                    builder.Append(Python.Str(value.Machine())).Append('\n');
                }

                break;
            case "shell":
                foreach (var (name, value) in names.Zip(values))
                {
                    var text = Python.Str(value.Machine()).Replace("\"", "\\\"", StringComparison.Ordinal);
                    var key = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]).ToLowerInvariant();
                    builder.Append(key).Append("=\"").Append(text).Append("\"\n");
                }

                break;
            default:
                TextTable(
                    builder,
                    ["Field", "Value"],
                    [.. names.Select((n, i) => new[] { n, values[i].Human() })],
                    ['l', 'l'],
                    options,
                    16);
                break;
        }

        return builder.ToString();
    }

    private static (List<string> Names, List<int> Selector) Select(IReadOnlyList<string> columns, List<string> wanted, bool asTuple)
    {
        if (wanted.Count == 0)
        {
            return ([.. columns], [.. Enumerable.Range(0, columns.Count)]);
        }

        var selector = Enumerable.Range(0, columns.Count).Where(i => wanted.Contains(columns[i])).ToList();
        if (selector.Count == 0)
        {
            var recognized = string.Join(", ", columns.Select(c => Python.Repr(JsonValue.Create(c))));
            throw new CliException(
                ExitCodes.Usage,
                $"No recognized column names in [{string.Join(", ", wanted.Select(c => Python.Repr(JsonValue.Create(c))))}]. "
                + $"Recognized columns are {(asTuple ? "(" : "[")}{recognized}{(asTuple ? (columns.Count == 1 ? ",)" : ")") : "]")}.");
        }

        return ([.. selector.Select(i => columns[i])], selector);
    }

    private static JsonObject RowObject(List<string> names, Cell[] row)
    {
        var obj = new JsonObject();
        for (var i = 0; i < names.Count; i++)
        {
            obj[names[i]] = row[i].Machine()?.DeepClone();
        }

        return obj;
    }

    private static bool IsNumeric(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number;

    private static object? SortKey(Cell cell) => cell.Value switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        var v => Python.Str(v),
    };

    private sealed class SortComparer : IComparer<object?>
    {
        public static readonly SortComparer Instance = new();

        public int Compare(object? x, object? y) => (x, y) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            (double a, double b) => a.CompareTo(b),
            _ => string.CompareOrdinal(x.ToString(), y.ToString()),
        };
    }

    private static string CsvField(JsonNode? value, string quote)
    {
        var numeric = Python.IsNumber(value);
        var text = value is null || (value is JsonValue v && v.GetValueKind() == JsonValueKind.Null) ? "" : Python.Str(value);
        var needs = text.Contains('"', StringComparison.Ordinal) || text.Contains(',', StringComparison.Ordinal)
            || text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal) || text.Contains('\\', StringComparison.Ordinal);
        var quoted = quote switch
        {
            "all" => true,
            "nonnumeric" => !numeric,
            "none" => false,
            _ => needs,
        };
        if (quote == "none")
        {
            var escaped = new StringBuilder();
            foreach (var c in text)
            {
                if (c is '"' or ',' or '\\' or '\n' or '\r')
                {
                    escaped.Append('\\');
                }

                escaped.Append(c);
            }

            return escaped.ToString();
        }

        var body = text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\"\"", StringComparison.Ordinal);
        return quoted ? "\"" + body + "\"" : body;
    }

    /// <summary>prettytable's default style, with cliff's width fitting.</summary>
    private static void TextTable(StringBuilder builder, List<string> headers, List<string[]> rows, char[] align, FormatOptions options, int minWidth)
    {
        var count = headers.Count;
        var widths = new int[count];
        for (var i = 0; i < count; i++)
        {
            widths[i] = Math.Max(widths[i], LongestLine(headers[i]));
            foreach (var row in rows)
            {
                widths[i] = Math.Max(widths[i], LongestLine(row[i]));
            }
        }

        var termWidth = options.MaxWidth > 0 ? options.MaxWidth : (options.FitWidth || options.TerminalWidth > 0 ? options.TerminalWidth : 0);
        var total = widths.Sum() + (3 * count) + 1;
        if (termWidth > 0 && total > termWidth)
        {
            var usable = Math.Max(0, termWidth - 1 - (3 * count));
            var optimal = count == 0 ? 0 : Math.Max(0, usable / count);
            var shrink = new List<int>();
            var remaining = usable;
            for (var i = 0; i < count; i++)
            {
                if (widths[i] <= optimal)
                {
                    remaining -= widths[i];
                }
                else
                {
                    shrink.Add(i);
                }
            }

            if (shrink.Count > 0)
            {
                var shrinkTo = remaining / shrink.Count;
                foreach (var i in shrink.Take(shrink.Count - 1))
                {
                    widths[i] = Math.Max(minWidth, shrinkTo);
                    remaining -= shrinkTo;
                }

                widths[shrink[^1]] = Math.Max(minWidth, remaining);
            }

            for (var i = 0; i < count; i++)
            {
                widths[i] = Math.Max(widths[i], 1);
                foreach (var row in rows)
                {
                    row[i] = Wrap(row[i], widths[i]);
                }
            }

            // Headers are not wrapped: a column is never narrower than its header.
            for (var i = 0; i < count; i++)
            {
                widths[i] = Math.Max(LongestLine(headers[i]), rows.Count == 0 ? 0 : rows.Max(r => LongestLine(r[i])));
            }
        }

        var rule = new StringBuilder("+");
        foreach (var w in widths)
        {
            rule.Append('-', w + 2).Append('+');
        }

        var ruleText = rule.ToString();
        builder.Append(ruleText).Append('\n');
        Line(builder, [.. headers], widths, align);
        builder.Append(ruleText).Append('\n');
        foreach (var row in rows)
        {
            var lines = row.Select(c => c.Split('\n')).ToArray();
            var height = lines.Max(l => l.Length);
            for (var k = 0; k < height; k++)
            {
                Line(builder, [.. lines.Select(l => k < l.Length ? l[k] : "")], widths, align);
            }
        }

        builder.Append(ruleText).Append('\n');
    }

    private static void Line(StringBuilder builder, string[] cells, int[] widths, char[] align)
    {
        builder.Append('|');
        for (var i = 0; i < cells.Length; i++)
        {
            var pad = widths[i] - cells[i].Length;
            builder.Append(' ');
            if (align[i] == 'r')
            {
                builder.Append(' ', Math.Max(0, pad)).Append(cells[i]);
            }
            else
            {
                builder.Append(cells[i]).Append(' ', Math.Max(0, pad));
            }

            builder.Append(" |");
        }

        builder.Append('\n');
    }

    private static int LongestLine(string text)
    {
        var longest = 0;
        foreach (var line in text.Split('\n'))
        {
            longest = Math.Max(longest, line.Length);
        }

        return longest;
    }

    /// <summary>Python's textwrap.fill on each line: break at spaces and after hyphens, split longer words.</summary>
    private static string Wrap(string text, int width)
    {
        var output = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length <= width)
            {
                output.Add(line);
                continue;
            }

            var chunks = Chunks(line);
            var current = new StringBuilder();
            foreach (var raw in chunks)
            {
                var chunk = raw;
                if (current.Length == 0 && chunk.Trim().Length == 0)
                {
                    continue;
                }

                while (current.Length + chunk.Length > width)
                {
                    if (current.Length == 0)
                    {
                        output.Add(chunk[..width]);
                        chunk = chunk[width..];
                        continue;
                    }

                    output.Add(current.ToString().TrimEnd());
                    current.Clear();
                    if (chunk.Trim().Length == 0)
                    {
                        chunk = "";
                    }
                }

                current.Append(chunk);
            }

            if (current.ToString().TrimEnd().Length > 0)
            {
                output.Add(current.ToString().TrimEnd());
            }
        }

        return string.Join('\n', output);
    }

    private static List<string> Chunks(string line)
    {
        var chunks = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            var space = c == ' ';
            if (current.Length > 0 && space != (current[^1] == ' '))
            {
                chunks.Add(current.ToString());
                current.Clear();
            }

            current.Append(c);
            if (c == '-' && i > 0 && char.IsLetterOrDigit(line[i - 1]) && i + 1 < line.Length && char.IsLetterOrDigit(line[i + 1]))
            {
                chunks.Add(current.ToString());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            chunks.Add(current.ToString());
        }

        return chunks;
    }
}
