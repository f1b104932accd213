using System.Globalization;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Dashboard;

/// <summary>Everything the dashboard shows, read in one go: the rows, and what the server computes from them.</summary>
internal sealed record DashboardInputs(
    DateTimeOffset Now,
    TimeSpan AgentDownTime,
    IReadOnlyList<GatewayRow> Gateways,
    IReadOnlyList<ConnectionRow> Connections,
    IReadOnlyDictionary<string, ConnectionState> ConnectionStates,
    IReadOnlyList<NetworkRow> Networks,
    IReadOnlyList<SwitchRow> Switches,
    IReadOnlyList<AgentRow> Agents,
    IReadOnlyDictionary<string, int> LocalMacCounts,
    IReadOnlyList<LocalMacRow> ConnectedNetworkMacs,
    IReadOnlyDictionary<string, (string Desired, int? Behind)> Revisions);

/// <summary>
/// The dashboard's one document (<c>GET /v2.0/l2gw-dashboard</c>): gateways and their connections, switches with
/// their agent, convergence and inventory, agents and their heartbeats, and the FDB of each connected network.
/// </summary>
internal static class DashboardState
{
    /// <summary>At most this many learned MACs of a network are listed (all are counted); the FDB endpoint has them all.</summary>
    public const int MacsPerNetwork = 200;

