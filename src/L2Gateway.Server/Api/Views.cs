using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;

namespace L2Gateway.Server.Api;

/// <summary>The Neutron JSON shape of each resource.</summary>
public static class Views
{
    public static JsonObject Gateway(Gateway gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var devices = new JsonArray();
        foreach (var device in gateway.Devices)
        {
            var interfaces = new JsonArray();
            foreach (var iface in device.Interfaces)
            {
                // The reference reads an interface without VLANs back as "".
                JsonNode vlans = iface.HasVlans ? new JsonArray([.. iface.SegmentationIds.Select(v => (JsonNode)v)]) : "";
                interfaces.Add(new JsonObject { ["name"] = iface.Name, ["segmentation_id"] = vlans });
            }

            devices.Add(new JsonObject { ["id"] = device.Id, ["device_name"] = device.DeviceName, ["interfaces"] = interfaces });
        }

        return new JsonObject
        {
            ["id"] = gateway.Id,
            ["name"] = gateway.Name,
            ["devices"] = devices,
            ["tenant_id"] = gateway.ProjectId,
            ["project_id"] = gateway.ProjectId,
        };
    }

    public static JsonObject Connection(Connection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new JsonObject
        {
            ["id"] = connection.Id,
            ["l2_gateway_id"] = connection.GatewayId,
            ["network_id"] = connection.NetworkId,
            ["segmentation_id"] = connection.SegmentationId is int s ? s : "",
            ["status"] = connection.Status,
            ["status_reason"] = connection.StatusReason ?? "",
            ["tenant_id"] = connection.ProjectId,
            ["project_id"] = connection.ProjectId,
        };
    }

    public static JsonObject Network(NetworkRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var network = row.ToDomain();
        var result = new JsonObject
        {
            ["id"] = row.Id,
            ["name"] = row.Name,
            ["tenant_id"] = row.ProjectId,
            ["project_id"] = row.ProjectId,
            ["admin_state_up"] = row.AdminStateUp,
            ["status"] = "ACTIVE",
            ["shared"] = row.Shared,
            ["subnets"] = new JsonArray(),
            ["mtu"] = row.Mtu,
            ["description"] = row.Description,
            ["router:external"] = false,
            ["port_security_enabled"] = true,
            ["availability_zones"] = new JsonArray(),
            ["availability_zone_hints"] = new JsonArray(),
            ["tags"] = new JsonArray(),
            ["revision_number"] = 0,
            ["created_at"] = Timestamp(row.CreatedAt),
            ["updated_at"] = Timestamp(row.CreatedAt),
        };
        if (network.Segments.Count == 1)
        {
            var s = network.Segments[0];
            result["provider:network_type"] = s.NetworkType;
            result["provider:physical_network"] = s.PhysicalNetwork;
            result["provider:segmentation_id"] = s.SegmentationId;
        }
        else if (network.Segments.Count > 1)
        {
            result["segments"] = new JsonArray([.. network.Segments.Select(s => (JsonNode)new JsonObject
            {
                ["provider:network_type"] = s.NetworkType,
                ["provider:physical_network"] = s.PhysicalNetwork,
                ["provider:segmentation_id"] = s.SegmentationId,
            })]);
        }
        else
        {
            result["provider:network_type"] = null;
            result["provider:physical_network"] = null;
            result["provider:segmentation_id"] = null;
        }

        return result;
    }

    public static JsonObject Port(PortRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var port = row.ToDomain();
        return new JsonObject
        {
            ["id"] = row.Id,
            ["name"] = row.Name,
            ["network_id"] = row.NetworkId,
            ["tenant_id"] = row.ProjectId,
            ["project_id"] = row.ProjectId,
            ["mac_address"] = row.MacAddress,
            ["fixed_ips"] = new JsonArray([.. port.FixedIps.Select(f => (JsonNode)new JsonObject { ["subnet_id"] = f.SubnetId, ["ip_address"] = f.IpAddress })]),
            ["allowed_address_pairs"] = new JsonArray([.. port.AllowedAddressPairs.Select(a => (JsonNode)new JsonObject { ["mac_address"] = a.MacAddress, ["ip_address"] = a.IpAddress })]),
            ["binding:host_id"] = row.HostId ?? "",
            ["binding:vif_type"] = string.IsNullOrEmpty(row.HostId) ? "unbound" : "ovs",
            ["binding:vnic_type"] = "normal",
            ["device_owner"] = row.DeviceOwner,
            ["device_id"] = row.DeviceId,
            ["admin_state_up"] = row.AdminStateUp,
            ["status"] = string.IsNullOrEmpty(row.HostId) ? "DOWN" : "ACTIVE",
            ["description"] = row.Description,
            ["security_groups"] = new JsonArray(),
            ["port_security_enabled"] = true,
            ["tags"] = new JsonArray(),
            ["revision_number"] = 0,
            ["created_at"] = Timestamp(row.CreatedAt),
            ["updated_at"] = Timestamp(row.CreatedAt),
        };
    }

    public static JsonObject Host(HostRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new JsonObject { ["id"] = row.Id, ["name"] = row.Name, ["tunnel_ip"] = row.TunnelIp };
    }

    public static JsonObject Switch(SwitchRow row, IReadOnlyList<LocalMacRow> localMacs, Core.Planning.SwitchDesiredState desired)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(localMacs);
        ArgumentNullException.ThrowIfNull(desired);
        var sw = row.ToDomain();
        return new JsonObject
        {
            ["connected"] = row.Connected,
            ["desired_revision"] = desired.Revision,
            ["applied_revision"] = row.AppliedRevision,
            ["last_error"] = row.LastError,
            ["vlan_bindings"] = new JsonArray([.. desired.VlanBindings.Select(b => (JsonNode)new JsonObject { ["port"] = b.Port, ["vlan"] = b.Vlan, ["logical_switch"] = b.LogicalSwitch })]),
            ["remote_mac_count"] = desired.UcastRemotes.Count,
            ["local_mac_count"] = localMacs.Count,
            ["local_macs"] = new JsonArray([.. localMacs.Select(m => (JsonNode)new JsonObject { ["mac"] = m.Mac, ["ip"] = m.IpAddress, ["logical_switch"] = m.LogicalSwitch, ["tunnel_ip"] = m.TunnelIp })]),
            ["name"] = sw.Name,
            ["description"] = sw.Description,
            ["tunnel_ips"] = new JsonArray([.. sw.TunnelIps.Select(t => (JsonNode)t)]),
            ["fault_status"] = sw.FaultStatus,
            ["ports"] = new JsonArray([.. sw.Ports.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["fault_status"] = p.FaultStatus })]),
            ["agent_id"] = row.AgentId,
            ["updated_at"] = Timestamp(row.UpdatedAt),
        };
    }

    private static string Timestamp(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
