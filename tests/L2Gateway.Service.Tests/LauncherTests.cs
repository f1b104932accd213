using L2Gateway.Testing;

namespace L2Gateway.Service.Tests;

/// <summary>
/// The root ./l2gw launcher, run on a small copy of the tree with a stand-in <c>dotnet</c> that records each publish
/// (a real build takes a minute): when it builds, when it does not, and that two first runs at once build once.
/// </summary>
public sealed class LauncherTests : IDisposable
{
    private readonly string tree = Path.Combine(Path.GetTempPath(), "l2gw-launcher-" + Guid.NewGuid().ToString("N")[..8]);

    public LauncherTests()
    {
        var root = FindRoot();
        Directory.CreateDirectory(Path.Combine(tree, "bin"));
        File.Copy(Path.Combine(root, "l2gw"), Path.Combine(tree, "l2gw"));
        File.Copy(Path.Combine(root, "Directory.Build.props"), Path.Combine(tree, "Directory.Build.props"));
        File.Copy(Path.Combine(root, "Directory.Packages.props"), Path.Combine(tree, "Directory.Packages.props"));
        foreach (var project in new[] { "Service", "Cli" })
        {
            Write($"src/L2Gateway.{project}/L2Gateway.{project}.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");
            Write($"src/L2Gateway.{project}/Program.cs", "class Program { static void Main() { } }\n");
        }

        Write("src/L2Gateway.Service/Extra.cs", "class Extra { }\n");

        // Publishes into -o: two programs that say how they were run; each publish is one line of builds.log.
        Write("bin/dotnet", """
            #!/bin/sh
            out=""; prev=""
            for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
            echo "$2" >> "$(dirname "$0")/../builds.log"
            sleep 1
            mkdir -p "$out"
            printf '#!/bin/sh\necho "$(basename "$0") $*"\n' > "$out/l2gw-service"
            cp "$out/l2gw-service" "$out/l2gw"
            chmod +x "$out/l2gw-service" "$out/l2gw"
            """);
        Assert.Equal(0, ChildProcess.Run("chmod", ["+x", Path.Combine(tree, "bin/dotnet")], TimeSpan.FromMinutes(1)).Exit);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "L2Gateway.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private void Write(string path, string text)
    {
        var full = Path.Combine(tree, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    private int Builds => File.Exists(Path.Combine(tree, "builds.log")) ? File.ReadAllLines(Path.Combine(tree, "builds.log")).Length / 2 : 0;

    private Task<ProcessResult> LaunchAsync(bool checkOnly, params string[] args) =>
        ChildProcess.RunAsync("bash", [Path.Combine(tree, "l2gw"), .. args], TimeSpan.FromMinutes(1), start =>
        {
            start.Environment["PATH"] = Path.Combine(tree, "bin") + ":" + start.Environment["PATH"];
            start.Environment.Remove("L2GW_CHECK_ONLY");
            if (checkOnly)
            {
                start.Environment["L2GW_CHECK_ONLY"] = "1";
            }
        });

    private async Task<string> CheckAsync()
    {
        var result = await LaunchAsync(checkOnly: true);
        Assert.True(result.Exit == 0, result.Err);
        return result.Out.Trim();
    }

    private async Task<string> RunAsync(params string[] args)
    {
        var result = await LaunchAsync(checkOnly: false, args);
        Assert.True(result.Exit == 0, result.Err);
        return result.Out.Trim();
    }

    [Fact]
    public async Task Builds_when_a_source_file_is_added_deleted_or_edited_and_only_then()
    {
        Assert.Equal("stale", await CheckAsync());
        Assert.Equal("l2gw list", await RunAsync("list"));
        Assert.Equal(1, Builds);
        Assert.Equal("fresh", await CheckAsync());
        Assert.Equal("l2gw-service server --bind 127.0.0.1:0", await RunAsync("server", "--bind", "127.0.0.1:0"));
        Assert.Equal(1, Builds);

        // What the build itself writes under src (obj/, bin/) is not a source.
        Write("src/L2Gateway.Service/obj/Release/Generated.cs", "// generated\n");
        Write("src/L2Gateway.Service/bin/Release/x.cs", "// output\n");
        Assert.Equal("fresh", await CheckAsync());

        // A deleted file is older than any stamp, yet the sources changed.
        File.Delete(Path.Combine(tree, "src/L2Gateway.Service/Extra.cs"));
        Assert.Equal("stale", await CheckAsync());
        await RunAsync("list");
        Assert.Equal(2, Builds);
        Assert.Equal("fresh", await CheckAsync());

        // An added file, even one with an old modification time.
        Write("src/L2Gateway.Service/Added.cs", "class Added { }\n");
        File.SetLastWriteTimeUtc(Path.Combine(tree, "src/L2Gateway.Service/Added.cs"), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.Equal("stale", await CheckAsync());
        await RunAsync("list");
        Assert.Equal(3, Builds);

        // An edited file, and an edited Directory.Build.props.
        Write("src/L2Gateway.Cli/Program.cs", "class Program { static void Main() { System.Console.WriteLine(); } }\n");
        Assert.Equal("stale", await CheckAsync());
        await RunAsync("list");
        File.AppendAllText(Path.Combine(tree, "Directory.Build.props"), "\n");
        Assert.Equal("stale", await CheckAsync());
        await RunAsync("list");
        Assert.Equal(5, Builds);
        Assert.Equal("fresh", await CheckAsync());
    }

    [Fact]
    public async Task Two_first_runs_at_once_build_once()
    {
        // Both started by one shell, so that they really run at once.
        var l2gw = Path.Combine(tree, "l2gw");
        var result = await ChildProcess.RunAsync("bash", ["-c", $"{l2gw} list & {l2gw} server & wait"], TimeSpan.FromMinutes(1), start =>
        {
            start.Environment["PATH"] = Path.Combine(tree, "bin") + ":" + start.Environment["PATH"];
            start.Environment.Remove("L2GW_CHECK_ONLY");
        });
        Assert.True(result.Exit == 0, result.Err);
        Assert.Equal(["l2gw list", "l2gw-service server"], result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Equal(1, Builds);
        Assert.Contains("waiting for another l2gw run", result.Err, StringComparison.Ordinal);
        Assert.Equal("fresh", await CheckAsync());
    }

    public void Dispose() => Directory.Delete(tree, recursive: true);
}
