using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace L2Gateway.Server.Tests;

public static class Ports
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A real server on a free loopback port, with its own database.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;

    public Uri BaseUrl { get; private set; } = null!;

    protected abstract Task<string> DatabaseUrlAsync();

    protected virtual void Configure(ServerOptions options)
    {
    }

    /// <summary>Replaces services of the server (after its own registrations), e.g. its clock.</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    public async Task InitializeAsync()
    {
        var options = new ServerOptions
        {
            Bind = "127.0.0.1:0",
            Database = await DatabaseUrlAsync(),
            DataDir = Path.Combine(Path.GetTempPath(), "l2gw-test-" + Guid.NewGuid().ToString("N")),
        };
        Configure(options);
        App = ServerHost.Build(options, Configure);
        await ServerHost.StartAsync(App);
        BaseUrl = new Uri(ServerHost.Urls(App)[0]);
    }

    public virtual async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>A client acting as <paramref name="project"/> with <paramref name="roles"/> (noauth headers).</summary>
    public Api Client(string? project = null, string? roles = null) => new(BaseUrl, project ?? Guid.NewGuid().ToString("N"), roles);

    /// <summary>Seeds the switch inventory the way an agent's report does.</summary>
    public Task ReportSwitchAsync(string name, string fault = "UP", params (string Name, string Fault)[] ports) =>
        ServerHost.ReportSwitchAsync(App, new SwitchInventory(name, ["10.0.0.1"], fault, [.. ports.Select(p => new SwitchPortInventory(p.Name, p.Fault))]));
}

public sealed class SqliteServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-sqlite-" + Guid.NewGuid().ToString("N"));

    protected override Task<string> DatabaseUrlAsync() => Task.FromResult("sqlite:///" + Path.Combine(directory, "l2gw.sqlite").TrimStart('/'));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>
/// A PostgreSQL server of the test's own (the installed version, see <see cref="PostgresBinaries"/>): initdb in a
/// temp dir, a free port, stopped with <c>pg_ctl -m fast</c> (killed by PID if that fails).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-pg-" + Guid.NewGuid().ToString("N"));
    private readonly bool asRoot = Environment.UserName == "root";
    private int pid;

    private static string Bin => PostgresBinaries.Directory;

    public int Port { get; } = Ports.Free();

    public string Url(string database) => $"postgresql://postgres@127.0.0.1:{Port}/{database}";

    public async Task StartAsync()
    {
        Directory.CreateDirectory(directory);
        if (asRoot)
        {
            await RunAsync("chown", $"postgres {directory}");
        }

        await RunAsPostgresAsync($"{Bin}/initdb", $"-D {directory}/data -A trust -U postgres --no-sync -E UTF8 --locale=C");
        await StartAgainAsync();
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) on the same port with the same data.</summary>
    public async Task StartAgainAsync()
    {
        await RunAsPostgresAsync(
            $"{Bin}/pg_ctl",
            $"-D {directory}/data -l {directory}/log -w -t 60 -o \"-p {Port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off\" start");
        pid = int.Parse((await File.ReadAllLinesAsync($"{directory}/data/postmaster.pid"))[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stops the server and keeps its data: a database outage (fast: clients are cut off at once).</summary>
    public async Task StopAsync()
    {
        await RunAsPostgresAsync($"{Bin}/pg_ctl", $"-D {directory}/data -m fast -w -t 30 stop");
        pid = 0;
    }

    public async Task CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

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

    public async ValueTask DisposeAsync()
    {
        if (pid > 0)
        {
            try
            {
                // Fast: active connections are ended rather than waited for, and the server is down on return.
                await RunAsPostgresAsync($"{Bin}/pg_ctl", $"-D {directory}/data -m fast -w -t 30 stop");
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
            }
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

public sealed class PostgresServerFixture : ServerFixture
{
    private readonly PostgresServer postgres = new();

    protected override async Task<string> DatabaseUrlAsync()
    {
        await postgres.StartAsync();
        await postgres.CreateDatabaseAsync("l2gw");
        return postgres.Url("l2gw");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await postgres.DisposeAsync();
    }
}

/// <summary>An HTTP client with noauth identity headers and JSON helpers.</summary>
public sealed class Api(Uri baseUrl, string project, string? roles) : IDisposable
{
    private readonly HttpClient http = new() { BaseAddress = baseUrl };

    public string Project { get; } = project;

    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Project-Id", Project);
        if (roles is not null)
        {
            request.Headers.Add("X-Roles", roles);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, string json) => SendAsync(HttpMethod.Post, path, json);

    public Task<(HttpStatusCode Status, JsonNode? Body)> PutAsync(string path, string json) => SendAsync(HttpMethod.Put, path, json);

    public Task<(HttpStatusCode Status, JsonNode? Body)> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    /// <summary>POSTs and insists on 201; returns the resource under <paramref name="key"/>.</summary>
    public async Task<JsonNode> CreateAsync(string path, string key, string json)
    {
        var (status, body) = await PostAsync(path, json);
        Assert.True(status == HttpStatusCode.Created, $"POST {path} answered {(int)status}: {body?.ToJsonString()}");
        return body![key]!;
    }

    public void Dispose() => http.Dispose();
}
