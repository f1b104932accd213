using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Replication;

// Benchmarks of the OVSDB library against a real ovsdb-server; prints figures for bench/RESULTS.md.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var only = args.Length > 0 ? args[0] : "all";
Console.WriteLine($"# OVSDB bench  {DateTime.UtcNow:u}  {Environment.ProcessorCount} cores  .NET {Environment.Version}  ovsdb-server {Server.Version()}");

if (only == "monitor-mem")
{
    // Child process: a clean heap, so the retained size of the replica is not blurred by earlier work.
    var (ms, rows, bytes, _) = await MonitorBench.ReplicaAsync(args[1]);
    Console.WriteLine($"{ms:F0} {rows} {bytes}");
    return;
}

if (only is "all" or "insert")
{
    await InsertBench.RunAsync();
}

if (only is "all" or "monitor")
{
    await MonitorBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000);
}

if (only is "all" or "framing")
{
    await FramingBench.RunAsync();
}

internal sealed class Server : IDisposable
{
    private readonly Process _process;

    public Server()
    {
        Dir = Path.Combine(Path.GetTempPath(), "ovsdbbench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Dir);
        var db = Path.Combine(Dir, "vtep.db");
        Run("ovsdb-tool", "create", db, "/usr/share/openvswitch/vtep.ovsschema");
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        Port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var psi = new ProcessStartInfo("ovsdb-server") { UseShellExecute = false };
        foreach (var a in new[] { db, $"--remote=ptcp:{Port}:127.0.0.1", $"--pidfile={Dir}/pid", $"--unixctl={Dir}/ctl", $"--log-file={Dir}/log", "-vconsole:off" })
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        for (var i = 0; ; i++)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (i < 500)
            {
                Thread.Sleep(20);
            }
        }
    }

    public string Dir { get; }

    public int Port { get; }

    public string Endpoint => $"tcp:127.0.0.1:{Port}";

    public static string Version() => Run("ovsdb-server", "--version").Split('\n')[0].Split(' ').Last();

    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} failed: {p.ExitCode}");
    }

    public void Dispose()
    {
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        Directory.Delete(Dir, true);
    }
}

internal static class Vtep
{
    public const string Db = "hardware_vtep";

    /// <summary>One logical switch and 100 locators, kept alive by a flood (unknown-dst) entry that references all of them.</summary>
    public static async Task<(Guid Ls, Guid[] Locators)> SetupAsync(OvsdbClient client)
    {
        var ops = new List<Operation> { Op.Insert("Logical_Switch", "ls").Set("name", "bench").Set("tunnel_key", 100) };
        for (var i = 0; i < 100; i++)
        {
            ops.Add(Op.Insert("Physical_Locator", $"loc{i}").Set("dst_ip", $"10.0.{i / 250}.{(i % 250) + 1}").Set("encapsulation_type", "vxlan_over_ipv4"));
        }

        ops.Add(Op.Insert("Physical_Locator_Set", "set").Set("locators", OvsdbDatum.Set(Enumerable.Range(0, 100).Select(i => OvsdbAtom.NamedUuid($"loc{i}")))));
        ops.Add(Op.Insert("Mcast_Macs_Remote").Set("MAC", "unknown-dst").Set("logical_switch", OvsdbAtom.NamedUuid("ls")).Set("locator_set", OvsdbAtom.NamedUuid("set")));
        var r = (await client.TransactAsync(Db, ops)).EnsureSuccess();
        return (r.InsertedUuid(0), [.. Enumerable.Range(1, 100).Select(r.InsertedUuid)]);
    }

    public static List<Operation> Macs(Guid ls, Guid[] locators, int start, int count)
    {
        var ops = new List<Operation>(count);
        for (var i = start; i < start + count; i++)
        {
            ops.Add(Op.Insert("Ucast_Macs_Remote")
                .Set("MAC", $"02:00:{(i >> 24) & 0xff:x2}:{(i >> 16) & 0xff:x2}:{(i >> 8) & 0xff:x2}:{i & 0xff:x2}")
                .Set("logical_switch", ls)
                .Set("locator", locators[i % locators.Length])
                .Set("ipaddr", $"172.16.{(i >> 8) & 0xff}.{i & 0xff}"));
        }

        return ops;
    }
}

