using System.Text.Json;

namespace L2Gateway.Core;

/// <summary>A device as a request describes it, before it gets an id.</summary>
public sealed record DeviceSpec(string DeviceName, IReadOnlyList<GatewayInterface> Interfaces);

/// <summary>The reference's rules for a gateway's devices, plus the checks it forgot.</summary>
public static class GatewayRules
{
    /// <summary>Reads and validates the <c>devices</c> list of a create or update body.</summary>
    public static IReadOnlyList<DeviceSpec> ParseDevices(JsonElement? devices)
    {
        if (devices is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0)
        {
            if (devices is { ValueKind: not (JsonValueKind.Array or JsonValueKind.Null) })
            {
                throw L2GatewayException.InvalidInput("devices must be a list of devices");
            }

            throw L2GatewayException.InvalidInput("Cannot create a gateway with an empty device list");
        }

        var result = new List<DeviceSpec>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var device in list.EnumerateArray())
        {
            if (device.ValueKind != JsonValueKind.Object)
            {
                throw L2GatewayException.InvalidInput("each device must be an object with device_name and interfaces");
            }

            foreach (var property in device.EnumerateObject())
            {
                if (property.Name is not ("device_name" or "interfaces" or "id"))
                {
                    throw L2GatewayException.InvalidInput($"Unrecognized attribute '{property.Name}' in a device");
                }
            }

            var name = device.TryGetProperty("device_name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : "";
            if (name.Length == 0)
            {
                throw L2GatewayException.InvalidInput("Cannot create a gateway with an empty device_name");
            }

            if (!names.Add(name))
            {
                throw L2GatewayException.InvalidInput($"Device '{name}' is listed twice");
            }

            result.Add(new DeviceSpec(name, ParseInterfaces(name, device.TryGetProperty("interfaces", out var i) ? i : null)));
        }

        return result;
    }

    private static List<GatewayInterface> ParseInterfaces(string deviceName, JsonElement? interfaces)
    {
        if (interfaces is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0)
        {
            throw L2GatewayException.InvalidInput("Cannot create a gateway with an empty interfaces");
        }

        var result = new List<GatewayInterface>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw L2GatewayException.InvalidInput("interfaces format is not a type dict");
            }

            foreach (var property in entry.EnumerateObject())
            {
                if (property.Name is not ("name" or "segmentation_id"))
                {
                    throw L2GatewayException.InvalidInput($"Unrecognized attribute '{property.Name}' in an interface");
                }
            }

            var name = entry.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : "";
            if (name.Length == 0)
            {
                throw L2GatewayException.InvalidInput("Cannot create a gateway with an empty interface name");
            }

            if (!names.Add(name))
            {
                throw L2GatewayException.InvalidInput($"Interface '{name}' is listed twice on device '{deviceName}'");
            }

            result.Add(new GatewayInterface(name, ParseVlans(entry.TryGetProperty("segmentation_id", out var s) ? s : null)));
        }

        if (result.Any(i => i.HasVlans) && result.Any(i => !i.HasVlans))
        {
            throw L2GatewayException.InvalidInput(
                $"L2 gateway segmentation id must be consistent for all the interfaces of device '{deviceName}'");
        }

        return result;
    }

    // Absent, null, "" and 0 all mean "no VLAN of its own": 0 is how the reference stores that and "" is how it reads back.
    private static int[] ParseVlans(JsonElement? value)
    {
        if (value is null || value.Value.ValueKind == JsonValueKind.Null
            || (value.Value.ValueKind == JsonValueKind.String && value.Value.GetString()!.Length == 0))
        {
            return [];
        }

        if (value.Value.ValueKind != JsonValueKind.Array)
        {
            throw L2GatewayException.InvalidInput("segmentation_id type should be of list type");
        }

        if (value.Value.GetArrayLength() == 0)
        {
            throw L2GatewayException.InvalidInput("segmentation_id_list should not be empty");
        }

        var vlans = new SortedSet<int>();
        foreach (var item in value.Value.EnumerateArray())
        {
            vlans.Add(SegmentationId.Parse(item));
        }

        vlans.Remove(0);
        return [.. vlans];
    }

    /// <summary>Creates the devices of a new gateway, each with a fresh id.</summary>
    public static List<GatewayDevice> NewDevices(IEnumerable<DeviceSpec> specs, Func<string> newId) =>
        [.. specs.Select(s => new GatewayDevice(newId(), s.DeviceName, s.Interfaces))];

    /// <summary>
    /// Applies an update's devices: each names an existing device whose interface list is replaced; other
    /// devices are kept. A device may not switch between having VLANs and not having them.
    /// </summary>
    public static List<GatewayDevice> ApplyDeviceUpdate(Gateway gateway, IEnumerable<DeviceSpec> updates)
    {
        var devices = gateway.Devices.ToList();
        foreach (var update in updates)
        {
            var index = devices.FindIndex(d => d.DeviceName == update.DeviceName);
            if (index < 0)
            {
                throw L2GatewayException.NotFound(
                    "L2GatewayDeviceNameNotFound", $"L2 Gateway Device {update.DeviceName} could not be found.");
            }

            var current = devices[index];
            if (current.HasVlans != update.Interfaces[0].HasVlans)
            {
                throw L2GatewayException.InvalidInput(
                    $"Device '{update.DeviceName}' cannot switch between interfaces with and without segmentation ids");
            }

            devices[index] = current with { Interfaces = update.Interfaces };
        }

        return devices;
    }
}
