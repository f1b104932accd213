using L2Gateway.Testing;

namespace L2Gateway.Service.Tests;

/// <summary>The tests' program runner (tests/Shared/ChildProcess.cs): a bounded number at once, a deadline that kills.</summary>
public sealed class ChildProcessTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-child-" + Guid.NewGuid().ToString("N")[..8]);

    public ChildProcessTests() => Directory.CreateDirectory(dir);

    [Fact]
    public async Task A_program_past_its_deadline_is_killed_with_its_children_and_named()
    {
        var pidFile = Path.Combine(dir, "grandchild.pid");
        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            ChildProcess.RunAsync("sh", ["-c", $"sleep 300 & echo $! > {pidFile}; echo started; wait"], TimeSpan.FromSeconds(2)));
        Assert.Contains("sh -c sleep 300", error.Message, StringComparison.Ordinal);
        Assert.Contains("did not finish within 2 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("started", error.Message, StringComparison.Ordinal);

        // The grandchild went with it: kill waited for the tree, so it is gone (or a zombie being reaped) now.
        var pid = File.ReadAllText(pidFile).Trim();
        Assert.False(IsRunning(pid), $"sleep ({pid}) outlived the deadline");
    }

    [Fact]
    public async Task At_most_two_programs_run_at_once()
    {
        // Each program marks itself running in a directory, notes how many are marked, and unmarks itself.
        var running = Path.Combine(dir, "running");
        Directory.CreateDirectory(running);
        var script = $"touch {running}/$$; ls {running} | wc -l; sleep 0.3; rm {running}/$$";
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ChildProcess.RunAsync("sh", ["-c", script], TimeSpan.FromMinutes(1))));
        Assert.All(results, r => Assert.Equal(0, r.Exit));
        var most = results.Max(r => int.Parse(r.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(most, 1, ChildProcess.MaxConcurrent);
    }

    private static bool IsRunning(string pid) =>
        File.Exists($"/proc/{pid}/stat") && File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] != "Z";

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