internal static class InsertBench
{
    public static async Task RunAsync()
    {
        Console.WriteLine();
        Console.WriteLine("## insert 10,000 Ucast_Macs_Remote rows (100 locators, 1 logical switch)");
        using var server = new Server();
        await using var client = await OvsdbClient.ConnectAsync(server.Endpoint, new OvsdbClientOptions { CallTimeout = TimeSpan.FromMinutes(5) });
        var (ls, locators) = await Vtep.SetupAsync(client);
        var one = new[] { Vtep.Macs(ls, locators, 0, 10_000) };
        var batches = Enumerable.Range(0, 10).Select(b => Vtep.Macs(ls, locators, b * 1000, 1000)).ToArray();

        async Task Reset() => (await client.TransactAsync(Vtep.Db, Op.Delete("Ucast_Macs_Remote"))).EnsureSuccess();

        async Task<double> Library(List<Operation>[] txns)
        {
            await Reset();
            var sw = Stopwatch.StartNew();
            foreach (var ops in txns)
            {
                (await client.TransactAsync(Vtep.Db, ops)).EnsureSuccess();
            }

            return sw.Elapsed.TotalMilliseconds;
        }

        // Baseline: the same request bytes, serialized beforehand, on a plain socket; the reply is only framed.
        var raw = new[] { one, batches }.Select(set => set.Select(ops => JsonRpcWriter.Request("transact", w =>
        {
            w.WriteStringValue(Vtep.Db);
            foreach (var op in ops)
            {
                op.WriteTo(w);
            }
        }, 1).ToArray()).ToArray()).ToArray();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, server.Port);
        var buffer = new byte[1 << 20];

        async Task<double> Raw(byte[][] requests)
        {
            await Reset();
            var sw = Stopwatch.StartNew();
            foreach (var request in requests)
            {
                await socket.SendAsync(request);
                var splitter = new JsonMessageSplitter(1L << 30);
                var received = new MemoryStream();
                while (true)
                {
                    var n = await socket.ReceiveAsync(buffer);
                    if (n == 0)
                    {
                        throw new IOException("server closed");
                    }

                    received.Write(buffer, 0, n);
                    var seq = new System.Buffers.ReadOnlySequence<byte>(received.GetBuffer(), 0, (int)received.Length);
                    if (splitter.TryReadMessage(ref seq, out _))
                    {
                        break;
                    }

                    splitter.Reset();
                }
            }

            return sw.Elapsed.TotalMilliseconds;
        }

        const int Rounds = 5;
        var results = new Dictionary<string, List<double>>();
        void Add(string k, double v) => (results.TryGetValue(k, out var l) ? l : results[k] = []).Add(v);
        for (var round = 0; round < Rounds + 1; round++)
        {
            var a = await Library(one);
            var b = await Library(batches);
            var c = await Raw(raw[0]);
            var d = await Raw(raw[1]);
            if (round == 0)
            {
                continue; // warm-up (JIT, server allocations)
            }

            Add("library, 1 x 10,000", a);
            Add("library, 10 x 1,000", b);
            Add("raw socket, 1 x 10,000", c);
            Add("raw socket, 10 x 1,000", d);
        }

        Console.WriteLine($"request size: 1 x 10,000 = {raw[0][0].Length / 1024.0 / 1024:F2} MiB");
        var schema = client.GetCachedSchema(Vtep.Db)!;
        var validate = new List<double>();
        var serialize = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            var sw = Stopwatch.StartNew();
            foreach (var op in one[0])
            {
                op.Validate(schema);
            }

            validate.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            _ = JsonRpcWriter.Request("transact", w =>
            {
                w.WriteStringValue(Vtep.Db);
                foreach (var op in one[0])
                {
                    op.WriteTo(w);
                }
            }, 1);
            serialize.Add(sw.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"client-side cost for 10,000 inserts: validate {validate.Skip(1).Order().ElementAt(2):F1} ms, serialize {serialize.Skip(1).Order().ElementAt(2):F1} ms");
        Console.WriteLine("| variant | median ms | min ms | rows/s (median) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (k, v) in results)
        {
            var median = v.Order().ElementAt(v.Count / 2);
            Console.WriteLine($"| {k} | {median:F0} | {v.Min():F0} | {10_000 / (median / 1000):F0} |");
        }
    }
}

