using System.Globalization;
using L2Gateway.Core;

namespace L2Gateway.Server;

/// <summary>
/// Reads <see cref="ServerOptions"/> from, in rising precedence: defaults, the INI config file
/// (<c>--config-file</c>, sections like the reference's), environment variables (<c>L2GW_*</c>), and flags.
/// </summary>
public static class ServerConfiguration
{
    private static readonly Dictionary<string, (string Env, string[] IniKeys)> Settings = new(StringComparer.Ordinal)
    {
        ["--bind"] = ("L2GW_BIND", ["DEFAULT:bind"]),
        ["--data-dir"] = ("L2GW_DATA_DIR", ["DEFAULT:data_dir"]),
        ["--database"] = ("L2GW_DATABASE", ["database:connection", "DEFAULT:database"]),
        ["--auth-strategy"] = ("L2GW_AUTH_STRATEGY", ["DEFAULT:auth_strategy"]),
        ["--policy-file"] = ("L2GW_POLICY_FILE", ["oslo_policy:policy_file", "DEFAULT:policy_file"]),
        ["--keystone-url"] = ("L2GW_KEYSTONE_URL", ["keystone_authtoken:www_authenticate_uri", "keystone_authtoken:auth_url"]),
        ["--token-cache-time"] = ("L2GW_TOKEN_CACHE_TIME", ["keystone_authtoken:token_cache_time"]),
        ["--quota-l2-gateway"] = ("L2GW_QUOTA_L2_GATEWAY", ["QUOTAS:quota_l2_gateway", "DEFAULT:quota_l2_gateway"]),
        ["--full-reload-interval"] = ("L2GW_FULL_RELOAD_INTERVAL", ["DEFAULT:full_reload_interval"]),
        ["--log-format"] = ("L2GW_LOG_FORMAT", ["DEFAULT:log_format"]),
        ["--neutron-url"] = ("L2GW_NEUTRON_URL", ["neutron:url"]),
        ["--neutron-proxy"] = ("L2GW_NEUTRON_PROXY", ["neutron:proxy"]),
        ["--catalog"] = ("L2GW_CATALOG", ["DEFAULT:catalog"]),
        ["--neutron-poll-interval"] = ("L2GW_NEUTRON_POLL_INTERVAL", ["neutron:poll_interval"]),
        ["--neutron-full-sync-interval"] = ("L2GW_NEUTRON_FULL_SYNC_INTERVAL", ["neutron:full_sync_interval"]),
        ["--transport-url"] = ("L2GW_TRANSPORT_URL", ["DEFAULT:transport_url"]),
        ["--l2pop-resync-interval"] = ("L2GW_L2POP_RESYNC_INTERVAL", ["DEFAULT:l2pop_resync_interval"]),
    };

