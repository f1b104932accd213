using System.Diagnostics;

namespace L2Gateway.Testing;

/// <summary>
/// Where PostgreSQL's server programs (initdb, pg_ctl) are, whatever version is installed: <c>pg_config --bindir</c>
/// when that directory has initdb (pg_config may belong to a client library of another version), else the highest
/// <c>/usr/lib/postgresql/VERSION/bin</c> that has it.
/// </summary>
internal static class PostgresBinaries
{
    private static readonly Lazy<string> Found = new(Find);

    /// <summary>The directory; throws with what was looked at when there is none.</summary>
    public static string Directory => Found.Value;

    private static string Find()
    {
        if (FromPgConfig() is { } bindir && HasInitdb(bindir))
        {
            return bindir;
        }

        const string Root = "/usr/lib/postgresql";
        var versions = System.IO.Directory.Exists(Root) ? System.IO.Directory.GetDirectories(Root) : [];
        var best = versions
            .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: ParseVersion(Path.GetFileName(dir))))
            .Where(x => x.Version is not null && HasInitdb(x.Dir))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Dir)
            .FirstOrDefault();
        return best ?? throw new InvalidOperationException(
            $"PostgreSQL's server programs were not found: pg_config --bindir has no initdb and no {Root}/*/bin has it (install postgresql)");
    }

    /// <summary>"15" or "9.6" (directory names sort wrongly as text: "9.6" after "15").</summary>
    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var version) ? version : null;

    private static bool HasInitdb(string dir) => File.Exists(Path.Combine(dir, "initdb"));

    private static string? FromPgConfig()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("pg_config", ["--bindir"]) { RedirectStandardOutput = true, RedirectStandardError = true });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            return process.ExitCode == 0 ? output.Result.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No pg_config on this machine.
            return null;
        }
    }
}
