using System.Collections.Concurrent;
using System.Diagnostics;

namespace L2Gateway.Testing;

/// <summary>
/// A running <c>l2gw-service</c> (<c>server</c> or <c>agent</c>) as an operator runs it: a process of its own, its
/// log lines kept, waited on by what it logs, and ended by its PID (SIGKILL, as a crash would end it).
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly SemaphoreSlim logged = new(0, int.MaxValue);

    private ServiceProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }

    public bool Exited => process.HasExited;

    public static ServiceProcess Start(string name, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var service = new ServiceProcess(name, process);
        process.OutputDataReceived += (_, e) => service.Add(e.Data);
        process.ErrorDataReceived += (_, e) => service.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
            logged.Release();
        }
    }

    /// <summary>Every line logged so far.</summary>
    public IReadOnlyList<string> Lines => [.. lines];

    public int Count(string text) => lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Waits until <paramref name="count"/> lines containing <paramref name="text"/> were logged.</summary>
    public async Task WaitForAsync(string text, int count = 1, int seconds = 60)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (Count(text) < count)
        {
            try
            {
                await logged.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"{Name} never logged '{text}' {count} time(s) within {seconds} s{(process.HasExited ? $" (it exited with {process.ExitCode})" : "")}; its log:\n{string.Join('\n', lines)}");
            }
        }
    }

    /// <summary>Ends the process at once (SIGKILL), as a crash or an out-of-memory kill would.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
        logged.Dispose();
    }
}