    /// <summary>Parses server arguments; throws <see cref="ConfigurationException"/> with a one-line message.</summary>
    public static ServerOptions Load(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        environment ??= Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        string? configFile = null;
        var forceNoAuth = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            if (arg == "--force-noauth")
            {
                forceNoAuth = true;
                continue;
            }

            if (arg != "--config-file" && !Settings.ContainsKey(arg))
            {
                throw new ConfigurationException($"unknown option '{args[i]}' (see l2gw server --help)");
            }

            var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new ConfigurationException($"option '{arg}' needs a value"));
            if (arg == "--config-file")
            {
                configFile = value;
            }
            else
            {
                flags[arg] = value;
            }
        }

        var ini = configFile is null ? new Dictionary<string, string>() : ReadIni(configFile);
        string? Get(string flag)
        {
            if (flags.TryGetValue(flag, out var v))
            {
                return v;
            }

            var (env, keys) = Settings[flag];
            if (environment.TryGetValue(env, out var e) && !string.IsNullOrEmpty(e))
            {
                return e;
            }

            foreach (var key in keys)
            {
                if (ini.TryGetValue(key, out var fromFile) && fromFile.Length > 0)
                {
                    return fromFile;
                }
            }

            return null;
        }

        var options = new ServerOptions { ForceNoAuth = forceNoAuth || Boolean(ini, "DEFAULT:force_noauth"), ConfigFile = ini };
        if (Get("--bind") is { } bind)
        {
            options.Bind = bind;
        }
        else if (ini.TryGetValue("DEFAULT:bind_host", out var host) || ini.ContainsKey("DEFAULT:bind_port"))
        {
            options.Bind = $"{host ?? "127.0.0.1"}:{ini.GetValueOrDefault("DEFAULT:bind_port", "9696")}";
        }

        options.DataDir = Get("--data-dir") ?? options.DataDir;
        options.Database = Get("--database");
        options.PolicyFile = Get("--policy-file");
        options.KeystoneUrl = Get("--keystone-url");
        options.LogFormat = ConsoleLogging.ParseFormat(Get("--log-format"));
        options.NeutronUrl = Get("--neutron-url");
        options.NeutronProxy = Get("--neutron-proxy") is { } proxy && Boolean("neutron.proxy", proxy);
        options.AuthStrategy = Get("--auth-strategy")?.ToLowerInvariant() switch
        {
            null or "noauth" => AuthStrategy.NoAuth,
            "keystone" => AuthStrategy.Keystone,
            var other => throw new ConfigurationException($"invalid auth_strategy '{other}': expected noauth or keystone"),
        };
        if (Get("--quota-l2-gateway") is { } quota)
        {
            options.QuotaL2Gateway = int.TryParse(quota, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var q) && q >= -1
                ? q
                : throw new ConfigurationException($"invalid quota_l2_gateway '{quota}': expected an integer, -1 for unlimited");
        }

        if (Get("--token-cache-time") is { } cacheTime)
        {
            options.TokenCacheTime = int.TryParse(cacheTime, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t) && t >= -1
                ? t
                : throw new ConfigurationException($"invalid token_cache_time '{cacheTime}': expected seconds, -1 to disable the cache");
        }

        if (Get("--full-reload-interval") is { } reload)
        {
            options.FullReloadInterval = int.TryParse(reload, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r >= 1
                ? r
                : throw new ConfigurationException($"invalid full_reload_interval '{reload}': expected seconds, at least 1");
        }

        options.Catalog = Get("--catalog")?.ToLowerInvariant() switch
        {
            null or "standalone" => "standalone",
            "neutron" => "neutron",
            var other => throw new ConfigurationException($"invalid catalog '{other}': expected standalone or neutron"),
        };
        options.NeutronPollInterval = Seconds(Get("--neutron-poll-interval"), "neutron_poll_interval", options.NeutronPollInterval);
        options.NeutronFullSyncInterval = Seconds(Get("--neutron-full-sync-interval"), "neutron_full_sync_interval", options.NeutronFullSyncInterval);
        if (Get("--transport-url") is { } transportUrl)
        {
            try
            {
                L2Gateway.OpenStack.Messaging.TransportUrl.Parse(transportUrl);
            }
            catch (FormatException e)
            {
                throw new ConfigurationException(e.Message);
            }

            options.TransportUrl = transportUrl;
        }

        if (Get("--l2pop-resync-interval") is { } resync)
        {
            options.L2PopResyncInterval = int.TryParse(resync, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r >= 1
                ? r
                : throw new ConfigurationException($"invalid l2pop_resync_interval '{resync}': expected seconds, at least 1");
        }

        return options;
    }

    private static int Seconds(string? text, string name, int fallback) =>
        text is null ? fallback
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds
        : throw new ConfigurationException($"invalid {name} '{text}': expected a whole number of seconds, at least 1");

    /// <summary>An INI boolean as oslo.config reads it; false when absent or empty, an error when not a boolean.</summary>
    private static bool Boolean(Dictionary<string, string> ini, string key)
    {
        if (ini.GetValueOrDefault(key) is not { Length: > 0 } value)
        {
            return false;
        }

        try
        {
            return IniValues.ParseBoolean(key.Replace(':', '.'), value);
        }
        catch (FormatException e)
        {
            throw new ConfigurationException(e.Message);
        }
    }

    /// <summary>A boolean given as a flag, a variable or an INI value, read as oslo.config reads it; a one-line error otherwise.</summary>
    private static bool Boolean(string option, string value)
    {
        try
        {
            return IniValues.ParseBoolean(option, value);
        }
        catch (FormatException e)
        {
            throw new ConfigurationException(e.Message);
        }
    }

    /// <summary>Reads an oslo.config-style INI file into <c>SECTION:key</c> pairs.</summary>
    public static Dictionary<string, string> ReadIni(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read config file '{path}': {e.Message}");
        }

        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var section = "DEFAULT";
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                if (!line.EndsWith(']'))
                {
                    throw new ConfigurationException($"{path}:{n + 1}: malformed section header '{line}'");
                }

                section = line[1..^1].Trim();
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ConfigurationException($"{path}:{n + 1}: expected 'key = value', got '{line}'");
            }

            result[$"{section}:{line[..eq].Trim()}"] = line[(eq + 1)..].Trim();
        }

        return result;
    }
}
