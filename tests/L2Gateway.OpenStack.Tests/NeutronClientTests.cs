using System.Globalization;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Neutron;
using L2Gateway.Testing;

namespace L2Gateway.OpenStack.Tests;

/// <summary>One VXLAN network of the tests' own on the lab's Neutron, and the service user's token source.</summary>
public sealed class LabNetworkFixture : IAsyncLifetime
{
    public string Name { get; } = "cat-cl-" + Guid.NewGuid().ToString("N")[..10];

    public KeystoneTokenSource Tokens { get; } = new(new KeystoneCredentials(OpenStackLab.KeystoneUrl, "neutron", "osv-neutron", "service"));

    public string NetworkId { get; private set; } = "";

    public int Vni { get; private set; }

    public async Task InitializeAsync() => (NetworkId, Vni) = await CreateVxlanNetworkAsync(Name);

    public async Task DisposeAsync()
    {
        if (NetworkId.Length > 0)
        {
            await OpenStackLab.OpenStackAsync("admin", "network", "delete", NetworkId);
        }

        Tokens.Dispose();
    }

    /// <summary>A VXLAN network with a VNI of its own: another test may hold the one drawn, so draw again.</summary>
    internal static async Task<(string Id, int Vni)> CreateVxlanNetworkAsync(string name)
    {
        for (var attempt = 0; ; attempt++)
        {
            var vni = Random.Shared.Next(6000, 9000);
            try
            {
                var id = await OpenStackLab.OpenStackAsync(
                    "admin", "network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(CultureInfo.InvariantCulture),
                    "-f", "value", "-c", "id", name);
                return (id, vni);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }
}

/// <summary>The Neutron client against the lab's real Neutron, as the service user, with the endpoint from Keystone's catalog.</summary>
public sealed class NeutronClientTests(LabNetworkFixture lab) : IClassFixture<LabNetworkFixture>
{
    private readonly string name = lab.Name;
    private readonly KeystoneTokenSource tokens = lab.Tokens;
    private readonly string networkId = lab.NetworkId;
    private readonly int vni = lab.Vni;

    [Fact]
    public async Task Lists_every_page_with_the_endpoint_from_keystones_catalog()
    {
        using var neutron = NeutronClient.ForServiceUser(tokens, null, "RegionOne");
        var paged = new NeutronClient(new KeystoneAuthHandler(tokens), _ => ValueTask.FromResult(OpenStackLab.NeutronUrl)) { PageSize = 1 };
        using var _ = paged;

        var all = await neutron.ListNetworksAsync();
        var onePerPage = await paged.ListNetworksAsync();

        Assert.Equal(OpenStackLab.NeutronUrl.GetLeftPart(UriPartial.Authority) + "/", neutron.Endpoint!.ToString());
        var mine = Assert.Single(all.Items, n => n.Id == networkId);
        Assert.Equal(name, mine.Name);
        Assert.Equal([new NeutronSegment("vxlan", vni, null)], mine.Segments);
        Assert.Contains(onePerPage.Items, n => n.Id == networkId);
        Assert.Equal(onePerPage.Items.Count, onePerPage.Items.Select(n => n.Id).Distinct().Count());
        Assert.NotNull(all.ServerTime);
    }

    [Fact]
    public async Task Changed_since_returns_what_changed_at_or_after_the_time_on_neutrons_clock()
    {
        using var neutron = NeutronClient.ForServiceUser(tokens, OpenStackLab.NeutronUrl, null);
        var mine = await neutron.GetNetworkAsync(networkId);
        Assert.NotNull(mine);
        var created = mine.CreatedAt!.Value;

        var before = await neutron.ListNetworksAsync(changedSince: created.AddSeconds(-1));
        var after = await neutron.ListNetworksAsync(changedSince: before.ServerTime!.Value.AddMinutes(1));

        Assert.Contains(before.Items, n => n.Id == networkId);
        Assert.DoesNotContain(after.Items, n => n.Id == networkId);
    }

    [Fact]
    public async Task Reads_networks_by_id_and_an_unknown_one_is_not_there()
    {
        using var neutron = NeutronClient.ForServiceUser(tokens, OpenStackLab.NeutronUrl, null);

        var read = await neutron.ListNetworksAsync(ids: [networkId, Guid.NewGuid().ToString()]);

        Assert.Equal(networkId, Assert.Single(read.Items).Id);
        Assert.Null(await neutron.GetNetworkAsync(Guid.NewGuid().ToString()));
    }

    [Fact]
    public async Task The_ovs_agents_give_each_hosts_tunnel_ip()
    {
        using var neutron = NeutronClient.ForServiceUser(tokens, OpenStackLab.NeutronUrl, null);

        var agents = await neutron.ListAgentsAsync();

        var compute = Assert.Single(agents.Items, a => a.Host == "osv-compute1");
        Assert.Equal("10.77.0.2", compute.TunnelingIp);
        Assert.NotNull(compute.StartedAt);
        Assert.All(agents.Items, a => Assert.Equal(NeutronAgent.OpenvswitchBinary, a.Binary));
    }

    [Fact]
    public async Task Neutron_unreachable_or_missing_from_the_catalog_is_one_error_saying_so()
    {
        using var closed = NeutronClient.ForServiceUser(tokens, new Uri("http://127.0.0.1:1"), null);
        using var nowhere = NeutronClient.ForServiceUser(tokens, null, "NoSuchRegion");

        var unreachable = await Assert.ThrowsAsync<NeutronException>(() => closed.ListPortsAsync());
        var missing = await Assert.ThrowsAsync<NeutronException>(() => nowhere.ListPortsAsync());

        Assert.Contains("GET http://127.0.0.1:1/v2.0/ports", unreachable.Message, StringComparison.Ordinal);
        Assert.Null(unreachable.Status);
        Assert.Contains("no internal endpoint of type network in region NoSuchRegion", missing.Message, StringComparison.Ordinal);
    }
}
