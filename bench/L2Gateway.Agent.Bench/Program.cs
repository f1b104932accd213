// Agent benchmarks (issue: agent reconciliation). Prints figures; see bench/RESULTS.md for the method.
//   dotnet run -c Release --project bench/L2Gateway.Agent.Bench [create|reconverge|all|diff|transact|echo|bigreply|parse FILE]
//   bigreply: 100,000 inserts in one transaction; BIG_REPLICA=1 times our replica instead of raw sockets, BIG_CAPTURE=FILE
//   keeps the switch's dump of the rows for `parse FILE` (our message and table-update parsing alone).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using L2Gateway.Core;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Replication;
using L2Gateway.Server;
using L2Gateway.Server.Persistence;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var what = args.FirstOrDefault() ?? "all";
if (what is "create" or "reconverge" or "all")
{
    AgentProcess.EnsureBuilt();
}

if (what is "create" or "all")
{
    await ConnectionCreateAsync();
}

if (what is "reconverge" or "all")
{
    await ReconvergeAsync(networks: 1000, portsPerNetwork: 100);
}

if (what is "diff")
{
    DeltaExperiment();
    var ops = DiffExperiment();
    PlanExperiment();
    for (var round = 0; round < 5; round++)
    {
        var t0 = Stopwatch.GetTimestamp();
        var bytes = TransactRequest(ops);
        Console.WriteLine($"serialise that plan ({ops.Count} operations): {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F1} ms, {bytes.Length} bytes");
    }
}

if (what is "transact")
{
    await TransactExperimentAsync();
}

if (what is "echo")
{
    await EchoExperimentAsync();
}

if (what is "bigreply")
{
    await BigReplyExperimentAsync();
}

if (what is "parse")
{
    var bytes = File.ReadAllBytes(args[1]);
    var schema = L2Gateway.Ovsdb.Schema.DatabaseSchema.Load("/usr/share/openvswitch/vtep.ovsschema");
    for (var round = 0; round < 5; round++)
    {
        var pause0 = GC.GetTotalPauseDuration();
        var t0 = Stopwatch.GetTimestamp();
        var msg = JsonRpcMessage.Parse(new System.Buffers.ReadOnlySequence<byte>(bytes));
        var t1 = Stopwatch.GetTimestamp();
        var updates = TableUpdates.Parse(msg.Result, schema, version2: true, initial: true);
        var t2 = Stopwatch.GetTimestamp();
        Console.WriteLine($"{bytes.Length} bytes: message {Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds:F0} ms, table updates {Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds:F0} ms ({updates.Count} rows); GC pauses {(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:F0} ms");
    }
}

return 0;

// The switch's echo of a 10,000-row write to a monitoring client: when its last byte reaches a raw socket that
// only reads (the switch's and the wire's share), against when our replica holds the rows (adds parsing and applying).
static async Task EchoExperimentAsync()
{
    foreach (var mode in Enumerable.Repeat(new[] { "raw-socket", "replica" }, 6).SelectMany(x => x))
    {
        using var sw = new SwitchProcess();
        var ops = RawOps(10_000, 100);
        OvsdbReplica? replica = null;
        Socket? socket = null;
        var buffer = new byte[1 << 20];
        if (mode == "replica")
        {
            replica = VtepTables.CreateReplica(sw.Endpoint);
            await replica.StartAsync();
            await replica.Ready;
        }
        else
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, sw.Port);
            await socket.SendAsync(MonitorUcastRemotes(allColumns: false));
            await ReadMessageAsync(socket, buffer);
        }

        await using var client = await OvsdbClient.ConnectAsync(sw.Endpoint);
        var t0 = Stopwatch.GetTimestamp();
        var tr = client.TransactAsync("hardware_vtep", ops, CancellationToken.None);
        double first = 0, last;
        long bytes = 0;
        if (socket is not null)
        {
            (first, bytes) = await ReadMessageAsync(socket, buffer, t0);
            last = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            socket.Dispose();
        }
        else
        {
            while (replica!.Snapshot["Ucast_Macs_Remote"].Count < 10_000)
            {
                await Task.Delay(1);
            }

            last = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var reply = await tr;
        reply.EnsureSuccess();
        Console.WriteLine(socket is not null
            ? $"{mode}: the echo's first byte at {first:F0} ms, its last at {last:F0} ms ({bytes} bytes)"
            : $"{mode}: the replica holds every row at {last:F0} ms");
        if (replica is not null)
        {
            await replica.DisposeAsync();
        }
    }
}

