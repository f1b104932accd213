using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace L2Gateway.Service.Tests;

/// <summary>One sample of a Prometheus text-format scrape: <c>name{label="value",...} value</c>.</summary>
internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A scrape of <c>/metrics</c>, read the way Prometheus reads the text format (one sample a line).</summary>
internal sealed class Scrape(string text, IReadOnlyList<Sample> samples)
{
    public string Text { get; } = text;

    public IReadOnlyList<Sample> Samples { get; } = samples;

    public static async Task<Scrape> FromAsync(HttpClient http, string path = "/metrics")
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return Parse(text);
    }

    public static Scrape Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            var name = brace >= 0 && brace < space ? line[..brace] : line[..space];
            if (brace >= 0 && brace < space)
            {
                var i = brace + 1;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq];
                    var value = new System.Text.StringBuilder();
                    var j = eq + 2; // past ="
                    for (; line[j] != '"'; j++)
                    {
                        value.Append(line[j] == '\\' ? line[++j] switch { 'n' => '\n', var c => c } : line[j]);
                    }

                    labels[key] = value.ToString();
                    i = line[j + 1] == ',' ? j + 2 : j + 1;
                }
            }

            var number = line[(space + 1)..];
            samples.Add(new Sample(name, labels, number switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(number, CultureInfo.InvariantCulture),
            }));
        }

        return new Scrape(text, samples);
    }

    public IEnumerable<Sample> Named(string name, params (string Label, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value));

    /// <summary>The one sample of that name with those labels; null when there is none.</summary>
    public double? Value(string name, params (string Label, string Value)[] labels) =>
        Named(name, labels).ToList() switch
        {
            [] => null,
            [var one] => one.Value,
            var many => throw new InvalidOperationException($"{many.Count} samples of {name} match"),
        };

    public double Sum(string name, Func<IReadOnlyDictionary<string, string>, bool> where) => Samples.Where(s => s.Name == name && where(s.Labels)).Sum(s => s.Value);
}

/// <summary>An l2gw-service process of the test's own, its standard output kept line by line; stopped by PID.</summary>
internal sealed class L2gwProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();

    private L2gwProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;

    /// <summary>What it printed so far, standard output and error, a line each.</summary>
    public IReadOnlyList<string> Lines => [.. lines];

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll");

    public static L2gwProcess Start(IEnumerable<string> args, string program = "dotnet", IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new L2gwProcess(Process.Start(start)!);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public static void Terminate(int pid) => Assert.Equal(0, kill(pid, 15));

    /// <summary>The inotify watches the process holds (the "inotify wd:" lines of its descriptors' fdinfo).</summary>
    public IReadOnlyList<string> InotifyWatches()
    {
        var watches = new List<string>();
        foreach (var fd in Directory.GetFiles($"/proc/{process.Id}/fdinfo"))
        {
            try
            {
                watches.AddRange(File.ReadAllLines(fd).Where(l => l.StartsWith("inotify wd:", StringComparison.Ordinal)));
            }
            catch (IOException)
            {
                // The descriptor closed while being read.
            }
        }

        return watches;
    }

    /// <summary>SIGTERM, as systemd stops a service, then waits for the exit.</summary>
    public async Task<int> StopAsync()
    {
        Terminate(process.Id);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    /// <summary>Waits for the exit (of a process stopped some other way).</summary>
    public async Task<int> WaitAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }
}
