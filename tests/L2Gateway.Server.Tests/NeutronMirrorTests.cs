using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.OpenStack;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Tests;

/// <summary>The mirror's writes into a real (SQLite) catalog: only what differs, deletions, and Neutron's reuse of VNIs and MACs.</summary>
public sealed class NeutronMirrorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Boot = new(2026, 12, 2, 0, 18, 26, TimeSpan.Zero);
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-mirror-" + Guid.NewGuid().ToString("N"));
    private readonly List<IReadOnlyList<RowChange>> commits = [];
    private Store store = null!;
    private NeutronMirrorWriter writer = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        var settings = DatabaseSettings.Parse("sqlite:///" + Path.Combine(directory, "l2gw.sqlite").TrimStart('/'));
        await settings.UpgradeAsync(CancellationToken.None);
        store = new Store(settings);
        store.Committed += commits.Add;
        writer = new NeutronMirrorWriter(store, TimeProvider.System);
    }

    public Task DisposeAsync()
    {
        store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }

    private static NeutronNetwork Network(string id, int vni, string name = "net") =>
        new(id, name, "proj", [new NeutronSegment("vxlan", vni, null)], true, false, "", 1450, Boot, 1);

    private static NeutronPort Port(string id, string network, string mac, string? host = "compute1", params NeutronAddressPair[] pairs) =>
        new(id, id, network, "proj", mac, [new NeutronFixedIp("s", "192.168.50.10")], pairs, host, "DOWN", "", "", true, "", Boot, 1);

    private static NeutronAgent Agent(string host, string ip) => new("agent-" + host, host, NeutronAgent.OpenvswitchBinary, ip, Boot, true);

    private Task<T> ReadAsync<T>(Func<L2GatewayDbContext, Task<T>> read) => store.ReadAsync(read);

    [Fact]
    public async Task A_full_read_stores_everything_and_the_same_read_again_writes_nothing()
    {
        var batch = new MirrorBatch(
            [Network("n1", 6001), Network("n2", 6002)],
            [Port("p1", "n1", "fa:16:3e:00:00:01", "compute1", new NeutronAddressPair("fa:16:3e:00:00:09", "192.168.50.99"))],
            [Agent("compute1", "10.77.0.2"), new NeutronAgent("a2", "compute9", NeutronAgent.OpenvswitchBinary, null, Boot, true)],
            AllNetworks: true,
            AllPorts: true);

        var first = await writer.ApplyAsync(batch, CancellationToken.None);
        var committed = commits.Count;
        var second = await writer.ApplyAsync(batch, CancellationToken.None);

        Assert.Equal(2 + 2 + 1 + 1, first); // networks, segments, the port, one host (compute9 does no tunnelling)
        Assert.Equal(0, second);
        Assert.Equal(committed, commits.Count);
        var port = (await ReadAsync(db => db.Ports.SingleAsync())).ToDomain();
        Assert.Equal("compute1", port.HostId);
        Assert.Equal("fa:16:3e:00:00:09", Assert.Single(port.AllowedAddressPairs).MacAddress);
        Assert.Equal("10.77.0.2", (await ReadAsync(db => db.Hosts.SingleAsync())).TunnelIp);
        Assert.Equal(6001, (await ReadAsync(db => db.NetworkSegments.SingleAsync(s => s.NetworkId == "n1"))).SegmentationId);
    }

    [Fact]
    public async Task A_changed_port_is_the_one_row_written()
    {
        await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001)], [Port("p1", "n1", "fa:16:3e:00:00:01"), Port("p2", "n1", "fa:16:3e:00:00:02")]), CancellationToken.None);
        commits.Clear();

        var rows = await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001)], [Port("p1", "n1", "fa:16:3e:00:00:01", "compute2")]), CancellationToken.None);

        Assert.Equal(1, rows);
        var change = Assert.Single(Assert.Single(commits));
        Assert.Equal("p1", ((PortRow)change.Row).Id);
        Assert.Equal("compute2", ((PortRow)change.Row).HostId);
    }

    [Fact]
    public async Task Only_a_complete_read_removes_what_it_does_not_list()
    {
        await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001)], [Port("p1", "n1", "fa:16:3e:00:00:01"), Port("p2", "n1", "fa:16:3e:00:00:02")]), CancellationToken.None);

        await writer.ApplyAsync(new MirrorBatch([], [Port("p1", "n1", "fa:16:3e:00:00:01")]), CancellationToken.None);
        Assert.Equal(2, await ReadAsync(db => db.Ports.CountAsync()));

        await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001)], [Port("p1", "n1", "fa:16:3e:00:00:01")], AllNetworks: true, AllPorts: true), CancellationToken.None);
        Assert.Equal("p1", (await ReadAsync(db => db.Ports.SingleAsync())).Id);
    }

    [Fact]
    public async Task A_deleted_network_takes_its_segments_and_ports_along()
    {
        await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001), Network("n2", 6002)], [Port("p1", "n1", "fa:16:3e:00:00:01")]), CancellationToken.None);

        await writer.ApplyAsync(new MirrorBatch([], [], DeletedNetworks: ["n1"]), CancellationToken.None);

        Assert.Equal("n2", (await ReadAsync(db => db.Networks.SingleAsync())).Id);
        Assert.Equal("n2", (await ReadAsync(db => db.NetworkSegments.SingleAsync())).NetworkId);
        Assert.Equal(0, await ReadAsync(db => db.Ports.CountAsync()));
    }

    [Fact]
    public async Task A_vni_that_neutron_gave_to_a_new_network_moves_to_it()
    {
        await writer.ApplyAsync(new MirrorBatch([new NeutronNetwork("old", "old", "proj", [new("vxlan", 6001, null), new("vxlan", 6003, null)], true, false, "", 1450, Boot, 1)], []), CancellationToken.None);

        // The poll sees the new network; the old one's deletion (or loss of 6001) it cannot see.
        await writer.ApplyAsync(new MirrorBatch([Network("new", 6001)], []), CancellationToken.None);

        var segments = await ReadAsync(db => db.NetworkSegments.OrderBy(s => s.SegmentationId).ToListAsync());
        Assert.Equal([("new", 6001), ("old", 6003)], segments.Select(s => (s.NetworkId, s.SegmentationId)));
        var old = (await ReadAsync(db => db.Networks.SingleAsync(n => n.Id == "old"))).ToDomain();
        Assert.Equal(6003, Assert.Single(old.Segments).SegmentationId);
    }

    [Fact]
    public async Task A_mac_that_neutron_gave_to_a_new_port_replaces_the_stale_one()
    {
        await writer.ApplyAsync(new MirrorBatch([Network("n1", 6001)], [Port("gone", "n1", "fa:16:3e:00:00:01")]), CancellationToken.None);

        await writer.ApplyAsync(new MirrorBatch([], [Port("new", "n1", "fa:16:3e:00:00:01")]), CancellationToken.None);

        Assert.Equal("new", (await ReadAsync(db => db.Ports.SingleAsync())).Id);
    }

    [Fact]
    public async Task Hosts_follow_the_agents_tunnel_ips()
    {
        await writer.ApplyAsync(new MirrorBatch([], [], [Agent("compute1", "10.77.0.2"), Agent("compute2", "10.77.0.3")]), CancellationToken.None);

        var rows = await writer.ApplyAsync(new MirrorBatch([], [], [Agent("compute1", "10.77.0.5")]), CancellationToken.None);

        Assert.Equal(2, rows);
        var host = await ReadAsync(db => db.Hosts.SingleAsync());
        Assert.Equal(("compute1", "10.77.0.5"), (host.Name, host.TunnelIp));
    }
}
