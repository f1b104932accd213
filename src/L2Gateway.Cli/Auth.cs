using System.Text.Json.Nodes;

namespace L2Gateway.Cli;

/// <summary>The global options (<c>--os-*</c>, <c>--debug</c>, <c>--version</c>) and their environment variables.</summary>
internal sealed class Settings
{
    // Global option → environment variable.
    public static readonly (string Option, string Env)[] Known =
    [
        ("--os-endpoint", "OS_ENDPOINT"),
        ("--os-url", "OS_URL"),
        ("--os-token", "OS_TOKEN"),
        ("--os-auth-type", "OS_AUTH_TYPE"),
        ("--os-auth-url", "OS_AUTH_URL"),
        ("--os-username", "OS_USERNAME"),
        ("--os-password", "OS_PASSWORD"),
        ("--os-project-name", "OS_PROJECT_NAME"),
        ("--os-project-id", "OS_PROJECT_ID"),
        ("--os-user-domain-name", "OS_USER_DOMAIN_NAME"),
        ("--os-user-domain-id", "OS_USER_DOMAIN_ID"),
        ("--os-project-domain-name", "OS_PROJECT_DOMAIN_NAME"),
        ("--os-project-domain-id", "OS_PROJECT_DOMAIN_ID"),
        ("--os-region-name", "OS_REGION_NAME"),
        ("--os-interface", "OS_INTERFACE"),
        ("--os-cloud", "OS_CLOUD"),
    ];

    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public bool Debug { get; private set; }

    public bool Version { get; private set; }

    public bool HelpRequested { get; private set; }

    public Func<string, string?> Environment { get; private set; } = _ => null;

    public string? this[string option] => Values.TryGetValue(option, out var v) && v.Length > 0 ? v : null;

    /// <summary>Takes the global options out of <paramref name="args"/> (anywhere before <c>--</c>); the rest is the command.</summary>
    public static (Settings Settings, List<string> Remaining) Extract(string[] args, Func<string, string?> environment)
    {
        var settings = new Settings { Environment = environment };
        var rest = new List<string>();
        var commandSeen = false;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                rest.AddRange(args[i..]);
                break;
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? arg[..eq] : arg;
            var known = Known.FirstOrDefault(k => k.Option == name || k.Option.Replace('-', '_') == name.Replace('-', '_'));
            if (known.Option is not null)
            {
                string value;
                if (eq > 0 && name != arg)
                {
                    value = arg[(eq + 1)..];
                }
                else if (i + 1 < args.Length)
                {
                    value = args[++i];
                }
                else
                {
                    throw new CliException(ExitCodes.Usage, $"l2gw: error: argument {known.Option}: expected one argument");
                }

                // --os-url is another name of --os-endpoint; a flag wins over any environment variable.
                settings.Values[known.Option == "--os-url" ? "--os-endpoint" : known.Option] = value;
                continue;
            }

            switch (arg)
            {
                case "--debug":
                    settings.Debug = true;
                    continue;
                case "--version" when !commandSeen:
                    settings.Version = true;
                    continue;
                case "-h" or "--help" when !commandSeen:
                    settings.HelpRequested = true;
                    continue;
            }

            commandSeen |= !arg.StartsWith('-');
            rest.Add(arg);
        }

        foreach (var (option, env) in Known)
        {
            var key = option == "--os-url" ? "--os-endpoint" : option;
            if (!settings.Values.ContainsKey(key) && environment(env) is { Length: > 0 } value)
            {
                settings.Values[key] = value;
            }
        }

        if (settings.Version && rest.Count > 0)
        {
            rest.Clear();
        }

        return (settings, rest);
    }
}

