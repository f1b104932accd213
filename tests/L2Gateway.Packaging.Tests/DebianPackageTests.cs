using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using L2Gateway.Testing;
using Xunit.Abstractions;

namespace L2Gateway.Packaging.Tests;

/// <summary>
/// The Debian packages on this machine, as an operator uses them: installed with dpkg, the installed server run as
/// the l2gw user with the installed configuration, the installed clients against it, then removed and purged. The
/// tests run as root; whatever happens, the packages are purged at the end.
/// </summary>
[Collection("packages")]
public sealed class DebianPackageTests(ITestOutputHelper output)
{
    /// <summary>Every step's deadline: well inside the run's 5 minutes without a test event, so a stuck step still purges.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private static readonly string[] Packages = ["l2gw", "l2gw-server"];

    /// <summary>Where a package or its scripts could leave something: searched for names containing "l2gw".</summary>
    private static readonly string[] SystemDirectories = ["/etc", "/usr", "/lib", "/var/lib", "/var/cache", "/var/log", "/opt", "/srv"];

    private async Task<string> DebAsync(string package) => Path.Combine(Artifacts.Directory, $"{package}_{Artifacts.Version}_{await ArchitectureAsync()}.deb");

    private async Task<string> ArchitectureAsync() => (await RunAsync("dpkg", "--print-architecture")).Out.Trim();

