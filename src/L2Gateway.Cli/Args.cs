namespace L2Gateway.Cli;

internal enum OutputKind
{
    None,
    Show,
    List,
}

/// <summary>An option of a command: <c>--name VALUE</c> (or <c>--name=VALUE</c>), or a flag.</summary>
internal sealed record OptionSpec(string Name, string Help, string? Metavar = null, bool Repeatable = false, string? Short = null)
{
    public bool TakesValue => Metavar is not null;
}

/// <summary>One command: its words, its arguments, and what it does.</summary>
internal sealed record CommandSpec(
    string[] Path,
    string Summary,
    string Positionals,
    int MinPositionals,
    int MaxPositionals,
    OutputKind Output,
    OptionSpec[] Options,
    string Example,
    Func<Invocation, int> Run)
{
    public string[] Aliases { get; init; } = [];

    public string Name => string.Join(' ', Path);
}

internal sealed class ParsedArgs
{
    public List<string> Positionals { get; } = [];

    public Dictionary<string, List<string>> Values { get; } = new(StringComparer.Ordinal);

    public string? Get(string name) => Values.TryGetValue(name, out var v) && v.Count > 0 ? v[^1] : null;

    public IReadOnlyList<string> All(string name) => Values.TryGetValue(name, out var v) ? v : [];

    public bool Has(string name) => Values.ContainsKey(name);
}

internal static class Formatting
{
    public static readonly OptionSpec[] Common =
    [
        new("--format", "the output format (table, json, yaml, value, csv for lists; shell for one object)", "FORMAT", Short: "-f"),
        new("--column", "a column to include, can be repeated", "COLUMN", Repeatable: true, Short: "-c"),
        new("--noindent", "json: do not indent"),
        new("--max-width", "table: maximum display width, <1 to disable", "INTEGER"),
        new("--fit-width", "table: fit the table to the display width"),
        new("--print-empty", "table: print an empty table when there is no data"),
        new("--prefix", "shell: a prefix for the variable names", "PREFIX"),
    ];

    public static readonly OptionSpec[] ListOnly =
    [
        new("--quote", "csv: when to quote (all, minimal, none, nonnumeric)", "MODE"),
        new("--sort-column", "a column to sort by, can be repeated", "SORT_COLUMN", Repeatable: true),
        new("--sort-ascending", "sort in ascending order"),
        new("--sort-descending", "sort in descending order"),
    ];
}

internal static class ArgParser
{
    /// <summary>Parses a command's arguments (argparse style: options anywhere, <c>--</c> ends them).</summary>
    public static ParsedArgs Parse(CommandSpec command, IReadOnlyList<string> args)
    {
        var options = AllOptions(command);
        var parsed = new ParsedArgs();
        var onlyPositionals = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (onlyPositionals || arg.Length < 2 || arg[0] != '-' || IsNegativeNumber(arg))
            {
                parsed.Positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                onlyPositionals = true;
                continue;
            }

            string name;
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                name = eq < 0 ? arg : arg[..eq];
                inline = eq < 0 ? null : arg[(eq + 1)..];
            }
            else
            {
                name = arg[..2];
                inline = arg.Length > 2 ? arg[2..] : null;
            }

            var spec = options.FirstOrDefault(o => o.Name == name || o.Short == name)
                ?? Unique(options, name)
                ?? throw Usage(command, $"unrecognized arguments: {arg}");
            if (!spec.TakesValue)
            {
                if (inline is not null && name.StartsWith("--", StringComparison.Ordinal))
                {
                    throw Usage(command, $"argument {spec.Name}: ignored explicit argument '{inline}'");
                }

                parsed.Values[spec.Name] = ["true"];
                continue;
            }

            var value = inline;
            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw Usage(command, $"argument {spec.Name}: expected one argument");
                }

                value = args[++i];
            }

            if (!parsed.Values.TryGetValue(spec.Name, out var list))
            {
                parsed.Values[spec.Name] = list = [];
            }

            if (!spec.Repeatable)
            {
                list.Clear();
            }

            list.Add(value);
        }

        if (parsed.Positionals.Count < command.MinPositionals)
        {
            throw Usage(command, $"the following arguments are required: {command.Positionals}");
        }

        if (command.MaxPositionals >= 0 && parsed.Positionals.Count > command.MaxPositionals)
        {
            throw Usage(command, $"unrecognized arguments: {string.Join(' ', parsed.Positionals.Skip(command.MaxPositionals))}");
        }

        return parsed;
    }

    public static IEnumerable<OptionSpec> AllOptions(CommandSpec command)
    {
        IEnumerable<OptionSpec> all = command.Options;
        if (command.Output != OutputKind.None)
        {
            all = all.Concat(Formatting.Common);
        }

        if (command.Output == OutputKind.List)
        {
            all = all.Concat(Formatting.ListOnly);
        }

        return [.. all, new OptionSpec("--help", "show this help", Short: "-h")];
    }

    // argparse accepts any unambiguous prefix of a long option.
    private static OptionSpec? Unique(IEnumerable<OptionSpec> options, string name)
    {
        if (!name.StartsWith("--", StringComparison.Ordinal))
        {
            return null;
        }

        var matches = options.Where(o => o.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    private static bool IsNegativeNumber(string arg) => arg.Length > 1 && arg[0] == '-' && char.IsAsciiDigit(arg[1]);

    public static CliException Usage(CommandSpec command, string message) =>
        new(ExitCodes.Usage, $"usage: l2gw {command.Name} {command.Positionals}".TrimEnd() + $"\nl2gw {command.Name}: error: {message}");
}