internal static class MonitorBench
{
    public static async Task RunAsync(int rows)
    {
        Console.WriteLine();
        Console.WriteLine($"## initial monitor of {rows:N0} Ucast_Macs_Remote rows into an OvsdbReplica");
        using var server = new Server();
        await using (var client = await OvsdbClient.ConnectAsync(server.Endpoint, new OvsdbClientOptions { CallTimeout = TimeSpan.FromMinutes(5) }))
        {
            var (ls, locators) = await Vtep.SetupAsync(client);
            for (var start = 0; start < rows; start += 10_000)
            {
                (await client.TransactAsync(Vtep.Db, Vtep.Macs(ls, locators, start, Math.Min(10_000, rows - start)))).EnsureSuccess();
            }
        }

        await ReplicaAsync(server.Endpoint); // warm-up: JIT and pools, so the measured rounds compare like with like
        for (var round = 0; round < 3; round++)
        {
            var raw = await RawMonitorAsync(server.Port);
            var parsedOnly = await ParsedMonitorAsync(server.Endpoint);
            var (ready, count, _, method) = await ReplicaAsync(server.Endpoint);
            var child = Server.Run("dotnet", typeof(MonitorBench).Assembly.Location, "monitor-mem", server.Endpoint).Trim().Split('\n').Last().Split(' ');
            var bytes = long.Parse(child[2], CultureInfo.InvariantCulture);
            Console.WriteLine($"round {round}: replica ready in {ready:F0} ms ({count:N0} rows, {method}); raw socket, reply only: {raw:F0} ms; OvsdbClient.MonitorAsync, parse without replica: {parsedOnly:F0} ms; fresh process: ready in {child[0]} ms, managed heap retained by the snapshot {bytes / 1024.0 / 1024:F1} MiB ({bytes / double.Parse(child[1], CultureInfo.InvariantCulture):F0} B/row)");
        }
    }

