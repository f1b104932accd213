using System.Text.Json;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Neutron;

namespace L2Gateway.OpenStack.Tests;

/// <summary>Neutron's and Keystone's JSON, as the lab's services wrote it (testbed/openstack captures and API answers).</summary>
public sealed class NeutronJsonTests
{
    // network.create.end's payload as captured on the lab's bus (captures/notifications.txt).
    private const string CapturedNetwork = """
        {"id": "3ccfad64-ee78-4542-b077-013095a686c4", "name": "osv-bus", "tenant_id": "4c0abbc0a00e4adfb07be8ee6e672aa1",
         "admin_state_up": true, "mtu": 1450, "status": "ACTIVE", "subnets": [], "shared": false,
         "project_id": "4c0abbc0a00e4adfb07be8ee6e672aa1", "port_security_enabled": true, "router:external": false,
         "provider:network_type": "vxlan", "provider:physical_network": null, "provider:segmentation_id": 5077,
         "availability_zone_hints": [], "availability_zones": [], "description": "", "tags": [],
         "created_at": "2026-12-01T21:09:42Z", "updated_at": "2026-12-01T21:09:42Z", "revision_number": 1}
        """;

    // port.update.end's payload as captured (an unbound port: binding:host_id is "").
    private const string CapturedPort = """
        {"id": "41809dda-5c8f-4ecd-8673-2b3858e5da59", "name": "osv-bus-p1", "network_id": "3ccfad64-ee78-4542-b077-013095a686c4",
         "tenant_id": "4c0abbc0a00e4adfb07be8ee6e672aa1", "mac_address": "fa:16:3e:30:54:7e", "admin_state_up": true,
         "status": "DOWN", "device_id": "", "device_owner": "", "fixed_ips": [], "allowed_address_pairs": [],
         "extra_dhcp_opts": [], "security_groups": ["49598cca-aec4-4818-9603-1dfe5e90794d"], "description": "bus capture",
         "binding:vnic_type": "normal", "binding:profile": {}, "binding:host_id": "", "binding:vif_type": "unbound",
         "binding:vif_details": {}, "port_security_enabled": true, "tags": [], "created_at": "2026-12-01T21:09:45Z",
         "updated_at": "2026-12-01T21:09:48Z", "revision_number": 2, "project_id": "4c0abbc0a00e4adfb07be8ee6e672aa1"}
        """;