// 100,000 inserts in one transaction while a raw socket monitors the table: when the reply and the echo arrive, with
// the default receive buffer on the writing socket and with a 16 MB one.
static async Task BigReplyExperimentAsync()
{
    foreach (var rcvbuf in new[] { 0, 16 << 20, 0, 16 << 20, 0, 16 << 20 })
    {
        using var sw = new SwitchProcess();
        var ops = RawOps(100_000, 100, portsPerNetwork: 100);
        var request = TransactRequest(ops);
        if (Environment.GetEnvironmentVariable("BIG_REPLICA") == "1")
        {
            await using var replica = VtepTables.CreateReplica(sw.Endpoint);
            await replica.StartAsync();
            await replica.Ready;
            await using var c = await OvsdbClient.ConnectAsync(sw.Endpoint);
            var r0 = Stopwatch.GetTimestamp();
            var tr = c.TransactAsync("hardware_vtep", ops, CancellationToken.None);
            var changes = 0;
            double firstChange = 0;
            replica.Changed += (_, _) => { if (changes++ == 0) { firstChange = Stopwatch.GetElapsedTime(r0).TotalMilliseconds; } };
            (await tr).EnsureSuccess();
            var replyAt = Stopwatch.GetElapsedTime(r0).TotalMilliseconds;
            while (replica.Snapshot["Ucast_Macs_Remote"].Count < 100_000)
            {
                await Task.Delay(1);
            }

            Console.WriteLine($"replica: reply {replyAt:F0} ms, first change event {firstChange:F0} ms, every row {Stopwatch.GetElapsedTime(r0).TotalMilliseconds:F0} ms, gen2 {GC.CollectionCount(2)}");
            continue;
        }

        using var monitor = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await monitor.ConnectAsync(IPAddress.Loopback, sw.Port);
        await monitor.SendAsync(MonitorUcastRemotes(allColumns: true));
        var mbuf = new byte[1 << 20];
        await ReadMessageAsync(monitor, mbuf);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (rcvbuf > 0)
        {
            socket.ReceiveBufferSize = rcvbuf;
        }

        await socket.ConnectAsync(IPAddress.Loopback, sw.Port);
        var t0 = Stopwatch.GetTimestamp();
        var echo = Task.Run(async () => { var (first, bytes) = await ReadMessageAsync(monitor, mbuf, t0); return (first, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, bytes); });
        await socket.SendAsync(request);
        var sent = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var probe = Task.Run(async () => { await sw.WaitForRowAsync("Ucast_Macs_Remote", "MAC", Lab.Mac(999, 99)); return Stopwatch.GetElapsedTime(t0).TotalMilliseconds; });
        var (rfirst, rbytes) = await ReadMessageAsync(socket, new byte[1 << 20], t0);
        var reply = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var (efirst, elast, ebytes) = await echo;
        if (Environment.GetEnvironmentVariable("BIG_CAPTURE") is { } capture)
        {
            // The switch's dump of those rows to a new monitor, kept for the `parse` mode.
            using var m2 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await m2.ConnectAsync(IPAddress.Loopback, sw.Port);
            await m2.SendAsync(MonitorUcastRemotes(allColumns: false));
            using var file = File.Create(capture);
            await ReadMessageAsync(m2, new byte[1 << 20], copyTo: file);
            return;
        }

        Console.WriteLine($"rcvbuf {rcvbuf}: sent {sent:F0} ms, probe {await probe:F0} ms, reply first byte {rfirst:F0} last {reply:F0} ms ({rbytes} bytes), echo first {efirst:F0} last {elast:F0} ms ({ebytes} bytes)");
    }
}

static ReadOnlyMemory<byte> TransactRequest(IReadOnlyList<Operation> ops) => JsonRpcWriter.Request("transact", w =>
{
    w.WriteStringValue("hardware_vtep");
    foreach (var op in ops)
    {
        op.WriteTo(w);
    }
}, 1);

// A raw monitor of the remote MAC table: every column the server has (_version included), or the user columns the
// replica asks for.
static byte[] MonitorUcastRemotes(bool allColumns) => Encoding.UTF8.GetBytes(allColumns
    ? """{"method":"monitor_cond","params":["hardware_vtep",null,{"Ucast_Macs_Remote":[{}]}],"id":1}"""
    : """{"method":"monitor_cond","params":["hardware_vtep",null,{"Ucast_Macs_Remote":[{"columns":["MAC","ipaddr","locator","logical_switch"]}]}],"id":1}""");

