using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Testing;

namespace L2Gateway.Scale.Bench;

/// <summary>Where and when a run happened, printed at its top so that RESULTS.md can quote it.</summary>
internal static class Machine
{
    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3].Aggregate((a, b) => a + " " + b);

    public static void PrintHeader(string mode)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        var mem = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
        Console.WriteLine($"# {mode}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} x {cpu}; {mem.Split(':')[1].Trim()}; load average {LoadAverage()}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDir(string what)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"l2gw-scalebench-{what}-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs a short program to its end; throws with its error output when it fails.</summary>
    public static string Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout.Result : throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {stderr}");
    }

    public static double RssMiB(int pid) => Status(pid, "VmRSS");

    public static double PeakRssMiB(int pid) => Status(pid, "VmHWM");

    private static double Status(int pid, string field)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}

/// <summary>Percentiles of a sample, in the units given.</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static string Summary(IReadOnlyList<double> ms) =>
        $"n={ms.Count} p50 {Percentile(ms, 50):F1} ms, p90 {Percentile(ms, 90):F1} ms, p99 {Percentile(ms, 99):F1} ms, max {(ms.Count == 0 ? double.NaN : ms.Max()):F1} ms";
}

/// <summary>
/// <c>l2gw server</c>, <c>l2gw agent</c> or <c>l2gw db</c> as operators run them: the repository's ./l2gw script, which
/// execs the published (ReadyToRun) service, so the PID is the service's own. Log lines are kept with the time they
/// were read.
/// </summary>
internal sealed class Service : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<(long At, string Line)> lines = new();
    private readonly SemaphoreSlim logged = new(0, int.MaxValue);

    public static string Launcher => SourceTree.Launcher;

    /// <summary>Builds the service when its sources changed, before anything is timed.</summary>
    public static void EnsureBuilt() => Machine.Run(Launcher, "--version");

    public Service(string name, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        Name = name;
        var start = new ProcessStartInfo(Launcher, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        process = Process.Start(start)!;
        StartedAt = Stopwatch.GetTimestamp();
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public long StartedAt { get; }

    public int Id => process.Id;

    public double RssMiB() => Machine.RssMiB(process.Id);

    public double PeakRssMiB() => Machine.PeakRssMiB(process.Id);

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue((Stopwatch.GetTimestamp(), line));
        logged.Release();
        if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null)
        {
            Console.WriteLine($"{Name}: {line}");
        }
    }

    public IEnumerable<(long At, string Line)> Lines => lines;

    public int Count(string text) => lines.Count(l => l.Line.Contains(text, StringComparison.Ordinal));

    /// <summary>Waits until <paramref name="count"/> lines containing <paramref name="text"/> were logged; returns when the last was read.</summary>
    public async Task<long> WaitForAsync(string text, int count = 1, int seconds = 120)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (true)
        {
            var matching = lines.Where(l => l.Line.Contains(text, StringComparison.Ordinal)).Take(count).ToList();
            if (matching.Count >= count)
            {
                return matching[^1].At;
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited ({process.ExitCode}) before logging '{text}'");
            }

            try
            {
                await logged.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name} logged '{text}' {Count(text)} of {count} time(s) within {seconds} s");
            }
        }
    }

    private bool disposed;

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        process.Dispose();
        logged.Dispose();
    }
}

