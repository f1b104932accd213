using System.Text.Json;

namespace L2Gateway.Core.Planning;

/// <summary>A MAC a switch learned on one of its ports (<c>Ucast_Macs_Local</c>).</summary>
public sealed record LocalMac(string LogicalSwitch, string Mac, string IpAddress, string TunnelIp);

/// <summary>What an agent knows of one switch it serves.</summary>
/// <remarks>
/// <see cref="StandingBy"/> (queued for the writer lock) and <see cref="DesiredRevision"/> (the desired revision the
/// agent holds) came later: a report without them reads as false and null, and a server that does not know them
/// ignores them.
/// </remarks>
public sealed record SwitchReport(
    string Name,
    bool Connected,
    bool Writer,
    string? AppliedRevision,
    string Error,
    IReadOnlyList<string> TunnelIps,
    string FaultStatus,
    IReadOnlyList<SwitchPortInventory> Ports,
    string Description,
    IReadOnlyList<LocalMac> LocalMacs,
    bool StandingBy = false,
    string? DesiredRevision = null);

/// <summary>An agent's heartbeat: who it is and the state of every switch it serves.</summary>
public sealed record AgentReport(string Host, DateTime StartedAt, IReadOnlyList<SwitchReport> Switches);

/// <summary>
/// The desired states the server hands an agent: only those whose revision the agent does not have, each either
/// whole (<see cref="Switches"/>) or, when the server still knows the revision the agent holds, as a delta from it.
/// </summary>
public sealed record DesiredStateBatch(IReadOnlyList<SwitchDesiredState> Switches, IReadOnlyList<SwitchDesiredDelta>? Deltas = null);

/// <summary>The one JSON form of the server-agent protocol.</summary>
public static class AgentProtocol
{
    public const string AgentType = "L2 Gateway agent";

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
