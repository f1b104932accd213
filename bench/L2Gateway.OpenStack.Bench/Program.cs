// OpenStack-mode benchmarks (issue 13, "Numbers") against the real lab of ../shared/testbed/openstack: Keystone, Neutron,
// RabbitMQ, a neutron-openvswitch-agent with its br-tun, and the emulated hardware VTEP br-tor. Prints figures; the method
// and the results are in bench/RESULTS.md ("OpenStack mode"). Run it holding the lab's lock, after building the service:
//   flock /tmp/l2gw-dotnet.lock nice -n 5 ./l2gw --version          (builds .build/l2gw/l2gw-service if the sources changed)
//   flock /tmp/l2gw-dotnet.lock nice -n 5 dotnet build -c Release bench/L2Gateway.OpenStack.Bench
//   flock /tmp/osv-lab.lock dotnet bench/L2Gateway.OpenStack.Bench/bin/Release/net10.0/L2Gateway.OpenStack.Bench.dll COMMAND
// Commands:
//   ports [N]        N ports bound in Neutron, one at a time: until each one's Ucast_Macs_Remote is on the switch, with the
//                    server on the bus (Neutron's notifications)
//   ports-poll [N]   the same without the bus: polling only (BENCH_POLL_INTERVAL, 5 s)
//   l2pop [N]        N connection creates (and deletes) until br-tun has the tunnel port to the switch and the flood flow
//   catalog [N]      N ports in Neutron (BENCH_SEED=api: bulk POST in batches; sql: copies of one port Neutron created,
//                    written into Neutron's database), then the server's first complete read: duration, peak RSS, heap
//   all              ports, ports-poll, l2pop, catalog
//   cleanup          deletes what an interrupted run left behind (everything named l2gw-osbench-*)
// BENCH_DEBUG=1 echoes the server's log.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using L2Gateway.OpenStack.Bench;

var what = args.FirstOrDefault() ?? "all";
int Count(int fallback) => args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : fallback;

var lab = Lab.Read();
Console.WriteLine($"# {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {Environment.ProcessorCount} CPUs, load average {Machine.LoadAverage()}");
if (what != "cleanup")
{
    ServerProcess.EnsureBuilt();
}

await using var cloud = await Cloud.ConnectAsync(lab);
switch (what)
{
    case "ports":
        await Benchmarks.PortsAsync(lab, cloud, bus: true, Count(50));
        break;
    case "ports-poll":
        await Benchmarks.PortsAsync(lab, cloud, bus: false, Count(50));
        break;
    case "l2pop":
        await Benchmarks.L2PopAsync(lab, cloud, Count(20));
        break;
    case "catalog":
        await Benchmarks.CatalogAsync(lab, cloud, Count(10_000));
        break;
    case "all":
        await Benchmarks.PortsAsync(lab, cloud, bus: true, 50);
        await Benchmarks.PortsAsync(lab, cloud, bus: false, 50);
        await Benchmarks.L2PopAsync(lab, cloud, 20);
        await Benchmarks.CatalogAsync(lab, cloud, 10_000);
        break;
    case "cleanup":
        await cloud.CleanupAsync(lab);
        break;
    default:
        Console.Error.WriteLine("usage: ports [N] | ports-poll [N] | l2pop [N] | catalog [N] | all | cleanup");
        return 2;
}

Console.WriteLine($"# done {DateTime.UtcNow:HH:mm:ss} UTC, load average {Machine.LoadAverage()}");
return 0;

namespace L2Gateway.OpenStack.Bench
{
    internal static class Benchmarks
    {
        public const string Prefix = "l2gw-osbench-";
        private const string TorSwitch = "br-tor";
        private const string TorPort = "p1";