/// <summary>A server process and a client of its REST API.</summary>
internal sealed class ServerNode : IDisposable
{
    private ServerNode(Service service, int port)
    {
        Service = service;
        Url = new Uri($"http://127.0.0.1:{port}/");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(5) };
    }

    public Service Service { get; }

    public Uri Url { get; }

    public HttpClient Http { get; }

    /// <summary>
    /// Starts <c>l2gw server</c>; the desired-state service logs each plan's time (debug), which the harness reads.
    /// </summary>
    public static ServerNode Start(string name, params string[] args)
    {
        var port = Machine.FreePort();
        var env = new Dictionary<string, string>
        {
            ["Logging__LogLevel__L2Gateway.Server.Services.DesiredStateService"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        };
        return new ServerNode(new Service(name, env, ["server", "--bind", $"127.0.0.1:{port}", "--quota-l2-gateway", "-1", .. args]), port);
    }

    /// <summary>Waits until the server answers version discovery.</summary>
    public async Task ReadyAsync(int seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                using var response = await Http.GetAsync(new Uri("/", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Service.Name} never answered");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The plan times the server logged: (kind, inputs ms, plan ms), oldest first.</summary>
    public List<(string Kind, double Inputs, double Plan)> PlanTimes() =>
        [.. Service.Lines.Select(l => l.Line).Where(l => l.Contains("desired state recomputed (", StringComparison.Ordinal)).Select(ParsePlan)];

    private static (string, double, double) ParsePlan(string line)
    {
        var kind = line[(line.IndexOf("recomputed (", StringComparison.Ordinal) + 12)..].Split(')')[0];
        double After(string key)
        {
            var at = line.IndexOf(key, StringComparison.Ordinal) + key.Length;
            var end = line.IndexOf(" ms", at, StringComparison.Ordinal);
            return double.Parse(line[at..end], CultureInfo.InvariantCulture);
        }

        return (kind, After("inputs "), After("plan "));
    }

    public async Task<JsonNode> PostAsync(string path, string json)
    {
        using var response = await Http.PostAsync(new Uri(path.TrimStart('/'), UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonNode.Parse(text)! : throw new InvalidOperationException($"{Service.Name}: POST {path}: {(int)response.StatusCode} {text}");
    }

    public async Task<string> CreateAsync(string path, string key, string json) => (string)(await PostAsync(path, json))[key]!["id"]!;

    public async Task<JsonNode> GetAsync(string path) => JsonNode.Parse(await Http.GetStringAsync(new Uri(path.TrimStart('/'), UriKind.Relative)))!;

    public Task<string> NetworkAsync(string name, int vni) =>
        CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"{{{name}}}","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}""");

    public Task<string> HostAsync(string name, string tunnelIp) =>
        CreateAsync("/v2.0/hosts", "host", $$$"""{"host":{"name":"{{{name}}}","tunnel_ip":"{{{tunnelIp}}}"}}""");

    public Task<string> PortAsync(string network, string mac, string host) =>
        CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{network}}}","mac_address":"{{{mac}}}","binding:host_id":"{{{host}}}"}}""");

    public Task<string> GatewayAsync(string name, string device) =>
        CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"{{{device}}}","interfaces":[{"name":"p1"}]}]}}""");

    public Task<string> ConnectAsync(string gateway, string network, int vlan) =>
        CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}","segmentation_id":{{{vlan}}}}}""");

    public void Dispose()
    {
        Http.Dispose();
        Service.Dispose();
    }
}

/// <summary>
/// A simulated agent: reports its switches once, then long-polls the desired state of all of them as the real agent
/// does (same query, same JSON contract, revisions kept, deltas applied by revision), recording when each remote MAC
/// of each switch first arrived. It programs nothing.
/// </summary>
internal sealed class SimAgent : IAsyncDisposable
{
    private readonly HttpClient http;
    private readonly Dictionary<string, string> known;
    private readonly CancellationTokenSource stop = new();
    private Task? loop;

