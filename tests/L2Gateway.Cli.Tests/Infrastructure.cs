using System.Text;
using L2Gateway.Core;
using L2Gateway.Server;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;

namespace L2Gateway.Cli.Tests;

/// <summary>A real server on a free loopback port with its own SQLite database.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-cli-" + Guid.NewGuid().ToString("N"));

    public WebApplication App { get; private set; } = null!;

    public string Endpoint { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new ServerOptions
        {
            Bind = "127.0.0.1:0",
            Database = "sqlite:///" + Path.Combine(directory, "l2gw.sqlite").TrimStart('/'),
            DataDir = directory,
        };
        App = ServerHost.Build(options);
        await ServerHost.StartAsync(App);
        Endpoint = ServerHost.Urls(App)[0].TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    public Task ReportSwitchAsync(string name, params string[] ports) =>
        ServerHost.ReportSwitchAsync(App, new SwitchInventory(name, ["10.0.0.1"], "UP", [.. ports.Select(p => new SwitchPortInventory(p, "UP"))]));

    /// <summary>Our client, in-process: exit code, stdout, stderr.</summary>
    public Result L2gw(params string[] args) => L2gwWith(new Dictionary<string, string>(), args);

    public Result L2gwWith(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new Dictionary<string, string>(environment);
        env.TryAdd("OS_ENDPOINT", Endpoint);
        var code = Cli.Run(args, stdout, stderr, k => env.TryGetValue(k, out var v) ? v : null);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The real OpenStack client with <c>--os-auth-type none</c> against this server.</summary>
    public async Task<Result> OpenStackAsync(params string[] args)
    {
        var result = await ChildProcess.RunAsync(
            "/usr/bin/python3",
            ["/usr/bin/openstack", "--os-auth-type", "none", "--os-endpoint", Endpoint, .. args],
            TimeSpan.FromMinutes(2),
            start =>
            {
                start.StandardOutputEncoding = Encoding.UTF8;
                foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal) || k.StartsWith("CLIFF_", StringComparison.Ordinal)).ToList())
                {
                    start.Environment.Remove(key);
                }
            });
        return new Result(result.Exit, result.Out, result.Err);
    }
}

public sealed record Result(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
}
