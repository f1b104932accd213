namespace L2Gateway.OpenStack.Neutron;

/// <summary>A segment of a network: <c>provider:network_type</c>, <c>provider:segmentation_id</c>, <c>provider:physical_network</c>.</summary>
public sealed record NeutronSegment(string NetworkType, int? SegmentationId, string? PhysicalNetwork);

/// <summary>A Neutron network as the product needs it; a multi-segment network lists each of its <c>segments</c>.</summary>
public sealed record NeutronNetwork(
    string Id,
    string Name,
    string ProjectId,
    IReadOnlyList<NeutronSegment> Segments,
    bool AdminStateUp,
    bool Shared,
    string Description,
    int Mtu,
    DateTimeOffset? CreatedAt,
    long RevisionNumber);

public sealed record NeutronFixedIp(string? SubnetId, string IpAddress);

public sealed record NeutronAddressPair(string MacAddress, string IpAddress);

/// <summary>A Neutron port; <see cref="HostId"/> is <c>binding:host_id</c>, null when the port is not bound.</summary>
public sealed record NeutronPort(
    string Id,
    string Name,
    string NetworkId,
    string ProjectId,
    string MacAddress,
    IReadOnlyList<NeutronFixedIp> FixedIps,
    IReadOnlyList<NeutronAddressPair> AllowedAddressPairs,
    string? HostId,
    string Status,
    string DeviceOwner,
    string DeviceId,
    bool AdminStateUp,
    string Description,
    DateTimeOffset? CreatedAt,
    long RevisionNumber)
{
    public const string Active = "ACTIVE";

    public bool IsActive => Status == Active;
}

/// <summary>A Neutron agent: its host, and for an OVS agent the VTEP IP its tunnels end on (<c>configurations.tunneling_ip</c>).</summary>
public sealed record NeutronAgent(string Id, string Host, string Binary, string? TunnelingIp, DateTimeOffset? StartedAt, bool Alive)
{
    public const string OpenvswitchBinary = "neutron-openvswitch-agent";
}

/// <summary>
/// Resources read in one call, with the time Neutron's own clock gave for the answer (its <c>Date</c> header), so
/// that the next <c>changed_since</c> is on Neutron's clock rather than ours.
/// </summary>
public sealed record NeutronList<T>(IReadOnlyList<T> Items, DateTimeOffset? ServerTime);