        /// <summary>Item 1: a port bound in Neutron until its Ucast_Macs_Remote row is on the switch.</summary>
        public static async Task PortsAsync(Lab lab, Cloud cloud, bool bus, int count)
        {
            var poll = int.Parse(Environment.GetEnvironmentVariable("BENCH_POLL_INTERVAL") ?? "5", CultureInfo.InvariantCulture);
            Console.WriteLine();
            Console.WriteLine(bus
                ? $"## port bound in Neutron -> Ucast_Macs_Remote on the switch, with notifications (transport_url; poll_interval {poll} s too)"
                : $"## port bound in Neutron -> Ucast_Macs_Remote on the switch, without notifications (no transport_url, poll_interval {poll} s)");
            await using var run = await Run.StartAsync(lab, cloud, bus, poll, withSwitch: true);
            var network = await run.NetworkAsync();
            await using var tor = await TorWatch.StartAsync(lab.TorDatabase);
            var connection = await run.ConnectAsync(network.Id);
            await tor.WaitAsync(() => tor.HasSwitch(network.Id), TimeSpan.FromSeconds(60), "the network's Logical_Switch on the switch");

            var fromRequest = new List<double>();
            var fromAnswer = new List<double>();
            var create = new List<double>();
            var missed = 0;
            var gap = bus ? 1.0 : poll; // a random pause before each port: its time against the poll's phase is uniform
            for (var i = -3; i < count; i++) // three warm-up ports
            {
                await Task.Delay(TimeSpan.FromSeconds(Random.Shared.NextDouble() * gap));
                var sent = Stopwatch.GetTimestamp();
                var port = await cloud.CreatePortAsync(network.Id, $"{run.Name}-p{i + 3}", lab.AgentHost, run.ProjectId);
                var answered = Stopwatch.GetTimestamp();
                run.Ports.Add(port.Id);
                if (!await tor.TryWaitAsync(() => tor.MacSeen(port.Mac) is not null, TimeSpan.FromSeconds(poll + 30)))
                {
                    if (i == -3)
                    {
                        throw new InvalidOperationException($"the first port never reached the switch; the server's log:\n{run.Server.Tail()}");
                    }

                    missed++;
                    Console.WriteLine($"  port {port.Id} ({port.Mac}): not on the switch after {poll + 30} s");
                    continue;
                }

                var seen = tor.MacSeen(port.Mac)!.Value;
                if (i < 0)
                {
                    Console.WriteLine($"  warm-up {i + 4}: {Ms(sent, seen):F0} ms after the request");
                    continue;
                }

                fromRequest.Add(Ms(sent, seen));
                fromAnswer.Add(Ms(answered, seen));
                create.Add(Ms(sent, answered));
                if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null)
                {
                    Console.WriteLine($"  {i}: POST {Ms(sent, answered):F0} ms, on the switch {Ms(answered, seen):F0} ms after the answer");
                }
            }

            Console.WriteLine($"  Neutron's POST /v2.0/ports (binding:host_id {lab.AgentHost}): {Stats.Line(create)}");
            Console.WriteLine($"  on the switch, from the POST's answer:  {Stats.Line(fromAnswer)}");
            Console.WriteLine($"  on the switch, from the POST's request: {Stats.Line(fromRequest)}");
            if (missed > 0)
            {
                Console.WriteLine($"  MISSED: {missed} of {count + 3} ports never reached the switch");
            }

            Console.WriteLine($"  server process: VmHWM {run.Server.PeakRssMiB():F0} MiB; {run.Server.Count("Neutron catalog: notifications read")} notification passes, {run.Server.Count("Neutron catalog: poll read")} polls that wrote rows (logged)");
            await run.DisconnectAsync(connection, network.Id, tor);
        }

