using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using L2Gateway.Testing;

namespace L2Gateway.Service.Tests;

/// <summary>The l2gw-service program as an operator runs it: a process, signals, exit codes, one-line errors.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-svc-" + Guid.NewGuid().ToString("N")[..8]);

    public ProcessTests() => Directory.CreateDirectory(dir);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var result = ChildProcess.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"), .. args], TimeSpan.FromMinutes(1));
        return (result.Exit, result.Out, result.Err);
    }

    private static async Task WaitForAsync(HttpClient http, string url)
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(url));
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Fail($"no answer from {url}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [Fact]
    public async Task Sigterm_stops_cleanly_and_committed_writes_survive_a_restart()
    {
        var port = FreePort();
        var db = $"sqlite:///{dir.TrimStart('/')}/l2gw.sqlite";
        var upgrade = Run("db", "upgrade", "--database", db);
        Assert.Equal(0, upgrade.Exit);
        Assert.Contains("latest schema", upgrade.Out, StringComparison.Ordinal);
        Assert.Equal(0, Run("db", "upgrade", "--database", db).Exit);

        using var http = new HttpClient();
        var url = $"http://127.0.0.1:{port}/v2.0/l2-gateways";
        using (var server = Start("server", "--bind", $"127.0.0.1:{port}", "--database", db))
        {
            var log = server.StandardOutput.ReadToEndAsync();
            await WaitForAsync(http, url);
            using var created = await http.PostAsync(new Uri(url), new StringContent(
                """{"l2_gateway":{"name":"survivor","devices":[{"device_name":"sw","interfaces":[{"name":"e"}]}]}}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, kill(server.Id, 15));
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(30)), "no exit after SIGTERM");
            Assert.Equal(0, server.ExitCode);
            Assert.Contains("POST /v2.0/l2-gateways 201", await log, StringComparison.Ordinal);
        }

        using (var again = Start("server", "--bind", $"127.0.0.1:{port}", "--database", db))
        {
            await WaitForAsync(http, url);
            Assert.Contains("\"survivor\"", await http.GetStringAsync(new Uri(url)), StringComparison.Ordinal);
            again.Kill();
            again.WaitForExit();
        }
    }

    [Theory]
    [InlineData("server --bind nonsense", 2, "invalid bind address")]
    [InlineData("server --bind 0.0.0.0:19999", 2, "refusing auth_strategy=noauth")]
    [InlineData("server --database mysql://x", 2, "unsupported database URL")]
    [InlineData("server --auth-strategy keystone", 2, "keystone")]
    [InlineData("server --frobnicate", 2, "unknown option")]
    [InlineData("agent", 2, "--config-file")]
    [InlineData("bogus", 2, "unknown command")]
    public void Bad_invocations_are_one_line_errors(string args, int exit, string message)
    {
        var (code, _, error) = Run(args.Split(' '));
        Assert.Equal(exit, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Version_and_agent_config_errors()
    {
        Assert.Equal("l2gw 2026.2.0", Run("--version").Out.Trim());
        var ini = Path.Combine(dir, "agent.ini");
        File.WriteAllText(ini, "[ovsdb]\novsdb_hosts = tor1:127.0.0.1\n");
        var (code, _, error) = Run("agent", "--config-file", ini);
        Assert.Equal(2, code);
        Assert.Contains("name:ip:port", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_embedded_agent_reports_with_the_service_users_credentials_under_keystone()
    {
        var port = FreePort();
        var keystone = L2Gateway.Testing.OpenStackLab.KeystoneUrl.ToString();
        var ini = Path.Combine(dir, "l2gw.ini");
        (string, string, string)[] common =
        [
            ("DEFAULT", "auth_strategy", "keystone"),
            ("DEFAULT", "bind", $"127.0.0.1:{port}"),
            ("DEFAULT", "host", "embedded-ks"),
            ("database", "connection", $"sqlite:///{dir.TrimStart('/')}/l2gw.sqlite"),
            ("keystone_authtoken", "www_authenticate_uri", keystone),
            ("ovsdb", "ovsdb_hosts", $"tor1:127.0.0.1:{FreePort()}"),
            ("ovsdb", "periodic_interval", "1"),
        ];

        // Without credentials the embedded agent could not report: refused at start, in one line.
        File.WriteAllText(ini, L2Gateway.Testing.OpenStackLab.Ini(common));
        var (code, _, error) = Run("server", "--config-file", ini);
        Assert.Equal(2, code);
        Assert.Contains("[keystone_authtoken] username", error, StringComparison.Ordinal);

        File.WriteAllText(ini, L2Gateway.Testing.OpenStackLab.Ini(
        [
            .. common,
            ("keystone_authtoken", "auth_url", keystone),
            ("keystone_authtoken", "username", "neutron"),
            ("keystone_authtoken", "password", "osv-neutron"),
            ("keystone_authtoken", "project_name", "service"),
        ]));
        using var server = Start("server", "--config-file", ini);
        try
        {
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Add("X-Auth-Token", await L2Gateway.Testing.OpenStackLab.IssueTokenAsync("admin"));
            var url = $"http://127.0.0.1:{port}/v2.0/agents?host=embedded-ks";
            await WaitForAsync(http, url);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(await http.GetStringAsync(new Uri(url))).Contains("\"alive\":true", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the embedded agent never showed up alive in /v2.0/agents");
                await Task.Delay(200);
            }
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
        }
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
