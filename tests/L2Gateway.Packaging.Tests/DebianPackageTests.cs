using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using L2Gateway.Testing;

namespace L2Gateway.Packaging.Tests;

/// <summary>
/// The Debian packages on this machine, as an operator uses them: installed with dpkg, the installed server run as
/// the l2gw user with the installed configuration, the installed clients against it, then removed and purged. The
/// tests run as root; whatever happens, the packages are purged at the end.
/// </summary>
[Collection("packages")]
public sealed class DebianPackageTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);
    private static readonly string[] Packages = ["l2gw", "l2gw-server"];

    /// <summary>Where a package or its scripts could leave something: searched for names containing "l2gw".</summary>
    private static readonly string[] SystemDirectories = ["/etc", "/usr", "/lib", "/var/lib", "/var/cache", "/var/log", "/opt", "/srv"];

    private static string Deb(string package) => Path.Combine(Artifacts.Directory, $"{package}_{Artifacts.Version}_{Architecture()}.deb");

    private static string Architecture() => Run("dpkg", "--print-architecture").Out.Trim();

    [Fact]
    public async Task Installed_server_and_clients_work_and_a_purge_leaves_nothing()
    {
        await Artifacts.BuildAsync("deb");
        foreach (var package in Packages)
        {
            Assert.False(IsKnownToDpkg(package), $"{package} is already installed here; this test installs and purges it (dpkg --purge {package})");
        }

        Assert.False(Run("getent", "passwd", "l2gw").Exit == 0, "a user l2gw exists already; this test creates and removes it");
        var before = NamesWithL2gw();
        var owned = new List<string>();
        try
        {
            var install = Run("dpkg", "-i", Deb("l2gw"), Deb("l2gw-server"));
            var fix = Run("apt-get", "-f", "install", "-y", "-q");
            Assert.True(install.Exit == 0, $"dpkg -i: {install.Out}{install.Err}\napt-get -f install: {fix.Out}{fix.Err}");
            foreach (var package in Packages)
            {
                owned.AddRange(Run("dpkg-query", "-L", package).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            AssertInstalledLayout();
            await AssertServerAndClientsWorkAsync();
            AssertRemoveKeepsConfigurationAndData();
        }
        finally
        {
            var purge = Run("dpkg", ["--purge", .. Packages]);
            Assert.True(purge.Exit == 0, $"dpkg --purge: {purge.Out}{purge.Err}");
        }

        foreach (var package in Packages)
        {
            Assert.False(IsKnownToDpkg(package), $"{package} is still known to dpkg after the purge");
        }

        Assert.NotEqual(0, Run("getent", "passwd", "l2gw").Exit);
        Assert.NotEqual(0, Run("getent", "group", "l2gw").Exit);
        Assert.Empty(NamesWithL2gw().Except(before));
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
        var lintian = Run("lintian", "--fail-on", "error", "--suppress-tags", "bogus-mail-host,bogus-mail-host-in-debian-changelog", Deb("l2gw"), Deb("l2gw-server"));
        Assert.True(lintian.Exit == 0, $"lintian: {lintian.Out}{lintian.Err}");
        Assert.DoesNotContain("E: ", lintian.Out, StringComparison.Ordinal);
    }

    private static void AssertInstalledLayout()
    {
        var version = $"l2gw {Artifacts.Version}";
        Assert.Equal(version, Run("/usr/bin/l2gw", "--version").Out.Trim());
        Assert.Equal(version, Run("/usr/bin/neutron-l2gw", "--version").Out.Trim());
        Assert.Equal(version, Run("/usr/bin/l2gw-service", "--version").Out.Trim());
        foreach (var package in Packages)
        {
            Assert.Equal(Artifacts.Version, Run("dpkg-query", "-W", "-f=${Version}", package).Out);
        }

        // A system account with no login, owning the data directory; the configuration readable by it only.
        var user = Run("getent", "passwd", "l2gw").Out.Trim().Split(':');
        Assert.True(int.Parse(user[2], System.Globalization.CultureInfo.InvariantCulture) < 1000, $"l2gw is not a system user: {string.Join(':', user)}");
        Assert.Equal("/var/lib/l2gw", user[5]);
        Assert.Equal("/usr/sbin/nologin", user[6]);
        Assert.Equal("l2gw l2gw 750", Run("stat", "-c", "%U %G %a", "/var/lib/l2gw").Out.Trim());
        foreach (var file in new[] { "/etc/l2gw/l2gw.ini", "/etc/l2gw/l2gateway_agent.ini" })
        {
            Assert.Equal("root l2gw 640", Run("stat", "-c", "%U %G %a", file).Out.Trim());
        }

        var conffiles = Run("dpkg-query", "-W", "-f=${Conffiles}", "l2gw-server").Out;
        Assert.Contains("/etc/l2gw/l2gw.ini", conffiles, StringComparison.Ordinal);
        Assert.Contains("/etc/l2gw/l2gateway_agent.ini", conffiles, StringComparison.Ordinal);

        // The units as systemd reads them (their binaries, users and directives); installed, neither enabled nor started.
        var verify = Run("systemd-analyze", "verify", "/lib/systemd/system/l2gw-server.service", "/lib/systemd/system/l2gw-agent.service");
        Assert.True(verify.Exit == 0 && verify.Err.Trim().Length == 0, $"systemd-analyze verify: {verify.Out}{verify.Err}");
        Assert.DoesNotContain(NamesWithL2gw(), p => p.StartsWith("/etc/systemd/", StringComparison.Ordinal));
    }

    private static async Task AssertServerAndClientsWorkAsync()
    {
        var port = FreePort();
        var endpoint = $"http://127.0.0.1:{port}";

        // The installed agent reads its installed configuration and refuses to run without a switch.
        var agent = RunAsL2gw("/usr/bin/l2gw-service", "agent", "--config-file", "/etc/l2gw/l2gateway_agent.ini");
        Assert.Equal(2, agent.Exit);
        Assert.Contains("ovsdb_hosts lists no switch", agent.Err, StringComparison.Ordinal);

        var upgrade = RunAsL2gw("/usr/bin/l2gw-service", "db", "upgrade", "--config-file", "/etc/l2gw/l2gw.ini");
        Assert.True(upgrade.Exit == 0, upgrade.Err);
        Assert.Contains("sqlite:///var/lib/l2gw/l2gw.sqlite is at the latest schema", upgrade.Out, StringComparison.Ordinal);

        // The unit's command line, as the unit's user, on a free port instead of the configured one.
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/var/lib/l2gw",
        };
        foreach (var arg in (string[])["--reuid=l2gw", "--regid=l2gw", "--init-groups", "/usr/bin/l2gw-service", "server", "--config-file", "/etc/l2gw/l2gw.ini", "--bind", $"127.0.0.1:{port}"])
        {
            start.ArgumentList.Add(arg);
        }

        using var server = Process.Start(start)!;
        var stderr = server.StandardError.ReadToEndAsync();
        try
        {
            string? line;
            while ((line = await server.StandardOutput.ReadLineAsync().WaitAsync(Deadline)) is not null && !line.Contains("l2gw server listening on", StringComparison.Ordinal))
            {
            }

            Assert.True(line is not null, $"the installed server stopped before listening: {await stderr}");
            Assert.Contains("database sqlite:///var/lib/l2gw/l2gw.sqlite", line, StringComparison.Ordinal);
            var stdout = server.StandardOutput.ReadToEndAsync();

            var created = Run("/usr/bin/l2gw", "--os-endpoint", endpoint, "create", "pkg-gw1", "--device", "name=pkg-sw1,interface_names=eth1|100", "-f", "value", "-c", "Name");
            Assert.True(created.Exit == 0, created.Err);
            Assert.Equal("pkg-gw1", created.Out.Trim());
            var legacy = Run("/usr/bin/neutron-l2gw", "--os-endpoint", endpoint, "l2-gateway-create", "pkg-gw2", "--device", "name=pkg-sw2,interface_names=eth2|200");
            Assert.True(legacy.Exit == 0, legacy.Err);

            var listed = Run("/usr/bin/neutron-l2gw", "--os-endpoint", endpoint, "l2-gateway-list", "-f", "value", "-c", "Name");
            Assert.True(listed.Exit == 0, listed.Err);
            Assert.Equal(["pkg-gw1", "pkg-gw2"], listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
            var shown = Run("/usr/bin/l2gw", "--os-endpoint", endpoint, "show", "pkg-gw2", "-f", "value", "-c", "Devices");
            Assert.True(shown.Exit == 0, shown.Err);
            Assert.Contains("pkg-sw2", shown.Out, StringComparison.Ordinal);

            Assert.Equal(0, kill(server.Id, Sigterm));
            await server.WaitForExitAsync().WaitAsync(Deadline);
            Assert.True(server.ExitCode == 0, $"exit {server.ExitCode} after SIGTERM: {await stderr}");
            Assert.Contains("POST /v2.0/l2-gateways 201", await stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }

        Assert.Equal("l2gw l2gw", Run("stat", "-c", "%U %G", "/var/lib/l2gw/l2gw.sqlite").Out.Trim());
    }

    private static void AssertRemoveKeepsConfigurationAndData()
    {
        var remove = Run("dpkg", ["--remove", .. Packages]);
        Assert.True(remove.Exit == 0, $"dpkg --remove: {remove.Out}{remove.Err}");
        Assert.False(File.Exists("/usr/bin/l2gw-service"), "the program stays after dpkg --remove");
        Assert.False(File.Exists("/usr/bin/l2gw"), "the client stays after dpkg --remove");
        Assert.True(File.Exists("/etc/l2gw/l2gw.ini"), "dpkg --remove took the configuration");
        Assert.True(File.Exists("/var/lib/l2gw/l2gw.sqlite"), "dpkg --remove took the database");
        Assert.Equal(0, Run("getent", "passwd", "l2gw").Exit);
        Assert.Contains("config-files", Run("dpkg-query", "-W", "-f=${Status}", "l2gw-server").Out, StringComparison.Ordinal);
    }

    private static bool IsKnownToDpkg(string package)
    {
        var status = Run("dpkg-query", "-W", "-f=${Status}", package);
        return status.Exit == 0 && !status.Out.Contains("not-installed", StringComparison.Ordinal);
    }

    private static HashSet<string> NamesWithL2gw()
    {
        var found = Run("find", [.. SystemDirectories.Where(Directory.Exists), "-xdev", "-name", "*l2gw*"]);
        return [.. found.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static ProcessResult RunAsL2gw(string program, params string[] args) =>
        Run("setpriv", ["--reuid=l2gw", "--regid=l2gw", "--init-groups", program, .. args]);

    private static ProcessResult Run(string program, params string[] args) =>
        ChildProcess.Run(program, args, Deadline, start =>
        {
            start.WorkingDirectory = "/";
            start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        });

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