// Reads one JSON-RPC message (a whole top-level object); returns when its first byte came (ms after t0) and its size.
static async Task<(double First, long Bytes)> ReadMessageAsync(Socket socket, byte[] buffer, long t0 = 0, Stream? copyTo = null)
{
    var depth = 0;
    var inString = false;
    var escaped = false;
    var first = -1.0;
    long total = 0;
    while (true)
    {
        var n = await socket.ReceiveAsync(buffer);
        if (n == 0)
        {
            throw new IOException("closed");
        }

        if (first < 0)
        {
            first = t0 == 0 ? 0 : Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        total += n;
        for (var i = 0; i < n; i++)
        {
            var b = buffer[i];
            if (inString)
            {
                if (escaped) { escaped = false; }
                else if (b == '\\') { escaped = true; }
                else if (b == '"') { inString = false; }
            }
            else if (b == '"') { inString = true; }
            else if (b == '{') { depth++; }
            else if (b == '}' && --depth == 0)
            {
                copyTo?.Write(buffer, 0, i + 1);
                return (first, total);
            }
        }

        copyTo?.Write(buffer, 0, n);
    }
}

static async Task TransactExperimentAsync()
{
    foreach (var mode in Enumerable.Repeat(new[] { "plain", "replica-separate", "replica-same" }, 6).SelectMany(x => x))
    {
        using var sw = new SwitchProcess();
        var ops = RawOps(10_000, 100);
        OvsdbReplica? replica = null;
        OvsdbClient client;
        if (mode == "plain")
        {
            client = await OvsdbClient.ConnectAsync(sw.Endpoint);
        }
        else
        {
            replica = VtepTables.CreateReplica(sw.Endpoint, new OvsdbReplicaOptions { Method = mode.EndsWith("-cond", StringComparison.Ordinal) ? MonitorMethod.MonitorCond : mode.EndsWith("-v1", StringComparison.Ordinal) ? MonitorMethod.Monitor : null });
            await replica.StartAsync();
            await replica.Ready;
            client = mode.StartsWith("replica-same", StringComparison.Ordinal) ? replica.Client! : await OvsdbClient.ConnectAsync(sw.Endpoint);
        }

        var t0 = Stopwatch.GetTimestamp();
        var tr = client.TransactAsync("hardware_vtep", ops, CancellationToken.None);
        await sw.WaitForRowAsync("Ucast_Macs_Remote", "MAC", Lab.Mac(0, 10_000 - 1));
        var tp = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var r = await tr;
        r.EnsureSuccess();
        var t1 = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var seen = 0.0;
        if (replica is not null)
        {
            while (replica.Snapshot["Ucast_Macs_Remote"].Count < 10_000)
            {
                await Task.Delay(1);
            }

            seen = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        Console.WriteLine($"{mode}: a probe sees the last row at {tp:F0} ms, the reply at {t1:F0} ms, the replica has every row at {(replica is null ? "-" : $"{seen:F0} ms")}");
        if (replica is not null)
        {
            await replica.DisposeAsync();
        }
    }
}

static void DeltaExperiment()
{
    // The agent holds a state with one other network; the server adds a network of 10,000 rows.
    var other = Enumerable.Range(0, 100).Select(p => new L2Gateway.Core.Planning.DesiredUcastRemote(Lab.Mac(1, p), Lab.Ip(1, p), "net-b", Lab.HostIp(p % 100))).ToList();
    var rows = Enumerable.Range(0, 10_000).Select(p => new L2Gateway.Core.Planning.DesiredUcastRemote(Lab.Mac(0, p), Lab.Ip(0, p), "3f1c2d4e-0000-4000-8000-00000000000a", Lab.HostIp(p % 100))).ToList();
    var before = new L2Gateway.Core.Planning.SwitchDesiredState("tor1", [new("net-b", 5001, "net-b")], [], other, []);
    var after = new L2Gateway.Core.Planning.SwitchDesiredState("tor1", [new("net-b", 5001, "net-b"), new("3f1c2d4e-0000-4000-8000-00000000000a", 5000, "net")], [], [.. other, .. rows], []);
    for (var round = 0; round < 5; round++)
    {
        var t0 = Stopwatch.GetTimestamp();
        var delta = L2Gateway.Core.Planning.SwitchDesiredDelta.Between(before, after);
        var t1 = Stopwatch.GetTimestamp();
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new L2Gateway.Core.Planning.DesiredStateBatch([], [delta]), L2Gateway.Core.Planning.AgentProtocol.Json);
        var t2 = Stopwatch.GetTimestamp();
        var back = JsonSerializer.Deserialize<L2Gateway.Core.Planning.DesiredStateBatch>(bytes, L2Gateway.Core.Planning.AgentProtocol.Json)!;
        var t3 = Stopwatch.GetTimestamp();
        var applied = back.Deltas![0].ApplyTo(before);
        var t4 = Stopwatch.GetTimestamp();
        if (applied.Revision != after.Revision) throw new InvalidOperationException("delta did not apply");
        Console.WriteLine($"delta of a new 10,000-row network: between {Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds:F1} ms, to JSON {Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds:F1} ms ({bytes.Length} bytes), from JSON {Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds:F1} ms, apply {Stopwatch.GetElapsedTime(t3, t4).TotalMilliseconds:F1} ms");
    }
}

/// <returns>The plan of the new logical switch: what the agent sends.</returns>
static IReadOnlyList<Operation> DiffExperiment()
{
    const int N = 10_000;
    var lsUuid = Guid.NewGuid();
    var locators = Enumerable.Range(0, 100).ToDictionary(_ => Guid.NewGuid(), h => Lab.HostIp(h));
    var locatorList = locators.Keys.ToList();
    var rows = Enumerable.Range(0, N).Select(p => new L2Gateway.Core.Planning.DesiredUcastRemote(Lab.Mac(0, p), Lab.Ip(0, p), "net", Lab.HostIp(p % 100))).ToList();
    var desired = new L2Gateway.Core.Planning.SwitchDesiredState("tor1", [new("net", 5000, "net")], [], rows, []);
    var actual = new L2Gateway.Agent.VtepState(
        [new(Guid.NewGuid(), "tor1", ["192.0.2.1"], [], [], "")],
        [],
        [new(lsUuid, "net", 5000, "net", new Dictionary<string, string> { ["l2gw-owner"] = "l2gw" })],
        [.. Enumerable.Range(0, N).Select(p => new L2Gateway.Agent.VtepState.MacRow(Guid.NewGuid(), Lab.Mac(0, p), lsUuid, locatorList[p % 100], Lab.Ip(0, p)))],
        [], [], [], locators, new Dictionary<Guid, IReadOnlyList<Guid>>());
    var scope = new L2Gateway.Agent.ReconcileScope(new HashSet<string> { "net" }, new HashSet<L2Gateway.Core.Planning.DesiredUcastKey>(), new HashSet<string>());
    for (var round = 0; round < 5; round++)
    {
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < 100; i++)
        {
            var plan = L2Gateway.Agent.Reconciler.Plan([desired], actual, scope: scope);
            if (!plan.Converged) throw new InvalidOperationException("not converged");
        }

        Console.WriteLine($"diff of a 10,000-row logical switch: {Stopwatch.GetElapsedTime(t0).TotalMilliseconds / 100:F2} ms per pass");
    }

    var empty = actual with { LogicalSwitches = [], UcastRemotes = [] };
    for (var round = 0; round < 5; round++)
    {
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < 20; i++)
        {
            var plan = L2Gateway.Agent.Reconciler.Plan([desired], empty, scope: scope);
            if (plan.Operations.Count < N) throw new InvalidOperationException("too few operations");
        }

        Console.WriteLine($"plan of a new 10,000-row logical switch (10,000 inserts): {Stopwatch.GetElapsedTime(t0).TotalMilliseconds / 20:F2} ms per pass");
    }

    return L2Gateway.Agent.Reconciler.Plan([desired], empty, scope: scope).Operations;
}