/// <summary>Endpoint and token: none, a given token, Keystone v3 password, or a cloud of clouds.yaml.</summary>
internal static class Auth
{
    public static Rest Connect(Settings settings, TextWriter? debug)
    {
        var values = new Dictionary<string, string>(settings.Values, StringComparer.Ordinal);
        if (settings["--os-cloud"] is { } cloud)
        {
            foreach (var (key, value) in CloudsYaml.Load(cloud, settings.Environment))
            {
                values.TryAdd(key, value);
            }
        }

        string? Value(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

        var endpoint = Value("--os-endpoint");
        var authType = Value("--os-auth-type");
        var token = Value("--os-token");
        if (authType is "none" or "noauth" || (authType is null && token is null && Value("--os-auth-url") is null))
        {
            return new Rest(ParseEndpoint(endpoint ?? Cli.DefaultEndpoint), null, debug);
        }

        if (token is not null && authType is null or "token" or "admin_token" or "token_endpoint" or "v3token")
        {
            return new Rest(ParseEndpoint(endpoint ?? Cli.DefaultEndpoint), token, debug);
        }

        var authUrl = Value("--os-auth-url") ?? throw new CliException(ExitCodes.Usage, "Missing value auth-url required for auth plugin password");
        var username = Value("--os-username") ?? throw new CliException(ExitCodes.Usage, "Missing value username required for auth plugin password");
        var password = Value("--os-password") ?? throw new CliException(ExitCodes.Usage, "Missing value password required for auth plugin password");
        var (issued, catalogEndpoint) = PasswordToken(authUrl, username, password, Value("--os-user-domain-name") ?? "Default", Value("--os-user-domain-id"),
            Value("--os-project-name"), Value("--os-project-id"), Value("--os-project-domain-name") ?? "Default", Value("--os-project-domain-id"),
            Value("--os-region-name"), Value("--os-interface") ?? "public", debug);
        var target = endpoint ?? catalogEndpoint ?? Cli.DefaultEndpoint;
        return new Rest(ParseEndpoint(target), issued, debug);
    }

    private static Uri ParseEndpoint(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliException(ExitCodes.Usage, $"l2gw: invalid endpoint '{text}': expected http://HOST:PORT");

    /// <summary>POST /v3/auth/tokens with the password method; returns the token and the network endpoint of the catalog.</summary>
    private static (string Token, string? Endpoint) PasswordToken(
        string authUrl, string username, string password, string userDomain, string? userDomainId, string? project, string? projectId,
        string projectDomain, string? projectDomainId, string? region, string interfaceName, TextWriter? debug)
    {
        var user = new JsonObject
        {
            ["name"] = username,
            ["password"] = password,
            ["domain"] = userDomainId is not null ? new JsonObject { ["id"] = userDomainId } : new JsonObject { ["name"] = userDomain },
        };
        var auth = new JsonObject
        {
            ["identity"] = new JsonObject { ["methods"] = new JsonArray("password"), ["password"] = new JsonObject { ["user"] = user } },
        };
        if (projectId is not null)
        {
            auth["scope"] = new JsonObject { ["project"] = new JsonObject { ["id"] = projectId } };
        }
        else if (project is not null)
        {
            auth["scope"] = new JsonObject
            {
                ["project"] = new JsonObject
                {
                    ["name"] = project,
                    ["domain"] = projectDomainId is not null ? new JsonObject { ["id"] = projectDomainId } : new JsonObject { ["name"] = projectDomain },
                },
            };
        }

        var root = authUrl.TrimEnd('/');
        if (!root.EndsWith("/v3", StringComparison.Ordinal))
        {
            root += "/v3";
        }

        var keystone = new Rest(new Uri(root), null, debug) { AppendVersion = false };
        var (body, headers) = keystone.SendWithHeaders("POST", "/auth/tokens", new JsonObject { ["auth"] = auth });
        var token = headers.Split("\r\n")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2 && p[0].Trim().Equals("X-Subject-Token", StringComparison.OrdinalIgnoreCase))
            .Select(p => p[1].Trim())
            .FirstOrDefault() ?? throw new CliException(ExitCodes.Auth, "Keystone answered without an X-Subject-Token");
        string? endpoint = null;
        if (body?["token"]?["catalog"] is JsonArray catalog)
        {
            foreach (var service in catalog)
            {
                if ((string?)service?["type"] != "network" || service?["endpoints"] is not JsonArray endpoints)
                {
                    continue;
                }

                endpoint = endpoints
                    .Where(e => (string?)e?["interface"] == interfaceName && (region is null || (string?)e?["region"] == region || (string?)e?["region_id"] == region))
                    .Select(e => (string?)e?["url"])
                    .FirstOrDefault(u => u is not null);
            }
        }

        return (token, endpoint);
    }
}

/// <summary>The subset of clouds.yaml the client reads: <c>clouds.NAME.auth.*</c>, <c>auth_type</c>, <c>region_name</c>, endpoint overrides.</summary>
internal static class CloudsYaml
{
    public static IEnumerable<(string Option, string Value)> Load(string cloud, Func<string, string?> environment)
    {
        var home = environment("HOME") ?? System.Environment.GetEnvironmentVariable("HOME") ?? "";
        var candidates = new[]
        {
            environment("OS_CLIENT_CONFIG_FILE"),
            Path.Combine(Environment.CurrentDirectory, "clouds.yaml"),
            Path.Combine(home, ".config", "openstack", "clouds.yaml"),
            "/etc/openstack/clouds.yaml",
        };
        var file = candidates.FirstOrDefault(f => f is not null && File.Exists(f))
            ?? throw new CliException(ExitCodes.Usage, $"Cloud {cloud} was not found: no clouds.yaml");
        var map = Parse(File.ReadAllLines(file));
        var prefix = $"clouds.{cloud}.";
        if (!map.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            throw new CliException(ExitCodes.Usage, $"Cloud {cloud} was not found.");
        }

        var names = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["auth.auth_url"] = "--os-auth-url",
            ["auth.username"] = "--os-username",
            ["auth.password"] = "--os-password",
            ["auth.project_name"] = "--os-project-name",
            ["auth.project_id"] = "--os-project-id",
            ["auth.user_domain_name"] = "--os-user-domain-name",
            ["auth.user_domain_id"] = "--os-user-domain-id",
            ["auth.project_domain_name"] = "--os-project-domain-name",
            ["auth.project_domain_id"] = "--os-project-domain-id",
            ["auth.token"] = "--os-token",
            ["auth.endpoint"] = "--os-endpoint",
            ["endpoint"] = "--os-endpoint",
            ["network_endpoint_override"] = "--os-endpoint",
            ["auth_type"] = "--os-auth-type",
            ["region_name"] = "--os-region-name",
            ["interface"] = "--os-interface",
        };
        foreach (var (key, value) in map)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && names.TryGetValue(key[prefix.Length..], out var option))
            {
                yield return (option, value);
            }
        }
    }

    /// <summary>Block mappings of scalars, flattened to dotted keys.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var stack = new List<(int Indent, string Key)>();
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd();
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith('#') || trimmed.StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = line.Length - trimmed.Length;
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = Unquote(trimmed[..colon].Trim());
            var value = trimmed[(colon + 1)..].Trim();
            while (stack.Count > 0 && stack[^1].Indent >= indent)
            {
                stack.RemoveAt(stack.Count - 1);
            }

            var path = string.Join('.', stack.Select(s => s.Key).Append(key));
            if (value.Length == 0)
            {
                stack.Add((indent, key));
            }
            else
            {
                var hash = value.IndexOf(" #", StringComparison.Ordinal);
                if (hash > 0 && value[0] is not ('\'' or '"'))
                {
                    value = value[..hash].TrimEnd();
                }

                result[path] = Unquote(value);
            }
        }

        return result;
    }

    private static string Unquote(string text) =>
        text.Length >= 2 && ((text[0] == '\'' && text[^1] == '\'') || (text[0] == '"' && text[^1] == '"'))
            ? text[1..^1].Replace("''", "'", StringComparison.Ordinal)
            : text;
}
