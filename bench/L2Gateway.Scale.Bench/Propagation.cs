using System.Diagnostics;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// Issue 14 §1: a write on server A reaches an agent long-polling server B (LISTEN/NOTIFY), measured side by side
/// with server C, which never hears notifications (its LISTEN connection is refused by a relay) and so gets A's writes
/// only from its periodic full reload, every 10 s: the path before issue 14. All three are <c>l2gw server</c>
/// processes on one PostgreSQL; the agents are simulated (HTTP long polls, the real agent's query and JSON).
/// </summary>
internal static class Propagation
{
    private const int OldReloadSeconds = 10;

    public static async Task RunAsync(int writes)
    {
        Machine.PrintHeader($"propagation ({writes} writes)");
        var dir = Machine.TempDir("prop");
        using var pg = new Postgres();
        Machine.Run(Service.Launcher, "db", "upgrade", "--database", pg.Url);
        using var blocker = new ListenBlocker(pg.Port);
        using var a = ServerNode.Start("A", "--database", pg.Url, "--full-reload-interval", "3600", "--data-dir", Path.Combine(dir, "a"));
        using var b = ServerNode.Start("B", "--database", pg.Url, "--full-reload-interval", "3600", "--data-dir", Path.Combine(dir, "b"));
        using var c = ServerNode.Start(
            "C", "--database", $"postgresql://postgres@127.0.0.1:{blocker.Port}/l2gw", "--full-reload-interval", $"{OldReloadSeconds}", "--data-dir", Path.Combine(dir, "c"));
        await Task.WhenAll(a.ReadyAsync(), b.ReadyAsync(), c.ReadyAsync());
        await Task.WhenAll(a.Service.WaitForAsync("LISTEN was (re)established"), b.Service.WaitForAsync("LISTEN was (re)established"));
        Console.WriteLine($"PostgreSQL {pg.Version}; servers A, B listening; C behind the relay (LISTEN refused {blocker.Refused} time(s) so far, full reload every {OldReloadSeconds} s)");

        await using var viaB = new SimAgent(b.Url, "agent-b", [("tor1", "192.0.2.1")]);
        await using var viaC = new SimAgent(c.Url, "agent-c", [("tor2", "192.0.2.2")]);
        await viaB.ReportAsync();
        await viaC.ReportAsync();
        await a.HostAsync("compute1", "10.0.0.11");
        var net = await a.NetworkAsync("prop", 5001);
        await a.ConnectAsync(await a.GatewayAsync("g1", "tor1"), net, 100);
        await a.ConnectAsync(await a.GatewayAsync("g2", "tor2"), net, 100);
        viaB.Start();
        viaC.Start();
        await a.PortAsync(net, "02:00:00:00:ff:ff", "compute1");
        if (!await SimAgent.UntilAsync(() => viaB.Seen.ContainsKey(("tor1", "02:00:00:00:ff:ff")) && viaC.Seen.ContainsKey(("tor2", "02:00:00:00:ff:ff")), TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("the first port never reached both agents");
        }

        var post = new List<double>();
        var started = new long[writes];
        var toB = new List<double>();
        var missedB = 0;
        var pace = TimeSpan.FromMilliseconds(100);
        var load0 = Machine.LoadAverage();
        for (var i = 0; i < writes; i++)
        {
            var mac = $"02:00:00:01:{i / 256:x2}:{i % 256:x2}";
            var t0 = started[i] = Stopwatch.GetTimestamp();
            await a.PortAsync(net, mac, "compute1");
            post.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (await SimAgent.UntilAsync(() => viaB.Seen.ContainsKey(("tor1", mac)), TimeSpan.FromSeconds(10)))
            {
                toB.Add(Stopwatch.GetElapsedTime(t0, viaB.Seen[("tor1", mac)]).TotalMilliseconds);
            }
            else
            {
                missedB++;
            }

            var rest = pace - Stopwatch.GetElapsedTime(t0);
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
        }

        var lastMac = $"02:00:00:01:{(writes - 1) / 256:x2}:{(writes - 1) % 256:x2}";
        await SimAgent.UntilAsync(() => viaC.Seen.ContainsKey(("tor2", lastMac)), TimeSpan.FromSeconds(OldReloadSeconds * 3));
        var toC = new List<double>();
        for (var i = 0; i < writes; i++)
        {
            if (viaC.Seen.TryGetValue(("tor2", $"02:00:00:01:{i / 256:x2}:{i % 256:x2}"), out var at))
            {
                toC.Add(Stopwatch.GetElapsedTime(started[i], at).TotalMilliseconds);
            }
        }

        Console.WriteLine($"load average before the writes {load0}, after {Machine.LoadAverage()}; one write every {pace.TotalMilliseconds:F0} ms at most");
        Console.WriteLine($"POST /v2.0/ports on A (commit + NOTIFY):                 {Stats.Summary(post)}");
        Console.WriteLine($"write on A -> agent polling B (LISTEN/NOTIFY):             {Stats.Summary(toB)}{(missedB > 0 ? $"; {missedB} not within 10 s" : "")}");
        Console.WriteLine($"write on A -> agent polling C (full reload every {OldReloadSeconds} s): {Stats.Summary(toC)}; {writes - toC.Count} never arrived");
        Console.WriteLine($"B reloaded whole {b.Service.Count("planner inputs reloaded from the database")} time(s) (once, when it began listening); C's LISTEN refused {blocker.Refused} time(s)");
        var planB = b.PlanTimes().Where(p => p.Kind == "incremental").Select(p => p.Inputs + p.Plan).ToList();
        var planC = c.PlanTimes().Where(p => p.Kind == "full").Select(p => p.Inputs + p.Plan).ToList();
        Console.WriteLine($"B's incremental recomputations (inputs + plan): {Stats.Summary(planB)}");
        Console.WriteLine($"C's full reloads (inputs + plan): {Stats.Summary(planC)}");
        Directory.Delete(dir, recursive: true);
    }
}
