using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Replication;

namespace L2Gateway.Agent;

/// <summary>
/// What can happen to a switch, as one message to its <see cref="SwitchActor"/>. Whoever notices it (the OVSDB
/// client's callbacks, on whatever thread they run; the agent's long poll; a timer; a task the actor started) posts
/// it and returns; only the actor's loop reads it and changes state.
/// </summary>
internal abstract record SwitchEvent
{
    /// <summary>The replica applied an update: the snapshot that includes it, and what changed.</summary>
    public sealed record ReplicaChanged(ReplicaChangedEventArgs Change) : SwitchEvent;

    /// <summary>The monitoring session changed state; <paramref name="Client"/> is its connection when it came up.</summary>
    public sealed record MonitorSession(OvsdbConnectionState State, OvsdbClient? Client, Exception? Reason) : SwitchEvent;

    /// <summary>A write session of generation <paramref name="Generation"/> is open (or failed to open).</summary>
    public sealed record WriteSessionOpened(int Generation, OvsdbClient? Client, Exception? Error) : SwitchEvent;

    /// <summary>A write session's connection closed.</summary>
    public sealed record WriteSessionLost(OvsdbClient Client, Exception? Reason) : SwitchEvent;

    /// <summary>The switch granted the writer lock to this session (at once, or by "locked" later).</summary>
    public sealed record LockGranted(OvsdbClient Client) : SwitchEvent;

    /// <summary>The switch queued this session's lock request behind another holder.</summary>
    public sealed record LockQueued(OvsdbClient Client) : SwitchEvent;

    /// <summary>The switch gave this session's lock to someone else ("stolen"); the session stays in the queue.</summary>
    public sealed record LockStolen(OvsdbClient Client) : SwitchEvent;

    /// <summary>The server's new desired state of one of this database's switches.</summary>
    public sealed record DesiredArrived(SwitchDesiredState State, SwitchDesiredDelta? Delta) : SwitchEvent;

    /// <summary>The transaction of pass <paramref name="Pass"/> was answered (or failed).</summary>
    public sealed record TransactionDone(long Pass, TransactResult? Result, Exception? Error) : SwitchEvent;

    /// <summary>A timer of the actor fired.</summary>
    public sealed record Tick(TickKind Kind, long Token) : SwitchEvent;
}

internal enum TickKind
{
    /// <summary>
    /// The periodic pass, after the periodic interval without any event (and, once <see cref="SwitchActor.SweepInterval"/>
    /// has passed since the last, a full comparison).
    /// </summary>
    Periodic,

    /// <summary>The pause after a failed pass is over.</summary>
    Retry,

    /// <summary>Time to open another write session after one failed or was lost.</summary>
    ReopenWriteSession,

    /// <summary>The monitor still does not show the rows just written.</summary>
    EchoDeadline,
}
