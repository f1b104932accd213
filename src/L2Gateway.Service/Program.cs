using System.Diagnostics.Metrics;
using System.Reflection;
using L2Gateway.Agent;
using L2Gateway.Server;
using L2Gateway.Server.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Service;

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

    public static async Task<int> Main(string[] args)
    {
        try
        {
            return args switch
            {
                ["--version"] or ["version"] => PrintVersion(),
                ["server", .. var rest] when rest.Contains("--help") || rest.Contains("-h") => Usage(Console.Out, 0),
                ["server", .. var rest] => await RunServerAsync(rest),
                ["db", "upgrade", .. var rest] => await UpgradeAsync(rest),
                ["db", "import-neutron", .. var rest] => await ImportNeutronAsync(rest),
                ["agent", .. var rest] when rest.Contains("--help") || rest.Contains("-h") => Usage(Console.Out, 0),
                ["agent", .. var rest] => await RunAgentAsync(rest),
                [] or ["--help"] or ["-h"] or ["help"] => Usage(Console.Out, 0),
                _ => Fail($"unknown command '{string.Join(' ', args)}'", 2),
            };
        }
        catch (ConfigurationException e)
        {
            return Fail(e.Message, 2);
        }
    }

    private static int PrintVersion()
    {
        Console.WriteLine($"l2gw {Version}");
        return 0;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"l2gw: {message}");
        return code;
    }

    private static int Usage(TextWriter writer, int code)
    {
        writer.WriteLine($"""
            l2gw {Version}: L2 gateway controller

            usage:
              l2gw server [--config-file l2gw.ini] [--bind HOST:PORT] [--data-dir DIR] [--database URL]
                          [--auth-strategy noauth|keystone] [--keystone-url URL] [--force-noauth]
                          [--policy-file policy.yaml]
                          [--quota-l2-gateway N] [--log-format text|json] [--full-reload-interval S]
                          [--neutron-url URL] [--neutron-proxy true|false] [--catalog standalone|neutron]
                          [--neutron-poll-interval S] [--neutron-full-sync-interval S]
                          [--transport-url rabbit://USER:PASS@HOST:PORT/] [--l2pop-resync-interval S]
              l2gw db upgrade [--config-file l2gw.ini] [--database URL] [--data-dir DIR]
              l2gw db import-neutron --from NEUTRON_DATABASE_URL [--config-file l2gw.ini] [--database URL]
              l2gw agent --config-file l2gateway_agent.ini [--log-format text|json]
                  ([ovsdb] ovsdb_hosts = name:ip:port,...; [DEFAULT] host, l2gw_server_url = URL[,URL...], metrics_bind)

            A server whose config file has an [ovsdb] section runs the agent in-process (embedded).
              l2gw --version

            example:
              l2gw server --bind 127.0.0.1:9696 --database postgresql://l2gw:secret@127.0.0.1:5432/l2gw
            """);
        return code;
    }

    private static async Task<int> RunServerAsync(string[] args)
    {
        var options = ServerConfiguration.Load(args);
        // Under systemd (Type=notify) the host tells it when the server is ready and when it is stopping.
        await using var app = ServerHost.Build(options, b => b.Host.UseSystemd());
        try
        {
            await ServerHost.StartAsync(app);
        }
        catch (IOException e)
        {
            return Fail($"cannot listen on {options.Bind}: {e.Message}", 1);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            return Fail($"cannot open database: {e.Message}", 1);
        }

        L2GatewayAgent? agent = null;
        if (options.ConfigFile.Keys.Any(k => k.StartsWith("ovsdb:", StringComparison.OrdinalIgnoreCase)))
        {
            var agentOptions = LoadAgentOptions(options.ConfigFile);
            if (options.AuthStrategy == AuthStrategy.Keystone && agentOptions.Keystone is null)
            {
                return Fail("auth_strategy=keystone: the embedded agent needs the service user's [keystone_authtoken] username, password and project_name", 2);
            }

            agentOptions.ServerUrl = new Uri(ServerHost.Urls(app)[0]);
            // With a bus (transport_url), the embedded agent reports its state to Neutron on the server's connection.
            agent = new L2GatewayAgent(
                agentOptions,
                app.Services.GetRequiredService<ILoggerFactory>(),
                app.Services.GetRequiredService<IMeterFactory>(),
                app.Services.GetService<L2Gateway.OpenStack.Messaging.IMessageBus>());
            await agent.StartAsync(CancellationToken.None);
        }

        await app.WaitForShutdownAsync();
        if (agent is not null)
        {
            await agent.StopAsync(CancellationToken.None);
            agent.Dispose();
        }

        return 0;
    }

    private static AgentOptions LoadAgentOptions(IReadOnlyDictionary<string, string> ini)
    {
        try
        {
            return AgentOptions.FromIni(ini);
        }
        catch (FormatException e)
        {
            throw new ConfigurationException(e.Message);
        }
    }

    private static async Task<int> RunAgentAsync(string[] args)
    {
        string? file = null;
        string? logFormat = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config-file" && i + 1 < args.Length)
            {
                file = args[++i];
            }
            else if (args[i].StartsWith("--config-file=", StringComparison.Ordinal))
            {
                file = args[i]["--config-file=".Length..];
            }
            else if (args[i] == "--log-format" && i + 1 < args.Length)
            {
                logFormat = args[++i];
            }
            else if (args[i].StartsWith("--log-format=", StringComparison.Ordinal))
            {
                logFormat = args[i]["--log-format=".Length..];
            }
            else
            {
                return Fail($"unknown option '{args[i]}' (see l2gw agent --help)", 2);
            }
        }

        if (file is null)
        {
            return Fail("l2gw agent needs --config-file with an [ovsdb] section", 2);
        }

        var ini = ServerConfiguration.ReadIni(file);
        var options = LoadAgentOptions(ini);
        if (options.OvsdbHosts.Count == 0 && !options.EnableManager)
        {
            return Fail($"{file}: [ovsdb] ovsdb_hosts lists no switch (and enable_manager is off)", 2);
        }

        // The same precedence as the server's options: flag, then environment, then file.
        var format = ConsoleLogging.ParseFormat(
            logFormat ?? (Environment.GetEnvironmentVariable("L2GW_LOG_FORMAT") is { Length: > 0 } fromEnv ? fromEnv : ini.GetValueOrDefault("DEFAULT:log_format")));
        var metricsBind = AgentProcess.MetricsBind(ini);
        using var host = AgentProcess.Build(options, format, metricsBind);
        try
        {
            await host.StartAsync();
        }
        catch (IOException e)
        {
            return Fail($"cannot listen on {metricsBind} (metrics_bind): {e.Message}", 1);
        }

        await host.WaitForShutdownAsync();
        return 0;
    }

    private static async Task<int> UpgradeAsync(string[] args)
    {
        var options = ServerConfiguration.Load(args);
        var database = DatabaseSettings.Parse(options.DatabaseUrl);
        try
        {
            await database.UpgradeAsync();
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            return Fail($"cannot upgrade database {database.Display}: {e.Message}", 1);
        }

        Console.WriteLine($"database {database.Display} is at the latest schema");
        return 0;
    }

    /// <summary>Copies networking-l2gw's gateways and connections from Neutron's database into this one.</summary>
    private static async Task<int> ImportNeutronAsync(string[] args)
    {
        string? from = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--from")
            {
                from = i + 1 < args.Length ? args[++i] : null;
            }
            else if (args[i].StartsWith("--from=", StringComparison.Ordinal))
            {
                from = args[i]["--from=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        if (from is not { Length: > 0 })
        {
            return Fail("l2gw db import-neutron needs --from NEUTRON_DATABASE_URL (postgresql://USER:PASS@HOST:PORT/neutron)", 2);
        }

        var options = ServerConfiguration.Load(rest);
        var database = DatabaseSettings.Parse(options.DatabaseUrl);
        ReferenceRows rows;
        try
        {
            rows = await NeutronImport.ReadAsync(from);
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message, 2);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            return Fail($"cannot read the Neutron database: {e.Message}", 1);
        }

        try
        {
            await database.UpgradeAsync();
            using var store = new Store(database);
            var result = await NeutronImport.ImportAsync(store, rows);
            foreach (var skipped in result.Skipped)
            {
                Console.Error.WriteLine($"l2gw: skipped {skipped}");
            }

            Console.WriteLine(
                $"imported {result.Gateways} gateways and {result.Connections} connections into {database.Display}"
                + (result.AlreadyPresent > 0 ? $" ({result.AlreadyPresent} already present, left as they were)" : ""));
            return 0;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            return Fail($"cannot write database {database.Display}: {e.Message}", 1);
        }
        catch (L2Gateway.Core.L2GatewayException e)
        {
            return Fail($"import refused by {database.Display}: {e.Message}", 1);
        }
    }
}
