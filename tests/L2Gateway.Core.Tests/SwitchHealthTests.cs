using L2Gateway.Core;

namespace L2Gateway.Core.Tests;

public sealed class SwitchHealthTests
{
    private static readonly SwitchSighting Writer = new("agent-a", true, true, true, ReceivedRevision: "r3");

    private static SwitchFacts Facts(
        SwitchSighting? serving = null, bool connected = true, string? applied = "r3", string error = "", int? behind = 0,
        IReadOnlyList<SwitchSighting>? sightings = null, TimeSpan age = default) =>
        new("tor1", serving ?? Writer, age, connected, applied, error, "r3", behind, sightings ?? [serving ?? Writer]);

    [Fact]
    public void Converged_when_the_writer_applied_the_desired_revision()
    {
        var health = SwitchHealth.Evaluate(Facts());
        Assert.True(health.Converged);
        Assert.Equal((SwitchProblem.None, ""), (health.Problem, health.Reason));
    }

    [Fact]
    public void The_first_reason_in_the_order_an_operator_fixes_them()
    {
        var dead = Writer with { AgentAlive = false };
        var standby = new SwitchSighting("agent-b", true, true, false, StandingBy: true);

        // Everything wrong at once: the dead agent is named, not the consequences.
        Assert.Equal(
            (SwitchProblem.AgentDead, "agent agent-a is not alive: last heartbeat 95 s ago"),
            Verdict(Facts(dead, connected: false, applied: "r1", error: "refused", behind: 2, age: TimeSpan.FromSeconds(95))));
        Assert.Equal(
            (SwitchProblem.Disconnected, "disconnected: refused"),
            Verdict(Facts(connected: false, applied: "r1", error: "refused", behind: 2)));
        Assert.Equal((SwitchProblem.Disconnected, "disconnected"), Verdict(Facts(connected: false)));
        Assert.Equal(
            (SwitchProblem.LockNotHeld, "lock not held: agent agent-b waits for the writer lock, which another session holds"),
            Verdict(Facts(standby, error: "no lock", applied: "r1", behind: 2)));
        Assert.Equal(
            (SwitchProblem.LockNotHeld, "lock not held: no agent holds the writer lock"),
            Verdict(Facts(Writer with { Writer = false })));
        Assert.Equal((SwitchProblem.Error, "error: port p9 is missing"), Verdict(Facts(error: "port p9 is missing", applied: "r1", behind: 2)));
        Assert.Equal((SwitchProblem.NoAgent, "no agent serves it"), Verdict(Facts() with { Serving = null, Sightings = [] }));
    }

    [Fact]
    public void Another_live_agent_holding_the_lock_is_enough()
    {
        var standby = new SwitchSighting("agent-b", true, true, false, StandingBy: true);
        Assert.True(SwitchHealth.Evaluate(Facts(standby, sightings: [standby, Writer])).Converged);

        // A dead agent's word about the lock no longer counts.
        Assert.Equal(SwitchProblem.LockNotHeld, SwitchHealth.Evaluate(Facts(standby, sightings: [standby, Writer with { AgentAlive = false }])).Problem);
    }

    [Theory]
    [InlineData("r2", 1, "r3", "behind by 1 revision (being programmed)")]
    [InlineData("r1", 2, "r3", "behind by 2 revisions (being programmed)")]
    [InlineData("r1", 2, "r2", "behind by 2 revisions (agent agent-a has not received revision r3 yet)")]
    [InlineData("r0", null, "r3", "behind: applied revision r0 is older than the server remembers (being programmed)")]
    [InlineData(null, null, "r3", "not programmed yet (being programmed)")]
    [InlineData(null, null, null, "not programmed yet (being programmed)")]
    public void Behind_says_by_how_much_and_whether_the_agent_has_the_new_state(string? applied, int? behind, string? received, string reason)
    {
        var health = SwitchHealth.Evaluate(Facts(Writer with { ReceivedRevision = received }, applied: applied, behind: behind));
        Assert.False(health.Converged);
        Assert.Equal(applied is null ? SwitchProblem.NotProgrammed : SwitchProblem.Behind, health.Problem);
        Assert.Equal(reason, health.Reason);
    }

    private static (SwitchProblem, string) Verdict(SwitchFacts facts)
    {
        var health = SwitchHealth.Evaluate(facts);
        return (health.Problem, health.Reason);
    }
}
