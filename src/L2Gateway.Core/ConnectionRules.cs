namespace L2Gateway.Core;

/// <summary>One VLAN on one physical port of one switch, mapped to a logical switch by a connection.</summary>
public readonly record struct PortBinding(string Switch, string Port, int Vlan);

/// <summary>The reference's rules for connections, with its 500s turned into the right 4xx.</summary>
public static class ConnectionRules
{
    /// <summary>Whether every interface of the gateway carries VLANs of its own.</summary>
    public static bool AllInterfacesHaveVlans(Gateway gateway) =>
        gateway.Devices.All(d => d.Interfaces.All(i => i.HasVlans));

    /// <summary>
    /// The VLAN bindings a connection makes: an interface's own VLANs, else the connection's default VLAN.
    /// </summary>
    public static IEnumerable<PortBinding> Bindings(Gateway gateway, int? segmentationId)
    {
        foreach (var device in gateway.Devices)
        {
            foreach (var iface in device.Interfaces)
            {
                if (iface.HasVlans)
                {
                    foreach (var vlan in iface.SegmentationIds)
                    {
                        yield return new PortBinding(device.DeviceName, iface.Name, vlan);
                    }
                }
                else if (segmentationId is int vlan)
                {
                    yield return new PortBinding(device.DeviceName, iface.Name, vlan);
                }
            }
        }
    }

    /// <summary>The VNI of the network's single VXLAN segment, or the 400/409 the SPEC asks for.</summary>
    public static int VxlanSegment(Network network)
    {
        var vxlan = network.Segments.Where(s => s.NetworkType == Network.Vxlan && s.SegmentationId is not null).ToList();
        return vxlan.Count switch
        {
            1 => vxlan[0].SegmentationId!.Value,
            0 => throw new L2GatewayException(
                ErrorKind.BadRequest, "VxlanSegmentationIDNotFound", $"vxlan segmentation id not found for the network {network.Id}"),
            _ => throw L2GatewayException.Conflict(
                "MultipleVxlanSegmentsFound", $"Multiple Vxlan segments found for the network {network.Id}"),
        };
    }

    /// <summary>Checks the VLAN rules of a connection against its gateway.</summary>
    public static void CheckSegmentation(Gateway gateway, int? segmentationId)
    {
        var all = AllInterfacesHaveVlans(gateway);
        if (segmentationId is not null && all)
        {
            throw L2GatewayException.InvalidInput(
                "default segmentation_id should not be provided when segmentation_id is assigned during l2gateway creation");
        }

        if (segmentationId is null && !all)
        {
            throw L2GatewayException.InvalidInput("Segmentation id must be specified in create l2gateway connections");
        }
    }

    /// <summary>Every device and interface must be a switch and port the agents have reported, without faults.</summary>
    public static void CheckInventory(Gateway gateway, IReadOnlyDictionary<string, SwitchInventory> inventory)
    {
        foreach (var device in gateway.Devices)
        {
            if (!inventory.TryGetValue(device.DeviceName, out var sw))
            {
                throw L2GatewayException.NotFound(
                    "L2GatewayPhysicalSwitchNotFound",
                    $"Physical Switch '{device.DeviceName}' has not been reported by any L2 gateway agent");
            }

            if (sw.FaultStatus != FaultStatus.Up)
            {
                throw L2GatewayException.Conflict(
                    "L2GatewayPhysicalSwitchFaultStatus",
                    $"Physical Switch '{device.DeviceName}' switch_fault_status is '{sw.FaultStatus}'");
            }

            foreach (var iface in device.Interfaces)
            {
                var port = sw.Ports.FirstOrDefault(p => p.Name == iface.Name) ?? throw L2GatewayException.NotFound(
                    "L2GatewayPhysicalPortNotFound",
                    $"Physical Port '{iface.Name}' in Physical switch '{device.DeviceName}' could not be found");
                if (port.FaultStatus != FaultStatus.Up)
                {
                    throw L2GatewayException.Conflict(
                        "L2GatewayPhysicalPortFaultStatus",
                        $"Physical Port '{iface.Name}' in Physical switch '{device.DeviceName}' port_fault_status is '{port.FaultStatus}'");
                }
            }
        }
    }

    /// <summary>
    /// A VLAN on a port maps to one logical switch: refuses bindings already held for another network.
    /// </summary>
    /// <param name="proposed">The bindings to add, each with the network it would map to.</param>
    /// <param name="existing">Connections already stored (those being replaced excluded), with their gateways.</param>
    public static void CheckVlanConflicts(
        IEnumerable<(PortBinding Binding, string NetworkId)> proposed,
        IEnumerable<(Connection Connection, Gateway Gateway)> existing)
    {
        var held = new Dictionary<PortBinding, string>();
        foreach (var (connection, gateway) in existing)
        {
            foreach (var binding in Bindings(gateway, connection.SegmentationId))
            {
                held.TryAdd(binding, connection.NetworkId);
            }
        }

        foreach (var (binding, networkId) in proposed)
        {
            if (held.TryGetValue(binding, out var other) && other != networkId)
            {
                throw L2GatewayException.Conflict(
                    "L2GatewayDuplicateSegmentationID",
                    $"VLAN {binding.Vlan} of port '{binding.Port}' on switch '{binding.Switch}' is already bound to network {other}");
            }

            held[binding] = networkId;
        }
    }
}