    public SimAgent(Uri server, string host, IReadOnlyList<(string Name, string TunnelIp)> switches)
    {
        http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };
        Host = host;
        Switches = switches;
        known = switches.ToDictionary(s => s.Name, _ => "", StringComparer.Ordinal);
    }

    public string Host { get; }

    public IReadOnlyList<(string Name, string TunnelIp)> Switches { get; }

    /// <summary>(switch, MAC) to when it first arrived (Stopwatch timestamp).</summary>
    public ConcurrentDictionary<(string Switch, string Mac), long> Seen { get; } = new();

    /// <summary>Switch to when its latest revision arrived, and the revision.</summary>
    public ConcurrentDictionary<string, (long At, string Revision)> Revisions { get; } = new(StringComparer.Ordinal);

    public long BytesReceived;
    public int Answers;

    public async Task ReportAsync()
    {
        var report = new AgentReport(
            Host,
            DateTime.UtcNow,
            [.. Switches.Select(s => new SwitchReport(s.Name, true, true, null, "", [s.TunnelIp], FaultStatus.Up, [new SwitchPortInventory("p1", FaultStatus.Up)], "", []))]);
        using var response = await http.PostAsJsonAsync(new Uri("v2.0/l2gw-agent/report", UriKind.Relative), report, AgentProtocol.Json);
        response.EnsureSuccessStatusCode();
    }

    public void Start() => loop = Task.Run(() => PollAsync(stop.Token));

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var query = new StringBuilder("v2.0/l2gw-agent/desired-state?wait=25");
            foreach (var (name, revision) in known)
            {
                query.Append("&switch=").Append(Uri.EscapeDataString(name)).Append("&known=").Append(Uri.EscapeDataString(revision));
            }

            byte[] body;
            try
            {
                body = await http.GetByteArrayAsync(new Uri(query.ToString(), UriKind.Relative), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"{Host}: {e.Message}");
                await Task.Delay(100, cancellationToken);
                continue;
            }

            var batch = JsonSerializer.Deserialize<DesiredStateBatch>(body, AgentProtocol.Json)!;
            var at = Stopwatch.GetTimestamp();
            Interlocked.Add(ref BytesReceived, body.Length);
            Interlocked.Increment(ref Answers);
            foreach (var state in batch.Switches)
            {
                known[state.Switch] = state.Revision;
                Revisions[state.Switch] = (at, state.Revision);
                foreach (var row in state.UcastRemotes)
                {
                    Seen.TryAdd((state.Switch, row.Mac), at);
                }
            }

            foreach (var delta in batch.Deltas ?? [])
            {
                if (known[delta.Switch] != delta.BaseRevision)
                {
                    throw new InvalidOperationException($"{delta.Switch}: a delta from {delta.BaseRevision}, held {known[delta.Switch]}");
                }

                known[delta.Switch] = delta.Revision;
                Revisions[delta.Switch] = (at, delta.Revision);
                foreach (var row in delta.UcastRemotes)
                {
                    Seen.TryAdd((delta.Switch, row.Mac), at);
                }
            }
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds, checking every millisecond or so.</summary>
    public static async Task<bool> UntilAsync(Func<bool> done, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!done())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            await Task.Delay(1);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        http.Dispose();
        stop.Dispose();
    }
}

/// <summary>A switch: ovsdb-server with a hardware_vtep database of its own, registered with one port, p1.</summary>
internal sealed class SwitchProc : IDisposable
{
    private readonly string dir;
    private Process? process;

    public SwitchProc(string name, string tunnelIp, string root)
    {
        Name = name;
        TunnelIp = tunnelIp;
        dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        Port = Machine.FreePort();
        Create();
        Start();
        Register();

        // What the switch holds when it comes back from a reset: its own registration, none of the product's rows.
        File.Copy($"{dir}/vtep.db", $"{dir}/factory.db");
    }

    public string Name { get; }

    public string TunnelIp { get; }

    public int Port { get; }

    public string Endpoint => $"tcp:127.0.0.1:{Port}";

    public int Pid => process?.Id ?? 0;

    private void Create() => Machine.Run("ovsdb-tool", "create", $"{dir}/vtep.db", "/usr/share/openvswitch/vtep.ovsschema");

    private void Register() => Machine.Run("vtep-ctl", $"--db={Endpoint}", "--timeout=30", "add-ps", Name, "--", "set", "Physical_Switch", Name, $"tunnel_ips={TunnelIp}", "--", "add-port", Name, "p1");

