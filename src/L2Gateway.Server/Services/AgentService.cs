using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Server.Observability;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>How far one switch of a connection's gateway is.</summary>
public sealed record SwitchState(string Switch, string Status, string Reason);

/// <summary>A connection's status, its reason, and the state of each of its switches.</summary>
public sealed record ConnectionState(string Status, string Reason, IReadOnlyList<SwitchState> Switches);

/// <summary>Agents' heartbeats and reports, and what follows from them: inventory, learned MACs, connection status.</summary>
public sealed class AgentService(Store store, DesiredStateService desired, ServerOptions options, TimeProvider time, ServerMetrics? metrics = null)
{
    private long Now() => time.GetUtcNow().UtcTicks;

    public bool IsAlive(AgentRow agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return Now() - agent.HeartbeatAt < TimeSpan.FromSeconds(options.AgentDownTime).Ticks;
    }

    /// <summary>Records a heartbeat with the state of every switch the agent serves; returns the agent's id.</summary>
    public async Task<string> ReportAsync(AgentReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (string.IsNullOrWhiteSpace(report.Host))
        {
            throw L2GatewayException.InvalidInput("an agent report needs a host");
        }

        var (id, _) = await store.WriteAsync(
            async db =>
            {
                // Heartbeats come often; only a switch's appearance or new tunnel IPs change what is planned.
                var planInputsChanged = false;

                // The l2population publisher follows the learned MACs: a change is a committed write it hears of.
                var learnedMacsChanged = false;
                var agent = await db.Agents.FirstOrDefaultAsync(a => a.Host == report.Host, cancellationToken);
                var isNew = agent is null;
                agent ??= new AgentRow { Id = GatewayService.NewId(), Host = report.Host, ConfigurationsJson = "{}" };
                agent.StartedAt = report.StartedAt.ToUniversalTime().Ticks;
                agent.HeartbeatAt = Now();
                agent.ConfigurationsJson = Mapping.ToJson(new Dictionary<string, object>
                {
                    ["switches"] = report.Switches.ToDictionary(
                        s => s.Name,
                        s => new { connected = s.Connected, writer = s.Writer, standing_by = s.StandingBy, desired_revision = s.DesiredRevision, applied_revision = s.AppliedRevision, error = s.Error }),
                });
                if (isNew)
                {
                    db.Agents.Add(agent);
                }
                else
                {
                    db.Agents.Update(agent);
                }

                foreach (var sw in report.Switches)
                {
                    var row = await db.Switches.FirstOrDefaultAsync(s => s.Name == sw.Name, cancellationToken);
                    var fresh = row is null;
                    row ??= new SwitchRow { Name = sw.Name, TunnelIpsJson = "[]", FaultStatus = FaultStatus.Up, PortsJson = "[]" };

                    // A switch served by several agents is reported by each; the writer's word is the one that counts,
                    // and a disconnected agent does not overwrite the inventory a connected one reported.
                    if (!fresh && row.AgentId != agent.Id && row.Connected && (!sw.Connected || (!sw.Writer && row.AgentId is not null)))
                    {
                        continue;
                    }

                    row.AgentId = agent.Id;
                    row.Connected = sw.Connected;
                    row.AppliedRevision = sw.AppliedRevision;
                    row.LastError = sw.Error;
                    row.UpdatedAt = Now();
                    if (sw.Connected)
                    {
                        var tunnelIps = Mapping.ToJson(sw.TunnelIps);
                        planInputsChanged |= fresh || tunnelIps != row.TunnelIpsJson;
                        row.TunnelIpsJson = tunnelIps;
                        row.FaultStatus = sw.FaultStatus;
                        row.PortsJson = Mapping.ToJson(sw.Ports);
                        row.Description = sw.Description;
                        learnedMacsChanged |= await UpdateLearnedMacsAsync(db, sw, cancellationToken);
                    }

                    if (fresh)
                    {
                        db.Switches.Add(row);
                    }
                    else
                    {
                        db.Switches.Update(row);
                    }
                }

                return (agent.Id, planInputsChanged || learnedMacsChanged);
            },
            result => result.Item2,
            cancellationToken);
        metrics?.AgentReported(report.Host);
        return id;
    }

    /// <summary>
    /// Brings the stored learned MACs of a switch to what its agent reported, row by row (queries do not track, so
    /// each change is attached, and the committed write names it); false when nothing changed, as in most heartbeats.
    /// </summary>
    private static async Task<bool> UpdateLearnedMacsAsync(L2GatewayDbContext db, SwitchReport sw, CancellationToken cancellationToken)
    {
        var stored = await db.LocalMacs.Where(m => m.Switch == sw.Name).ToDictionaryAsync(m => (m.LogicalSwitch, m.Mac), cancellationToken);
        var changed = false;
        foreach (var mac in sw.LocalMacs.DistinctBy(m => (m.LogicalSwitch, m.Mac)))
        {
            if (stored.Remove((mac.LogicalSwitch, mac.Mac), out var row))
            {
                if (row.IpAddress != mac.IpAddress || row.TunnelIp != mac.TunnelIp)
                {
                    (row.IpAddress, row.TunnelIp, changed) = (mac.IpAddress, mac.TunnelIp, true);
                    db.LocalMacs.Update(row);
                }
            }
            else
            {
                db.LocalMacs.Add(new LocalMacRow { Switch = sw.Name, LogicalSwitch = mac.LogicalSwitch, Mac = mac.Mac, IpAddress = mac.IpAddress, TunnelIp = mac.TunnelIp });
                changed = true;
            }
        }

        db.LocalMacs.RemoveRange(stored.Values);
        return changed || stored.Count > 0;
    }

