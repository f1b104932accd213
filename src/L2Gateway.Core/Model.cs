namespace L2Gateway.Core;

/// <summary>A physical port of a gateway device with the VLANs it carries (empty: none of its own).</summary>
public sealed record GatewayInterface(string Name, IReadOnlyList<int> SegmentationIds)
{
    public bool HasVlans => SegmentationIds.Count > 0;
}

/// <summary>A device of a gateway: <see cref="DeviceName"/> is the switch's <c>Physical_Switch.name</c>.</summary>
public sealed record GatewayDevice(string Id, string DeviceName, IReadOnlyList<GatewayInterface> Interfaces)
{
    public bool HasVlans => Interfaces.Count > 0 && Interfaces[0].HasVlans;
}

public sealed record Gateway(string Id, string Name, string ProjectId, IReadOnlyList<GatewayDevice> Devices);

public static class ConnectionStatus
{
    public const string Pending = "PENDING";
    public const string Active = "ACTIVE";
    public const string Error = "ERROR";
}

public sealed record Connection(
    string Id,
    string GatewayId,
    string NetworkId,
    int? SegmentationId,
    string ProjectId,
    string Status = ConnectionStatus.Pending,
    string? StatusReason = null);

public sealed record NetworkSegment(string NetworkType, int? SegmentationId, string? PhysicalNetwork = null);

public sealed record Network(string Id, string Name, string ProjectId, IReadOnlyList<NetworkSegment> Segments)
{
    public const string Vxlan = "vxlan";
}

public sealed record FixedIp(string? SubnetId, string IpAddress);

public sealed record AddressPair(string MacAddress, string? IpAddress);

public sealed record Port(
    string Id,
    string Name,
    string NetworkId,
    string ProjectId,
    string MacAddress,
    IReadOnlyList<FixedIp> FixedIps,
    string? HostId,
    IReadOnlyList<AddressPair> AllowedAddressPairs,
    string DeviceOwner = "",
    string DeviceId = "");

/// <summary>A hypervisor and the VTEP IP its VXLAN tunnels end on.</summary>
public sealed record Host(string Id, string Name, string TunnelIp);

public static class FaultStatus
{
    public const string Up = "UP";
}

public sealed record SwitchPortInventory(string Name, string FaultStatus);

/// <summary>What the agents have seen of a switch: its ports, tunnel IPs and health.</summary>
public sealed record SwitchInventory(
    string Name,
    IReadOnlyList<string> TunnelIps,
    string FaultStatus,
    IReadOnlyList<SwitchPortInventory> Ports,
    string Description = "");
