using System.Net;
using System.Text.Json.Nodes;
using L2Gateway.Agent.Tests;

namespace L2Gateway.ScaleOut.Tests;

/// <summary>
/// Several <c>l2gw server</c> processes on one PostgreSQL, and <c>l2gw agent</c> processes serving one switch, as
/// docs/scale-out.md lays them out. The servers' full reload runs once an hour: what reaches a server from another
/// one's write got there by the write's notification. Every wait is for an observed event, under a deadline.
/// </summary>
public sealed class ScaleOutTests
{
    /// <summary>
    /// Three servers; agent-1 (the writer, which starts first and takes the switch's lock) polls B, agent-2 (a
    /// standby) polls C. Every write goes to A, which no agent uses.
    /// </summary>
    private static async Task<(AgentNode Writer, AgentNode Standby, string Net)> ConnectAsync(Lab lab, int vni)
    {
        var (a, b, c) = (lab["A"], lab["B"], lab["C"]);
        var writer = lab.StartAgent("agent-1", b, a, c);
        await Lab.AgentIsAsync(a, "agent-1", writer: true);
        var standby = lab.StartAgent("agent-2", c, b, a);
        await Lab.AgentIsAsync(a, "agent-2", writer: false);

        var net = await lab.ConnectedNetworkAsync(a, vni);
        await Eventually.HoldsAsync(
            async () => (await lab.Switch!.RowsAsync("Logical_Switch")).Any(r => r.GetString("name") == net),
            "the connection made on A programmed by the agent polling B",
            60);
        await Lab.CreatePortAsync(a, net, "02:00:00:00:00:01");
        await lab.SwitchHasMacAsync("02:00:00:00:00:01", "the first port made on A on the switch");
        return (writer, standby, net);
    }

    [Fact]
    public async Task A_write_on_one_server_reaches_the_switch_through_an_agent_polling_another()
    {
        await using var lab = await Lab.StartAsync(servers: 3, withSwitch: true);
        var (_, _, net) = await ConnectAsync(lab, 5001);
        var (a, b) = (lab["A"], lab["B"]);

        await Lab.CreatePortAsync(a, net, "02:00:00:00:00:02");
        await lab.SwitchHasMacAsync("02:00:00:00:00:02", "a port made on A, carried to B by its notification");

        Assert.Empty(a.DesiredStatePolls);
        Assert.NotEmpty(b.DesiredStatePolls);

        // B reloaded once, when it began to listen, before any of these writes: notifications carried them.
        Assert.Equal(1, b.Process.Count("planner inputs reloaded from the database"));
    }

    [Fact]
    public async Task An_agent_whose_server_dies_moves_to_the_next_one_with_the_revisions_it_holds()
    {
        await using var lab = await Lab.StartAsync(servers: 3, withSwitch: true);
        var (writer, _, net) = await ConnectAsync(lab, 5002);
        var (a, b) = (lab["A"], lab["B"]);
        Assert.Empty(a.DesiredStatePolls);

        b.Process.Kill();
        await Lab.CreatePortAsync(a, net, "02:00:00:00:00:03");
        await lab.SwitchHasMacAsync("02:00:00:00:00:03", "a port made while the writer's server was dead");

        // The writer left B for the next server of its list, A, and asked it only for what differs from what it held.
        await writer.Process.WaitForAsync($"{b.Url} failed");
        await writer.Process.WaitForAsync($"; next: {a.Url}");
        var first = a.DesiredStatePolls[0];
        Assert.Matches("known=[0-9a-f]{16}", first);
    }

    [Fact]
    public async Task When_the_writing_agent_dies_the_standby_takes_the_lock_and_applies_the_next_write()
    {
        await using var lab = await Lab.StartAsync(servers: 3, withSwitch: true);
        var (writer, _, net) = await ConnectAsync(lab, 5003);
        var a = lab["A"];

        writer.Process.Kill();
        await Lab.CreatePortAsync(a, net, "02:00:00:00:00:04");
        await lab.SwitchHasMacAsync("02:00:00:00:00:04", "a port made after the writer died, written by the standby");
        await Lab.AgentIsAsync(a, "agent-2", writer: true);
    }

    [Fact]
    public async Task Restarting_postgresql_under_load_fails_writes_with_503_and_loses_no_acknowledged_write()
    {
        await using var lab = await Lab.StartAsync(servers: 3, withSwitch: false);
        await using var load = WriteLoad.Start(lab.Servers, workers: 3);
        await load.WaitAsync(() => load.Acknowledged.Count >= 30, "30 writes acknowledged");

        await lab.Postgres.StopAsync();
        await load.WaitAsync(
            () => lab.Servers.All(s => Refused(load).Any(r => r.Server == s.Name)), "writes refused by every server while PostgreSQL is down");

        await lab.Postgres.StartAsync();
        var acknowledged = load.Acknowledged.Count;
        await load.WaitAsync(() => load.Acknowledged.Count >= acknowledged + 30, "30 more writes acknowledged after the restart");
        await load.StopAsync();

        // Refused cleanly: 503 in Neutron's shape, never a 500; no server went away.
        AssertRefusedCleanly(lab, load);
        Assert.Empty(load.Unreachable);
        await AssertStoredAsync(lab, load);

        // Each server listens again, and reloaded its planner's inputs then.
        foreach (var server in lab.Servers)
        {
            await server.Process.WaitForAsync("planner inputs reloaded from the database: LISTEN was (re)established", 2);
        }
    }

