using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using L2Gateway.Testing;

namespace L2Gateway.OpenStack.Bench;

internal sealed record BenchNetwork(string Id, int Vni);

/// <summary>
/// One benchmark's resources in the lab, all named <c>l2gw-osbench-HEX</c>: a Keystone project of its own (no port quota),
/// its networks and ports, the server process, the gateway and connections, a plugged fake VM. Everything goes at the end.
/// </summary>
internal sealed class Run : IAsyncDisposable
{
    private readonly Lab lab;
    private readonly Cloud cloud;
    private readonly bool bus;
    private readonly int poll;
    private readonly bool withSwitch;
    private readonly int apiPort = FreePort();
    private readonly List<string> networks = [];
    private readonly List<string> connections = [];
    private string? gateway;
    private (string Port, string Namespace)? plugged;
    private ServerProcess? server;
    private Product? product;

    private Run(Lab lab, Cloud cloud, string name, string projectId, bool bus, int poll, bool withSwitch)
    {
        this.lab = lab;
        this.cloud = cloud;
        Name = name;
        ProjectId = projectId;
        this.bus = bus;
        this.poll = poll;
        this.withSwitch = withSwitch;
        Directory = Path.Combine(Path.GetTempPath(), name);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Name { get; }

    public string ProjectId { get; }

    public string Directory { get; }

    public List<string> Ports { get; } = [];

    /// <summary>Networks whose ports were partly written into Neutron's database (deleted the same way).</summary>
    public List<string> SeededNetworks { get; } = [];

    public ServerProcess Server => server ?? throw new InvalidOperationException("no server running");

    public Product Product => product ?? throw new InvalidOperationException("no server running");

    public static async Task<Run> StartAsync(Lab lab, Cloud cloud, bool bus, int poll, bool withSwitch, bool startServer = true)
    {
        var name = Benchmarks.Prefix + Guid.NewGuid().ToString("N")[..8];
        var project = await cloud.CreateProjectAsync(name);
        var run = new Run(lab, cloud, name, project, bus, poll, withSwitch);
        try
        {
            await cloud.UnlimitedQuotaAsync(project);
            if (startServer)
            {
                run.StartServer(fresh: true);
                await run.Server.ReadyAsync(TimeSpan.FromMinutes(2));
            }
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }

        return run;
    }

    /// <summary>Starts <c>l2gw server</c> in OpenStack mode, as the colleague's end-to-end test configures it.</summary>
    public ServerProcess StartServer(bool fresh)
    {
        var data = Path.Combine(Directory, "data");
        if (fresh && System.IO.Directory.Exists(data))
        {
            System.IO.Directory.Delete(data, recursive: true);
        }

        System.IO.Directory.CreateDirectory(data);
        var ini = new StringBuilder();
        ini.Append(CultureInfo.InvariantCulture, $"""
            [DEFAULT]
            bind = 127.0.0.1:{apiPort}
            data_dir = {data}
            catalog = neutron
            auth_strategy = keystone
            host = {Name}

            """);
        if (bus)
        {
            ini.Append(CultureInfo.InvariantCulture, $"transport_url = {lab.Rabbit}\n");
        }

        ini.Append(CultureInfo.InvariantCulture, $"""

            [keystone_authtoken]
            www_authenticate_uri = {lab.Keystone}
            auth_url = {lab.Keystone}
            username = {lab.ServiceUser}
            password = {lab.ServicePassword}
            project_name = {lab.ServiceProject}
            user_domain_name = Default
            project_domain_name = Default

            [neutron]
            url = {lab.Neutron}
            poll_interval = {poll}

            [AGENT]
            report_interval = 5

            """);
        if (withSwitch)
        {
            ini.Append(CultureInfo.InvariantCulture, $"""

                [ovsdb]
                ovsdb_hosts = tor1:127.0.0.1:{lab.TorDatabase.Split(':')[^1]}

                """);
        }

        var file = Path.Combine(Directory, "l2gw.ini");
        File.WriteAllText(file, ini.ToString());
        server = ServerProcess.Start(file, apiPort);
        product?.Dispose();
        product = new Product(new Uri($"http://127.0.0.1:{apiPort}/"), cloud.Token);
        return server;
    }

    public async Task StopServerAsync()
    {
        if (server is not null)
        {
            await server.StopAsync();
            server.Dispose();
            server = null;
        }
    }

    /// <summary>A VXLAN network of the run's project on a free random VNI (20000-39999: clear of the lab's and the tests').</summary>
    public async Task<BenchNetwork> NetworkAsync()
    {
        while (true)
        {
            var vni = Random.Shared.Next(20_000, 40_000);
            if (await cloud.CreateNetworkAsync($"{Name}-net{networks.Count}", vni, ProjectId) is { } id)
            {
                networks.Add(id);
                return new BenchNetwork(id, vni);
            }
        }
    }

    public async Task GatewayAsync() => gateway ??= await Product.CreateGatewayAsync(Name, "br-tor", "p1");

    public async Task<string> ConnectAsync(string networkId)
    {
        await GatewayAsync();
        var id = await Product.CreateConnectionAsync(gateway!, networkId, 100);
        connections.Add(id);
        return id;
    }

    /// <summary>Deletes the connection and waits until the switch has no Logical_Switch of the network left.</summary>
    public async Task DisconnectAsync(string connection, string networkId, TorWatch tor)
    {
        await Product.DeleteConnectionAsync(connection);
        connections.Remove(connection);
        await tor.WaitAsync(() => !tor.HasSwitch(networkId), TimeSpan.FromSeconds(60), "the network's Logical_Switch gone from the switch");
    }

    /// <summary>A fake VM for the port on the compute host (the lab's plug_vm.sh), in a namespace of the run's own.</summary>
    public async Task PlugAsync(NeutronPort port)
    {
        var netns = "osv-osbench-" + Name[^4..];
        plugged = (port.Id, netns);
        var (exit, output) = await Shell.RunAsync("bash", [Path.Combine(lab.LabScripts, "plug_vm.sh"), port.Id, port.Mac, "192.168.77.10/24", netns]);
        if (exit != 0)
        {
            throw new InvalidOperationException("plug_vm.sh: " + output);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Best effort, in reverse; every step is tried even when one fails, so the shared lab is left as found.
        await Quietly("connections", async () =>
        {
            foreach (var connection in connections.ToList())
            {
                await Product.DeleteConnectionAsync(connection);
            }

            if (connections.Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(10)); // the agent removes the rows from the switch
            }
        });
        if (gateway is not null)
        {
            await Quietly("gateway", () => Product.DeleteGatewayAsync(gateway));
        }

        await Quietly("server", StopServerAsync);
        product?.Dispose();
        if (bus)
        {
            await Quietly("agent row", () => cloud.DeleteAgentsAsync(h => h == Name));
        }

        if (plugged is var (port, netns))
        {
            await Quietly("fake VM", async () =>
            {
                await Shell.RunAsync("bash", [Path.Combine(lab.LabScripts, "plug_vm.sh"), "-d", port]);
                await Shell.RunAsync("ip", ["netns", "del", netns]);
                var recorded = Path.Combine(lab.Dir, "netns"); // plug_vm.sh records the namespace for the lab's down.sh
                if (File.Exists(recorded))
                {
                    File.WriteAllLines(recorded, File.ReadAllLines(recorded).Where(l => l != netns));
                }
            });
        }

        if (SeededNetworks.Count > 0)
        {
            await Quietly("copied ports", () => NeutronDatabase.DeleteCopiedPortsAsync(lab, SeededNetworks, Name));
        }

        if (Ports.Count > 0)
        {
            var started = Stopwatch.GetTimestamp();
            await Quietly("ports", () => cloud.DeletePortsAsync(Ports));
            if (Ports.Count > 100)
            {
                Console.WriteLine($"  deleted {Ports.Count} ports in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
            }
        }

        foreach (var network in networks)
        {
            await Quietly("network", () => cloud.DeleteNetworkAsync(network));
        }

        await Quietly("quota", () => cloud.DeleteQuotaAsync(ProjectId));
        await Quietly("project", () => cloud.DeleteProjectAsync(ProjectId));
        await Quietly("directory", () =>
        {
            System.IO.Directory.Delete(Directory, recursive: true);
            return Task.CompletedTask;
        });
    }

    private static async Task Quietly(string what, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"  cleanup of the {what} failed: {e.Message}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static class Shell
{
    public static async Task<(int Exit, string Output)> RunAsync(string program, IEnumerable<string> args, string? stdin = null)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}

/// <summary>
/// Neutron's PostgreSQL (the lab's trusts local connections as postgres): copies of one port that Neutron created through
/// its API, for a large catalog when the API is too slow to create it (see RESULTS.md), and their deletion.
/// </summary>
internal static class NeutronDatabase
{
    private static Task<(int Exit, string Output)> PsqlAsync(string sql) =>
        Shell.RunAsync("psql", ["-h", "127.0.0.1", "-p", Lab.PostgresPort, "-U", "postgres", "-d", "neutron", "-v", "ON_ERROR_STOP=1", "-q"], sql);

    /// <summary>
    /// <paramref name="count"/> copies of the template port, spread over <paramref name="networks"/>: every row Neutron
    /// wrote for it (standard attributes, the port, its binding and binding level, port security, security groups), with a
    /// new id, name, MAC (fa:16:3f:..) and network, in one transaction.
    /// </summary>
    public static async Task CopyPortAsync(Lab lab, string template, IReadOnlyList<string> networks, int count, string name)
    {
        _ = lab;
        string Clone(string table) => $"""
            INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(t) || jsonb_build_object('port_id', s.id))).*
              FROM seed s, {table} t WHERE t.port_id = '{template}';
            """;
        var array = "ARRAY[" + string.Join(',', networks.Select(n => $"'{n}'")) + "]";
        var sql = $"""
            BEGIN;
            CREATE TEMP TABLE seed ON COMMIT DROP AS
              SELECT g AS i, gen_random_uuid()::text AS id, nextval('standardattributes_id_seq') AS sa,
                     ({array})[1 + g % {networks.Count}] AS network_id
              FROM generate_series(1, {count}) g;
            INSERT INTO standardattributes SELECT (jsonb_populate_record(NULL::standardattributes, to_jsonb(a) || jsonb_build_object('id', s.sa))).*
              FROM seed s, standardattributes a WHERE a.id = (SELECT standard_attr_id FROM ports WHERE id = '{template}');
            INSERT INTO ports SELECT (jsonb_populate_record(NULL::ports, to_jsonb(p) || jsonb_build_object(
                'id', s.id, 'standard_attr_id', s.sa, 'network_id', s.network_id, 'name', '{name}-p' || s.i,
                'mac_address', 'fa:16:3f:' || lpad(to_hex((s.i >> 16) & 255), 2, '0') || ':' || lpad(to_hex((s.i >> 8) & 255), 2, '0')
                  || ':' || lpad(to_hex(s.i & 255), 2, '0')))).*
              FROM seed s, ports p WHERE p.id = '{template}';
            {Clone("ml2_port_bindings")}
            {Clone("portsecuritybindings")}
            {Clone("securitygroupportbindings")}
            INSERT INTO ml2_port_binding_levels SELECT (jsonb_populate_record(NULL::ml2_port_binding_levels, to_jsonb(t) || jsonb_build_object(
                'port_id', s.id, 'segment_id', (SELECT id FROM networksegments WHERE network_id = s.network_id ORDER BY segment_index LIMIT 1)))).*
              FROM seed s, ml2_port_binding_levels t WHERE t.port_id = '{template}';
            COMMIT;
            """;
        var (exit, output) = await PsqlAsync(sql);
        if (exit != 0)
        {
            throw new InvalidOperationException("copying the template port in Neutron's database failed: " + output);
        }
    }

    /// <summary>Deletes the copies (their standard attributes; the ports and what refers to them go by cascade).</summary>
    public static async Task DeleteCopiedPortsAsync(Lab lab, IReadOnlyList<string> networks, string name)
    {
        _ = lab;
        var array = "ARRAY[" + string.Join(',', networks.Select(n => $"'{n}'")) + "]::varchar[]";
        var (exit, output) = await PsqlAsync($"""
            DELETE FROM standardattributes WHERE id IN
              (SELECT standard_attr_id FROM ports WHERE network_id = ANY({array}) AND name LIKE '{name}%' AND mac_address LIKE 'fa:16:3f:%');
            """);
        if (exit != 0)
        {
            throw new InvalidOperationException("deleting the copied ports failed: " + output);
        }
    }
}

/// <summary>A running <c>l2gw-service server</c>: the repository's ./l2gw build, its log lines timestamped as they arrive.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process process;
    private readonly List<(string Text, long At)> lines = [];
    private readonly Signal logged = new();

    private ServerProcess(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public static string RepositoryRoot => SourceTree.Root;

    public int Port { get; }

    public int Id => process.Id;

    /// <summary>The build must be fresh: this program does not build (builds hold the machine's build lock).</summary>
    public static void EnsureBuilt()
    {
        var start = new ProcessStartInfo(Path.Combine(RepositoryRoot, "l2gw")) { RedirectStandardOutput = true };
        start.Environment["L2GW_CHECK_ONLY"] = "1";
        using var check = Process.Start(start)!;
        var state = check.StandardOutput.ReadToEnd().Trim();
        check.WaitForExit();
        if (state != "fresh")
        {
            throw new InvalidOperationException("the service build is stale: run `flock /tmp/l2gw-dotnet.lock nice -n 5 ./l2gw --version` first");
        }
    }

    public static ServerProcess Start(string ini, int port)
    {
        var start = new ProcessStartInfo(Path.Combine(RepositoryRoot, ".build", "l2gw", "l2gw-service"), ["server", "--config-file", ini])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = new Process { StartInfo = start };
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        var at = Stopwatch.GetTimestamp();
        lock (lines)
        {
            lines.Add((line, at));
        }

        if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null)
        {
            Console.WriteLine("    server: " + line);
        }

        logged.Pulse();
    }

    public int Count(string text)
    {
        lock (lines)
        {
            return lines.Count(l => l.Text.Contains(text, StringComparison.Ordinal));
        }
    }

    public async Task<(string Text, long At)> WaitForAsync(Regex pattern, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var seen = 0;
        while (true)
        {
            var next = logged.Next;
            lock (lines)
            {
                for (; seen < lines.Count; seen++)
                {
                    if (pattern.IsMatch(lines[seen].Text))
                    {
                        return lines[seen];
                    }
                }
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0 || process.HasExited)
            {
                throw new TimeoutException($"the server never logged /{pattern}/{(process.HasExited ? $" (it exited with {process.ExitCode})" : "")}; its log:\n{Tail()}");
            }

            await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency)));
        }
    }