    public void Start()
    {
        process = Process.Start(new ProcessStartInfo("ovsdb-server", [$"{dir}/vtep.db", $"--remote=ptcp:{Port}:127.0.0.1", $"--unixctl={dir}/ctl", $"--log-file={dir}/log", "-vconsole:off"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(5);
            }
        }

        throw new TimeoutException($"{Name}: ovsdb-server never listened on {Port}");
    }

    /// <summary>Ends ovsdb-server at once (SIGKILL), as a power loss would.</summary>
    public void Kill()
    {
        if (process is not null && !process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }

        process?.Dispose();
        process = null;
    }

    /// <summary>Starts again on its factory database (reset or replaced): registered, none of the product's rows.</summary>
    public void StartWiped()
    {
        File.Copy($"{dir}/factory.db", $"{dir}/vtep.db", overwrite: true);
        Start();
    }

    public async Task<int> CountAsync(OvsdbClient client, string table) =>
        (await client.TransactAsync("hardware_vtep", new SelectOperation(table).Columns("_uuid"))).EnsureSuccess().Operations[0]!.Rows!.Count;

    public void Dispose()
    {
        Kill();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// A PostgreSQL server of the harness's own (the installed version: pg_config's or the highest under
/// /usr/lib/postgresql), initdb'd in a temp dir, on a free loopback port, stopped with pg_ctl.
/// </summary>
internal sealed class Postgres : IDisposable
{
    private readonly string dir = Machine.TempDir("pg");
    private readonly bool asRoot = Environment.UserName == "root";
    private readonly string bin;

    public Postgres()
    {
        bin = Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .First();
        if (asRoot)
        {
            Machine.Run("chown", "postgres", dir);
        }

        Pg("initdb", "-D", $"{dir}/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C");
        Pg("pg_ctl", "-D", $"{dir}/data", "-l", $"{dir}/log", "-w", "-t", "60", "-o", $"-p {Port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        Pg("psql", "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-c", "CREATE DATABASE l2gw");
    }

    public int Port { get; } = Machine.FreePort();

    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/l2gw";

    public string Version => Path.GetFileName(Path.GetDirectoryName(bin))!;

    private void Pg(string program, params string[] args) =>
        _ = asRoot ? Machine.Run("runuser", ["-u", "postgres", "--", Path.Combine(bin, program), .. args]) : Machine.Run(Path.Combine(bin, program), args);

    public void Dispose()
    {
        Pg("pg_ctl", "-D", $"{dir}/data", "-m", "fast", "-w", "-t", "60", "stop");
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// A TCP relay in front of PostgreSQL that passes every connection but the one whose startup message names the
/// application <c>l2gw-listen</c> (the server's LISTEN connection): a server behind it never hears other servers'
/// notifications, and only its periodic full reload brings their writes (the path before issue 14).
/// </summary>
internal sealed class ListenBlocker : IDisposable
{
    private static readonly byte[] ListenName = Encoding.ASCII.GetBytes("l2gw-listen");
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int target;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;

    public ListenBlocker(int target)
    {
        this.target = target;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    public int Port { get; }

    public int Refused;

    private async Task AcceptAsync()
    {
        var relays = new List<Task>();
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stop.Token);
                relays.Add(RelayAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(relays);
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, target, stop.Token);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                var up = PumpAsync(client.GetStream(), server.GetStream(), inspect: true, linked.Token);
                var down = PumpAsync(server.GetStream(), client.GetStream(), inspect: false, linked.Token);
                await Task.WhenAny(up, down);
                await linked.CancelAsync();
                await Task.WhenAll(up, down);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                // Either side went away: the relay ends with it.
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool inspect, CancellationToken cancellationToken)
    {
        var buffer = new byte[65536];
        long seen = 0;
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, cancellationToken);
                if (n == 0)
                {
                    return;
                }

                // The startup message comes within the first few hundred bytes, in the clear (no TLS on loopback here).
                if (inspect && seen < 4096 && buffer.AsSpan(0, n).IndexOf(ListenName) >= 0)
                {
                    Interlocked.Increment(ref Refused);
                    return;
                }

                seen += n;
                await to.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        accepting.GetAwaiter().GetResult();
        stop.Dispose();
    }
}