static void PlanExperiment()
{
    var hosts = Enumerable.Range(0, 100).Select(h => new L2Gateway.Core.Host($"h{h}", $"host{h}", Lab.HostIp(h))).ToList();
    var ports = Enumerable.Range(0, 10_000).Select(p => new L2Gateway.Core.Port(Guid.NewGuid().ToString(), "", "net", "p", Lab.Mac(0, p), [new L2Gateway.Core.FixedIp(null, Lab.Ip(0, p))], $"host{p % 100}", [])).ToList();
    var input = new L2Gateway.Core.Planning.PlannerInput(
        [new L2Gateway.Core.Gateway("g", "g", "p", [new L2Gateway.Core.GatewayDevice("d", "tor1", [new L2Gateway.Core.GatewayInterface("p1", [])])])],
        [new L2Gateway.Core.Connection("c", "g", "net", 100, "p")],
        [new L2Gateway.Core.Network("net", "net", "p", [new L2Gateway.Core.NetworkSegment("vxlan", 5000)])],
        ports, hosts, [new L2Gateway.Core.SwitchInventory("tor1", ["192.0.2.1"], "UP", [])]);
    var cache = new L2Gateway.Core.Planning.PlannerCache();
    for (var round = 0; round < 5; round++)
    {
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < 50; i++)
        {
            cache.Invalidate("net");
            L2Gateway.Core.Planning.Planner.Plan(input, cache);
        }

        Console.WriteLine($"plan of a 10,000-port network from scratch: {Stopwatch.GetElapsedTime(t0).TotalMilliseconds / 50:F2} ms");
        var tunnelIps = hosts.ToDictionary(h => h.Name, h => h.TunnelIp);
        t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < 50; i++)
        {
            var port = new L2Gateway.Core.Port($"extra{i}", "", "net", "p", $"02:bb:00:00:00:{i:x2}", [new L2Gateway.Core.FixedIp(null, $"10.99.0.{i}")], "host1", []);
            cache.PortChanged(null, port, tunnelIps);
            L2Gateway.Core.Planning.Planner.Plan(input, cache);
            cache.PortChanged(port, null, tunnelIps);
        }

        Console.WriteLine($"plan of a 10,000-port network after one port added: {Stopwatch.GetElapsedTime(t0).TotalMilliseconds / 50:F2} ms");
    }
}

// The rows a connection of `ports` ports writes, numbered as the lab numbers ports: `portsPerNetwork` ports per
// network (the default, all of them in network 0, is the lab's one 10,000-port network).
static List<Operation> RawOps(int ports, int hosts, int portsPerNetwork = 0)
{
    if (portsPerNetwork <= 0)
    {
        portsPerNetwork = ports;
    }

    var ops = new List<Operation>
    {
        new InsertOperation("Logical_Switch", "ls").Set("name", "net").Set("tunnel_key", 5000L),
    };
    for (var h = 0; h < hosts; h++)
    {
        ops.Add(new InsertOperation("Physical_Locator", $"loc{h}").Set("encapsulation_type", "vxlan_over_ipv4").Set("dst_ip", Lab.HostIp(h)));
    }

    for (var p = 0; p < ports; p++)
    {
        ops.Add(new InsertOperation("Ucast_Macs_Remote")
            .Set("MAC", Lab.Mac(p / portsPerNetwork, p % portsPerNetwork)).Set("logical_switch", OvsdbAtom.NamedUuid("ls"))
            .Set("locator", OvsdbAtom.NamedUuid($"loc{p % hosts}")).Set("ipaddr", Lab.Ip(p / portsPerNetwork, p % portsPerNetwork)));
    }

    return ops;
}

