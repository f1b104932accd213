using System.Diagnostics;
using L2Gateway.Core;
using L2Gateway.Core.Planning;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// The planner alone, in this process, on the fan-out's shape (N switches, each on a rack network of 20 ports
/// shared by 10 switches and on one wide network of 50 ports spanning all of them): what one incremental
/// recomputation costs the server, without processes or HTTP around it.
/// </summary>
internal static class PlanOnly
{
    public static void Run(int count)
    {
        Machine.PrintHeader($"plan ({count} switches)");
        var hosts = Enumerable.Range(0, 20).Select(h => new Host($"h{h}", $"host{h}", $"10.255.0.{h + 1}")).ToList();
        var racks = count / 10;
        var networks = Enumerable.Range(0, racks + 1).Select(n => new Network($"net{n:D4}", $"net{n}", "bench", [new NetworkSegment("vxlan", 10_000 + n)])).ToList();
        var ports = new List<Port>();
        for (var n = 0; n <= racks; n++)
        {
            for (var p = 0; p < (n == racks ? 50 : 20); p++)
            {
                ports.Add(new Port($"p{n}-{p}", "", networks[n].Id, "bench", Seeder.Mac(n, p), [new FixedIp(null, $"10.{n % 250}.0.{p}")], $"host{(n + p) % 20}", []));
            }
        }

        var switches = Enumerable.Range(0, count).Select(i => new SwitchInventory($"sw{i:D4}", [$"10.202.{i / 250}.{(i % 250) + 1}"], FaultStatus.Up, [new SwitchPortInventory("p1", FaultStatus.Up)])).ToList();
        var gateways = switches.Select((s, i) => new Gateway($"g{i}", $"g{i}", "bench", [new GatewayDevice($"d{i}", s.Name, [new GatewayInterface("p1", [])])])).ToList();
        var connections = gateways.SelectMany((g, i) => new[] { new Connection($"c{i}a", g.Id, networks[i % racks].Id, 100, "bench"), new Connection($"c{i}b", g.Id, networks[racks].Id, 200, "bench") }).ToList();
        var input = new PlannerInput(gateways, connections, networks, ports, hosts, switches);
        var cache = new PlannerCache();
        var tunnelIpOfHost = hosts.ToDictionary(h => h.Name, h => h.TunnelIp);
        for (var round = 0; round < 6; round++)
        {
            var added = new Port($"extra{round}", "", networks[round].Id, "bench", $"02:ee:00:00:00:{round:x2}", [new FixedIp(null, "10.99.0.1")], "host0", []);
            cache.PortChanged(null, added, tunnelIpOfHost);
            ports.Add(added);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var t = Stopwatch.GetTimestamp();
            var plan = Planner.Plan(input with { Ports = ports }, cache);
            Console.WriteLine($"round {round}: plan of {plan.Count} switches {Stopwatch.GetElapsedTime(t).TotalMilliseconds:F0} ms, {(GC.GetAllocatedBytesForCurrentThread() - allocated) / 1e6:F0} MB allocated");
        }
    }
}
