using L2Gateway.Testing;

namespace L2Gateway.Packaging.Tests;

/// <summary>
/// The client as a .NET tool: installed from artifacts/ with a version range that pins the release series, which a
/// build of the next series in the same source does not satisfy.
/// </summary>
[Collection("packages")]
public sealed class ToolPackageTests : IDisposable
{
    private readonly string scratch = Path.Combine(Path.GetTempPath(), "l2gw-tool-" + Guid.NewGuid().ToString("N")[..8]);

    public ToolPackageTests() => Directory.CreateDirectory(scratch);

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    [Fact]
    public async Task A_series_range_installs_this_release_and_not_the_next_series()
    {
        await Artifacts.BuildAsync("tool");
        var version = Version.Parse(Artifacts.Version);
        var series = $"[{version.Major}.{version.Minor}.0,{version.Major}.{version.Minor + 1}.0)";
        var next = $"{version.Major}.{version.Minor + 1}.0";
        var nupkg = $"l2gw.{Artifacts.Version}.nupkg";
        Assert.True(File.Exists(Path.Combine(Artifacts.Directory, nupkg)), $"{nupkg} is not in artifacts/");

        // From artifacts/ as it is.
        Assert.Equal($"l2gw {Artifacts.Version}", await InstallAndRunAsync("from-artifacts", Artifacts.Directory, series));

        // One source holding this release and a build of the smallest version past the range.
        var source = Path.Combine(scratch, "source");
        await Artifacts.PackageAsync(next, Path.Combine(scratch, "next"), "tool");
        Directory.CreateDirectory(source);
        File.Copy(Path.Combine(Artifacts.Directory, nupkg), Path.Combine(source, nupkg));
        File.Copy(Path.Combine(scratch, "next", $"l2gw.{next}.nupkg"), Path.Combine(source, $"l2gw.{next}.nupkg"));
        Assert.Equal($"l2gw {Artifacts.Version}", await InstallAndRunAsync("pinned", source, series));
        Assert.Equal($"l2gw {next}", await InstallAndRunAsync("latest", source, version: null));
    }

    /// <summary>Installs the tool into a directory of its own and returns what its <c>--version</c> prints.</summary>
    private async Task<string> InstallAndRunAsync(string name, string source, string? version)
    {
        var toolPath = Path.Combine(scratch, name);
        string[] args = ["tool", "install", "--tool-path", toolPath, "--add-source", source, "l2gw", .. version is null ? [] : new[] { "--version", version }];
        var install = await ChildProcess.RunAsync("dotnet", args, TimeSpan.FromMinutes(5), start =>
        {
            // A package cache of its own: the machine's would keep the first l2gw of each version it ever saw.
            start.Environment["NUGET_PACKAGES"] = Path.Combine(scratch, "packages");
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        });
        Assert.True(install.Exit == 0, $"dotnet {string.Join(' ', args)}: {install.Out}{install.Err}");
        var run = await ChildProcess.RunAsync(Path.Combine(toolPath, "l2gw"), ["--version"], TimeSpan.FromMinutes(1));
        Assert.True(run.Exit == 0, run.Err);
        return run.Out.Trim();
    }
}