static async Task ConnectionCreateAsync()
{
    const int Ports = 10_000;
    const int Hosts = 100;
    Console.WriteLine($"== connection create: 1 network, {Ports} ports on {Hosts} hosts");
    using var sw = new SwitchProcess();
    await using var lab = await Lab.StartAsync(sw);
    var net = await lab.SeedAsync(networks: 1, portsPerNetwork: Ports, hosts: Hosts);
    var gw = await lab.CreateGatewayAsync();
    using var agent = lab.StartAgent();
    await lab.WaitForSwitchAsync();

    // Side by side, round after round so that both see the same machine: our create (the first on freshly started
    // processes, the next ones after the connection was deleted and its rows removed), the same rows as one raw
    // transaction on a fresh switch, and that raw transaction again with a client monitoring every table (as any
    // agent that repairs drift must): the switch's own cost with and without the monitor it has to feed.
    var times = new List<double>();
    var rawSeconds = new List<double>();
    var monitoredSeconds = new List<double>();
    const int Rounds = 6;
    for (var round = 0; round < Rounds; round++)
    {
        Debug($"connection create at {DateTime.UtcNow:HH:mm:ss.fff}");
        var started = Stopwatch.GetTimestamp();
        var connection = await lab.ConnectAsync(gw, net[0], 100);
        Debug($"API answered at {DateTime.UtcNow:HH:mm:ss.fff}");
        await sw.WaitForRowAsync("Ucast_Macs_Remote", "MAC", Lab.Mac(0, Ports - 1));
        times.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
        Debug($"switch holds every row at {DateTime.UtcNow:HH:mm:ss.fff}");
        await sw.WaitForCountAsync("Ucast_Macs_Remote", Ports);
        await Task.Delay(1000);
        if (round < Rounds - 1)
        {
            await lab.DisconnectAsync(connection);
            await sw.WaitForCountAsync("Ucast_Macs_Remote", 0, exactly: true);
            await Task.Delay(1000);
        }

        using (var raw = new SwitchProcess())
        {
            rawSeconds.Add(await RawInsertAsync(raw, Ports, Hosts));
        }

        using (var raw = new SwitchProcess())
        {
            // Timed as ours is: from the moment the transaction is sent until a probe sees its last row (the
            // switch serves the probe only after it has composed the monitor's update).
            await using var monitor = VtepTables.CreateReplica(raw.Endpoint);
            await monitor.StartAsync();
            await monitor.Ready;
            var sent = new TaskCompletionSource<long>();
            var insert = RawInsertAsync(raw, Ports, Hosts, () => sent.TrySetResult(Stopwatch.GetTimestamp()));
            var t0 = await sent.Task;
            await raw.WaitForRowAsync("Ucast_Macs_Remote", "MAC", Lab.Mac(0, Ports - 1));
            monitoredSeconds.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            await insert;
        }
    }

    var warm = times.Skip(1).ToList();
    Console.WriteLine($"raw transaction of the same rows (the switch's own cost), {Rounds} rounds: {string.Join(", ", rawSeconds.Select(s => $"{s:F3} s"))}; median {Median(rawSeconds):F3} s");
    Console.WriteLine($"same, with a client monitoring the switch, until a probe sees the last row: {string.Join(", ", monitoredSeconds.Select(s => $"{s:F3} s"))}; median {Median(monitoredSeconds):F3} s");
    Console.WriteLine($"API call -> switch holds every row: first {times[0]:F3} s; again after a delete: {string.Join(", ", warm.Select(s => $"{s:F3} s"))}; median {Median(warm):F3} s = {Median(warm) / Median(rawSeconds):F2}x the raw transaction, {Median(warm) / Median(monitoredSeconds):F2}x the monitored one");

    // One port added on the connected network: time until its MAC is on the switch, seen by a monitor.
    await using var watcher = VtepTables.CreateReplica(sw.Endpoint);
    var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
    watcher.Changed += (_, e) =>
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var change in e.Changes.Where(c => c.Table == "Ucast_Macs_Remote" && c.New is not null))
        {
            seen.TryAdd(change.New!.GetString("MAC"), now);
        }
    };
    await watcher.StartAsync();
    await watcher.Ready;
    var latencies = new List<double>();
    for (var i = 0; i < 200; i++)
    {
        var mac = $"02:aa:00:00:{i / 256:x2}:{i % 256:x2}";
        var t0 = Stopwatch.GetTimestamp();
        await lab.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{net[0]}}}","mac_address":"{{{mac}}}","fixed_ips":[{"ip_address":"10.200.{{{i / 256}}}.{{{i % 256}}}"}],"binding:host_id":"host{{{i % Hosts}}}"}}""");
        var posted = Stopwatch.GetTimestamp();
        while (!seen.ContainsKey(mac))
        {
            await Task.Delay(1);
        }

        latencies.Add(Stopwatch.GetElapsedTime(t0, seen[mac]).TotalMilliseconds);
        Debug($"port {i} posted at {DateTime.UtcNow.AddMilliseconds(-Stopwatch.GetElapsedTime(t0).TotalMilliseconds):HH:mm:ss.fff}: API answered after {Stopwatch.GetElapsedTime(t0, posted).TotalMilliseconds:F1} ms, MAC on the switch after {latencies[^1]:F1} ms");
    }

    latencies.Sort();
    Console.WriteLine($"port add -> MAC on the switch, 200 ports one at a time: p50 {latencies[99]:F1} ms, p90 {latencies[179]:F1} ms, p99 {latencies[197]:F1} ms, max {latencies[^1]:F1} ms");
}

