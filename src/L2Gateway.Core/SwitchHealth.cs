namespace L2Gateway.Core;

/// <summary>What one agent said of a switch in its last heartbeat.</summary>
/// <param name="StandingBy">Its session asked for the writer lock and the switch queued it: another session holds it.</param>
/// <param name="ReceivedRevision">The desired revision the agent holds for the switch (null: none yet, or an older agent).</param>
public sealed record SwitchSighting(
    string AgentHost,
    bool AgentAlive,
    bool Connected,
    bool Writer,
    bool StandingBy = false,
    string? ReceivedRevision = null);

/// <summary>What the server knows of one switch, the inputs of <see cref="SwitchHealth.Evaluate"/>.</summary>
/// <param name="Serving">The agent whose report the server keeps for the switch (the writer's, when several serve it); null when none.</param>
/// <param name="ServingHeartbeatAge">How long ago that agent's last heartbeat came.</param>
/// <param name="Connected">Whether that agent's session to the switch is up.</param>
/// <param name="AppliedRevision">The revision that agent last applied completely.</param>
/// <param name="Error">The problem that agent reported, empty when none.</param>
/// <param name="DesiredRevision">The revision the server wants on the switch now.</param>
/// <param name="RevisionsBehind">How many desired states ago <paramref name="AppliedRevision"/> was current: 0 when it is current, null when the server no longer remembers it.</param>
/// <param name="Sightings">Every live or dead agent that reports the switch.</param>
public sealed record SwitchFacts(
    string Switch,
    SwitchSighting? Serving,
    TimeSpan ServingHeartbeatAge,
    bool Connected,
    string? AppliedRevision,
    string Error,
    string DesiredRevision,
    int? RevisionsBehind,
    IReadOnlyList<SwitchSighting> Sightings);

/// <summary>Why a switch is not converged; <see cref="None"/> when it is.</summary>
public enum SwitchProblem
{
    None,
    NoAgent,
    AgentDead,
    Disconnected,
    LockNotHeld,
    Error,
    NotProgrammed,
    Behind,
}

/// <summary>
/// Whether a switch is converged and, when not, the first reason in the order an operator fixes them: no agent, a
/// dead agent, the switch unreachable, nobody holding the writer lock, an error the agent reported, and only then a
/// revision not applied yet. Converged means the applied revision is the desired one and the agent can keep it so:
/// connected, holding the lock, with no error.
/// </summary>
public sealed record SwitchHealth(SwitchProblem Problem, string Reason)
{
    public bool Converged => Problem == SwitchProblem.None;

    public static SwitchHealth Evaluate(SwitchFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Serving is not { } serving)
        {
            return new(SwitchProblem.NoAgent, "no agent serves it");
        }

        if (!serving.AgentAlive)
        {
            return new(SwitchProblem.AgentDead, $"agent {serving.AgentHost} is not alive: last heartbeat {Seconds(facts.ServingHeartbeatAge)} ago");
        }

        if (!facts.Connected)
        {
            return new(SwitchProblem.Disconnected, facts.Error.Length > 0 ? "disconnected: " + facts.Error : "disconnected");
        }

        var live = facts.Sightings.Where(s => s.AgentAlive && s.Connected).ToList();
        if (!live.Any(s => s.Writer))
        {
            return live.FirstOrDefault(s => s.StandingBy) is { } waiting
                ? new(SwitchProblem.LockNotHeld, $"lock not held: agent {waiting.AgentHost} waits for the writer lock, which another session holds")
                : new(SwitchProblem.LockNotHeld, "lock not held: no agent holds the writer lock");
        }

        if (facts.Error.Length > 0)
        {
            return new(SwitchProblem.Error, "error: " + facts.Error);
        }

        if (facts.AppliedRevision == facts.DesiredRevision)
        {
            return new(SwitchProblem.None, "");
        }

        var received = serving.ReceivedRevision is { } r && r != facts.DesiredRevision
            ? $" (agent {serving.AgentHost} has not received revision {facts.DesiredRevision} yet)"
            : " (being programmed)";
        if (facts.AppliedRevision is null)
        {
            return new(SwitchProblem.NotProgrammed, "not programmed yet" + received);
        }

        return facts.RevisionsBehind switch
        {
            1 => new(SwitchProblem.Behind, "behind by 1 revision" + received),
            int n when n > 1 => new(SwitchProblem.Behind, $"behind by {n} revisions" + received),
            _ => new(SwitchProblem.Behind, $"behind: applied revision {facts.AppliedRevision} is older than the server remembers" + received),
        };
    }

    private static string Seconds(TimeSpan age) =>
        age.TotalSeconds < 120 ? $"{(int)age.TotalSeconds} s" : age.TotalMinutes < 120 ? $"{(int)age.TotalMinutes} min" : $"{(int)age.TotalHours} h";
}