        /// <summary>Item 2: a connection create until br-tun has the tunnel port to the switch and the network's flood flow.</summary>
        public static async Task L2PopAsync(Lab lab, Cloud cloud, int rounds)
        {
            Console.WriteLine();
            Console.WriteLine("## connection create -> br-tun: tunnel port to the switch and the table 22 flood flow of the network's VNI");
            await using var run = await Run.StartAsync(lab, cloud, bus: true, poll: 5, withSwitch: true);
            var network = await run.NetworkAsync();
            var vm = await cloud.CreatePortAsync(network.Id, run.Name + "-vm", lab.AgentHost, run.ProjectId);
            run.Ports.Add(vm.Id);
            await run.PlugAsync(vm);
            await cloud.WaitPortActiveAsync(vm.Id, TimeSpan.FromSeconds(90));
            Console.WriteLine($"  fake VM port {vm.Id} ACTIVE on {lab.AgentHost} (VNI {network.Vni})");
            await using var brtun = await BrTunWatch.StartAsync(lab);
            var tunnel = lab.TunnelPortName;
            if (brtun.Reached(network.Vni, tunnel))
            {
                throw new InvalidOperationException($"br-tun already floods VNI {network.Vni} to {tunnel} before any connection: someone else programs it");
            }

            await run.GatewayAsync();
            var toPort = new List<double>();
            var toFlow = new List<double>();
            var apiCall = new List<double>();
            var removed = new List<double>();
            var missed = 0;
            for (var i = -2; i < rounds; i++) // two warm-up rounds
            {
                var sent = Stopwatch.GetTimestamp();
                var connection = await run.ConnectAsync(network.Id);
                var answered = Stopwatch.GetTimestamp();
                if (!await brtun.TryWaitAsync(() => brtun.Reached(network.Vni, tunnel), TimeSpan.FromSeconds(60)))
                {
                    if (i == -2)
                    {
                        throw new InvalidOperationException($"br-tun never got the flood flow; table 22: {brtun.Table22()}; the server's log:\n{run.Server.Tail()}");
                    }

                    missed++;
                    Console.WriteLine($"  round {i}: br-tun never got the flood flow within 60 s; table 22: {brtun.Table22()}");
                }
                else if (i >= 0)
                {
                    apiCall.Add(Ms(sent, answered));
                    toPort.Add(Ms(sent, brtun.PortSeen(tunnel)!.Value));
                    toFlow.Add(Ms(sent, brtun.FlowSeen!.Value));
                }
                else
                {
                    Console.WriteLine($"  warm-up {i + 3}: flood flow {Ms(sent, brtun.FlowSeen!.Value):F0} ms after the request");
                }

                var deleting = Stopwatch.GetTimestamp();
                await run.Product.DeleteConnectionAsync(connection);
                if (!await brtun.TryWaitAsync(() => brtun.Gone(network.Vni, tunnel), TimeSpan.FromSeconds(60)))
                {
                    throw new InvalidOperationException($"br-tun kept the tunnel port or the flood flow 60 s after the connection was deleted; table 22: {brtun.Table22()}");
                }

                if (i >= 0)
                {
                    removed.Add(Ms(deleting, Stopwatch.GetTimestamp()));
                }

                await Task.Delay(TimeSpan.FromSeconds(0.5 + Random.Shared.NextDouble()));
            }

            Console.WriteLine($"  API call (POST /v2.0/l2-gateway-connections): {Stats.Line(apiCall)}");
            Console.WriteLine($"  tunnel port {tunnel} on br-tun (ofport set):  {Stats.Line(toPort)}");
            Console.WriteLine($"  table 22 flood flow (VNI 0x{network.Vni:x} to that port): {Stats.Line(toFlow)}");
            Console.WriteLine($"  connection delete -> port and flood flow gone: {Stats.Line(removed)}");
            if (missed > 0)
            {
                Console.WriteLine($"  MISSED: {missed} rounds");
            }

            var tor = await TorWatch.StartAsync(lab.TorDatabase);
            await using (tor)
            {
                await tor.WaitAsync(() => !tor.HasSwitch(network.Id), TimeSpan.FromSeconds(60), "the network's Logical_Switch gone from the switch");
            }
        }