    // The lab's OVS agent as GET /v2.0/agents?binary=neutron-openvswitch-agent lists it (configurations shortened).
    private const string LabAgent = """
        {"id": "6c320458-0381-4745-bad5-c8d95ef9ea25", "agent_type": "Open vSwitch agent", "binary": "neutron-openvswitch-agent",
         "topic": "N/A", "host": "osv-compute1", "admin_state_up": true, "created_at": "2026-12-01 21:43:09.727127",
         "started_at": "2026-12-02 00:18:26.110375", "heartbeat_timestamp": "2026-12-02 00:24:56.127200", "alive": true,
         "configurations": {"bridge_mappings": {}, "l2_population": true, "tunnel_types": ["vxlan"], "tunneling_ip": "10.77.0.2"}}
        """;

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    [Fact]
    public void A_single_segment_network_has_its_provider_attributes_as_its_one_segment()
    {
        var network = NeutronJson.ParseNetwork(Parse(CapturedNetwork));

        Assert.Equal("3ccfad64-ee78-4542-b077-013095a686c4", network.Id);
        Assert.Equal("osv-bus", network.Name);
        Assert.Equal("4c0abbc0a00e4adfb07be8ee6e672aa1", network.ProjectId);
        Assert.Equal([new NeutronSegment("vxlan", 5077, null)], network.Segments);
        Assert.Equal(1450, network.Mtu);
        Assert.Equal(1, network.RevisionNumber);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 21, 9, 42, TimeSpan.Zero), network.CreatedAt);
        Assert.True(NeutronJson.IsCompleteNetwork(Parse(CapturedNetwork)));
    }

    [Fact]
    public void A_multi_segment_network_lists_its_segments()
    {
        var network = NeutronJson.ParseNetwork(Parse("""
            {"id": "n1", "name": "multi", "project_id": "p", "segments": [
              {"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 100},
              {"provider:network_type": "vxlan", "provider:physical_network": null, "provider:segmentation_id": 6001}],
             "revision_number": 4}
            """));

        Assert.Equal([new NeutronSegment("vlan", 100, "physnet1"), new NeutronSegment("vxlan", 6001, null)], network.Segments);
    }

    [Fact]
    public void A_network_seen_without_the_admin_role_has_no_segments_and_is_not_complete()
    {
        var body = Parse("""{"id": "n1", "name": "x", "project_id": "p", "revision_number": 1}""");

        Assert.Empty(NeutronJson.ParseNetwork(body).Segments);
        Assert.False(NeutronJson.IsCompleteNetwork(body));
    }

    [Fact]
    public void An_unbound_port_has_no_host()
    {
        var port = NeutronJson.ParsePort(Parse(CapturedPort));

        Assert.Equal("41809dda-5c8f-4ecd-8673-2b3858e5da59", port.Id);
        Assert.Equal("3ccfad64-ee78-4542-b077-013095a686c4", port.NetworkId);
        Assert.Equal("fa:16:3e:30:54:7e", port.MacAddress);
        Assert.Null(port.HostId);
        Assert.Equal("DOWN", port.Status);
        Assert.False(port.IsActive);
        Assert.Equal(2, port.RevisionNumber);
        Assert.True(NeutronJson.IsCompletePort(Parse(CapturedPort)));
    }

    [Fact]
    public void A_bound_port_keeps_its_addresses_and_pairs_a_pair_without_mac_takes_the_ports()
    {
        var port = NeutronJson.ParsePort(Parse("""
            {"id": "p1", "network_id": "n1", "project_id": "t", "mac_address": "FA:16:3E:00:00:01", "status": "ACTIVE",
             "binding:host_id": "osv-compute1", "revision_number": 7,
             "fixed_ips": [{"subnet_id": "s1", "ip_address": "192.168.50.10"}],
             "allowed_address_pairs": [{"mac_address": "fa:16:3e:00:00:02", "ip_address": "192.168.50.11"},
                                       {"ip_address": "10.9.0.0/24"}]}
            """));

        Assert.Equal("fa:16:3e:00:00:01", port.MacAddress);
        Assert.Equal("osv-compute1", port.HostId);
        Assert.True(port.IsActive);
        Assert.Equal([new NeutronFixedIp("s1", "192.168.50.10")], port.FixedIps);
        Assert.Equal(
            [new NeutronAddressPair("fa:16:3e:00:00:02", "192.168.50.11"), new NeutronAddressPair("fa:16:3e:00:00:01", "10.9.0.0/24")],
            port.AllowedAddressPairs);
    }

    [Fact]
    public void A_port_payload_without_the_binding_is_not_complete()
    {
        Assert.False(NeutronJson.IsCompletePort(Parse("""
            {"id": "p1", "network_id": "n1", "mac_address": "fa:16:3e:00:00:01", "status": "DOWN", "fixed_ips": [],
             "allowed_address_pairs": [], "revision_number": 1}
            """)));
    }

    [Fact]
    public void A_port_without_its_network_is_refused_naming_it()
    {
        var error = Assert.Throws<FormatException>(() => NeutronJson.ParsePort(Parse("""{"id": "p9", "mac_address": "fa:16:3e:00:00:01"}""")));

        Assert.Contains("network_id", error.Message, StringComparison.Ordinal);
        Assert.Contains("p9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ovs_agent_gives_its_host_tunnel_ip_and_start_time()
    {
        var agent = NeutronJson.ParseAgent(Parse(LabAgent));

        Assert.Equal("osv-compute1", agent.Host);
        Assert.Equal(NeutronAgent.OpenvswitchBinary, agent.Binary);
        Assert.Equal("10.77.0.2", agent.TunnelingIp);
        Assert.True(agent.Alive);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 0, 18, 26, TimeSpan.Zero).AddTicks(1_103_750), agent.StartedAt);
    }

    [Fact]
    public void A_page_says_whether_a_next_one_is_linked()
    {
        var (items, hasNext) = NeutronJson.ParsePage(
            Parse("""
                {"networks": [{"id": "a"}], "networks_links": [
                  {"rel": "next", "href": "http://127.0.0.1:29706/v2.0/networks?limit=1&marker=a"},
                  {"rel": "previous", "href": "http://127.0.0.1:29706/v2.0/networks?limit=1&marker=a&page_reverse=True"}]}
                """),
            "networks",
            NeutronJson.ParseNetwork);
        var (_, last) = NeutronJson.ParsePage(
            Parse("""{"ports": [], "ports_links": [{"rel": "previous", "href": "http://x/v2.0/ports?limit=1&page_reverse=True"}]}"""),
            "ports",
            NeutronJson.ParsePort);

        Assert.Equal("a", Assert.Single(items).Id);
        Assert.True(hasNext);
        Assert.False(last);
    }

    [Fact]
    public void Changed_since_is_written_as_neutron_reads_it()
    {
        Assert.Equal("2026-12-02T00:24:40Z", NeutronJson.FormatTime(new DateTimeOffset(2026, 12, 2, 1, 24, 40, 500, TimeSpan.FromHours(1))));
        Assert.Null(NeutronJson.ParseTime("yesterday"));
    }

    [Fact]
    public void Neutrons_error_message_is_read_from_its_error_body()
    {
        Assert.Equal(
            "Invalid input for operation: 'changed_since' is not supported for filtering.",
            NeutronJson.ErrorMessage("""{"NeutronError": {"type": "InvalidInput", "message": "Invalid input for operation: 'changed_since' is not supported for filtering.", "detail": ""}}"""));
        Assert.Null(NeutronJson.ErrorMessage("<html>502</html>"));
    }

    [Fact]
    public void The_network_endpoint_is_found_by_interface_and_region()
    {
        var catalog = ServiceCatalog.Parse(Parse("""
            {"catalog": [
              {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "internal", "region_id": "RegionOne", "region": "RegionOne", "url": "http://127.0.0.1:35367/v3"}]},
              {"type": "network", "name": "neutron", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "http://public:9696"},
                {"interface": "internal", "region_id": "RegionOne", "region": "RegionOne", "url": "http://internal-one:9696"},
                {"interface": "internal", "region_id": "RegionTwo", "region": "RegionTwo", "url": "http://internal-two:9696"}]}]}
            """));

        Assert.Equal(new Uri("http://internal-two:9696"), catalog.Find("network", "internal", "RegionTwo"));
        Assert.Contains("several regions", Assert.Throws<KeyNotFoundException>(() => catalog.Find("network", "internal", null)).Message, StringComparison.Ordinal);
        Assert.Contains("region RegionThree", Assert.Throws<KeyNotFoundException>(() => catalog.Find("network", "internal", "RegionThree")).Message, StringComparison.Ordinal);
    }
}
