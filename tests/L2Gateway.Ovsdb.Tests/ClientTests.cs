using System.Text.Json;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Tests;

public class ClientTests(OvsdbServerFixture fixture) : IClassFixture<OvsdbServerFixture>
{
    private const string Db = "hardware_vtep";
    private readonly OvsdbServer _server = fixture.Server;

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ListDbs_over_tcp_and_unix()
    {
        foreach (var endpoint in new[] { _server.TcpEndpoint, _server.UnixEndpoint })
        {
            await using var client = await OvsdbClient.ConnectAsync(endpoint);
            Assert.Contains(Db, await client.ListDatabasesAsync());
        }
    }

    [Fact]
    public async Task GetSchema_matches_the_ovsschema_file()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var schema = await client.GetSchemaAsync(Db);
        var file = DatabaseSchema.Load(OvsdbServer.VtepSchema);
        Assert.Equal(file.Version, schema.Version);
        Assert.Equal(file.Tables.Keys.Order(), schema.Tables.Keys.Order());
        var vlan = schema.GetTable("Physical_Port").GetColumn("vlan_bindings").Type;
        Assert.True(vlan.IsMap);
        Assert.Equal(AtomKind.Integer, vlan.Key.Kind);
        Assert.Equal(4095, vlan.Key.MaxInteger);
        Assert.Equal("Logical_Switch", vlan.Value!.RefTable);
        Assert.Equal(ColumnType.Unlimited, vlan.Max);
        var encap = schema.GetTable("Physical_Locator").GetColumn("encapsulation_type").Type.Key;
        Assert.Contains(OvsdbAtom.String("vxlan_over_ipv4"), encap.Enum!);
        Assert.True(schema.GetTable("Logical_Switch").GetColumn("tunnel_key").Type.IsOptional);
        Assert.Equal(1, schema.GetTable("Global").MaxRows);
        Assert.True(schema.GetTable("Physical_Switch").GetColumn("switch_fault_status").Ephemeral);
    }

    [Fact]
    public async Task Concurrent_calls_are_correlated_by_id()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var tasks = Enumerable.Range(0, 64).Select(async i =>
        {
            var reply = await client.EchoAsync([$"ping-{i}"]);
            Assert.Equal($"ping-{i}", Assert.Single(reply));
        });
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task Insert_with_named_uuids_select_mutate_update_delete()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var ls = "ls-crud-" + Guid.NewGuid().ToString("N")[..6];
        var result = (await client.TransactAsync(Db,
            Op.Insert("Physical_Locator", "loc").Set("dst_ip", "10.9.0.1").Set("encapsulation_type", "vxlan_over_ipv4"),
            Op.Insert("Logical_Switch", "ls").Set("name", ls).Set("tunnel_key", 5001),
            Op.Insert("Ucast_Macs_Remote").Set("MAC", "aa:bb:cc:00:00:01").Set("logical_switch", OvsdbAtom.NamedUuid("ls")).Set("locator", OvsdbAtom.NamedUuid("loc")).Set("ipaddr", "10.1.1.1"),
            Op.Comment("crud test"))).EnsureSuccess();
        var lsUuid = result.InsertedUuid(1);
        Assert.Contains("aa:bb:cc:00:00:01 -> vxlan_over_ipv4/10.9.0.1", _server.VtepCtl($"list-remote-macs {ls}"));

        var select = (await client.TransactAsync(Db, Op.Select("Logical_Switch").Where("name", ls))).EnsureSuccess();
        var row = Assert.Single(select.Operations[0]!.Rows!);
        Assert.Equal(lsUuid, row.Uuid);
        Assert.Equal(5001, row.GetOptionalInteger("tunnel_key"));

        var changed = (await client.TransactAsync(Db,
            Op.Mutate("Logical_Switch").Where("name", ls).Mutate("other_config", Mutator.Insert, OvsdbDatum.Map(("k", "v"))).Mutate("tunnel_key", Mutator.Add, 1),
            Op.Update("Logical_Switch").WhereUuid(lsUuid).Set("description", "updated"),
            Op.Select("Logical_Switch").WhereUuid(lsUuid).Columns("other_config", "tunnel_key", "description"))).EnsureSuccess();
        Assert.Equal(1, changed.Operations[0]!.Count);
        Assert.Equal(1, changed.Operations[1]!.Count);
        var after = Assert.Single(changed.Operations[2]!.Rows!);
        Assert.Equal("v", after.GetStringMap("other_config")["k"]);
        Assert.Equal(5002, after.GetOptionalInteger("tunnel_key"));
        Assert.Equal("updated", after.GetString("description"));

        var deleted = (await client.TransactAsync(Db,
            Op.Delete("Ucast_Macs_Remote").Where("logical_switch", lsUuid),
            Op.Delete("Logical_Switch").WhereUuid(lsUuid))).EnsureSuccess();
        Assert.Equal(1, deleted.Operations[0]!.Count);
        Assert.Equal(1, deleted.Operations[1]!.Count);
    }

    [Fact]
    public async Task A_transaction_much_larger_than_the_write_chunk_arrives_whole()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var ls = "ls-big-" + Guid.NewGuid().ToString("N")[..6];
        var ops = new List<Operation>
        {
            Op.Insert("Physical_Locator", "loc").Set("dst_ip", "10.9.1.1").Set("encapsulation_type", "vxlan_over_ipv4"),
            Op.Insert("Logical_Switch", "ls").Set("name", ls).Set("tunnel_key", 5101),
        };
        for (var i = 0; i < 3000; i++)
        {
            ops.Add(Op.Insert("Ucast_Macs_Remote").Set("MAC", $"aa:bb:cc:01:{i / 256:x2}:{i % 256:x2}").Set("logical_switch", OvsdbAtom.NamedUuid("ls")).Set("locator", OvsdbAtom.NamedUuid("loc")).Set("ipaddr", $"10.2.{i / 256}.{i % 256}"));
        }

        var result = (await client.TransactAsync(Db, ops, CancellationToken.None)).EnsureSuccess();
        var lsUuid = result.InsertedUuid(1);
        var count = (await client.TransactAsync(Db, Op.Select("Ucast_Macs_Remote").Where("logical_switch", lsUuid).Columns("MAC"))).EnsureSuccess();
        Assert.Equal(3000, count.Operations[0]!.Rows!.Count);
        Assert.Contains(count.Operations[0]!.Rows!, r => r.GetString("MAC") == "aa:bb:cc:01:0b:b7");

        // The connection is still in step: a small call after the large one works.
        Assert.Equal(["x"], await client.EchoAsync(["x"]));
        (await client.TransactAsync(Db, Op.Delete("Ucast_Macs_Remote").Where("logical_switch", lsUuid), Op.Delete("Logical_Switch").WhereUuid(lsUuid))).EnsureSuccess();
    }

    [Fact]
    public async Task Non_ascii_and_json_special_strings_round_trip_through_the_server()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.UnixEndpoint);
        var name = "ls-ü-" + Guid.NewGuid().ToString("N")[..6];
        const string Text = "hôte é 漢字 😀 <&> \"quoted\" \\ back\nslash \u0001";
        var uuid = (await client.TransactAsync(Db, Op.Insert("Logical_Switch").Set("name", name).Set("description", Text))).EnsureSuccess().InsertedUuid(0);
        var row = (await client.TransactAsync(Db, Op.Select("Logical_Switch").Where("name", name))).EnsureSuccess().Operations[0]!.Rows![0];
        Assert.Equal(uuid, row.Uuid);
        Assert.Equal(Text, row.GetString("description"));
        Assert.Contains("漢字", _server.VtepCtl($"get Logical_Switch {uuid} description"));
    }

    [Fact]
    public async Task Schema_violations_are_rejected_before_sending()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        async Task<string> Reject(Operation op) => (await Assert.ThrowsAsync<OvsdbSchemaException>(() => client.TransactAsync(Db, op))).Message;

        Assert.Contains("no table \"Nope\"", await Reject(Op.Insert("Nope")));
        Assert.Contains("no column \"nme\"", await Reject(Op.Insert("Logical_Switch").Set("nme", "x")));
        Assert.Contains("expected string", await Reject(Op.Insert("Logical_Switch").Set("name", 42)));
        Assert.Contains("expected integer", await Reject(Op.Update("Logical_Switch").Set("tunnel_key", "five")));
        Assert.Contains("outside the allowed range [0, 1]", await Reject(Op.Insert("Logical_Switch").Set("tunnel_key", OvsdbDatum.Set(1, 2))));
        Assert.Contains("outside the allowed range [1, unlimited]", await Reject(Op.Insert("Physical_Locator_Set").Set("locators", OvsdbDatum.EmptySet)));
        Assert.Contains("not one of the allowed values", await Reject(Op.Insert("Physical_Locator").Set("encapsulation_type", "gre").Set("dst_ip", "1.1.1.1")));
        Assert.Contains("outside the range [0, 4095]", await Reject(Op.Update("Physical_Port").Set("vlan_bindings", OvsdbDatum.Map((5000, Guid.NewGuid())))));
        Assert.Contains("a map value is required", await Reject(Op.Update("Physical_Port").Set("other_config", "x")));
        Assert.Contains("no column \"bogus\"", await Reject(Op.Select("Logical_Switch").Where("bogus", 1)));
        Assert.Contains("needs an integer or real column", await Reject(Op.Mutate("Logical_Switch").Mutate("name", Mutator.Add, 1)));
        Assert.Contains("required reference", await Reject(Op.Insert("Ucast_Macs_Remote").Set("MAC", "aa:bb:cc:dd:ee:ff")));
    }

    [Fact]
    public async Task Server_errors_are_surfaced_with_details()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var name = "dup-" + Guid.NewGuid().ToString("N")[..6];
        (await client.TransactAsync(Db, Op.Insert("Logical_Switch").Set("name", name))).EnsureSuccess();

        var dup = await client.TransactAsync(Db, Op.Insert("Logical_Switch").Set("name", name));
        Assert.False(dup.Succeeded);
        Assert.Equal("constraint violation", dup.Error!.Error);
        Assert.Contains(name, dup.Error.Details);
        var ex = Assert.Throws<OvsdbTransactionException>(() => dup.EnsureSuccess());
        Assert.Equal("constraint violation", ex.Error);

        var dangling = await client.TransactAsync(Db,
            Op.Insert("Ucast_Macs_Remote").Set("MAC", "aa:bb:cc:dd:ee:ff").Set("logical_switch", Guid.NewGuid()).Set("locator", Guid.NewGuid()));
        Assert.Equal("referential integrity violation", dangling.Error!.Error);

        var aborted = await client.TransactAsync(Db, Op.Insert("Logical_Switch").Set("name", name + "-x"), Op.Abort());
        Assert.Equal("aborted", aborted.Error!.Error);
        Assert.Equal(1, aborted.Error.OperationIndex);

        var waited = await client.TransactAsync(Db, Op.Wait("Logical_Switch").Where("name", name).Columns("name").Until(false).Row(new Dictionary<string, OvsdbDatum> { ["name"] = name }).Timeout(0));
        Assert.Equal("timed out", waited.Error!.Error);

        var rpc = await Assert.ThrowsAsync<OvsdbRpcException>(() => client.GetSchemaAsync("no_such_db"));
        Assert.Equal("unknown database", rpc.Error);
    }

    [Fact]
    public async Task Cancelling_a_blocked_transact_sends_cancel_and_keeps_the_connection()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        await client.GetSchemaAsync(Db); // cached: TransactAsync queues its request before it returns
        using var cts = new CancellationTokenSource();
        var blocked = client.TransactAsync(Db, [BlockingWait()], cts.Token);

        // The server answers in order: the echo sent after the transaction coming back while the transaction has
        // not shows that the server holds the transaction.
        Assert.Equal(["behind"], await client.EchoAsync(["behind"]));
        Assert.False(blocked.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        Assert.Equal(["still here"], await client.EchoAsync(["still here"]));
    }

    [Fact]
    public async Task Call_timeout_raises_OvsdbTimeoutException()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint, new OvsdbClientOptions { CallTimeout = TimeSpan.FromMilliseconds(200) });
        await Assert.ThrowsAsync<OvsdbTimeoutException>(() => client.TransactAsync(Db, BlockingWait()));
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Message_larger_than_the_limit_closes_the_connection_with_a_protocol_error()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint, new OvsdbClientOptions { MaxMessageSize = 1000 });
        var ex = await Assert.ThrowsAsync<OvsdbConnectionException>(() => client.GetSchemaAsync(Db));
        Assert.IsType<OvsdbProtocolException>(ex.InnerException);
        Assert.IsType<OvsdbProtocolException>(await client.Completion);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Pending_calls_fail_promptly_when_the_server_dies()
    {
        using var server = new OvsdbServer();
        await using var client = await OvsdbClient.ConnectAsync(server.TcpEndpoint, new OvsdbClientOptions { CallTimeout = Timeout.InfiniteTimeSpan });
        await client.GetSchemaAsync(Db);
        var blocked = client.TransactAsync(Db, BlockingWait());
        await client.EchoAsync(); // the server has the transaction (replies come in order)
        server.Kill();
        var ex = await Assert.ThrowsAsync<OvsdbConnectionException>(() => blocked.WaitAsync(Generous));
        Assert.Contains("closed by peer", ex.Message);
        await Assert.ThrowsAsync<OvsdbConnectionException>(() => client.EchoAsync());
    }

    [Fact]
    public async Task Unanswered_inactivity_probe_declares_the_link_dead()
    {
        using var server = new OvsdbServer();
        await using var client = await OvsdbClient.ConnectAsync(server.TcpEndpoint, new OvsdbClientOptions
        {
            InactivityProbe = TimeSpan.FromMilliseconds(500),
            CallTimeout = Timeout.InfiniteTimeSpan,
        });
        Assert.NotEmpty(await client.ListDatabasesAsync());
        var disconnected = new TaskCompletionSource<Exception?>();
        client.Disconnected += (_, e) => disconnected.TrySetResult(e.Reason);
        server.Signal("STOP");
        try
        {
            var pending = client.EchoAsync();
            var ex = await Assert.ThrowsAsync<OvsdbConnectionException>(() => pending.WaitAsync(Generous));
            Assert.Contains("inactivity probe", ex.Message);
            Assert.Contains("inactivity probe", (await disconnected.Task.WaitAsync(Generous))!.Message);
        }
        finally
        {
            server.Signal("CONT");
        }
    }

    [Fact]
    public async Task Monitor_and_monitor_cond_deliver_initial_and_updates()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        foreach (var method in new[] { Protocol.MonitorMethod.Monitor, Protocol.MonitorMethod.MonitorCond, Protocol.MonitorMethod.MonitorCondSince })
        {
            var name = $"mon-{method}-{Guid.NewGuid().ToString("N")[..4]}";
            var updates = System.Threading.Channels.Channel.CreateUnbounded<Protocol.MonitorUpdate>();
            var id = "m-" + method;
            var initial = await client.MonitorAsync(Db, id, [new Protocol.MonitorRequest("Logical_Switch") { Columns = ["name", "tunnel_key"] }], method, u => updates.Writer.TryWrite(u));
            Assert.True(initial.IsInitial);
            _server.VtepCtl($"add-ls {name}");
            Protocol.MonitorUpdate u;
            do
            {
                u = await updates.Reader.ReadAsync().AsTask().WaitAsync(Generous);
            }
            while (u.IsInitial);
            var insert = Assert.Single(u.Updates.Tables["Logical_Switch"]);
            Assert.Equal(Protocol.RowUpdateKind.Insert, insert.Kind);
            Assert.Equal(name, insert.New!["name"].Single.AsString());
            if (method == Protocol.MonitorMethod.MonitorCondSince)
            {
                Assert.NotNull(u.LastTransactionId);
            }

            await client.MonitorCancelAsync(id);
        }
    }

    [Fact]
    public async Task Monitor_cond_where_clause_filters_rows()
    {
        await using var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var tag = Guid.NewGuid().ToString("N")[..6];
        _server.VtepCtl($"add-ls wanted-{tag} -- add-ls other-{tag}");
        var updates = System.Threading.Channels.Channel.CreateUnbounded<Protocol.MonitorUpdate>();
        var request = new Protocol.MonitorRequest("Logical_Switch")
        {
            Columns = ["name", "description"],
            Where = [new Condition("name", ConditionFunction.Equal, $"wanted-{tag}")],
        };
        var initial = await client.MonitorAsync(Db, "cond", [request], Protocol.MonitorMethod.MonitorCond, u => updates.Writer.TryWrite(u));
        var row = Assert.Single(initial.Updates.Tables["Logical_Switch"]);
        Assert.Equal($"wanted-{tag}", row.New!["name"].Single.AsString());

        _server.VtepCtl($"set Logical_Switch other-{tag} description=ignored -- set Logical_Switch wanted-{tag} description=seen");
        Protocol.MonitorUpdate u;
        do
        {
            u = await updates.Reader.ReadAsync().AsTask().WaitAsync(Generous);
        }
        while (u.IsInitial);
        var modify = Assert.Single(u.Updates.Tables["Logical_Switch"]);
        Assert.Equal(row.Uuid, modify.Uuid);
        Assert.Equal(Protocol.RowUpdateKind.Modify, modify.Kind);

        await Assert.ThrowsAsync<OvsdbSchemaException>(() => client.MonitorAsync(Db, "bad", [new Protocol.MonitorRequest("Logical_Switch") { Columns = ["nope"] }], Protocol.MonitorMethod.MonitorCond, _ => { }));
    }

    private static WaitOperation BlockingWait() =>
        Op.Wait("Global").Columns("other_config").Until(true).Row(new Dictionary<string, OvsdbDatum> { ["other_config"] = OvsdbDatum.Map(("never", "true")) });
}
