using System.Diagnostics;

namespace L2Gateway.Testing;

/// <summary>What a finished program printed and how it exited.</summary>
internal sealed record ProcessResult(int Exit, string Out, string Err);

/// <summary>
/// Runs the short-lived programs of the tests (the <c>openstack</c> client, initdb, pg_ctl, our binaries): at most
/// two at a time in a test assembly, since xunit runs classes in parallel and a burst of Python clients on two
/// cores makes every one of them late; and each under a deadline, after which the program and every process it
/// started are killed and the test fails saying which program did not finish.
/// </summary>
internal static class ChildProcess
{
    /// <summary>How many programs run at once; the deadline of each counts from its start, not from its turn.</summary>
    public const int MaxConcurrent = 2;

    private static readonly SemaphoreSlim Slots = new(MaxConcurrent, MaxConcurrent);

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> (no shell) to its end or its deadline.</summary>
    public static Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, Action<ProcessStartInfo>? configure = null)
    {
        var start = new ProcessStartInfo(program);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        configure?.Invoke(start);
        return RunAsync(start, timeout);
    }

    /// <summary>Runs <paramref name="start"/> (its output is captured) to its end or its deadline.</summary>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        await Slots.WaitAsync();
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Describe(start)}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw await KilledAsync(process, start, timeout, stdout, stderr);
            }

            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            Slots.Release();
        }
    }

    /// <summary>The same, for tests that are not async.</summary>
    public static ProcessResult Run(string program, IEnumerable<string> args, TimeSpan timeout, Action<ProcessStartInfo>? configure = null) =>
        Task.Run(() => RunAsync(program, args, timeout, configure)).GetAwaiter().GetResult();

    private static async Task<TimeoutException> KilledAsync(Process process, ProcessStartInfo start, TimeSpan timeout, Task<string> stdout, Task<string> stderr)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended between the deadline and the kill.
        }

        // What it printed so far, unless a descendant that escaped the kill still holds the pipes.
        var printed = Task.WhenAll(stdout, stderr);
        var output = await Task.WhenAny(printed, Task.Delay(TimeSpan.FromSeconds(5))) == printed
            ? $"\nstdout:\n{await stdout}\nstderr:\n{await stderr}"
            : "";
        return new TimeoutException(
            $"{Describe(start)} did not finish within {timeout.TotalSeconds:0} s; it was killed with its child processes{output}");
    }

    private static string Describe(ProcessStartInfo start) =>
        start.ArgumentList.Count > 0 ? $"{start.FileName} {string.Join(' ', start.ArgumentList)}" : $"{start.FileName} {start.Arguments}".TrimEnd();
}
