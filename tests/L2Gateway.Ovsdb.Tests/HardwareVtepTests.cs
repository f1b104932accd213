using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Ovsdb.Tests;

public class HardwareVtepTests
{
    [Fact]
    public async Task Typed_records_read_every_vtep_table_from_a_replica()
    {
        using var server = new OvsdbServer();
        server.VtepCtl("add-ps sw1 -- set Physical_Switch sw1 tunnel_ips=192.0.2.1 management_ips=198.51.100.1 description=tor");
        server.VtepCtl("add-port sw1 eth1 -- add-ls net1 -- set Logical_Switch net1 tunnel_key=5000 -- bind-ls sw1 eth1 10 net1");
        server.VtepCtl("add-ucast-local net1 00:00:00:00:00:01 192.0.2.1 -- add-ucast-remote net1 00:00:00:00:00:02 192.0.2.2");
        server.VtepCtl("add-mcast-local net1 unknown-dst 192.0.2.1 -- add-mcast-remote net1 unknown-dst 192.0.2.2");
        server.VtepCtl("set-manager tcp:127.0.0.1:1");

        await using (var client = await OvsdbClient.ConnectAsync(server.TcpEndpoint))
        {
            var sw = (await client.TransactAsync(VtepTables.Database, Op.Select(VtepTables.PhysicalSwitch).Where("name", "sw1"))).EnsureSuccess().Operations[0]!.Rows![0];
            (await client.TransactAsync(VtepTables.Database,
                Op.Insert(VtepTables.PhysicalLocator, "l").Set("dst_ip", "192.0.2.5").Set("encapsulation_type", "vxlan_over_ipv4"),
                Op.Insert(VtepTables.PhysicalLocator, "r").Set("dst_ip", "192.0.2.9").Set("encapsulation_type", "vxlan_over_ipv4"),
                Op.Insert(VtepTables.Tunnel, "t").Set("local", OvsdbAtom.NamedUuid("l")).Set("remote", OvsdbAtom.NamedUuid("r")).Set("bfd_config_local", OvsdbDatum.Map(("bfd_dst_ip", "169.254.1.0"))),
                Op.Mutate(VtepTables.PhysicalSwitch).WhereUuid(sw.Uuid).Mutate("tunnels", Mutator.Insert, OvsdbDatum.Set(OvsdbAtom.NamedUuid("t"))))).EnsureSuccess();
        }

        await using var replica = VtepTables.CreateReplica(server.TcpEndpoint);
        await replica.StartAsync();
        await replica.Ready.WaitAsync(TimeSpan.FromSeconds(20));
        var vtep = new VtepSnapshot(replica.Snapshot);

        var ps = vtep.FindPhysicalSwitch("sw1")!;
        Assert.Equal(["192.0.2.1"], ps.TunnelIps);
        Assert.Equal(["198.51.100.1"], ps.ManagementIps);
        Assert.Equal("tor", ps.Description);
        var port = vtep.GetPhysicalPort(Assert.Single(ps.Ports))!;
        Assert.Equal("eth1", port.Name);
        var ls = vtep.FindLogicalSwitch("net1")!;
        Assert.Equal(5000, ls.TunnelKey);
        Assert.Null(ls.ReplicationMode);
        Assert.Equal(ls.Uuid, port.VlanBindings[10]);

        var local = vtep.FindUcastMacLocal("00:00:00:00:00:01", ls.Uuid)!;
        Assert.Equal("192.0.2.1", vtep.GetPhysicalLocator(local.Locator)!.DstIp);
        var remote = vtep.FindUcastMacRemote("00:00:00:00:00:02", ls.Uuid)!;
        Assert.Equal("vxlan_over_ipv4", vtep.GetPhysicalLocator(remote.Locator)!.EncapsulationType);

        var mcastRemote = Assert.Single(vtep.McastMacsRemote);
        Assert.Equal("unknown-dst", mcastRemote.Mac);
        var set = vtep.PhysicalLocatorSets.Single(s => s.Uuid == mcastRemote.LocatorSet);
        Assert.Equal("192.0.2.2", vtep.GetPhysicalLocator(Assert.Single(set.Locators))!.DstIp);
        Assert.Single(vtep.McastMacsLocal);

        var tunnel = Assert.Single(vtep.Tunnels);
        Assert.Equal(tunnel.Uuid, Assert.Single(ps.Tunnels));
        Assert.Equal("192.0.2.9", vtep.GetPhysicalLocator(tunnel.Remote)!.DstIp);
        Assert.Equal("169.254.1.0", tunnel.BfdConfigLocal["bfd_dst_ip"]);

        var manager = Assert.Single(vtep.Managers);
        Assert.Equal("tcp:127.0.0.1:1", manager.Target);
        Assert.False(manager.IsConnected);
        Assert.Equal([manager.Uuid], vtep.Global!.Managers);
        Assert.Equal([ps.Uuid], vtep.Global.Switches);
    }
}
