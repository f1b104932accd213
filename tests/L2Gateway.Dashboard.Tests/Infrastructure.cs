using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using L2Gateway.Testing;
using Microsoft.Playwright;

namespace L2Gateway.Dashboard.Tests;

/// <summary>
/// A switch: a real <c>ovsdb-server</c> with the hardware_vtep schema on a free loopback port, its Physical_Switch
/// and ports written with <c>vtep-ctl</c> as a booting switch writes them, stopped by its PID.
/// </summary>
internal sealed class VtepSwitch : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-dash-sw-" + Guid.NewGuid().ToString("N")[..10]);
    private int pid;

    public VtepSwitch(string name, string tunnelIp, params string[] ports)
    {
        Name = name;
        TunnelIp = tunnelIp;
        Directory.CreateDirectory(dir);
        Run("ovsdb-tool", "create", Path.Combine(dir, "vtep.db"), "/usr/share/openvswitch/vtep.ovsschema");

        // --detach returns once the server listens, so nothing polls its port; the port the kernel chose for ptcp:0 is
        // in its log, and its PID in the pidfile.
        Run("ovsdb-server", Path.Combine(dir, "vtep.db"), "--remote=ptcp:0:127.0.0.1", $"--unixctl={dir}/ctl", $"--log-file={dir}/ovsdb.log",
            $"--pidfile={dir}/ovsdb.pid", "--detach", "--no-chdir", "-vconsole:off");
        pid = int.Parse(File.ReadAllText(Path.Combine(dir, "ovsdb.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var listening = Regex.Match(File.ReadAllText(Path.Combine(dir, "ovsdb.log")), "listening on port ([0-9]+)");
        Port = listening.Success
            ? int.Parse(listening.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            : throw new InvalidOperationException("ovsdb-server did not log its port");
        var commands = new List<string> { "add-ps", name, "--", "set", "Physical_Switch", name, $"tunnel_ips={tunnelIp}" };
        foreach (var port in ports)
        {
            commands.AddRange(["--", "add-port", name, port]);
        }

        Vtep([.. commands]);
    }

    public string Name { get; }

    public string TunnelIp { get; }

    public int Port { get; }

    public string Vtep(params string[] commands) => Run("vtep-ctl", [$"--db=tcp:127.0.0.1:{Port}", "--timeout=10", .. commands]);

    /// <summary>Kills the database by its PID, as a switch that loses power.</summary>
    public void Stop()
    {
        if (pid == 0)
        {
            return;
        }

        using var process = Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit();
        pid = 0;
    }

    private static string Run(string program, params string[] args)
    {
        var result = ChildProcess.Run(program, args, CommandTimeout);
        return result.Exit == 0 ? result.Out : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({result.Exit}): {result.Err}");
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        catch (ArgumentException)
        {
            // Already gone.
        }

        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// <c>l2gw-service server</c> as an operator runs it: a process with an INI file, on a port the kernel picks (read
/// from its "listening on" line), stopped by its PID.
/// </summary>
internal sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-dash-svc-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly Process process;
    private readonly StringBuilder log = new();
    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient http = new();

    /// <param name="ini">The configuration file's sections, without <c>[database]</c> and <c>bind</c> (the fixture's own).</param>
    private ServiceProcess(string ini)
    {
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "l2gw.ini");
        File.WriteAllText(file, $"[DEFAULT]\nbind = 127.0.0.1:0\n[database]\nconnection = sqlite:///{dir.TrimStart('/')}/l2gw.sqlite\n{ini}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"), "server", "--config-file", file })
        {
            start.ArgumentList.Add(arg);
        }

        process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("l2gw-service exited before listening:\n" + Log));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Url { get; private set; } = null!;

    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    public static async Task<ServiceProcess> StartAsync(string ini)
    {
        var service = new ServiceProcess(ini);
        service.Url = await service.listening.Task.WaitAsync(TimeSpan.FromMinutes(2));
        service.http.BaseAddress = service.Url;
        return service;
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } m)
        {
            listening.TrySetResult(new Uri(m.Groups[1].Value + "/"));
        }
    }

    [GeneratedRegex("l2gw server listening on (http://[^ ,]+)")]
    private static partial Regex ListeningLine();

    /// <summary>Runs the test's steps; a failure carries the service's log, which tells what the page could not.</summary>
    public async Task ExplainingFailuresAsync(Func<Task> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        try
        {
            await steps();
        }
        catch (Exception e) when (e is PlaywrightException or Xunit.Sdk.XunitException or TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n--- l2gw-service log ---\n{Log}");
        }
    }

    /// <summary>Calls the API (with <paramref name="token"/> under Keystone) and insists on success.</summary>
    public async Task<JsonNode> SendAsync(HttpMethod method, string path, string? json = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>Kills the service by its PID and waits for it to be gone.</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await StopAsync();
        process.Dispose();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>), driven by Playwright; one browser for the collection, a fresh
/// context (cookies, storage) per test. Expectations wait up to 30 s for the page to show what they expect.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: apt-get install chromium (run-tests installs it)");
        }

        Assertions.SetDefaultExpectTimeout(30_000);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

/// <summary>Where screenshots go: the test results directory of run-tests, and on request the docs.</summary>
internal static class Artifacts
{
    /// <summary>The repository: the folder above the tests' output that holds L2Gateway.slnx.</summary>
    public static string Repository => SourceTree.Root;

    /// <summary><c>$L2GW_TEST_RESULTS</c>, else run-tests' <c>.build/test-results</c>, in a folder of this project.</summary>
    public static string Directory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("L2GW_TEST_RESULTS") is { Length: > 0 } r ? r : Path.Combine(Repository, ".build", "test-results");
            var dir = Path.Combine(root, "L2Gateway.Dashboard.Tests");
            System.IO.Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Saves the whole page; with <c>L2GW_UPDATE_DOCS_IMAGES=1</c> also as <c>docs/images/DOCS_NAME</c>.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name, string? docsName = null)
    {
        var path = Path.Combine(Directory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        if (docsName is not null && Environment.GetEnvironmentVariable("L2GW_UPDATE_DOCS_IMAGES") == "1")
        {
            File.Copy(path, Path.Combine(Repository, "docs", "images", docsName), overwrite: true);
        }

        return path;
    }
}