        /// <summary>Item 3: the server's first complete read of a Neutron with <paramref name="count"/> ports.</summary>
        public static async Task CatalogAsync(Lab lab, Cloud cloud, int count)
        {
            var seed = Environment.GetEnvironmentVariable("BENCH_SEED") ?? "api";
            var networks = int.Parse(Environment.GetEnvironmentVariable("BENCH_NETWORKS") ?? "10", CultureInfo.InvariantCulture);
            Console.WriteLine();
            Console.WriteLine($"## first complete read of {count} ports in {networks} networks (seeded by {seed})");
            await using var run = await Run.StartAsync(lab, cloud, bus: false, poll: 5, withSwitch: false, startServer: false);
            var ids = new List<string>();
            for (var n = 0; n < networks; n++)
            {
                ids.Add((await run.NetworkAsync()).Id);
            }

            var started = Stopwatch.GetTimestamp();
            if (seed == "sql")
            {
                var template = await cloud.CreatePortAsync(ids[0], run.Name + "-template", lab.AgentHost, run.ProjectId);
                run.Ports.Add(template.Id);
                await NeutronDatabase.CopyPortAsync(lab, template.Id, ids, count - 1, run.Name);
                run.SeededNetworks.AddRange(ids);
            }
            else
            {
                const int Batch = 250;
                for (var made = 0; made < count; made += Batch)
                {
                    var batch = Enumerable.Range(made, Math.Min(Batch, count - made)).Select(i => (ids[i % ids.Count], $"{run.Name}-p{i}")).ToList();
                    run.Ports.AddRange(await cloud.CreatePortsAsync(batch, lab.AgentHost, run.ProjectId));
                    Console.Write($"\r  {made + batch.Count} ports created, {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
                }

                Console.WriteLine();
            }

            var total = await cloud.CountPortsAsync();
            Console.WriteLine($"  seeded in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s; Neutron lists {total} ports in all");

            for (var reference = 0; reference < 2; reference++)
            {
                var reading = Stopwatch.GetTimestamp();
                var read = await cloud.ReadAllPortsAsync();
                Console.WriteLine($"  reference: Neutron's answers alone (every port, pages of 500, the product's fields): {read} ports in {Stopwatch.GetElapsedTime(reading).TotalMilliseconds:F0} ms");
            }

            for (var round = 0; round < 2; round++)
            {
                var serverStart = Stopwatch.GetTimestamp();
                var server = run.StartServer(fresh: round == 0);
                var heap = new HeapSampler(server);
                var line = await server.WaitForAsync(FullRead(), TimeSpan.FromMinutes(10));
                var until = Ms(serverStart, line.At);
                var m = FullRead().Match(line.Text);
                await Task.Delay(1000);
                await heap.StopAsync();
                Console.WriteLine(
                    $"  {(round == 0 ? "first start (empty database)" : "restart (mirror in the database)")}: complete read {m.Groups["ms"].Value} ms as logged, " +
                    $"{m.Groups["rows"].Value} rows written, {until:F0} ms after the process started; VmHWM {server.PeakRssMiB():F0} MiB, " +
                    $"VmRSS after {server.RssMiB():F0} MiB; managed heap (GC, sampled every 250 ms) peak {heap.PeakHeapMiB:F0} MiB, " +
                    $"after {heap.LastHeapMiB:F0} MiB; GC committed peak {heap.PeakCommittedMiB:F0} MiB");
                await run.StopServerAsync();
            }
        }

        private static Regex FullRead() => new(@"Neutron catalog: full read, (?<rows>\d+) rows written, (?<ms>\d+) ms", RegexOptions.CultureInvariant);

        public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
    }

    internal static class Stats
    {
        public static double Percentile(List<double> values, double p)
        {
            var sorted = values.Order().ToList();
            var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
        }

        public static string Line(List<double> values) => values.Count == 0
            ? "no samples"
            : $"n={values.Count} min {values.Min():F0} p50 {Percentile(values, 50):F0} p90 {Percentile(values, 90):F0} p99 {Percentile(values, 99):F0} max {values.Max():F0} ms";
    }

    internal static class Machine
    {
        public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
}