    /// <summary>Live managed bytes after an aggressive, compacting collection (which also trims the shared array pools).</summary>
    private static long Heap()
    {
        for (var i = 0; i < 2; i++)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static MonitorRequest[] Requests => [new("Logical_Switch"), new("Physical_Locator"), new("Ucast_Macs_Remote")];

    private static async Task<double> RawMonitorAsync(int port)
    {
        var request = JsonRpcWriter.Request("monitor_cond_since", w =>
        {
            w.WriteStringValue(Vtep.Db);
            w.WriteStringValue("raw");
            w.WriteStartObject();
            foreach (var t in Requests)
            {
                w.WritePropertyName(t.Table);
                w.WriteStartArray();
                w.WriteStartObject();
                w.WriteEndObject();
                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteStringValue(Guid.Empty.ToString());
        }, 1);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var sw = Stopwatch.StartNew();
        await socket.SendAsync(request);
        var reader = new JsonRpcReader(PipeReader.Create(new NetworkStream(socket)), 1L << 30);
        _ = await reader.ReadAsync();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> ParsedMonitorAsync(string endpoint)
    {
        await using var client = await OvsdbClient.ConnectAsync(endpoint, new OvsdbClientOptions { CallTimeout = TimeSpan.FromMinutes(5) });
        await client.GetSchemaAsync(Vtep.Db);
        var sw = Stopwatch.StartNew();
        await client.MonitorAsync(Vtep.Db, "parse-only", Requests, MonitorMethod.MonitorCondSince, _ => { });
        return sw.Elapsed.TotalMilliseconds;
    }

    public static async Task<(double Ms, int Rows, long Bytes, MonitorMethod? Method)> ReplicaAsync(string endpoint)
    {
        var before = Heap();
        var sw = Stopwatch.StartNew();
        var replica = new OvsdbReplica(endpoint, Vtep.Db, ["Logical_Switch", "Physical_Locator", "Ucast_Macs_Remote"], new OvsdbReplicaOptions
        {
            Client = new OvsdbClientOptions { CallTimeout = TimeSpan.FromMinutes(5) },
        }).AddIndex("Ucast_Macs_Remote", "MAC", "logical_switch");
        await replica.StartAsync();
        await replica.Ready;
        var elapsed = sw.Elapsed.TotalMilliseconds;
        var count = replica.Tables["Ucast_Macs_Remote"].Count;
        var method = replica.Method;

        // Retained size: only the snapshot stays reachable once the connection and its buffers are gone.
        var snapshot = replica.Snapshot;
        await replica.DisposeAsync();
        replica = null;
        var after = Heap();
        GC.KeepAlive(snapshot);
        return (elapsed, count, after - before, method);
    }
}

internal static class FramingBench
{
    public static async Task RunAsync()
    {
        Console.WriteLine();
        Console.WriteLine("## framing + JSON-RPC parsing throughput (same bytes, C# vs python3-openvswitch)");

        // Tiered JIT: without a warm-up, the first stream's rounds still ran partly unoptimised code.
        var warm = BuildStream(true, out var warmMessages);
        for (var round = 0; round < 4; round++)
        {
            TokensOnly(warm, warmMessages);
            SplitOnly(warm, warmMessages);
            await ReaderAsync(warm, warmMessages);
            await OnePassAsync(warm, warmMessages);
            await GenericToTableUpdatesAsync(warm, warmMessages);
        }

        foreach (var ascii in new[] { true, false })
        {
            var data = BuildStream(ascii, out var messages);
            var file = Path.Combine(Path.GetTempPath(), $"ovsdb-frames-{Environment.ProcessId}.json");
            await File.WriteAllBytesAsync(file, data);
            Console.WriteLine($"stream: {messages:N0} update2 notifications (10 Ucast_Macs_Remote inserts each), {data.Length / 1024.0 / 1024:F1} MiB, {(ascii ? "ASCII only" : "one non-ASCII string per message")}");

            var tokensOnly = new List<double>();
            var splitOnly = new List<double>();
            var parsed = new List<double>();
            var onePass = new List<double>();
            var generic = new List<double>();
            for (var round = 0; round < 6; round++)
            {
                tokensOnly.Add(TokensOnly(data, messages));
                splitOnly.Add(SplitOnly(data, messages));
                parsed.Add(await ReaderAsync(data, messages));
                onePass.Add(await OnePassAsync(data, messages));
                generic.Add(await GenericToTableUpdatesAsync(data, messages));
            }

            double Mbps(IEnumerable<double> seconds) => data.Length / 1024.0 / 1024 / seconds.Skip(1).Order().ElementAt(2);
            Console.WriteLine($"  C# Utf8JsonReader tokens only, no rows (the ceiling of any one-pass parser): {Mbps(tokensOnly),8:F0} MiB/s");
            Console.WriteLine($"  C# JsonMessageSplitter only:                  {Mbps(splitOnly),8:F0} MiB/s");
            Console.WriteLine($"  C# JsonRpcReader (PipeReader, split + parse): {Mbps(parsed),8:F0} MiB/s  ({messages} messages)");
            Console.WriteLine($"  C# before: split, JsonDocument, then TableUpdates.Parse:      {Mbps(generic),8:F0} MiB/s");
            Console.WriteLine($"  C# JsonRpcReader, monitor traffic in one pass (framing included) to TableUpdates: {Mbps(onePass),8:F0} MiB/s");

            var script = Path.Combine(AppContext.BaseDirectory, "ovs_jsonrpc_parse.py");
            var py = Server.Run("/usr/bin/python3", script, file).Trim().Split(' ');
            var pySeconds = double.Parse(py[2], CultureInfo.InvariantCulture);
            Console.WriteLine($"  python3 ovs.jsonrpc.Connection.recv ({py[3]} parser): {data.Length / 1024.0 / 1024 / pySeconds,8:F1} MiB/s  ({py[0]} messages, stopped on {py[4]})");

            // The same messages to typed rows, as the C# one pass gives them: the library's own Datum per column.
            var typed = Server.Run("/usr/bin/python3", script, file, "4096", "/usr/share/openvswitch/vtep.ovsschema").Trim().Split(' ');
            var typedSeconds = double.Parse(typed[2], CultureInfo.InvariantCulture);
            Console.WriteLine($"  python3 recv + ovs.db.data.Datum per column (typed rows): {data.Length / 1024.0 / 1024 / typedSeconds,8:F1} MiB/s  ({typed[0]} messages, stopped on {typed[4]})");
            File.Delete(file);
        }
    }

    private static byte[] BuildStream(bool ascii, out int messages)
    {
        var sb = new StringBuilder();
        messages = 0;
        var rng = new Random(7);
        while (sb.Length < 24 * 1024 * 1024)
        {
            sb.Append("{\"id\":null,\"method\":\"update2\",\"params\":[\"replica-1\",{\"Ucast_Macs_Remote\":{");
            for (var r = 0; r < 10; r++)
            {
                if (r > 0)
                {
                    sb.Append(',');
                }

                var i = rng.Next();
                sb.Append($"\"{Guid.NewGuid()}\":{{\"insert\":{{\"MAC\":\"02:00:{i & 0xff:x2}:{(i >> 8) & 0xff:x2}:{(i >> 16) & 0xff:x2}:{(i >> 24) & 0x7f:x2}\",")
                  .Append($"\"logical_switch\":[\"uuid\",\"{Guid.NewGuid()}\"],\"locator\":[\"uuid\",\"{Guid.NewGuid()}\"],")
                  .Append(r == 0 && !ascii ? "\"ipaddr\":\"h\\u00f4te-é-{x}\"}}" : $"\"ipaddr\":\"172.16.{i & 0xff}.{(i >> 8) & 0xff}\"}}}}");
            }

            sb.Append("}}]}\n");
            messages++;
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>One Utf8JsonReader over the whole stream reading every token and building nothing: what parsing costs before any row exists.</summary>
    private static double TokensOnly(byte[] data, int expected)
    {
        var sw = Stopwatch.StartNew();
        var reader = new Utf8JsonReader(data, new JsonReaderOptions { AllowMultipleValues = true });
        var count = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
            {
                count++;
            }
        }

        return count == expected ? sw.Elapsed.TotalSeconds : throw new InvalidOperationException($"read {count} != {expected}");
    }

    private static double SplitOnly(byte[] data, int expected)
    {
        var sw = Stopwatch.StartNew();
        var splitter = new JsonMessageSplitter(1 << 30);
        var count = 0;
        const int Chunk = 65536;
        var pending = 0;
        for (var pos = 0; pos < data.Length;)
        {
            var end = Math.Min(data.Length, pos + Chunk);
            var seq = new System.Buffers.ReadOnlySequence<byte>(data, pending, end - pending);
            while (splitter.TryReadMessage(ref seq, out _))
            {
                count++;
            }

            pending = (int)(end - seq.Length);
            pos = end;
        }

        return count == expected ? sw.Elapsed.TotalSeconds : throw new InvalidOperationException($"split {count} != {expected}");
    }

    private sealed class Monitors : IMonitorLookup
    {
        private readonly MonitorContext _replica = new("replica-1", MonitorMethod.MonitorCond, L2Gateway.Ovsdb.Schema.DatabaseSchema.Load("/usr/share/openvswitch/vtep.ovsschema"));

        public MonitorContext? ByMonitorId(string monitorId) => monitorId == _replica.Id ? _replica : null;

        public MonitorContext? ByRequestId(long requestId) => null;
    }

    /// <summary>What the client's read loop does now: monitor traffic parsed straight into typed rows by a reader that also finds where each message ends (more work than Python's dicts).</summary>
    private static async Task<double> OnePassAsync(byte[] data, int expected)
    {
        var monitors = new Monitors();
        var sw = Stopwatch.StartNew();
        var reader = new JsonRpcReader(PipeReader.Create(new MemoryStream(data), new StreamPipeReaderOptions(bufferSize: 65536)), 1 << 30, monitors);
        var count = 0;
        while (await reader.ReadAsync() is { } m)
        {
            if (m.Update is { Updates.Count: 10 })
            {
                count++;
            }
        }

        return count == expected ? sw.Elapsed.TotalSeconds : throw new InvalidOperationException($"parsed {count} != {expected}");
    }

    /// <summary>The read loop's path before the one-pass parser: split, copy, JsonDocument, then the same typed rows.</summary>
    private static async Task<double> GenericToTableUpdatesAsync(byte[] data, int expected)
    {
        var schema = L2Gateway.Ovsdb.Schema.DatabaseSchema.Load("/usr/share/openvswitch/vtep.ovsschema");
        var sw = Stopwatch.StartNew();
        var reader = new JsonRpcReader(PipeReader.Create(new MemoryStream(data), new StreamPipeReaderOptions(bufferSize: 65536)), 1 << 30);
        var count = 0;
        while (await reader.ReadAsync() is { } m)
        {
            if (TableUpdates.Parse(m.Params[1], schema, version2: true, initial: false).Count == 10)
            {
                count++;
            }
        }

        return count == expected ? sw.Elapsed.TotalSeconds : throw new InvalidOperationException($"parsed {count} != {expected}");
    }

    private static async Task<double> ReaderAsync(byte[] data, int expected)
    {
        var sw = Stopwatch.StartNew();
        var reader = new JsonRpcReader(PipeReader.Create(new MemoryStream(data), new StreamPipeReaderOptions(bufferSize: 65536)), 1 << 30);
        var count = 0;
        while (await reader.ReadAsync() is { } m)
        {
            if (m.Kind == JsonRpcMessageKind.Notification)
            {
                count++;
            }
        }

        return count == expected ? sw.Elapsed.TotalSeconds : throw new InvalidOperationException($"parsed {count} != {expected}");
    }
}