static async Task ReconvergeAsync(int networks, int portsPerNetwork)
{
    var total = networks * portsPerNetwork;
    Console.WriteLine($"== reconvergence: {networks} connected networks x {portsPerNetwork} ports ({total} MACs) on one switch");
    using var sw = new SwitchProcess();
    await using var lab = await Lab.StartAsync(sw);
    var nets = await lab.SeedAsync(networks, portsPerNetwork, hosts: 100);
    var gw = await lab.CreateGatewayAsync();
    await lab.ConnectAllAsync(gw, nets);
    using var agent = lab.StartAgent();
    var started = DateTimeOffset.UtcNow;

    // The switch is not asked (a select over 100,000 rows every few ms slows the very switch it measures): its
    // database file is read as it grows, and the time is the commit time of the transaction that completed the rows.
    var programmed = await sw.CommittedAsync("Ucast_Macs_Remote", total);
    Console.WriteLine($"initial programming of {total} MACs: {(programmed - started).TotalSeconds:F2} s");
    await sw.WaitForCountAsync("Ucast_Macs_Remote", total);
    await Task.Delay(5000);

    sw.WipeAndRestart();
    started = DateTimeOffset.UtcNow;
    var back = (await sw.CommittedAsync("Ucast_Macs_Remote", total) - started).TotalSeconds;
    await sw.WaitForCountAsync("Ucast_Macs_Remote", total);
    await sw.WaitForCountAsync("Mcast_Macs_Remote", networks);
    await sw.WaitForCountAsync("Logical_Switch", networks);
    Console.WriteLine($"switch database wiped and restarted -> every row back: {back:F2} s (then verified: {total} MACs, {networks} flood rows, {networks} logical switches)");
    await Task.Delay(5000); // steady state: the agent has confirmed convergence
    if (Environment.GetEnvironmentVariable("BENCH_HOLD") is { } hold)
    {
        Console.WriteLine($"holding for {hold} s: agent pid {agent.Id}");
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(hold, CultureInfo.InvariantCulture)));
    }
    Console.WriteLine($"agent process memory, steady: RSS {agent.RssMiB():F0} MiB; peak RSS during the run {agent.PeakRssMiB():F0} MiB");
}

static void Debug(string line)
{
    if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null)
    {
        Console.WriteLine(line);
    }
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

// The server's own cost: the same rows as one prebuilt transaction written to a plain socket, reply awaited.
static async Task<double> RawInsertAsync(SwitchProcess sw, int ports, int hosts, Action? sending = null)
{
    var request = TransactRequest(RawOps(ports, hosts));
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await socket.ConnectAsync(IPAddress.Loopback, sw.Port);
    sending?.Invoke();
    var started = Stopwatch.GetTimestamp();
    await socket.SendAsync(request);
    await ReadMessageAsync(socket, new byte[1 << 20]);
    return Stopwatch.GetElapsedTime(started).TotalSeconds;
}

