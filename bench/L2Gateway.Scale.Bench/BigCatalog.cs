using System.Diagnostics;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// Issue 14 §3: a big standalone catalog (10,000 networks of 20 ports, 200,000 ports on 100 hosts, 1,000 connections:
/// 100 switches with one gateway each, each connected to 10 networks) in one <c>l2gw server</c> process (SQLite).
/// Plan time (full and incremental, as the server logs them), memory, and the latency of one port change until a
/// simulated agent long-polling the switch holds it.
/// </summary>
internal static class BigCatalog
{
    private const int Hosts = 100;
    private const int Switches = 100;

    public static async Task RunAsync(int networks, int ports, int connections)
    {
        Machine.PrintHeader($"catalog ({networks} networks, {ports} ports, {connections} connections)");
        var dir = Machine.TempDir("catalog");
        var seed = new Seeder();
        for (var h = 0; h < Hosts; h++)
        {
            seed.Host(h);
        }

        var nets = Enumerable.Range(0, networks).Select(n => seed.Network(n, ports / networks, Hosts)).ToList();
        var names = new List<(string Name, string TunnelIp)>();
        var perSwitch = connections / Switches;
        for (var i = 0; i < Switches; i++)
        {
            var sw = ($"sw{i:D3}", $"10.203.0.{i + 1}");
            names.Add(sw);
            seed.Switch(sw.Item1, sw.Item2);
            var gw = seed.Gateway($"g{i}", sw.Item1);
            for (var c = 0; c < perSwitch; c++)
            {
                seed.Connect(gw, nets[(i * perSwitch) + c], c + 1);
            }
        }

        await seed.WriteAsync(dir);
        try
        {
            await MeasureAsync(dir, names, nets, connections, perSwitch, expected: (long)connections * (ports / networks));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task MeasureAsync(string dir, List<(string Name, string TunnelIp)> names, List<string> nets, int connections, int perSwitch, long expected)
    {
        using var server = ServerNode.Start("S", "--data-dir", dir, "--full-reload-interval", "20");
        await server.ReadyAsync();
        var ready = Stopwatch.GetElapsedTime(server.Service.StartedAt).TotalSeconds;
        await server.Service.WaitForAsync("desired state recomputed (full)");
        var first = server.PlanTimes()[0];
        Console.WriteLine($"server process answering {ready:F1} s after start; first full plan: inputs (database read) {first.Inputs:F0} ms, plan {first.Plan:F0} ms; RSS {server.Service.RssMiB():F0} MiB");

        await using var agent = new SimAgent(server.Url, "agent0", names);
        await agent.ReportAsync();
        var t0 = Stopwatch.GetTimestamp();
        agent.Start();
        if (!await SimAgent.UntilAsync(() => agent.Seen.Count >= expected, TimeSpan.FromMinutes(5)))
        {
            throw new TimeoutException("the agent never got every switch's state");
        }

        Console.WriteLine($"initial push of {Switches} switches ({expected} remote MACs): {Stopwatch.GetElapsedTime(t0, agent.Seen.Values.Max()).TotalMilliseconds:F0} ms, {agent.BytesReceived / 1e6:F1} MB");

        // One port at a time on a connected network, on an existing host: the switch's desired state gains one MAC.
        var post = new List<double>();
        var latency = new List<double>();
        var random = new Random(14);
        for (var k = 0; k < 100; k++)
        {
            var n = random.Next(connections);
            var sw = names[n / perSwitch].Name;
            var mac = $"02:fd:{k / 256:x2}:{k % 256:x2}:00:01";
            var s0 = Stopwatch.GetTimestamp();
            await server.PortAsync(nets[n], mac, $"host{k % Hosts}");
            post.Add(Stopwatch.GetElapsedTime(s0).TotalMilliseconds);
            if (!await SimAgent.UntilAsync(() => agent.Seen.ContainsKey((sw, mac)), TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"{mac} never reached {sw}");
            }

            latency.Add(Stopwatch.GetElapsedTime(s0, agent.Seen[(sw, mac)]).TotalMilliseconds);
            await Task.Delay(50);
        }

        Console.WriteLine($"one port added: POST {Stats.Summary(post)}");
        Console.WriteLine($"one port added: API call until the agent's desired state holds it: {Stats.Summary(latency)}");
        var incremental = server.PlanTimes().Where(p => p.Kind == "incremental").Select(p => p.Inputs + p.Plan).ToList();
        Console.WriteLine($"incremental recomputations (apply + plan): {Stats.Summary(incremental)}");

        // A full reload (the safety net, every 20 s here) while agents poll.
        var fulls = server.PlanTimes().Count(p => p.Kind == "full");
        await server.Service.WaitForAsync("desired state recomputed (full)", fulls + 1, seconds: 60);
        var reloads = server.PlanTimes().Where(p => p.Kind == "full").ToList();
        Console.WriteLine($"full reloads so far: {string.Join("; ", reloads.Select(r => $"inputs {r.Inputs:F0} ms + plan {r.Plan:F0} ms"))}");

        // A port added 1 s into a full reload (they start every 20 s here): the recomputation waits for the reload.
        var during = new List<double>();
        for (var k = 0; k < 3; k++)
        {
            var count = server.PlanTimes().Count(p => p.Kind == "full");
            var endedAt = await server.Service.WaitForAsync("desired state recomputed (full)", count + 1, seconds: 60);
            var took = server.PlanTimes().Where(p => p.Kind == "full").ElementAt(count);
            var nextStart = endedAt - (long)((took.Inputs + took.Plan) / 1000 * Stopwatch.Frequency) + (20 * Stopwatch.Frequency);
            await Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextStart + Stopwatch.Frequency));
            var n = random.Next(connections);
            var sw = names[n / perSwitch].Name;
            var mac = $"02:fc:00:00:00:{k:x2}";
            var s0 = Stopwatch.GetTimestamp();
            await server.PortAsync(nets[n], mac, "host0");
            if (!await SimAgent.UntilAsync(() => agent.Seen.ContainsKey((sw, mac)), TimeSpan.FromSeconds(60)))
            {
                throw new TimeoutException($"{mac} never reached {sw}");
            }

            during.Add(Stopwatch.GetElapsedTime(s0, agent.Seen[(sw, mac)]).TotalMilliseconds);
        }

        Console.WriteLine($"one port added 1 s into a full reload: {string.Join(", ", during.Select(d => $"{d:F0} ms"))}");
        Console.WriteLine($"server RSS {server.Service.RssMiB():F0} MiB, peak {server.Service.PeakRssMiB():F0} MiB; load average {Machine.LoadAverage()}");
    }
}