    /// <summary>The document, and when it would change with no write at all: when the next live agent turns dead.</summary>
    public static async Task<(JsonObject Document, DateTimeOffset? NextAgentDeath)> BuildAsync(
        Store store, AgentService agents, DesiredStateService desired, ServerOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var (gateways, connections, switches, agentRows, macCounts) = await store.ReadAsync(
            async db => (
                await db.Gateways.OrderBy(g => g.CreatedAt).ToListAsync(cancellationToken),
                await db.Connections.OrderBy(c => c.CreatedAt).ToListAsync(cancellationToken),
                await db.Switches.OrderBy(s => s.Name).ToListAsync(cancellationToken),
                await db.Agents.OrderBy(a => a.Host).ToListAsync(cancellationToken),
                await db.LocalMacs.GroupBy(m => m.Switch).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken)),
            cancellationToken);
        var networkIds = connections.Select(c => c.NetworkId).Distinct().ToList();
        var (networks, macs) = await store.ReadAsync(
            async db => (
                await db.Networks.Where(n => networkIds.Contains(n.Id)).ToListAsync(cancellationToken),
                await db.LocalMacs.Where(m => networkIds.Contains(m.LogicalSwitch)).OrderBy(m => m.Mac).ToListAsync(cancellationToken)),
            cancellationToken);
        var states = await agents.StatusesAsync([.. connections.Select(c => c.ToDomain())], cancellationToken);
        var names = switches.Select(s => s.Name).Concat(gateways.SelectMany(g => g.ToDomain().Devices.Select(d => d.DeviceName))).Distinct(StringComparer.Ordinal);
        var applied = switches.ToDictionary(s => s.Name, s => s.AppliedRevision, StringComparer.Ordinal);
        var revisions = names.ToDictionary(
            n => n,
            n => (desired.For(n).Revision, desired.RevisionsBehind(n, applied.GetValueOrDefault(n))),
            StringComparer.Ordinal);
        var now = time.GetUtcNow();
        var downTime = TimeSpan.FromSeconds(options.AgentDownTime);
        var document = Compose(new DashboardInputs(now, downTime, gateways, connections, states, networks, switches, agentRows, macCounts, macs, revisions));
        return (document, NextAgentDeath(agentRows, now, downTime));
    }

    /// <summary>The document, from inputs alone.</summary>
    public static JsonObject Compose(DashboardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var now = inputs.Now.UtcTicks;
        var agentsById = inputs.Agents.ToDictionary(a => a.Id, StringComparer.Ordinal);
        bool Alive(AgentRow a) => now - a.HeartbeatAt < inputs.AgentDownTime.Ticks;
        var sightings = inputs.Agents.SelectMany(a => Sightings(a, Alive(a)))
            .GroupBy(s => s.Switch, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(s => s.Sighting).ToList(), StringComparer.Ordinal);
        var gateways = inputs.Gateways.Select(g => g.ToDomain()).ToList();
        var networks = inputs.Networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var rows = inputs.Switches.ToDictionary(s => s.Name, StringComparer.Ordinal);

        var switchNames = rows.Keys.Concat(gateways.SelectMany(g => g.Devices.Select(d => d.DeviceName))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var switches = new JsonArray();
        foreach (var name in switchNames)
        {
            var row = rows.GetValueOrDefault(name);
            var agent = row?.AgentId is { } id ? agentsById.GetValueOrDefault(id) : null;
            var seen = sightings.GetValueOrDefault(name) ?? [];
            var (desiredRevision, behind) = inputs.Revisions.GetValueOrDefault(name);
            var serving = agent is null ? null : seen.FirstOrDefault(s => s.AgentHost == agent.Host) ?? new SwitchSighting(agent.Host, Alive(agent), row!.Connected, false);
            var health = SwitchHealth.Evaluate(new SwitchFacts(
                name,
                serving,
                agent is null ? TimeSpan.Zero : TimeSpan.FromTicks(now - agent.HeartbeatAt),
                row?.Connected ?? false,
                row?.AppliedRevision,
                row?.LastError ?? "",
                desiredRevision ?? "",
                behind,
                seen));
            var inventory = row?.ToDomain();
            var holder = seen.FirstOrDefault(s => s.AgentAlive && s.Connected && s.Writer);
            switches.Add(new JsonObject
            {
                ["name"] = name,
                ["description"] = inventory?.Description ?? "",
                ["converged"] = health.Converged,
                ["problem"] = Snake(health.Problem),
                ["reason"] = health.Reason,
                ["agent"] = agent is null ? null : new JsonObject { ["id"] = agent.Id, ["host"] = agent.Host, ["alive"] = Alive(agent) },
                ["connected"] = row?.Connected ?? false,
                ["lock_holder"] = holder?.AgentHost,
                ["desired_revision"] = desiredRevision,
                ["applied_revision"] = row?.AppliedRevision,
                ["revisions_behind"] = behind,
                ["tunnel_ips"] = new JsonArray([.. (inventory?.TunnelIps ?? []).Select(t => (JsonNode)t)]),
                ["fault_status"] = inventory?.FaultStatus,
                ["ports"] = new JsonArray([.. (inventory?.Ports ?? []).OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["fault_status"] = p.FaultStatus })]),
                ["local_mac_count"] = inputs.LocalMacCounts.GetValueOrDefault(name),
                ["updated_at"] = row is null ? null : Timestamp(row.UpdatedAt),
                ["gateways"] = new JsonArray([.. gateways.Where(g => g.Devices.Any(d => d.DeviceName == name)).Select(g => (JsonNode)g.Name)]),
                ["reported_by"] = new JsonArray([.. seen.Select(s => (JsonNode)new JsonObject
                {
                    ["host"] = s.AgentHost,
                    ["alive"] = s.AgentAlive,
                    ["connected"] = s.Connected,
                    ["writer"] = s.Writer,
                    ["standing_by"] = s.StandingBy,
                })]),
            });
        }

        var connectionsByGateway = inputs.Connections.ToLookup(c => c.GatewayId, StringComparer.Ordinal);
        var gatewayViews = new JsonArray([.. gateways.Select(g => (JsonNode)new JsonObject
        {
            ["id"] = g.Id,
            ["name"] = g.Name,
            ["project_id"] = g.ProjectId,
            ["devices"] = new JsonArray([.. g.Devices.Select(d => (JsonNode)new JsonObject
            {
                ["device_name"] = d.DeviceName,
                ["interfaces"] = new JsonArray([.. d.Interfaces.Select(i => (JsonNode)new JsonObject
                {
                    ["name"] = i.Name,
                    ["segmentation_id"] = new JsonArray([.. i.SegmentationIds.Where(v => v != 0).Select(v => (JsonNode)v)]),
                })]),
            })]),
            ["connections"] = new JsonArray([.. connectionsByGateway[g.Id].Select(c =>
            {
                var state = inputs.ConnectionStates.GetValueOrDefault(c.Id);
                return (JsonNode)new JsonObject
                {
                    ["id"] = c.Id,
                    ["network_id"] = c.NetworkId,
                    ["network_name"] = networks.GetValueOrDefault(c.NetworkId)?.Name ?? "",
                    ["segmentation_id"] = c.SegmentationId,
                    ["status"] = state?.Status ?? c.Status,
                    ["status_reason"] = state?.Reason ?? c.StatusReason ?? "",
                };
            })]),
        })]);

        var agentViews = new JsonArray([.. inputs.Agents.Select(a => (JsonNode)new JsonObject
        {
            ["id"] = a.Id,
            ["host"] = a.Host,
            ["alive"] = Alive(a),
            ["heartbeat_timestamp"] = Timestamp(a.HeartbeatAt),
            ["heartbeat_age_seconds"] = Math.Max(0, (int)TimeSpan.FromTicks(now - a.HeartbeatAt).TotalSeconds),
            ["started_at"] = Timestamp(a.StartedAt),
            ["switches"] = new JsonArray([.. Sightings(a, true).Select(s => s.Switch).Order(StringComparer.Ordinal).Select(s => (JsonNode)s)]),
        })]);

        var macsByNetwork = inputs.ConnectedNetworkMacs.ToLookup(m => m.LogicalSwitch, StringComparer.Ordinal);
        var networkViews = new JsonArray();
        foreach (var networkId in inputs.Connections.Select(c => c.NetworkId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            // The FDB of GET /v2.0/networks/{id}/l2gw-fdb: the tunnel IPs of the switches of every gateway connected to
            // the network, and the MACs those switches learned in it.
            var connected = inputs.Connections.Where(c => c.NetworkId == networkId).Select(c => c.GatewayId).ToHashSet(StringComparer.Ordinal);
            var onGateways = gateways.Where(g => connected.Contains(g.Id)).ToList();
            var switchesOfNetwork = onGateways.SelectMany(g => g.Devices.Select(d => d.DeviceName)).ToHashSet(StringComparer.Ordinal);
            var flood = switchesOfNetwork.Where(rows.ContainsKey).SelectMany(n => rows[n].ToDomain().TunnelIps).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            var learned = macsByNetwork[networkId].Where(m => switchesOfNetwork.Contains(m.Switch)).ToList();
            var network = networks.GetValueOrDefault(networkId);
            networkViews.Add(new JsonObject
            {
                ["id"] = networkId,
                ["name"] = network?.Name ?? "",
                ["vni"] = network?.ToDomain().Segments.FirstOrDefault(s => s.NetworkType == Core.Network.Vxlan)?.SegmentationId,
                ["gateways"] = new JsonArray([.. onGateways.Select(g => (JsonNode)g.Name)]),
                ["fdb"] = new JsonObject
                {
                    ["flood"] = new JsonArray([.. flood.Select(f => (JsonNode)f)]),
                    ["mac_count"] = learned.Count,
                    ["macs"] = new JsonArray([.. learned.Take(MacsPerNetwork).Select(m => (JsonNode)new JsonObject
                    {
                        ["mac"] = m.Mac,
                        ["ip"] = m.IpAddress,
                        ["tunnel_ip"] = m.TunnelIp,
                        ["switch"] = m.Switch,
                    })]),
                },
            });
        }

        return new JsonObject
        {
            ["generated_at"] = Timestamp(now),
            ["agent_down_time"] = (int)inputs.AgentDownTime.TotalSeconds,
            ["gateways"] = gatewayViews,
            ["switches"] = switches,
            ["agents"] = agentViews,
            ["networks"] = networkViews,
        };
    }

    /// <summary>When the next live agent turns dead, if nothing is heard from it.</summary>
    public static DateTimeOffset? NextAgentDeath(IEnumerable<AgentRow> agents, DateTimeOffset now, TimeSpan agentDownTime) =>
        agents.Select(a => new DateTimeOffset(a.HeartbeatAt, TimeSpan.Zero) + agentDownTime)
            .Where(death => death > now)
            .Select(death => (DateTimeOffset?)death)
            .Min();

    /// <summary>The switches an agent reported in its last heartbeat (its <c>configurations</c>), as sightings.</summary>
    private static IEnumerable<(string Switch, SwitchSighting Sighting)> Sightings(AgentRow agent, bool alive)
    {
        JsonNode? configurations;
        try
        {
            configurations = JsonNode.Parse(agent.ConfigurationsJson);
        }
        catch (System.Text.Json.JsonException)
        {
            yield break;
        }

        if (configurations?["switches"] is not JsonObject switches)
        {
            yield break;
        }

        foreach (var (name, value) in switches)
        {
            if (value is JsonObject s)
            {
                yield return (name, new SwitchSighting(
                    agent.Host,
                    alive,
                    Flag(s, "connected"),
                    Flag(s, "writer"),
                    Flag(s, "standing_by"),
                    s["desired_revision"] is JsonValue r && r.TryGetValue<string>(out var revision) ? revision : null));
            }
        }
    }

    private static bool Flag(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static string Snake(SwitchProblem problem) => problem switch
    {
        SwitchProblem.None => "none",
        SwitchProblem.NoAgent => "no_agent",
        SwitchProblem.AgentDead => "agent_dead",
        SwitchProblem.Disconnected => "disconnected",
        SwitchProblem.LockNotHeld => "lock_not_held",
        SwitchProblem.Error => "error",
        SwitchProblem.NotProgrammed => "not_programmed",
        SwitchProblem.Behind => "behind",
        _ => problem.ToString().ToLowerInvariant(),
    };

    private static string Timestamp(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
