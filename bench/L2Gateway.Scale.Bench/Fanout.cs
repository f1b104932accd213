using System.Diagnostics;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// Issue 14 §3: one <c>l2gw server</c> process (SQLite) serving N switches through simulated agents (each reports
/// N / agents switches and long-polls their desired state). Each switch has one gateway connected to a rack network
/// (one of N / 10, 20 ports; 10 switches each) and to one wide network (50 ports) that spans every switch.
/// </summary>
internal static class Fanout
{
    private const int RackPorts = 20;
    private const int WidePorts = 50;

    public static async Task RunAsync(int count, int agents)
    {
        Machine.PrintHeader($"fanout ({count} switches, {agents} agents)");
        var dir = Machine.TempDir("fanout");
        var seed = new Seeder();
        for (var h = 0; h < 20; h++)
        {
            seed.Host(h);
        }

        var racks = count / 10;
        var rackNets = Enumerable.Range(0, racks).Select(r => seed.Network(r, RackPorts, 20)).ToList();
        var wide = seed.Network(racks, WidePorts, 20);
        var names = new List<(string Name, string TunnelIp)>();
        for (var i = 0; i < count; i++)
        {
            var sw = ($"sw{i:D4}", $"10.202.{i / 250}.{(i % 250) + 1}");
            names.Add(sw);
            seed.Switch(sw.Item1, sw.Item2);
            var gw = seed.Gateway($"g{i}", sw.Item1);
            seed.Connect(gw, rackNets[i % racks], 100);
            seed.Connect(gw, wide, 200);
        }

        await seed.WriteAsync(dir);
        var server = ServerNode.Start("S", "--data-dir", dir);
        await server.ReadyAsync();
        var ready = Stopwatch.GetElapsedTime(server.Service.StartedAt).TotalSeconds;
        await server.Service.WaitForAsync("desired state recomputed (full)");
        var full = server.PlanTimes()[0];
        Console.WriteLine($"server process: answering {ready:F1} s after start; first full plan: inputs {full.Inputs:F0} ms, plan {full.Plan:F0} ms; RSS {server.Service.RssMiB():F0} MiB");

        var sims = Enumerable.Range(0, agents).Select(a => new SimAgent(server.Url, $"agent{a}", names.Skip(a * count / agents).Take(count / agents).ToList())).ToList();
        try
        {
            var t = Stopwatch.GetTimestamp();
            await Task.WhenAll(sims.Select(s => s.ReportAsync()));
            Console.WriteLine($"{agents} agents reported their {count} switches in {Stopwatch.GetElapsedTime(t).TotalMilliseconds:F0} ms");
            var expected = (long)count * (RackPorts + WidePorts);
            var t0 = Stopwatch.GetTimestamp();
            foreach (var sim in sims)
            {
                sim.Start();
            }

            if (!await SimAgent.UntilAsync(() => sims.Sum(s => (long)s.Seen.Count) >= expected, TimeSpan.FromMinutes(5)))
            {
                throw new TimeoutException("the agents never got every switch's state");
            }

            var last = sims.SelectMany(s => s.Seen.Values).Max();
            Console.WriteLine($"initial push: every agent held all its switches' states (whole) {Stopwatch.GetElapsedTime(t0, last).TotalMilliseconds:F0} ms after the first long polls; {sims.Sum(s => s.BytesReceived) / 1e6:F1} MB in {sims.Sum(s => s.Answers)} answers; server RSS {server.Service.RssMiB():F0} MiB");

            // A port on the wide network: every switch's desired state changes; each agent gets a delta per switch.
            var everyone = new List<double>();
            var perSwitch = new List<double>();
            var post = new List<double>();
            for (var k = 0; k < 20; k++)
            {
                var mac = $"02:ff:ff:00:00:{k:x2}";
                var s0 = Stopwatch.GetTimestamp();
                await server.PortAsync(wide, mac, $"host{k % 20}");
                post.Add(Stopwatch.GetElapsedTime(s0).TotalMilliseconds);
                if (!await SimAgent.UntilAsync(() => sims.All(s => s.Switches.All(sw => s.Seen.ContainsKey((sw.Name, mac)))), TimeSpan.FromSeconds(60)))
                {
                    throw new TimeoutException($"{mac} never reached every switch");
                }

                var times = sims.SelectMany(s => s.Switches.Select(sw => Stopwatch.GetElapsedTime(s0, s.Seen[(sw.Name, mac)]).TotalMilliseconds)).ToList();
                everyone.Add(times.Max());
                perSwitch.AddRange(times);
                await Task.Delay(200);
            }

            Console.WriteLine($"a port on the network of all {count} switches: POST {Stats.Summary(post)}");
            Console.WriteLine($"  until every agent held the delta of every switch: {Stats.Summary(everyone)}");
            Console.WriteLine($"  per switch: {Stats.Summary(perSwitch)}");

            // A port on a rack network: 10 switches change.
            var rack = new List<double>();
            for (var k = 0; k < 50; k++)
            {
                var mac = $"02:fe:ff:00:00:{k:x2}";
                var r = (k * 7) % racks;
                var affected = Enumerable.Range(0, count).Where(i => i % racks == r).Select(i => names[i].Name).ToHashSet();
                var s0 = Stopwatch.GetTimestamp();
                await server.PortAsync(rackNets[r], mac, $"host{k % 20}");
                if (!await SimAgent.UntilAsync(() => sims.All(s => s.Switches.Where(sw => affected.Contains(sw.Name)).All(sw => s.Seen.ContainsKey((sw.Name, mac)))), TimeSpan.FromSeconds(60)))
                {
                    throw new TimeoutException($"{mac} never reached its rack's switches");
                }

                rack.Add(sims.SelectMany(s => s.Switches.Where(sw => affected.Contains(sw.Name)).Select(sw => Stopwatch.GetElapsedTime(s0, s.Seen[(sw.Name, mac)]).TotalMilliseconds)).Max());
                await Task.Delay(50);
            }

            Console.WriteLine($"a port on a rack network ({count / racks} switches), API call until all of them held it: {Stats.Summary(rack)}");
            var incremental = server.PlanTimes().Where(p => p.Kind == "incremental").Select(p => p.Inputs + p.Plan).ToList();
            Console.WriteLine($"server's incremental recomputations: {Stats.Summary(incremental)}");
            Console.WriteLine($"server RSS {server.Service.RssMiB():F0} MiB, peak {server.Service.PeakRssMiB():F0} MiB; load average {Machine.LoadAverage()}");
        }
        finally
        {
            foreach (var sim in sims)
            {
                await sim.DisposeAsync();
            }

            server.Dispose(); // after the agents, so that none polls a server that is gone
            Directory.Delete(dir, recursive: true);
        }
    }
}
