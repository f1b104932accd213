using System.Text;

namespace L2Gateway.Cli;

internal static class Help
{
    public static string Global()
    {
        var text = new StringBuilder();
        text.Append($"l2gw {Program.Version}: the operator command line of the L2 gateway controller\n\n");
        text.Append("usage: l2gw [global options] <command> [options] [arguments]\n\ncommands:\n");
        foreach (var command in Commands.All)
        {
            text.Append($"  {command.Name,-22} {command.Summary}\n");
        }

        text.Append("  server|agent|db ...    run the service host (l2gw-service; through the ./l2gw script)\n");
        text.Append("\nlegacy neutronclient verbs: ");
        text.Append(string.Join(", ", Commands.All.SelectMany(c => c.Aliases)));
        text.Append("""


            global options:
              --os-endpoint URL, --os-url URL   the API endpoint (OS_ENDPOINT; default http://127.0.0.1:9696)
              --os-auth-type none|password|token (OS_AUTH_TYPE)
              --os-token TOKEN                  a Keystone token (OS_TOKEN)
              --os-auth-url URL, --os-username NAME, --os-password PASSWORD, --os-project-name NAME,
              --os-user-domain-name NAME, --os-project-domain-name NAME   Keystone v3 password (OS_*)
              --os-cloud NAME                   a cloud of clouds.yaml (OS_CLOUD)
              --debug                           show the HTTP exchange on stderr
              --version                         print the version
              -h, --help                        this help; 'l2gw <command> --help' for a command

            exit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 conflict, 5 server unreachable, 6 not authorized

            example:
              l2gw --os-endpoint http://127.0.0.1:9696 list -f json

            """);
        return text.ToString();
    }

    public static string For(CommandSpec command)
    {
        var text = new StringBuilder();
        var options = ArgParser.AllOptions(command).ToList();
        text.Append($"usage: l2gw {command.Name} {command.Positionals}".TrimEnd()).Append('\n');
        text.Append('\n').Append(command.Summary).Append('\n');
        if (command.Aliases.Length > 0)
        {
            text.Append("(legacy name: l2gw ").Append(string.Join(", ", command.Aliases)).Append(")\n");
        }

        if (command.Positionals.Length > 0)
        {
            text.Append("\npositional arguments:\n  ").Append(command.Positionals).Append('\n');
        }

        text.Append("\noptions:\n");
        foreach (var option in options)
        {
            var name = (option.Short is null ? "" : option.Short + ", ") + option.Name + (option.TakesValue ? " " + option.Metavar : "");
            text.Append($"  {name,-40} {option.Help}\n");
        }

        text.Append("\nexample:\n  ").Append(command.Example).Append('\n');
        return text.ToString();
    }
}

/// <summary><c>l2gw completion bash|zsh</c>: a script completing command words and each command's options.</summary>
internal static class Completion
{
    public static int Run(Invocation invocation, IReadOnlyList<CommandSpec> commands)
    {
        var shell = invocation.Args.Positionals[0];
        if (shell is not ("bash" or "zsh"))
        {
            throw new CliException(ExitCodes.Usage, $"l2gw completion: unknown shell '{shell}' (bash or zsh)");
        }

        var script = new StringBuilder();
        if (shell == "zsh")
        {
            script.Append("#compdef l2gw\nautoload -U +X bashcompinit && bashcompinit\n");
        }

        var globals = string.Join(' ', Settings.Known.Select(k => k.Option).Append("--debug").Append("--version").Append("--help"));
        var top = string.Join(' ', commands.Select(c => c.Path[0]).Concat(commands.SelectMany(c => c.Aliases)).Distinct());
        script.Append("_l2gw()\n{\n    local cur words i path\n    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n    path=\"\"\n");
        script.Append("    for ((i = 1; i < COMP_CWORD; i++)); do\n        case \"${COMP_WORDS[i]}\" in\n            -*) ;;\n            *) path=\"${path:+$path }${COMP_WORDS[i]}\" ;;\n        esac\n    done\n");
        script.Append("    case \"$path\" in\n");
        script.Append($"        \"\") words=\"{top} {globals}\" ;;\n");
        foreach (var group in commands.Where(c => c.Path.Length > 1).GroupBy(c => c.Path[0]))
        {
            script.Append($"        \"{group.Key}\") words=\"{string.Join(' ', group.Select(c => c.Path[1]))}\" ;;\n");
        }

        foreach (var command in commands)
        {
            var options = string.Join(' ', ArgParser.AllOptions(command).Select(o => o.Name));
            var extra = command.Path[0] == "completion" ? "bash zsh " : "";
            foreach (var name in command.Aliases.Prepend(command.Name))
            {
                script.Append($"        \"{name}\"*) words=\"{extra}{options}\" ;;\n");
            }
        }

        script.Append("        *) words=\"\" ;;\n    esac\n");
        script.Append("    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -F _l2gw l2gw\n");
        invocation.Out.Write(script.ToString());
        return ExitCodes.Ok;
    }
}
