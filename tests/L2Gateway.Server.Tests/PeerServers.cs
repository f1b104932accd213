using L2Gateway.Server.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace L2Gateway.Server.Tests;

/// <summary>
/// Two servers, A and B, in this process on one PostgreSQL database, B under a role of its own so that a test can cut
/// it off the database alone. The full reload runs once an hour: only notifications carry A's writes to B in time.
/// </summary>
internal sealed class PeerServers : IAsyncDisposable
{
    private const string RoleB = "server_b";

    private readonly PostgresServer postgres = new();
    private readonly List<WebApplication> apps = [];
    private readonly List<string> dirs = [];

    public WebApplication A { get; private set; } = null!;

    public WebApplication B { get; private set; } = null!;

    /// <summary>What B logged: its reloads and its LISTEN connection's losses.</summary>
    public LogLines LogB { get; } = new();

    /// <summary>Starts both and returns once B listens and has read everything once.</summary>
    public async Task StartAsync()
    {
        await postgres.StartAsync();
        await postgres.CreateDatabaseAsync("l2gw");
        await SqlAsync($"CREATE ROLE {RoleB} LOGIN SUPERUSER");
        A = await StartServerAsync(postgres.Url("l2gw"), new LogLines());
        B = await StartServerAsync($"postgresql://{RoleB}@127.0.0.1:{postgres.Port}/l2gw", LogB);
        await LogB.WaitForAsync("planner inputs reloaded from the database: LISTEN was (re)established", 1);
    }

    public static Api Client(WebApplication app) => new(new Uri(ServerHost.Urls(app)[0]), "admin-project", null);

    /// <summary>B's connections are cut and it may not log in again; returns once B saw its LISTEN connection lost and refused.</summary>
    public async Task CutOffBAsync()
    {
        await SqlAsync($"ALTER ROLE {RoleB} NOLOGIN");
        await SqlAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{RoleB}'");
        await LogB.WaitForAsync("LISTEN connection", 2);
    }

    /// <summary>B may log in again; returns once it listens again and has reloaded (the second time it logs so).</summary>
    public async Task LetBBackAsync()
    {
        await SqlAsync($"ALTER ROLE {RoleB} LOGIN");
        await LogB.WaitForAsync("planner inputs reloaded from the database: LISTEN was (re)established", 2);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in apps)
        {
            await app.DisposeAsync();
        }

        await postgres.DisposeAsync();
        foreach (var dir in dirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }

        LogB.Dispose();
    }

    private async Task<WebApplication> StartServerAsync(string database, LogLines log)
    {
        var dir = Path.Combine(Path.GetTempPath(), "l2gw-peer-" + Guid.NewGuid().ToString("N")[..8]);
        dirs.Add(dir);
        var app = ServerHost.Build(
            new ServerOptions { Bind = "127.0.0.1:0", Database = database, DataDir = dir, FullReloadInterval = 3600, QuotaL2Gateway = -1 },
            builder => builder.Logging.AddProvider(log));
        await ServerHost.StartAsync(app);
        apps.Add(app);
        return app;
    }

    private async Task SqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Database=postgres");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
