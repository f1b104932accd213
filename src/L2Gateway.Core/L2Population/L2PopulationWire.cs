using System.Text.Json.Nodes;

namespace L2Gateway.Core.L2Population;

/// <summary>
/// Neutron's l2population RPC (<c>L2populationAgentNotifyAPI</c>, version 1.0) as the OVS agents read it:
/// <c>add_fdb_entries</c> / <c>remove_fdb_entries</c> with <c>{"fdb_entries": {NETWORK_ID: {"segment_id": VNI,
/// "network_type": "vxlan", "ports": {TUNNEL_IP: [[MAC, IP], ...]}}}}</c>, cast to topic
/// <c>q-agent-notifier-l2population-update</c> (fanout to every agent, or to one host).
/// </summary>
public static class L2PopulationWire
{
    public const string Topic = "q-agent-notifier-l2population-update";
    public const string Version = "1.0";
    public const string AddMethod = "add_fdb_entries";
    public const string RemoveMethod = "remove_fdb_entries";

    public static JsonObject Args(FdbTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var entries = new JsonObject();
        foreach (var (id, network) in table.Networks)
        {
            var ports = new JsonObject();
            foreach (var (ip, infos) in network.Ports)
            {
                ports[ip] = new JsonArray([.. infos.Select(i => (JsonNode)new JsonArray(i.Mac, i.Ip))]);
            }

            entries[id] = new JsonObject { ["segment_id"] = network.SegmentId, ["network_type"] = network.NetworkType, ["ports"] = ports };
        }

        return new JsonObject { ["fdb_entries"] = entries };
    }
}
