using System.Reflection;
using System.Text;

namespace L2Gateway.Cli;

public static class Program
{
    public static string Version
    {
        get
        {
            var version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            return version.Split('+')[0];
        }
    }

    public static int Main(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = Console.Error;
        var terminal = 0;
        if (!Console.IsOutputRedirected)
        {
            try
            {
                terminal = Console.WindowWidth;
            }
            catch (IOException)
            {
                terminal = 0;
            }
        }

        var code = Cli.Run(args, stdout, stderr, Environment.GetEnvironmentVariable, terminal);
        using var output = Console.OpenStandardOutput();
        var bytes = Encoding.UTF8.GetBytes(stdout.ToString());
        output.Write(bytes);
        return code;
    }
}

/// <summary>Everything a command needs: the API client (built on first use), its arguments and the writers.</summary>
internal sealed class Invocation(Settings settings, ParsedArgs args, FormatOptions format, TextWriter stdout, TextWriter stderr)
{
    private Rest? api;

    public Settings Settings { get; } = settings;

    public ParsedArgs Args { get; } = args;

    public FormatOptions Format { get; } = format;

    public TextWriter Out { get; } = stdout;

    public TextWriter Err { get; } = stderr;

    public Rest Api => api ??= Auth.Connect(Settings, Settings.Debug ? Err : null);
}

/// <summary>The entry point, usable in-process (tests) with any writers and environment.</summary>
internal static class Cli
{
    public const string DefaultEndpoint = "http://127.0.0.1:9696";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment, int terminalWidth = 0)
    {
        var debug = args.Contains("--debug");
        try
        {
            var (settings, rest) = Settings.Extract(args, environment);
            if (rest.Count == 0 || rest[0] is "help" && rest.Count == 1)
            {
                if (settings.Version)
                {
                    stdout.WriteLine($"l2gw {Program.Version}");
                    return ExitCodes.Ok;
                }

                stdout.Write(Help.Global());
                return rest.Count == 0 && !settings.HelpRequested ? ExitCodes.Usage : ExitCodes.Ok;
            }

            if (rest[0] is "help")
            {
                rest.RemoveAt(0);
                rest.Add("--help");
            }

            var (command, remaining) = Commands.Find(rest);
            if (command is null)
            {
                if (settings.HelpRequested)
                {
                    stdout.Write(Help.Global());
                    return ExitCodes.Ok;
                }

                throw new CliException(ExitCodes.Usage, $"l2gw: '{string.Join(' ', rest.TakeWhile(a => !a.StartsWith('-')))}' is not an l2gw command. See 'l2gw --help'.");
            }

            if (settings.HelpRequested || remaining.Contains("--help") || remaining.Contains("-h"))
            {
                stdout.Write(Help.For(command));
                return ExitCodes.Ok;
            }

            var parsed = ArgParser.Parse(command, remaining);
            var format = FormatFrom(command, parsed, environment, terminalWidth);
            return command.Run(new Invocation(settings, parsed, format, stdout, stderr));
        }
        catch (CliException e)
        {
            stderr.WriteLine(e.Message);
            return e.Code;
        }
        catch (Exception e) when (!debug)
        {
            stderr.WriteLine($"l2gw: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static FormatOptions FormatFrom(CommandSpec command, ParsedArgs parsed, Func<string, string?> environment, int terminalWidth)
    {
        var format = new FormatOptions { TerminalWidth = terminalWidth };
        if (command.Output == OutputKind.None)
        {
            return format;
        }

        var formats = command.Output == OutputKind.List ? Output.ListFormats : Output.ShowFormats;
        format.Format = parsed.Get("--format") ?? "table";
        if (!formats.Contains(format.Format))
        {
            throw ArgParser.Usage(command, $"argument -f/--format: invalid choice: '{format.Format}' (choose from {string.Join(", ", formats.Select(f => $"'{f}'"))})");
        }

        format.Columns.AddRange(parsed.All("--column"));
        format.NoIndent = parsed.Has("--noindent");
        format.PrintEmpty = parsed.Has("--print-empty");
        format.FitWidth = parsed.Has("--fit-width") || environment("CLIFF_FIT_WIDTH") is "1";
        var maxWidth = parsed.Get("--max-width") ?? environment("CLIFF_MAX_TERM_WIDTH");
        if (maxWidth is not null)
        {
            if (!int.TryParse(maxWidth, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var width))
            {
                throw ArgParser.Usage(command, $"argument --max-width: invalid int value: '{maxWidth}'");
            }

            format.MaxWidth = width;
        }

        format.Quote = parsed.Get("--quote") ?? "nonnumeric";
        if (format.Quote is not ("all" or "minimal" or "none" or "nonnumeric"))
        {
            throw ArgParser.Usage(command, $"argument --quote: invalid choice: '{format.Quote}' (choose from 'all', 'minimal', 'none', 'nonnumeric')");
        }

        format.SortColumns.AddRange(parsed.All("--sort-column"));
        format.SortDescending = parsed.Has("--sort-descending");
        return format;
    }
}
