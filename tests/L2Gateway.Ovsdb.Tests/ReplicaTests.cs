using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Replication;

namespace L2Gateway.Ovsdb.Tests;

public class ReplicaTests(OvsdbServerFixture fixture) : IClassFixture<OvsdbServerFixture>
{
    private const string Db = "hardware_vtep";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private readonly OvsdbServer _server = fixture.Server;

    internal static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("gave up waiting for " + what);
            }

            await Task.Delay(20);
        }
    }

    private static OvsdbReplica NewReplica(string endpoint, OvsdbReplicaOptions? options = null) =>
        new OvsdbReplica(endpoint, Db, ["Physical_Switch", "Physical_Port", "Logical_Switch", "Ucast_Macs_Remote", "Physical_Locator"], options)
            .AddIndex("Logical_Switch", "name")
            .AddIndex("Physical_Switch", "name")
            .AddIndex("Ucast_Macs_Remote", "MAC", "logical_switch");

    [Fact]
    public async Task Initial_dump_indexes_and_change_events_match_the_server()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        _server.VtepCtl($"add-ps ps-{tag} -- add-port ps-{tag} p1 -- add-ls ls-{tag} -- bind-ls ps-{tag} p1 100 ls-{tag} -- add-ucast-remote ls-{tag} 00:11:22:33:44:55 10.0.0.1");

        await using var replica = NewReplica(_server.TcpEndpoint);
        var changes = new List<ReplicaChangedEventArgs>();
        replica.Changed += (_, e) =>
        {
            lock (changes)
            {
                changes.Add(e);
            }
        };
        await replica.StartAsync();
        await replica.Ready.WaitAsync(Generous);
        Assert.Equal(MonitorMethod.MonitorCondSince, replica.Method);
        Assert.Equal(OvsdbConnectionState.Connected, replica.State);

        var snap = replica.Snapshot;
        var ls = snap["Logical_Switch"].FindOne("name", $"ls-{tag}")!;
        Assert.NotNull(ls);
        var mac = snap["Ucast_Macs_Remote"].FindOne("MAC,logical_switch", "00:11:22:33:44:55", ls.Uuid)!;
        Assert.Equal("10.0.0.1", snap["Physical_Locator"].Get(mac.GetUuid("locator"))!.GetString("dst_ip"));
        var port = snap["Physical_Port"].Rows.Values.Single(p => p.GetString("name") == "p1" && snap["Physical_Switch"].FindOne("name", $"ps-{tag}")!.GetUuidSet("ports").Contains(p.Uuid));
        Assert.Equal(ls.Uuid, port.GetIntegerUuidMap("vlan_bindings")[100]);
        Assert.True(changes[0].IsInitial);

        // Sets and maps arrive as update2 diffs; the replica must end up equal to the server's row.
        _server.VtepCtl($"set Physical_Switch ps-{tag} tunnel_ips=1.1.1.1,2.2.2.2 other_config:a=1 other_config:b=2");
        _server.VtepCtl($"set Physical_Switch ps-{tag} tunnel_ips=2.2.2.2,3.3.3.3 other_config:a=9 -- remove Physical_Switch ps-{tag} other_config b");
        _server.VtepCtl($"set Logical_Switch ls-{tag} description=changed tunnel_key=77");
        await WaitUntil(() => replica.Tables["Logical_Switch"].FindOne("name", $"ls-{tag}")?.GetString("description") == "changed", "ls update");
        var ps = replica.Tables["Physical_Switch"].FindOne("name", $"ps-{tag}")!;
        Assert.Equal(["2.2.2.2", "3.3.3.3"], ps.GetStringSet("tunnel_ips"));
        Assert.Equal(new Dictionary<string, string> { ["a"] = "9" }, ps.GetStringMap("other_config"));

        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        foreach (var table in replica.Tables.Values)
        {
            var rows = (await client.TransactAsync(Db, Op.Select(table.Name))).EnsureSuccess().Operations[0]!.Rows!;
            Assert.Equal(rows.Count, table.Count);
            foreach (var row in rows)
            {
                Assert.True(row.ContentEquals(table.Get(row.Uuid)), $"{table.Name} {row} differs from replica {table.Get(row.Uuid)}");
            }
        }

        RowChange modify;
        lock (changes)
        {
            modify = changes.SelectMany(c => c.Changes).Last(c => c.Table == "Logical_Switch");
        }

        Assert.Equal(RowChangeKind.Modify, modify.Kind);
        Assert.Equal("", modify.Old!.GetString("description"));
        Assert.Equal("changed", modify.New!.GetString("description"));
        Assert.Equal(77, modify.New.GetOptionalInteger("tunnel_key"));

        _server.VtepCtl($"del-ucast-remote ls-{tag} 00:11:22:33:44:55");
        await WaitUntil(() => replica.Tables["Ucast_Macs_Remote"].Get(mac.Uuid) is null, "mac delete");
        Assert.Empty(replica.Tables["Ucast_Macs_Remote"].Find("MAC,logical_switch", "00:11:22:33:44:55", ls.Uuid));
    }

    [Theory]
    [InlineData(MonitorMethod.Monitor)]
    [InlineData(MonitorMethod.MonitorCond)]
    public async Task Older_monitor_methods_keep_the_same_replica(MonitorMethod method)
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        await using var replica = NewReplica(_server.TcpEndpoint, new OvsdbReplicaOptions { Method = method });
        await replica.StartAsync();
        await replica.Ready.WaitAsync(Generous);
        _server.VtepCtl($"add-ps ps-{tag} -- set Physical_Switch ps-{tag} tunnel_ips=1.1.1.1,2.2.2.2");
        _server.VtepCtl($"set Physical_Switch ps-{tag} tunnel_ips=2.2.2.2,3.3.3.3 description=d");
        await WaitUntil(() => replica.Tables["Physical_Switch"].FindOne("name", $"ps-{tag}")?.GetString("description") == "d", "modify");
        Assert.Equal(["2.2.2.2", "3.3.3.3"], replica.Tables["Physical_Switch"].FindOne("name", $"ps-{tag}")!.GetStringSet("tunnel_ips"));
        Assert.Equal(method, replica.Method);
    }

    [Fact]
    public async Task Reconnects_after_the_server_drops_connections_and_resumes_from_the_last_transaction()
    {
        using var server = new OvsdbServer(clustered: true);
        server.VtepCtl("add-ls keep -- add-ls gone");
        await using var replica = NewReplica(server.UnixEndpoint, new OvsdbReplicaOptions
        {
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        });
        var states = new List<OvsdbConnectionState>();
        replica.ConnectionStateChanged += (_, e) =>
        {
            lock (states)
            {
                states.Add(e.State);
            }
        };
        var resync = new TaskCompletionSource<ReplicaChangedEventArgs>();
        replica.Changed += (_, e) =>
        {
            if (e.IsResync)
            {
                resync.TrySetResult(e);
            }
        };
        await replica.StartAsync();
        await replica.Ready.WaitAsync(Generous);
        var txn = replica.Snapshot.LastTransactionId;
        Assert.NotEqual(Guid.Empty.ToString(), txn);

        // Take the unix-socket remote away so the replica stays disconnected while the database changes
        // (a unix path, unlike a TCP port, cannot be taken by someone else in the meantime).
        var remote = $"punix:{server.UnixPath}";
        server.AppCtl($"ovsdb-server/remove-remote {remote}");
        server.AppCtl("ovsdb-server/reconnect");
        await WaitUntil(() => replica.State != OvsdbConnectionState.Connected, "disconnect");

        // An insert only: for some histories with deletes or modifies ovsdb-server 3.1 answers found=false
        // and sends a full dump, which the next test covers.
        server.VtepCtl("add-ls while-away");
        Assert.NotEqual(OvsdbConnectionState.Connected, replica.State);
        server.AppCtl($"ovsdb-server/add-remote {remote}");

        var e = await resync.Task.WaitAsync(Generous);
        Assert.Equal(2, replica.SyncCount);

        // A clustered database keeps transaction history, so monitor_cond_since resumes without a dump.
        Assert.True(replica.LastResyncWasIncremental);
        Assert.Equal(
            [("while-away", RowChangeKind.Insert)],
            e.Changes.Select(c => ((c.New ?? c.Old)!.GetString("name"), c.Kind)).Order());
        lock (states)
        {
            Assert.Contains(OvsdbConnectionState.Disconnected, states);
        }

        await WaitUntil(() => replica.Client is not null, "client");
        (await replica.TransactAsync([Op.Insert("Logical_Switch").Set("name", "via-replica")])).EnsureSuccess();
        await WaitUntil(() => replica.Tables["Logical_Switch"].FindOne("name", "via-replica") is not null, "own insert");
        Assert.Equal(["gone", "keep", "via-replica", "while-away"], replica.Tables["Logical_Switch"].Rows.Values.Select(r => r.GetString("name")).Order());
    }

    [Fact]
    public async Task Full_resync_after_a_restart_reports_only_the_real_differences()
    {
        using var server = new OvsdbServer();
        server.VtepCtl("add-ls keep -- add-ls gone -- add-ls edit -- add-ps ps0 -- set Physical_Switch ps0 tunnel_ips=1.1.1.1");
        await using var replica = NewReplica(server.TcpEndpoint, new OvsdbReplicaOptions { ReconnectInitialDelay = TimeSpan.FromMilliseconds(100), ReconnectMaxDelay = TimeSpan.FromMilliseconds(400) });
        var resync = new TaskCompletionSource<ReplicaChangedEventArgs>();
        replica.Changed += (_, e) =>
        {
            if (e.IsResync)
            {
                resync.TrySetResult(e);
            }
        };
        await replica.StartAsync();
        await replica.Ready.WaitAsync(Generous);
        var keep = replica.Tables["Logical_Switch"].FindOne("name", "keep")!;

        server.Kill();
        await WaitUntil(() => replica.State != OvsdbConnectionState.Connected, "disconnect");

        // Change the database file while the server is down, then bring it back on the same port.
        var ops = """["hardware_vtep",{"op":"delete","table":"Logical_Switch","where":[["name","==","gone"]]},{"op":"update","table":"Logical_Switch","where":[["name","==","edit"]],"row":{"description":"edited"}},{"op":"insert","table":"Logical_Switch","row":{"name":"new"}}]""";
        OvsdbServer.Run("ovsdb-tool", "transact", server.DbPath, ops);
        server.Start();

        var e = await resync.Task.WaitAsync(Generous);
        var byName = e.Changes.ToDictionary(c => (c.New ?? c.Old)!.GetString("name"), c => c.Kind);
        Assert.Equal(new Dictionary<string, RowChangeKind> { ["gone"] = RowChangeKind.Delete, ["edit"] = RowChangeKind.Modify, ["new"] = RowChangeKind.Insert }, byName);
        Assert.False(replica.LastResyncWasIncremental);
        Assert.Same(keep, replica.Tables["Logical_Switch"].FindOne("name", "keep"));
        Assert.Equal("edited", replica.Tables["Logical_Switch"].FindOne("name", "edit")!.GetString("description"));
    }

    [Fact]
    public async Task Concurrent_readers_always_see_consistent_snapshots()
    {
        using var server = new OvsdbServer();
        server.VtepCtl("add-ls conc -- add-ucast-remote conc 00:00:00:00:00:01 10.0.0.1");
        await using var replica = NewReplica(server.TcpEndpoint);
        await replica.StartAsync();
        await replica.Ready.WaitAsync(Generous);
        var ls = replica.Tables["Logical_Switch"].FindOne("name", "conc")!.Uuid;
        var locator = replica.Tables["Physical_Locator"].Rows.Keys.Single();
        using var stop = new CancellationTokenSource();
        var checks = 0L;

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var macs = replica.Snapshot["Ucast_Macs_Remote"];
                foreach (var row in macs.Rows.Values)
                {
                    Assert.Contains(row, macs.Find("MAC,logical_switch", row["MAC"], row["logical_switch"]));
                }

                Assert.Equal(macs.Count, macs.Rows.Values.Select(r => r.GetString("MAC")).Distinct().Count());
                Interlocked.Increment(ref checks);
            }
        })).ToList();

        await using var client = await OvsdbClient.ConnectAsync(server.TcpEndpoint);
        for (var i = 0; i < 40; i++)
        {
            var ops = new List<Operation>();
            for (var j = 0; j < 25; j++)
            {
                ops.Add(Op.Insert("Ucast_Macs_Remote").Set("MAC", $"02:00:00:00:{i:x2}:{j:x2}").Set("logical_switch", ls).Set("locator", locator));
            }

            if (i % 2 == 1)
            {
                ops.Add(Op.Delete("Ucast_Macs_Remote").Where("MAC", ConditionFunction.Includes, $"02:00:00:00:{i - 1:x2}:00"));
            }

            (await client.TransactAsync(Db, ops)).EnsureSuccess();
        }

        await WaitUntil(() => replica.Tables["Ucast_Macs_Remote"].Count == 1 + (40 * 25) - 20, "all transactions replicated");
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(Interlocked.Read(ref checks) > 0);
    }

    [Fact]
    public async Task Gives_up_after_max_reconnect_attempts()
    {
        var port = OvsdbServer.FreePort();
        await using var replica = NewReplica($"tcp:127.0.0.1:{port}", new OvsdbReplicaOptions { MaxReconnectAttempts = 2, ReconnectInitialDelay = TimeSpan.FromMilliseconds(10) });
        await replica.StartAsync();
        var ex = await Assert.ThrowsAsync<OvsdbConnectionException>(() => replica.Ready.WaitAsync(Generous));
        Assert.Contains("after 3 failed attempt(s)", ex.Message);
        Assert.Equal(OvsdbConnectionState.Failed, replica.State);
    }
}