    [Fact]
    public async Task Killing_a_server_in_the_middle_of_writes_loses_no_acknowledged_write_and_leaves_nothing_half_written()
    {
        await using var lab = await Lab.StartAsync(servers: 2, withSwitch: false);
        await using var load = WriteLoad.Start(lab.Servers, workers: 4);
        await load.WaitAsync(() => load.Acknowledged.Count(a => a.Server == "A") >= 30, "30 writes acknowledged by A");
        await load.WaitAsync(() => load.InFlight("A") > 0, "a write in flight on A");
        lab["A"].Process.Kill();

        await load.WaitAsync(() => load.Unreachable.Any(u => u.Server == "A"), "a write to A cut off by its end");
        var acknowledged = load.Acknowledged.Count(a => a.Server == "B");
        await load.WaitAsync(() => load.Acknowledged.Count(a => a.Server == "B") >= acknowledged + 30, "B goes on acknowledging writes");
        await load.StopAsync();

        Assert.All(load.Answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        await AssertStoredAsync(lab, load);

        // Whatever the kill cut short is absent whole: no network without its segment, no gateway without devices.
        Assert.Empty(await lab.Postgres.ColumnAsync(
            Lab.Database, """SELECT n."Id" FROM networks n WHERE NOT EXISTS (SELECT 1 FROM network_segments s WHERE s."NetworkId" = n."Id")"""));
        foreach (var devices in await lab.Postgres.ColumnAsync(Lab.Database, """SELECT "DevicesJson" FROM l2_gateways"""))
        {
            var device = Assert.Single(JsonNode.Parse(devices)!.AsArray())!;
            Assert.Equal(2, device["interfaces"]!.AsArray().Count);
        }
    }

    [Fact]
    public async Task A_promoted_synchronous_replica_takes_over_and_no_acknowledged_write_is_lost()
    {
        PostgresCluster? standby = null;
        TcpForwarder? forwarder = null;
        await using var lab = await Lab.StartAsync(servers: 2, withSwitch: false, async lab =>
        {
            standby = lab.Own(await lab.Postgres.StartSynchronousStandbyAsync());
            forwarder = lab.Own(await TcpForwarder.StartAsync(lab.Postgres.Port));
            return $"postgresql://postgres@127.0.0.1:{forwarder.Port}/{Lab.Database}";
        });
        await using var load = WriteLoad.Start(lab.Servers, workers: 2);
        await load.WaitAsync(() => load.Acknowledged.Count >= 30, "30 writes acknowledged by the primary");

        // The primary crashes; the replica is promoted and the database's address now leads to it.
        await lab.Postgres.CrashAsync();
        await standby!.PromoteAsync();
        await forwarder!.PointAtAsync(standby.Port);
        var acknowledged = load.Acknowledged.Count;
        await load.WaitAsync(() => load.Acknowledged.Count >= acknowledged + 30, "30 more writes acknowledged by the promoted replica");
        await load.StopAsync();

        AssertRefusedCleanly(lab, load);
        Assert.Empty(load.Unreachable);
        await AssertStoredAsync(standby, load);
        foreach (var server in lab.Servers)
        {
            await server.Process.WaitForAsync("planner inputs reloaded from the database: LISTEN was (re)established", 2);
        }
    }

    /// <summary>Every write not acknowledged was refused with a 503 in Neutron's shape; a 500 shows the servers' errors.</summary>
    private static void AssertRefusedCleanly(Lab lab, WriteLoad load)
    {
        var unclean = load.Answers.Where(a => (a.Status, a.ErrorType) is not (HttpStatusCode.Created, _) and not (HttpStatusCode.ServiceUnavailable, "HTTPServiceUnavailable")).ToList();
        Assert.True(
            unclean.Count == 0,
            $"{unclean.Count} writes answered neither 201 nor 503: {string.Join(", ", unclean.Take(5))}; the servers' errors:\n"
            + string.Join('\n', lab.Servers.SelectMany(s => s.Process.Lines.SkipWhile(l => !l.Contains("fail:", StringComparison.Ordinal)).Take(40))));
    }

    private static List<WriteAnswer> Refused(WriteLoad load) => [.. load.Answers.Where(a => a.Status != HttpStatusCode.Created)];

    /// <summary>Every write a server acknowledged is in the database.</summary>
    private static Task AssertStoredAsync(Lab lab, WriteLoad load) => AssertStoredAsync(lab.Postgres, load);

    private static async Task AssertStoredAsync(PostgresCluster database, WriteLoad load)
    {
        var networks = (await database.ColumnAsync(Lab.Database, """SELECT "Id" FROM networks""")).ToHashSet(StringComparer.Ordinal);
        var gateways = (await database.ColumnAsync(Lab.Database, """SELECT "Id" FROM l2_gateways""")).ToHashSet(StringComparer.Ordinal);
        var lost = load.Acknowledged.Where(a => !(a.Kind == "network" ? networks : gateways).Contains(a.Id!)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {load.Acknowledged.Count} acknowledged writes are not stored: {string.Join(", ", lost.Take(5))}");
    }
}
