using System.Diagnostics;
using L2Gateway.Ovsdb;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// Issue 14 §3: one <c>l2gw agent</c> process serving N switches (N ovsdb-server processes with the vtep schema on
/// loopback), against one <c>l2gw server</c> process (SQLite). Each switch has one gateway connected to one of 20
/// networks of 25 ports: 1 logical switch, 1 binding, 25 remote MACs and the flood entry per switch.
/// </summary>
internal static class ManySwitches
{
    private const int Networks = 20;
    private const int PortsPerNetwork = 25;

    public static async Task RunAsync(int count)
    {
        Machine.PrintHeader($"switches ({count})");
        var dir = Machine.TempDir("sw");
        using var server = ServerNode.Start("S", "--data-dir", Path.Combine(dir, "server"));
        await server.ReadyAsync();
        for (var h = 0; h < 10; h++)
        {
            await server.HostAsync($"host{h}", $"10.255.0.{h + 1}");
        }

        var nets = new List<string>();
        for (var n = 0; n < Networks; n++)
        {
            var net = await server.NetworkAsync($"net{n}", 6000 + n);
            nets.Add(net);
            for (var p = 0; p < PortsPerNetwork; p++)
            {
                await server.PortAsync(net, $"02:00:{n:x2}:00:00:{p:x2}", $"host{p % 10}");
            }
        }

        var t = Stopwatch.GetTimestamp();
        var switches = new List<SwitchProc>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                switches.Add(new SwitchProc($"sw{i:D3}", $"10.201.{i / 250}.{(i % 250) + 1}", dir));
            }

