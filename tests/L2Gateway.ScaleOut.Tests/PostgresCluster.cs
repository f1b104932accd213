using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using L2Gateway.Testing;
using Npgsql;

namespace L2Gateway.ScaleOut.Tests;

/// <summary>
/// A PostgreSQL server of the test's own (the installed version, see <see cref="PostgresBinaries"/>) that the test
/// can stop and start again on the same data and port: initdb in a temp dir, <c>pg_ctl</c> for the rest, killed
/// by PID if a fast stop fails.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-scale-pg-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly bool asRoot = Environment.UserName == "root";
    private bool running;

    private static string Bin => PostgresBinaries.Directory;

    public int Port { get; private set; } = FreePort();

    private bool started;

    public string Url(string database) => $"postgresql://postgres@127.0.0.1:{Port}/{database}";

    public static async Task<PostgresCluster> CreateAsync(string database)
    {
        var cluster = new PostgresCluster();
        await cluster.CreateDirectoryAsync();
        await cluster.RunAsPostgresAsync($"{Bin}/initdb", $"-D {cluster.directory}/data -A trust -U postgres --no-sync -E UTF8 --locale=C");
        await cluster.StartAsync();
        await cluster.ExecuteAsync("postgres", $"CREATE DATABASE \"{database}\"");
        return cluster;
    }

    /// <summary>
    /// A streaming replica of this server (<c>pg_basebackup -R</c>), running; this server then commits a transaction
    /// only once the replica has it (<c>synchronous_standby_names = '*'</c>), so a promoted replica lacks no
    /// acknowledged write.
    /// </summary>
    public async Task<PostgresCluster> StartSynchronousStandbyAsync()
    {
        var standby = new PostgresCluster();
        await standby.CreateDirectoryAsync();
        await RunAsPostgresAsync($"{Bin}/pg_basebackup", $"-h 127.0.0.1 -p {Port} -U postgres -D {standby.directory}/data -R -X stream -c fast --no-sync");
        await standby.StartAsync();
        await ExecuteAsync("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'");
        await ExecuteAsync("postgres", "SELECT pg_reload_conf()");
        for (var i = 0; (await ColumnAsync("postgres", "SELECT sync_state FROM pg_stat_replication")).FirstOrDefault() != "sync"; i++)
        {
            Assert.True(i < 600, "the standby never became synchronous");
            await Task.Delay(100);
        }

        return standby;
    }

    /// <summary>Turns this replica into a primary (<c>pg_ctl promote</c>); returns once it accepts writes.</summary>
    public Task PromoteAsync() => RunAsPostgresAsync($"{Bin}/pg_ctl", $"-D {directory}/data -w -t 60 promote");

    /// <summary>Ends the server as a crash would (<c>pg_ctl stop -m immediate</c>: no shutdown checkpoint, sessions cut).</summary>
    public async Task CrashAsync()
    {
        running = false;
        await RunAsPostgresAsync($"{Bin}/pg_ctl", $"-D {directory}/data -m immediate -w -t 30 stop");
    }

    private async Task CreateDirectoryAsync()
    {
        Directory.CreateDirectory(directory);
        if (asRoot)
        {
            await RunAsync("chown", $"postgres {directory}");
        }
    }

    public async Task StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await RunAsPostgresAsync(
                    $"{Bin}/pg_ctl",
                    $"-D {directory}/data -l {directory}/log -w -t 60 -o \"-p {Port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off\" start");
                break;
            }
            catch (InvalidOperationException e)
            {
                var log = File.Exists($"{directory}/log") ? string.Join('\n', File.ReadLines($"{directory}/log").TakeLast(15)) : "(no log)";

                // The free port was taken by someone else between choosing and binding it: before the first start
                // nothing knows this port yet, so another one will do.
                if (!started && attempt < 3 && log.Contains("Address already in use", StringComparison.Ordinal))
                {
                    Port = FreePort();
                    continue;
                }

                throw new InvalidOperationException($"{e.Message}\nPostgreSQL's log:\n{log}", e);
            }
        }

        started = true;
        running = true;
    }

    /// <summary>A fast shutdown: sessions are ended (their transactions rolled back), the server is down on return.</summary>
    public async Task StopAsync()
    {
        running = false;
        try
        {
            await RunAsPostgresAsync($"{Bin}/pg_ctl", $"-D {directory}/data -m fast -w -t 30 stop");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            var pidFile = $"{directory}/data/postmaster.pid";
            if (File.Exists(pidFile))
            {
                using var process = Process.GetProcessById(int.Parse(File.ReadLines(pidFile).First(), System.Globalization.CultureInfo.InvariantCulture));
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of every row <paramref name="sql"/> returns, as text.</summary>
    public async Task<List<string>> ColumnAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var result = new List<string>();
        while (await reader.ReadAsync())
        {
            result.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return result;
    }

    // Pooling off: a pooled connection would outlive a stop and break the next query after a start.
    private string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false";

    private Task RunAsPostgresAsync(string program, string arguments) =>
        asRoot ? RunAsync("runuser", $"-u postgres -- {program} {arguments}") : RunAsync(program, arguments);

    private static async Task RunAsync(string program, string arguments)
    {
        var result = await ChildProcess.RunAsync("/bin/sh", ["-c", $"{program} {arguments}"], CommandTimeout);
        if (result.Exit != 0)
        {
            throw new InvalidOperationException($"{program} {arguments} failed ({result.Exit}): {result.Out}{result.Err}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (running)
        {
            await StopAsync();
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A child may still be closing files; the temp dir is cleaned by the OS later.
        }
    }
}
