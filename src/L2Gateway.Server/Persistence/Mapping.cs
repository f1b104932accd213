using System.Text.Json;
using L2Gateway.Core;

namespace L2Gateway.Server.Persistence;

/// <summary>Rows to domain records and back; the JSON columns' layout lives here only.</summary>
public static class Mapping
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    private sealed record DeviceJson(string Id, string DeviceName, List<InterfaceJson> Interfaces);

    private sealed record InterfaceJson(string Name, List<int> Vlans);

    public static string DevicesToJson(IEnumerable<GatewayDevice> devices) =>
        JsonSerializer.Serialize(
            devices.Select(d => new DeviceJson(d.Id, d.DeviceName, [.. d.Interfaces.Select(i => new InterfaceJson(i.Name, [.. i.SegmentationIds]))])),
            Options);

    public static Gateway ToDomain(this GatewayRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var devices = JsonSerializer.Deserialize<List<DeviceJson>>(row.DevicesJson, Options) ?? [];
        return new Gateway(
            row.Id,
            row.Name,
            row.ProjectId,
            [.. devices.Select(d => new GatewayDevice(d.Id, d.DeviceName, [.. d.Interfaces.Select(i => new GatewayInterface(i.Name, i.Vlans))]))]);
    }

    public static Connection ToDomain(this ConnectionRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Connection(row.Id, row.GatewayId, row.NetworkId, row.SegmentationId, row.ProjectId, row.Status, row.StatusReason);
    }

    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T FromJson<T>(string json)
        where T : new() => JsonSerializer.Deserialize<T>(json, Options) ?? new T();

    public static Network ToDomain(this NetworkRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Network(row.Id, row.Name, row.ProjectId, FromJson<List<NetworkSegment>>(row.SegmentsJson));
    }

    public static Port ToDomain(this PortRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Port(
            row.Id,
            row.Name,
            row.NetworkId,
            row.ProjectId,
            row.MacAddress,
            FromJson<List<FixedIp>>(row.FixedIpsJson),
            row.HostId,
            FromJson<List<AddressPair>>(row.AllowedAddressPairsJson),
            row.DeviceOwner,
            row.DeviceId);
    }

    public static Core.Host ToDomain(this HostRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Core.Host(row.Id, row.Name, row.TunnelIp);
    }

    public static SwitchInventory ToDomain(this SwitchRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new SwitchInventory(
            row.Name,
            FromJson<List<string>>(row.TunnelIpsJson),
            row.FaultStatus,
            FromJson<List<SwitchPortInventory>>(row.PortsJson),
            row.Description);
    }
}