            Console.WriteLine($"{count} ovsdb-server processes created, started and registered in {Stopwatch.GetElapsedTime(t).TotalSeconds:F1} s; together RSS {switches.Sum(s => Machine.RssMiB(s.Pid)):F0} MiB");
            await RunAgainstAsync(server, switches, nets, dir);
        }
        finally
        {
            foreach (var sw in switches)
            {
                sw.Dispose();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    private static Service StartAgent(ServerNode server, IEnumerable<SwitchProc> switches, string dir, string host)
    {
        var ini = Path.Combine(dir, host + ".ini");
        File.WriteAllText(ini, $"""
            [DEFAULT]
            host = {host}
            l2gw_server_url = {server.Url.ToString().TrimEnd('/')}

            [ovsdb]
            ovsdb_hosts = {string.Join(",", switches.Select(s => $"{s.Name}:127.0.0.1:{s.Port}"))}
            """);
        return new Service(host, null, "agent", "--config-file", ini);
    }

    private static async Task RunAgainstAsync(ServerNode server, List<SwitchProc> switches, List<string> nets, string dir)
    {
        double baseline;
        using (var one = StartAgent(server, switches.Take(1), dir, "baseline"))
        {
            await one.WaitForAsync("this agent is the writer");
            await Task.Delay(TimeSpan.FromSeconds(5));
            baseline = one.RssMiB();
            Console.WriteLine($"agent with 1 idle switch: RSS {baseline:F0} MiB");
        }

        using var agent = StartAgent(server, switches, dir, "bench-agent");
        var first = await agent.WaitForAsync("this agent is the writer");
        var all = await agent.WaitForAsync("this agent is the writer", switches.Count, seconds: 300);
        Console.WriteLine($"connect: the first switch connected (lock held) {Stopwatch.GetElapsedTime(agent.StartedAt, first).TotalSeconds:F2} s after the agent process started, all {switches.Count} after {Stopwatch.GetElapsedTime(agent.StartedAt, all).TotalSeconds:F2} s");

        // Gateways need the switches in the inventory the agent reports.
        while ((await server.GetAsync("/v2.0/l2-gateway-switches"))["l2_gateway_switches"]!.AsArray().Count < switches.Count)
        {
            await Task.Delay(100);
        }

        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < switches.Count; i++)
        {
            await server.ConnectAsync(await server.GatewayAsync($"g{i}", switches[i].Name), nets[i % nets.Count], 100);
        }

        var created = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var (_, programmed) = await AllProgrammedAsync(switches);
        Console.WriteLine($"first programming: {switches.Count} gateways and connections created through the API in {created:F1} s; every switch held its {PortsPerNetwork} remote MACs {Stopwatch.GetElapsedTime(t0, programmed).TotalSeconds:F1} s after the first create");
        await Task.Delay(TimeSpan.FromSeconds(10));
        var steady = agent.RssMiB();
        Console.WriteLine($"agent RSS with {switches.Count} switches, steady: {steady:F0} MiB (peak so far {agent.PeakRssMiB():F0} MiB); per switch {(steady - baseline) / (switches.Count - 1) * 1024:F0} KiB over the 1-switch agent's {baseline:F0} MiB");

        // Every switch restarts at once, keeping its database (a power cycle).
        var writers = agent.Count("this agent is the writer");
        var k0 = Stopwatch.GetTimestamp();
        foreach (var sw in switches)
        {
            sw.Kill();
        }

        Parallel.ForEach(switches, new ParallelOptions { MaxDegreeOfParallelism = 16 }, sw => sw.Start());

        var up = Stopwatch.GetTimestamp();
        var back = await agent.WaitForAsync("this agent is the writer", writers + switches.Count, seconds: 300);
        Console.WriteLine($"restart, databases kept: all {switches.Count} killed and started again in {Stopwatch.GetElapsedTime(k0, up).TotalSeconds:F1} s; the agent held every switch's lock again {Stopwatch.GetElapsedTime(k0, back).TotalSeconds:F1} s after the kill ({Stopwatch.GetElapsedTime(up, back).TotalSeconds:F1} s after the last start)");
        await Task.Delay(TimeSpan.FromSeconds(10));

        // Every switch restarts at once on an empty database (reset or replaced): the agent must program all again.
        k0 = Stopwatch.GetTimestamp();
        foreach (var sw in switches)
        {
            sw.Kill();
        }

        Parallel.ForEach(switches, new ParallelOptions { MaxDegreeOfParallelism = 16 }, sw => sw.StartWiped());

        up = Stopwatch.GetTimestamp();
        var (perSwitch, converged) = await AllProgrammedAsync(switches);
        Console.WriteLine($"restart, databases wiped: all {switches.Count} killed and started on their factory databases in {Stopwatch.GetElapsedTime(k0, up).TotalSeconds:F1} s; every switch converged {Stopwatch.GetElapsedTime(k0, converged).TotalSeconds:F1} s after the kill ({Stopwatch.GetElapsedTime(up, converged).TotalSeconds:F1} s after the last start)");
        Console.WriteLine($"  per switch, from the kill: {Stats.Summary([.. perSwitch.Select(x => Stopwatch.GetElapsedTime(k0, x).TotalMilliseconds)])}");
        await Task.Delay(TimeSpan.FromSeconds(10));
        Console.WriteLine($"agent RSS after the restarts: {agent.RssMiB():F0} MiB, peak over the run {agent.PeakRssMiB():F0} MiB; switches together {switches.Sum(s => Machine.RssMiB(s.Pid)):F0} MiB");
    }

    /// <summary>Waits until every switch holds its remote MACs and its flood entry; returns when each did, and the last.</summary>
    private static async Task<(List<long> PerSwitch, long Last)> AllProgrammedAsync(List<SwitchProc> switches)
    {
        var pending = switches.ToDictionary(s => s, _ => (OvsdbClient?)null);
        var done = new List<long>();
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (pending.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{pending.Count} switch(es) never converged, e.g. {pending.Keys.First().Name}");
            }

            foreach (var sw in pending.Keys.ToList())
            {
                try
                {
                    var client = pending[sw] ??= await OvsdbClient.ConnectAsync(sw.Endpoint);
                    if (await sw.CountAsync(client, "Ucast_Macs_Remote") >= PortsPerNetwork && await sw.CountAsync(client, "Mcast_Macs_Remote") >= 1)
                    {
                        done.Add(Stopwatch.GetTimestamp());
                        await client.DisposeAsync();
                        pending.Remove(sw);
                    }
                }
                catch (Exception e) when (e is OvsdbException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    if (pending[sw] is { } broken)
                    {
                        await broken.DisposeAsync();
                    }

                    pending[sw] = null;
                }
            }

            await Task.Delay(50);
        }

        return (done, done.Max());
    }
}