    public string Tail()
    {
        lock (lines)
        {
            return string.Join('\n', lines.TakeLast(40).Select(l => l.Text));
        }
    }

    public async Task ReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient();
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}/readyz"));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"the server never got ready; its log:\n{Tail()}");
            }

            await Task.Delay(250);
        }
    }

    private double Status(string field)
    {
        var line = File.ReadAllLines($"/proc/{process.Id}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public double RssMiB() => Status("VmRSS");

    public double PeakRssMiB() => Status("VmHWM");

    /// <summary>SIGTERM (the server stops its agent and closes its sessions), SIGKILL after 20 s.</summary>
    public async Task StopAsync()
    {
        if (process.HasExited)
        {
            return;
        }

        await Shell.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
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

/// <summary>The server's managed heap as its /metrics shows it (System.Runtime: heap size after the last collection, committed).</summary>
internal sealed class HeapSampler
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public HeapSampler(ServerProcess server)
    {
        loop = Task.Run(async () =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.Port}/metrics"), stop.Token);
                    var heap = Sum(text, "dotnet_gc_last_collection_heap_size_bytes");
                    var committed = Sum(text, "dotnet_gc_last_collection_memory_committed_size_bytes");
                    LastHeapMiB = heap;
                    PeakHeapMiB = Math.Max(PeakHeapMiB, heap);
                    PeakCommittedMiB = Math.Max(PeakCommittedMiB, committed);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet, or stopping.
                }

                try
                {
                    await Task.Delay(250, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public double PeakHeapMiB { get; private set; }

    public double LastHeapMiB { get; private set; }

    public double PeakCommittedMiB { get; private set; }

    private static double Sum(string metrics, string name) =>
        metrics.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is '{' or ' '))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)) / (1024 * 1024);

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }
}

/// <summary>A pulse: <see cref="Next"/> completes at the next <see cref="Pulse"/>.</summary>
internal sealed class Signal
{
    private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref next).Task;

    public void Pulse() => Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <paramref name="holds"/>, checked after every pulse; false on timeout.</summary>
    public async Task<bool> WaitAsync(Func<bool> holds, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var pulse = Next;
            if (holds())
            {
                return true;
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return false;
            }

            await Task.WhenAny(pulse, Task.Delay(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency)));
        }
    }
}
