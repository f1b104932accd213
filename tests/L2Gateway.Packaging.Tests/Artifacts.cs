using System.Text.RegularExpressions;
using L2Gateway.Testing;

namespace L2Gateway.Packaging.Tests;

/// <summary>
/// The release artifacts, built by the launcher (<c>./l2gw package KIND</c>) into the checkout's <c>artifacts/</c>:
/// each kind once per test run, when a test first needs it.
/// </summary>
internal static class Artifacts
{
    private static readonly Dictionary<string, Lazy<Task>> Builds = new()
    {
        ["deb"] = new(() => PackageAsync(null, Directory, "deb")),
        ["nuget"] = new(() => PackageAsync(null, Directory, "nuget")),
        ["tool"] = new(() => PackageAsync(null, Directory, "tool")),
    };

    public static string Root => SourceTree.Root;

    public static string Directory => Path.Combine(Root, "artifacts");

    /// <summary>The one version of the checkout: VersionPrefix in Directory.Build.props.</summary>
    public static string Version { get; } = Regex.Match(
        File.ReadAllText(Path.Combine(Root, "Directory.Build.props")), "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;

    public static Task BuildAsync(string kind) => Builds[kind].Value;

    /// <summary>Runs <c>./l2gw package</c> for <paramref name="kinds"/>, with another version when one is given.</summary>
    public static async Task PackageAsync(string? version, string output, params string[] kinds)
    {
        string[] args = [Path.Combine(Root, "l2gw"), "package", "--output", output, .. version is null ? [] : new[] { "--version", version }, .. kinds];
        var result = await ChildProcess.RunAsync("bash", args, TimeSpan.FromMinutes(15), start => start.Environment.Remove("L2GW_VERSION"));
        Assert.True(result.Exit == 0, $"./l2gw package {string.Join(' ', kinds)} failed ({result.Exit}):\n{result.Err}\n{result.Out}");
    }
}