    public Task DeleteAgentAsync(string id, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async db =>
            {
                var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == id, cancellationToken)
                    ?? throw L2GatewayException.NotFound("AgentNotFound", $"Agent {id} could not be found.");
                if (IsAlive(agent))
                {
                    throw L2GatewayException.Conflict("AgentAlive", $"Agent {id} is alive; only a dead agent can be deleted.");
                }

                db.Agents.Remove(agent);
                await db.Switches.Where(s => s.AgentId == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.AgentId, (string?)null).SetProperty(x => x.Connected, false), cancellationToken);
                return true;
            },
            cancellationToken);

    /// <summary>
    /// A connection is ACTIVE when every switch of its gateway holds the current desired state, ERROR (with the
    /// reason) when a switch cannot be programmed, and PENDING while it is on its way.
    /// </summary>
    public async Task<Dictionary<string, ConnectionState>> StatusesAsync(IReadOnlyList<Connection> connections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connections);
        var result = new Dictionary<string, ConnectionState>(StringComparer.Ordinal);
        if (connections.Count == 0)
        {
            return result;
        }

        var gatewayIds = connections.Select(c => c.GatewayId).Distinct().ToList();
        var (gateways, switches, agents) = await store.ReadAsync(
            async db => (
                await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.ToDomain(), cancellationToken),
                await db.Switches.ToDictionaryAsync(s => s.Name, cancellationToken),
                await db.Agents.ToDictionaryAsync(a => a.Id, cancellationToken)),
            cancellationToken);
        foreach (var connection in connections)
        {
            if (!gateways.TryGetValue(connection.GatewayId, out var gateway))
            {
                result[connection.Id] = new ConnectionState(ConnectionStatus.Error, "gateway not found", []);
                continue;
            }

            var perSwitch = gateway.Devices.Select(d => d.DeviceName).Distinct(StringComparer.Ordinal).Select(name =>
            {
                if (!switches.TryGetValue(name, out var sw) || sw.AgentId is null || !agents.TryGetValue(sw.AgentId, out var agent))
                {
                    return new SwitchState(name, ConnectionStatus.Pending, "no agent serves it");
                }

                if (!IsAlive(agent))
                {
                    return new SwitchState(name, ConnectionStatus.Error, $"agent {agent.Host} is not alive");
                }

                if (!sw.Connected)
                {
                    return new SwitchState(name, ConnectionStatus.Error, "unreachable" + (sw.LastError.Length > 0 ? ": " + sw.LastError : ""));
                }

                if (sw.LastError.Length > 0)
                {
                    return new SwitchState(name, ConnectionStatus.Error, sw.LastError);
                }

                return sw.AppliedRevision != desired.For(name).Revision
                    ? new SwitchState(name, ConnectionStatus.Pending, "being programmed")
                    : new SwitchState(name, ConnectionStatus.Active, "");
            }).ToList();
            var status = perSwitch.Aggregate(ConnectionStatus.Active, (s, x) => Worse(s, x.Status));
            var reason = string.Join("; ", perSwitch.Where(x => x.Reason.Length > 0).Select(x => $"switch {x.Switch}: {x.Reason}"));
            result[connection.Id] = new ConnectionState(status, reason, perSwitch);
        }

        return result;
    }

    private static string Worse(string a, string b) => a == ConnectionStatus.Error || b == ConnectionStatus.Error
        ? ConnectionStatus.Error
        : a == ConnectionStatus.Pending || b == ConnectionStatus.Pending ? ConnectionStatus.Pending : ConnectionStatus.Active;

    /// <summary>SPEC §5's reverse direction: where compute hosts send a network's broadcasts, and the MACs behind switches.</summary>
    public Task<(List<string> Flood, List<LocalMacRow> Macs)> FdbAsync(string networkId, CancellationToken cancellationToken) =>
        store.ReadAsync(
            async db =>
            {
                var gatewayIds = await db.Connections.Where(c => c.NetworkId == networkId).Select(c => c.GatewayId).Distinct().ToListAsync(cancellationToken);
                var gateways = await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToListAsync(cancellationToken);
                var names = gateways.SelectMany(g => g.ToDomain().Devices.Select(d => d.DeviceName)).Distinct().ToList();
                var switches = await db.Switches.Where(s => names.Contains(s.Name)).ToListAsync(cancellationToken);
                var flood = switches.SelectMany(s => s.ToDomain().TunnelIps).Distinct().Order(StringComparer.Ordinal).ToList();
                var macs = await db.LocalMacs.Where(m => m.LogicalSwitch == networkId && names.Contains(m.Switch))
                    .OrderBy(m => m.Mac).ToListAsync(cancellationToken);
                return (flood, macs);
            },
            cancellationToken);
}