/// <summary>A switch: ovsdb-server with a fresh hardware_vtep database, registered as tor1 with port p1.</summary>
internal sealed class SwitchProcess : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-bench-sw-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? process;

    public SwitchProcess()
    {
        Directory.CreateDirectory(dir);
        Port = Lab.FreePort();
        Create();
        Start();
        Register();
    }

    public int Port { get; }

    public string Endpoint => $"tcp:127.0.0.1:{Port}";

    private void Create() => Run("ovsdb-tool", "create", $"{dir}/vtep.db", "/usr/share/openvswitch/vtep.ovsschema");

    private void Register() => Run("vtep-ctl", $"--db={Endpoint}", "add-ps", "tor1", "--", "set", "Physical_Switch", "tor1", "tunnel_ips=192.0.2.1", "--", "add-port", "tor1", "p1");

    private void Start()
    {
        process = Process.Start(new ProcessStartInfo("ovsdb-server", [$"{dir}/vtep.db", $"--remote=ptcp:{Port}:127.0.0.1", $"--unixctl={dir}/ctl", $"--log-file={dir}/log", "-vconsole:off"]))!;
        for (var i = 0; i < 500; i++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(10);
            }
        }
    }

    public void WipeAndRestart()
    {
        process?.Kill();
        process?.WaitForExit();
        File.Delete($"{dir}/vtep.db");
        Create();
        Start();
        Register();
    }

    /// <summary>
    /// Polls cheaply (a select with a condition) until a row with that value exists: the agent writes a plan in one
    /// transaction, so the last row of it being there means all of it is. Counting every row instead, 20 times a
    /// second, would load ovsdb-server more than the agent does.
    /// </summary>
    public async Task WaitForRowAsync(string table, string column, string value, int minutes = 5)
    {
        var deadline = DateTime.UtcNow.AddMinutes(minutes);
        await using var client = await OvsdbClient.ConnectAsync(Endpoint);
        while (DateTime.UtcNow < deadline)
        {
            var result = await client.TransactAsync("hardware_vtep", new SelectOperation(table).Where(column, value).Columns("_uuid"));
            if (result.EnsureSuccess().Operations[0]!.Rows!.Count > 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"{table} never had {column} = {value}");
    }

    /// <summary>
    /// When the database committed the transaction that brought <paramref name="table"/> to <paramref name="rows"/>
    /// rows: read from its file as it grows (a header line and a JSON text per transaction, "_date" its commit time in
    /// ms since the epoch; a row's uuid with an object is an insert or an update, with null a delete).
    /// </summary>
    public async Task<DateTimeOffset> CommittedAsync(string table, int rows, int minutes = 5)
    {
        var deadline = DateTime.UtcNow.AddMinutes(minutes);
        var present = new HashSet<string>(StringComparer.Ordinal);
        using var file = new FileStream($"{dir}/vtep.db", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(file);
        var pending = new StringBuilder();
        while (DateTime.UtcNow < deadline)
        {
            var chunk = await reader.ReadToEndAsync();
            pending.Append(chunk);
            var text = pending.ToString();
            var end = text.LastIndexOf('\n');
            if (end >= 0)
            {
                pending.Clear().Append(text, end + 1, text.Length - end - 1);
                foreach (var line in text[..end].Split('\n'))
                {
                    if (!line.StartsWith('{') || !line.Contains($"\"{table}\"", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    using var record = JsonDocument.Parse(line);
                    if (!record.RootElement.TryGetProperty(table, out var changed) || !record.RootElement.TryGetProperty("_date", out var date))
                    {
                        continue; // the schema, first in the file
                    }

                    foreach (var row in changed.EnumerateObject())
                    {
                        if (row.Value.ValueKind == JsonValueKind.Null)
                        {
                            present.Remove(row.Name);
                        }
                        else
                        {
                            present.Add(row.Name);
                        }
                    }

                    if (present.Count >= rows)
                    {
                        return DateTimeOffset.FromUnixTimeMilliseconds(date.GetInt64());
                    }
                }
            }

            if (chunk.Length == 0)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"{table} never reached {rows} rows in the database file");
    }

    public async Task WaitForCountAsync(string table, int count, int minutes = 5, bool exactly = false)
    {
        var deadline = DateTime.UtcNow.AddMinutes(minutes);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var client = await OvsdbClient.ConnectAsync(Endpoint);
                var result = await client.TransactAsync("hardware_vtep", new SelectOperation(table).Columns("_uuid"));
                var rows = result.EnsureSuccess().Operations[0]!.Rows!.Count;
                if (exactly ? rows == count : rows >= count)
                {
                    return;
                }
            }
            catch (OvsdbException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{table} never reached {count} rows");
    }

    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program}: {p.StandardError.ReadToEnd()}");
        }
    }

    public void Dispose()
    {
        process?.Kill();
        process?.WaitForExit();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>The controller in this process; the agent as a child process.</summary>
internal sealed class Lab : IAsyncDisposable
{
    private readonly HttpClient http = new();
    private readonly string dir;
    private readonly SwitchProcess sw;

    private Lab(WebApplication app, string dir, SwitchProcess sw)
    {
        App = app;
        this.dir = dir;
        this.sw = sw;
        http.BaseAddress = new Uri(ServerHost.Urls(app)[0]);
    }

    public WebApplication App { get; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Mac(int network, int port) => $"02:{network / 256:x2}:{network % 256:x2}:00:{port / 256:x2}:{port % 256:x2}";

    public static string Ip(int network, int port) => $"10.{network % 250}.{port / 256}.{port % 256}";

    public static string HostIp(int host) => $"10.255.{host / 256}.{host % 256 + 1}";

    public static async Task<Lab> StartAsync(SwitchProcess sw)
    {
        var dir = Path.Combine(Path.GetTempPath(), "l2gw-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var app = ServerHost.Build(new ServerOptions { Bind = "127.0.0.1:0", DataDir = dir, QuotaL2Gateway = -1 }, b => b.Logging.ClearProviders().AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss.fff "; c.UseUtcTimestamp = true; }).SetMinimumLevel(LogLevel.Warning).AddFilter("L2Gateway.Server.Services.DesiredStateService", Environment.GetEnvironmentVariable("BENCH_DEBUG") is null ? LogLevel.Warning : LogLevel.Debug));
        await ServerHost.StartAsync(app);
        return new Lab(app, dir, sw);
    }

    /// <summary>Networks, hosts and ports written straight through the store (the API path is measured elsewhere).</summary>
    public async Task<List<string>> SeedAsync(int networks, int portsPerNetwork, int hosts)
    {
        var store = App.Services.GetRequiredService<Store>();
        var ids = new List<string>();
        await store.WriteAsync(db =>
        {
            for (var h = 0; h < hosts; h++)
            {
                db.Hosts.Add(new HostRow { Id = Guid.NewGuid().ToString(), Name = $"host{h}", TunnelIp = HostIp(h) });
            }

            for (var n = 0; n < networks; n++)
            {
                var id = Guid.NewGuid().ToString();
                ids.Add(id);
                db.Networks.Add(new NetworkRow { Id = id, Name = $"net{n}", ProjectId = "bench", SegmentsJson = Mapping.ToJson(new List<NetworkSegment> { new("vxlan", 10_000 + n) }), CreatedAt = n });
                for (var p = 0; p < portsPerNetwork; p++)
                {
                    db.Ports.Add(new PortRow
                    {
                        Id = Guid.NewGuid().ToString(),
                        Name = $"p{n}-{p}",
                        NetworkId = id,
                        ProjectId = "bench",
                        MacAddress = Mac(n, p),
                        FixedIpsJson = Mapping.ToJson(new List<FixedIp> { new(null, Ip(n, p)) }),
                        HostId = $"host{(n + p) % hosts}",
                        AllowedAddressPairsJson = "[]",
                        CreatedAt = p,
                    });
                }
            }

            return Task.FromResult(true);
        });
        return ids;
    }

    public async Task<string> CreateGatewayAsync()
    {
        await App.Services.GetRequiredService<L2Gateway.Server.Services.CatalogService>()
            .ReportSwitchAsync(new SwitchInventory("tor1", ["192.0.2.1"], "UP", [new SwitchPortInventory("p1", "UP")]), null, default);
        var body = await PostAsync("/v2.0/l2-gateways", """{"l2_gateway":{"name":"gw","devices":[{"device_name":"tor1","interfaces":[{"name":"p1"}]}]}}""");
        return body.RootElement.GetProperty("l2_gateway").GetProperty("id").GetString()!;
    }

    public async Task<string> ConnectAsync(string gateway, string network, int vlan)
    {
        var body = await PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}","segmentation_id":{{{vlan}}}}}""");
        return body.RootElement.GetProperty("l2_gateway_connection").GetProperty("id").GetString()!;
    }

    public async Task DisconnectAsync(string connection)
    {
        using var response = await http.DeleteAsync(new Uri($"v2.0/l2-gateway-connections/{connection}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
    }

    public async Task ConnectAllAsync(string gateway, List<string> networks)
    {
        for (var i = 0; i < networks.Count; i++)
        {
            await ConnectAsync(gateway, networks[i], i + 1);
        }
    }

    public async Task<JsonDocument> PostAsync(string path, string json)
    {
        using var response = await http.PostAsync(new Uri(path.TrimStart('/'), UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonDocument.Parse(text) : throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
    }

    public async Task WaitForSwitchAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            var text = await http.GetStringAsync(new Uri("v2.0/l2-gateway-switches/tor1", UriKind.Relative));
            if (text.Contains("\"connected\":true", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("agent never reported tor1");
    }

    public AgentProcess StartAgent()
    {
        Directory.CreateDirectory(dir);
        var ini = Path.Combine(dir, "agent.ini");
        File.WriteAllText(ini, $"""
            [DEFAULT]
            host = bench-agent
            l2gw_server_url = {http.BaseAddress}
            [ovsdb]
            ovsdb_hosts = tor1:127.0.0.1:{sw.Port}
            periodic_interval = 5
            """);
        return new AgentProcess(ini);
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await App.DisposeAsync();
    }
}

internal sealed class AgentProcess : IDisposable
{
    private readonly Process process;

    /// <summary>The repository's ./l2gw script (it builds and publishes on first use: call <see cref="EnsureBuilt"/> before timing).</summary>
    public static string Launcher => SourceTree.Launcher;

    public static void EnsureBuilt()
    {
        using var build = Process.Start(new ProcessStartInfo(Launcher, ["--version"]))!;
        build.WaitForExit();
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException("./l2gw --version failed: the service could not be built");
        }
    }

    public AgentProcess(string ini)
    {
        // As operators run it: the root ./l2gw script, which runs the published (ReadyToRun) build.
        var start = new ProcessStartInfo(Launcher, ["agent", "--config-file", ini])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null)
        {
            start.Environment["Logging__LogLevel__L2Gateway"] = "Debug";
        }

        process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null && e.Data.Contains("tor1", StringComparison.Ordinal))
            {
                Console.WriteLine("agent: " + e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine("agent: " + e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private double Status(string field)
    {
        var line = File.ReadAllLines($"/proc/{process.Id}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public int Id => process.Id;

    public double RssMiB() => Status("VmRSS");

    public double PeakRssMiB() => Status("VmHWM");

    public void Dispose()
    {
        process.Kill();
        process.WaitForExit();
        process.Dispose();
    }
}