    [Fact]
    public async Task Installed_server_and_clients_work_and_a_purge_leaves_nothing()
    {
        await Artifacts.BuildAsync("deb");
        foreach (var package in Packages)
        {
            Assert.False(await IsKnownToDpkgAsync(package), $"{package} is already installed here; this test installs and purges it (dpkg --purge {package})");
        }

        Assert.False((await RunAsync("getent", "passwd", "l2gw")).Exit == 0, "a user l2gw exists already; this test creates and removes it");
        var before = await NamesWithL2gwAsync();
        var owned = new List<string>();
        try
        {
            var install = await RunAsync("dpkg", "-i", await DebAsync("l2gw"), await DebAsync("l2gw-server"));
            var fix = await RunAsync("apt-get", "-f", "install", "-y", "-q");
            Assert.True(install.Exit == 0, $"dpkg -i: {install.Out}{install.Err}\napt-get -f install: {fix.Out}{fix.Err}");
            foreach (var package in Packages)
            {
                owned.AddRange((await RunAsync("dpkg-query", "-L", package)).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            await AssertInstalledLayoutAsync();
            await AssertServerAndClientsWorkAsync();
            await AssertRemoveKeepsConfigurationAndDataAsync();
        }
        finally
        {
            var purge = await RunAsync("dpkg", ["--purge", .. Packages]);
            Assert.True(purge.Exit == 0, $"dpkg --purge: {purge.Out}{purge.Err}");
        }

        foreach (var package in Packages)
        {
            Assert.False(await IsKnownToDpkgAsync(package), $"{package} is still known to dpkg after the purge");
        }

        Assert.NotEqual(0, (await RunAsync("getent", "passwd", "l2gw")).Exit);
        Assert.NotEqual(0, (await RunAsync("getent", "group", "l2gw")).Exit);
        Assert.Empty((await NamesWithL2gwAsync()).Except(before));
        Assert.DoesNotContain(owned, p => Path.Exists(p) && !Directory.Exists(p));
        Assert.False(Directory.Exists("/etc/l2gw"), "/etc/l2gw is left");
        Assert.False(Directory.Exists("/var/lib/l2gw"), "/var/lib/l2gw is left");
        Assert.False(Directory.Exists("/usr/lib/l2gw"), "/usr/lib/l2gw is left");
    }

    /// <summary>Debian's policy checker finds no error; the placeholder maintainer address is set by DEBEMAIL at release.</summary>
    [Fact]
    public async Task Lintian_finds_no_error()
    {
        await Artifacts.BuildAsync("deb");
        var lintian = await RunAsync("lintian", "--fail-on", "error", "--suppress-tags", "bogus-mail-host,bogus-mail-host-in-debian-changelog", await DebAsync("l2gw"), await DebAsync("l2gw-server"));
        Assert.True(lintian.Exit == 0, $"lintian: {lintian.Out}{lintian.Err}");
        Assert.DoesNotContain("E: ", lintian.Out, StringComparison.Ordinal);
    }

    private async Task AssertInstalledLayoutAsync()
    {
        var version = $"l2gw {Artifacts.Version}";
        Assert.Equal(version, (await RunAsync("/usr/bin/l2gw", "--version")).Out.Trim());
        Assert.Equal(version, (await RunAsync("/usr/bin/neutron-l2gw", "--version")).Out.Trim());
        Assert.Equal(version, (await RunAsync("/usr/bin/l2gw-service", "--version")).Out.Trim());
        foreach (var package in Packages)
        {
            Assert.Equal(Artifacts.Version, (await RunAsync("dpkg-query", "-W", "-f=${Version}", package)).Out);
        }

        Assert.Contains("complete -F _l2gw l2gw", await File.ReadAllTextAsync("/usr/share/bash-completion/completions/l2gw"), StringComparison.Ordinal);

        // A system account with no login, owning the data directory; the configuration readable by it only.
        var user = (await RunAsync("getent", "passwd", "l2gw")).Out.Trim().Split(':');
        Assert.True(int.Parse(user[2], System.Globalization.CultureInfo.InvariantCulture) < 1000, $"l2gw is not a system user: {string.Join(':', user)}");
        Assert.Equal("/var/lib/l2gw", user[5]);
        Assert.Equal("/usr/sbin/nologin", user[6]);
        Assert.Equal("l2gw l2gw 750", (await RunAsync("stat", "-c", "%U %G %a", "/var/lib/l2gw")).Out.Trim());
        foreach (var file in new[] { "/etc/l2gw/l2gw.ini", "/etc/l2gw/l2gateway_agent.ini" })
        {
            Assert.Equal("root l2gw 640", (await RunAsync("stat", "-c", "%U %G %a", file)).Out.Trim());
        }

        var conffiles = (await RunAsync("dpkg-query", "-W", "-f=${Conffiles}", "l2gw-server")).Out;
        Assert.Contains("/etc/l2gw/l2gw.ini", conffiles, StringComparison.Ordinal);
        Assert.Contains("/etc/l2gw/l2gateway_agent.ini", conffiles, StringComparison.Ordinal);

        // The units as systemd reads them (their binaries, users and directives); installed, neither enabled nor started.
        var verify = await RunAsync("systemd-analyze", "verify", "/lib/systemd/system/l2gw-server.service", "/lib/systemd/system/l2gw-agent.service");
        Assert.True(verify.Exit == 0 && verify.Err.Trim().Length == 0, $"systemd-analyze verify: {verify.Out}{verify.Err}");
        Assert.DoesNotContain(await NamesWithL2gwAsync(), p => p.StartsWith("/etc/systemd/", StringComparison.Ordinal));
    }

    private async Task AssertServerAndClientsWorkAsync()
    {
        var port = FreePort();
        var endpoint = $"http://127.0.0.1:{port}";

        // The installed agent reads its installed configuration and refuses to run without a switch.
        var agent = await RunAsL2gwAsync("/usr/bin/l2gw-service", "agent", "--config-file", "/etc/l2gw/l2gateway_agent.ini");
        Assert.Equal(2, agent.Exit);
        Assert.Contains("ovsdb_hosts lists no switch", agent.Err, StringComparison.Ordinal);

        var upgrade = await RunAsL2gwAsync("/usr/bin/l2gw-service", "db", "upgrade", "--config-file", "/etc/l2gw/l2gw.ini");
        Assert.True(upgrade.Exit == 0, upgrade.Err);
        Assert.Contains("sqlite:///var/lib/l2gw/l2gw.sqlite is at the latest schema", upgrade.Out, StringComparison.Ordinal);

        // The unit's command line, as the unit's user, on a free port instead of the configured one.
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/var/lib/l2gw",
        };
        foreach (var arg in (string[])["--reuid=l2gw", "--regid=l2gw", "--init-groups", "/usr/bin/l2gw-service", "server", "--config-file", "/etc/l2gw/l2gw.ini", "--bind", $"127.0.0.1:{port}"])
        {
            start.ArgumentList.Add(arg);
        }

        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new Process { StartInfo = start };
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
                if (line.Contains("l2gw server listening on", StringComparison.Ordinal))
                {
                    listening.TrySetResult(line);
                }
            }
        };
        server.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
            }
        };
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} starting the installed server on port {port}");
        server.Start();
        server.StandardInput.Close();
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var exited = server.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited).WaitAsync(Deadline);
            Assert.True(first == listening.Task, $"the installed server stopped before listening:\n{string.Join('\n', log)}");
            Assert.Contains("database sqlite:///var/lib/l2gw/l2gw.sqlite", await listening.Task, StringComparison.Ordinal);

            var created = await RunAsync("/usr/bin/l2gw", "--os-endpoint", endpoint, "create", "pkg-gw1", "--device", "name=pkg-sw1,interface_names=eth1|100", "-f", "value", "-c", "Name");
            Assert.True(created.Exit == 0, created.Err);
            Assert.Equal("pkg-gw1", created.Out.Trim());
            var legacy = await RunAsync("/usr/bin/neutron-l2gw", "--os-endpoint", endpoint, "l2-gateway-create", "pkg-gw2", "--device", "name=pkg-sw2,interface_names=eth2|200");
            Assert.True(legacy.Exit == 0, legacy.Err);

            var listed = await RunAsync("/usr/bin/neutron-l2gw", "--os-endpoint", endpoint, "l2-gateway-list", "-f", "value", "-c", "Name");
            Assert.True(listed.Exit == 0, listed.Err);
            Assert.Equal(["pkg-gw1", "pkg-gw2"], listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
            var shown = await RunAsync("/usr/bin/l2gw", "--os-endpoint", endpoint, "show", "pkg-gw2", "-f", "value", "-c", "Devices");
            Assert.True(shown.Exit == 0, shown.Err);
            Assert.Contains("pkg-sw2", shown.Out, StringComparison.Ordinal);

            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} SIGTERM to {server.Id}");
            Assert.Equal(0, kill(server.Id, Sigterm));
            await exited.WaitAsync(Deadline);
            Assert.True(server.ExitCode == 0, $"exit {server.ExitCode} after SIGTERM:\n{string.Join('\n', log)}");
            Assert.Contains(log, l => l.Contains("POST /v2.0/l2-gateways 201", StringComparison.Ordinal));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }

        Assert.Equal("l2gw l2gw", (await RunAsync("stat", "-c", "%U %G", "/var/lib/l2gw/l2gw.sqlite")).Out.Trim());
    }

    private async Task AssertRemoveKeepsConfigurationAndDataAsync()
    {
        var remove = await RunAsync("dpkg", ["--remove", .. Packages]);
        Assert.True(remove.Exit == 0, $"dpkg --remove: {remove.Out}{remove.Err}");
        Assert.False(File.Exists("/usr/bin/l2gw-service"), "the program stays after dpkg --remove");
        Assert.False(File.Exists("/usr/bin/l2gw"), "the client stays after dpkg --remove");
        Assert.True(File.Exists("/etc/l2gw/l2gw.ini"), "dpkg --remove took the configuration");
        Assert.True(File.Exists("/var/lib/l2gw/l2gw.sqlite"), "dpkg --remove took the database");
        Assert.Equal(0, (await RunAsync("getent", "passwd", "l2gw")).Exit);
        Assert.Contains("config-files", (await RunAsync("dpkg-query", "-W", "-f=${Status}", "l2gw-server")).Out, StringComparison.Ordinal);
    }

    private async Task<bool> IsKnownToDpkgAsync(string package)
    {
        var status = await RunAsync("dpkg-query", "-W", "-f=${Status}", package);
        return status.Exit == 0 && !status.Out.Contains("not-installed", StringComparison.Ordinal);
    }

    private async Task<HashSet<string>> NamesWithL2gwAsync()
    {
        var found = await RunAsync("find", [.. SystemDirectories.Where(Directory.Exists), "-xdev", "-name", "*l2gw*"]);
        return [.. found.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private Task<ProcessResult> RunAsL2gwAsync(string program, params string[] args) =>
        RunAsync("setpriv", ["--reuid=l2gw", "--regid=l2gw", "--init-groups", program, .. args]);

    private Task<ProcessResult> RunAsync(string program, params string[] args)
    {
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {program} {string.Join(' ', args)}");
        return ChildProcess.RunAsync(program, args, Deadline, start =>
        {
            start.WorkingDirectory = "/";
            start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private const int Sigterm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
