using System.Diagnostics.Metrics;
using System.Threading.Channels;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// One switch database, as a single-threaded actor: a live replica of its hardware_vtep tables, the write session
/// that holds the writer lock (<see cref="WriteSession"/>), and the loop that keeps the switch at the desired state.
/// Everything that happens to the switch arrives as a <see cref="SwitchEvent"/> on one channel: replica changes,
/// the monitoring and write sessions going up or down, the lock granted or stolen, a new desired state, a
/// transaction's answer and timer ticks. One loop reads the channel and owns every field below; callbacks only
/// post, whatever thread they run on. Nothing waits by polling: "the replica shows the rows just written" is the
/// replica's change event that shows them.
/// </summary>
/// <remarks>
/// When the agent dials the switch, it writes on a session of its own beside the monitoring one. ovsdb-server
/// sends a session's pending monitor updates before that session's transaction replies, so writing on the
/// monitoring session makes the switch compose its echo of a bulk write (3 MB for 10,000 rows) before it serves
/// any other client, the switch's own daemon included. The write session holds the lock, lives only while the
/// monitoring session does, and is closed with it, so the lock never outlives the agent's view of the switch.
/// A switch that dials in gives one session: then it carries both.
/// </remarks>
public sealed class SwitchActor : IAsyncDisposable
{
    public const string LockName = WriteSession.LockName;

    /// <summary>After a pass fails, or a write session cannot be opened, the actor tries again after this long.</summary>
    public static TimeSpan RetryDelay { get; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the monitor may take to show the rows just written. Generous: the monitor's echo of 100,000 rows
    /// takes seconds. Past this, the monitor is broken; the next pass may then write rows again, and the one after
    /// removes the duplicates.
    /// </summary>
    public static TimeSpan EchoTimeout { get; } = TimeSpan.FromMinutes(5);

    /// <summary>A full comparison of everything runs at least this often, whatever the change events said.</summary>
    public static TimeSpan SweepInterval { get; } = TimeSpan.FromMinutes(1);

    /// <summary>Operations written before convergence past which the actor collects garbage once converged.</summary>
    private const int LargeTransaction = 10_000;

    private readonly OvsdbReplica replica;
    private readonly string endpoint;
    private readonly OvsdbClientOptions clientOptions;
    private readonly bool ownWriteSession;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly TimeSpan periodicInterval;
    private readonly SwitchMetrics metrics;
    private readonly Channel<SwitchEvent> events = Channel.CreateUnbounded<SwitchEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource stop = new();
    private readonly CancellationToken stopping; // taken once: tasks that outlive DisposeAsync must not touch the disposed source
    private readonly OwnedTasks tasks;
    private readonly BulkWorkCollector collector;
    private readonly BulkWorkCollector? ownCollector;
    private Task? loop;
    private ITimer? periodic;

    // Owned by the loop.
    private readonly ChangeIndex index = new();
    private readonly Dictionary<TickKind, (ITimer Timer, long Token)> timers = [];
    private long timerTokens;
    private Dictionary<string, SwitchDesiredState> desired = new(StringComparer.Ordinal);
    private long desiredHandled;
    private Dictionary<string, string> applied = new(StringComparer.Ordinal);
    private string error = "";
    private bool monitorConnected;
    private bool everConnected;
    private int generation; // bumped when the monitoring session comes or goes, retiring its write session
    private WriteSession? writeSession;
    private bool writer;
    private bool standingBy;
    private bool passDue = true;
    private bool retryPending;
    private long lastSweep;
    private long passes;
    private InFlight? inFlight;
    private Echo? echo;
    private bool statusChanged;
    private int writtenSinceConverged;
    private bool collectDue;
    private long changedSinceCollected;

    // Published by the loop for readers on other threads.
    private volatile SwitchStatus status = SwitchStatus.Initial;
    private volatile OvsdbClient? publishedWriteClient;

    /// <param name="meters">Where the switch's metrics go (meter "L2Gateway.Agent"); none when null.</param>
    /// <param name="collector">The agent's owner of forced collections, shared by its switches; the actor's own when null.</param>
    public SwitchActor(OvsdbHost host, string endpoint, OvsdbReplicaOptions options, TimeSpan periodicInterval, ILogger logger, TimeProvider? timeProvider = null, IMeterFactory? meters = null, BulkWorkCollector? collector = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        Host = host;
        this.endpoint = endpoint;
        this.logger = logger;
        this.periodicInterval = periodicInterval;
        time = timeProvider ?? TimeProvider.System;
        metrics = new SwitchMetrics(AgentMetrics.For(meters), host.Name);
        stopping = stop.Token;
        tasks = new OwnedTasks(logger, host.Name);
        ownCollector = collector is null ? new BulkWorkCollector(logger, time) : null;
        this.collector = collector ?? ownCollector!;
        clientOptions = options.Client;
        ownWriteSession = options.Connect is null;
        lastSweep = time.GetTimestamp();
        WriteSessionOpener = ct => WriteSession.OpenAsync(endpoint, clientOptions, ct);
        replica = VtepTables.CreateReplica(endpoint, options, macIndexes: false);
        replica.ConnectionStateChanged += (_, e) => Post(new SwitchEvent.MonitorSession(e.State, e.State == OvsdbConnectionState.Connected ? replica.Client : null, e.Reason));
        replica.Changed += (_, e) => Post(new SwitchEvent.ReplicaChanged(e));
    }

    public OvsdbHost Host { get; }

    /// <summary>
    /// Raised when anything worth reporting changes: connection, writer role, convergence, inventory. Raised on the
    /// actor's loop: handlers must be short and must not block.
    /// </summary>
    public event Action? Changed;

    public bool Connected => replica.State == OvsdbConnectionState.Connected;

    public bool Writer => status.Writer && Connected && publishedWriteClient is { IsConnected: true };

    /// <summary>What the loop last published: writer role, convergence, the desired state it holds.</summary>
    public SwitchStatus Status => status;

    /// <summary>The names of the Physical_Switch rows in this database.</summary>
    public IReadOnlyList<string> SwitchNames =>
        Connected || replica.Ready.IsCompletedSuccessfully
            ? [.. new VtepSnapshot(replica.Snapshot).PhysicalSwitches.Select(s => s.Name)]
            : [];

    /// <summary>Starts the replica (it connects in the background), the loop and the periodic tick.</summary>
    public void Start()
    {
        // Everything the actor and its replica log from here on carries the switch's name as a field.
        using (logger.BeginScope("{Switch}", Host.Name))
        {
            StartLoopTasks();
            _ = replica.StartAsync(stopping); // completes at once: the replica's own loop is awaited by its DisposeAsync
        }
    }

    /// <summary>How a write session of its own is opened (tests replace it before posting events).</summary>
    internal Func<CancellationToken, Task<OvsdbClient>> WriteSessionOpener { get; set; }

    /// <summary>The loop and the periodic tick alone (tests post the replica's events themselves).</summary>
    internal void StartLoop()
    {
        using (logger.BeginScope("{Switch}", Host.Name))
        {
            StartLoopTasks();
        }
    }

    private void StartLoopTasks()
    {
        periodic = time.CreateTimer(_ => Post(new SwitchEvent.Tick(TickKind.Periodic, 0)), null, periodicInterval, Timeout.InfiniteTimeSpan);
        loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Hands the actor a new desired state for one of its switches.</summary>
    /// <param name="delta">The delta that made <paramref name="state"/>, when it came as one: then only its rows are compared.</param>
    public void SetDesired(SwitchDesiredState state, SwitchDesiredDelta? delta = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        Post(new SwitchEvent.DesiredArrived(state, delta));
    }

    /// <summary>What this database's switches are, for the heartbeat.</summary>
    public IReadOnlyList<SwitchReport> Reports() =>
        SwitchInventoryReporter.Reports(
            Host,
            replica.Ready.IsCompletedSuccessfully ? replica.Snapshot : null,
            Connected,
            Writer,
            status,
            replica.LastError?.Message);

    /// <summary>The only way in: posts and returns (false once the actor has stopped).</summary>
    internal bool Post(SwitchEvent e) => events.Writer.TryWrite(e);

    private async Task RunAsync()
    {
        var reader = events.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stopping))
            {
                // A burst of events (an update per row written by hand, a delta per port) makes one pass.
                while (reader.TryRead(out var e))
                {
                    try
                    {
                        Handle(e);
                    }
                    catch (Exception ex)
                    {
                        // A bug handling one event must not end the switch's loop: what it was about is no longer
                        // known, so compare everything after a pause.
                        logger.LogError(ex, "{Switch}: handling {Event} failed", Host.Name, e.GetType().Name);
                        Fail(ex);
                    }
                }

                // The periodic pass is for a quiet switch: it comes after an interval without events, so that
                // the minute's sweep never lands in the middle of a burst of work.
                periodic?.Change(periodicInterval, Timeout.InfiniteTimeSpan);
                CollectIfDue();
                Reconcile();
                Publish();
                CollectIfDue();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private void Handle(SwitchEvent e)
    {
        switch (e)
        {
            case SwitchEvent.ReplicaChanged changed:
                index.Apply(changed.Change);
                changedSinceCollected += changed.Change.Changes.Count;
                collectDue |= changedSinceCollected > LargeTransaction;
                passDue = true;
                statusChanged = true; // the inventory may have changed
                if (echo is not null && echo.Rows.ShownIn(changed.Change.Snapshot))
                {
                    EchoShown();
                }

                break;
            case SwitchEvent.MonitorSession session:
                OnMonitorSession(session);
                break;
            case SwitchEvent.WriteSessionOpened opened:
                OnWriteSessionOpened(opened);
                break;
            case SwitchEvent.WriteSessionLost lost when writeSession?.Client == lost.Client:
                RetireWriteSession();
                logger.LogWarning("{Switch}: write session lost; opening another", Host.Name);
                Schedule(TickKind.ReopenWriteSession, RetryDelay);
                break;
            case SwitchEvent.LockGranted granted when writeSession?.Client == granted.Client:
                if (!writer)
                {
                    logger.LogInformation("{Switch}: this agent is the writer", Host.Name);
                }

                writer = true;
                standingBy = false;
                index.RequestSweep();
                passDue = true;
                statusChanged = true;
                break;
            case SwitchEvent.LockQueued queued when writeSession?.Client == queued.Client && !writer:
                logger.LogInformation("{Switch}: another agent writes; standing by for the lock", Host.Name);
                standingBy = true;
                statusChanged = true;
                break;
            case SwitchEvent.LockStolen stolen when writeSession?.Client == stolen.Client:
                // The session stays in the lock's queue: the database hands the lock back with "locked" when it is free.
                logger.LogWarning("{Switch}: writer lock stolen; waiting to get it back", Host.Name);
                writer = false;
                standingBy = true;
                statusChanged = true;
                break;
            case SwitchEvent.DesiredArrived arrived:
                index.DesiredChanged(desired.GetValueOrDefault(arrived.State.Switch), arrived.State, arrived.Delta);
                desired = new Dictionary<string, SwitchDesiredState>(desired, StringComparer.Ordinal) { [arrived.State.Switch] = arrived.State };
                desiredHandled++;
                passDue = true;
                statusChanged = true;
                break;
            case SwitchEvent.TransactionDone done when inFlight?.Times.Pass == done.Pass:
                OnTransactionDone(done);
                break;
            case SwitchEvent.Tick tick:
                OnTick(tick);
                break;
        }
    }

    private void OnMonitorSession(SwitchEvent.MonitorSession e)
    {
        RetireWriteSession();
        monitorConnected = e.State == OvsdbConnectionState.Connected && e.Client is not null;
        passDue = true;
        statusChanged = true;
        metrics.Connected(monitorConnected);
        if (monitorConnected)
        {
            if (everConnected)
            {
                metrics.Reconnected();
            }

            everConnected = true;
            if (ownWriteSession)
            {
                OpenWriteSession();
            }
            else
            {
                UseForWriting(e.Client!);
            }

            return;
        }

        if (e.Reason is not null)
        {
            logger.LogWarning("{Switch}: disconnected: {Reason}", Host.Name, e.Reason.Message);
        }

        if (echo is not null)
        {
            Fail(new OvsdbConnectionException($"lost {Host.Name} before its monitor showed the rows just written"));
        }
    }

    private void OpenWriteSession()
    {
        var current = generation;
        tasks.Start("opening a write session", async () =>
        {
            OvsdbClient client;
            try
            {
                client = await WriteSessionOpener(stopping);
            }
            catch (Exception e)
            {
                Post(new SwitchEvent.WriteSessionOpened(current, null, e));
                return;
            }

            if (!Post(new SwitchEvent.WriteSessionOpened(current, client, null)))
            {
                await client.DisposeAsync(); // the actor has stopped
            }
        });
    }

    private void OnWriteSessionOpened(SwitchEvent.WriteSessionOpened e)
    {
        var current = e.Generation == generation && monitorConnected && writeSession is null;
        if (e.Client is { } client)
        {
            if (current)
            {
                UseForWriting(client);
            }
            else
            {
                tasks.Start("closing a write session no longer needed", () => client.DisposeAsync().AsTask());
            }
        }
        else if (current)
        {
            // Whatever failed (network, TLS files being replaced, the switch refusing), try again shortly: a
            // session that cannot write must not stay that way until the monitoring session reconnects.
            logger.LogWarning("{Switch}: write session: {Error}", Host.Name, e.Error?.Message);
            Schedule(TickKind.ReopenWriteSession, RetryDelay);
        }
    }

    /// <summary>Makes <paramref name="client"/> the session that takes the lock and writes.</summary>
    private void UseForWriting(OvsdbClient client)
    {
        var session = new WriteSession(client, ownWriteSession, e => Post(e));
        writeSession = session;
        publishedWriteClient = client;
        statusChanged = true;
        if (ownWriteSession && !client.IsConnected)
        {
            // Closed before its handlers were in place: its event may never come.
            Post(new SwitchEvent.WriteSessionLost(client, client.CloseReason));
            return;
        }

        tasks.Start("asking for the writer lock", () => session.RequestLockAsync(stopping), e => Post(new SwitchEvent.WriteSessionLost(client, e)));
    }

    private void RetireWriteSession()
    {
        generation++;
        writer = false;
        standingBy = false;
        publishedWriteClient = null;
        Cancel(TickKind.ReopenWriteSession);
        if (writeSession is { } retired)
        {
            writeSession = null;
            statusChanged = true;

            // Closing it hands the lock to the next agent: a writer must not hold the switch while it cannot see it.
            tasks.Start("closing the write session", retired.CloseAsync);
        }
    }

    private void OnTick(SwitchEvent.Tick tick)
    {
        if (tick.Kind != TickKind.Periodic)
        {
            if (!timers.TryGetValue(tick.Kind, out var timer) || timer.Token != tick.Token)
            {
                return; // cancelled or replaced since
            }

            timer.Timer.Dispose();
            timers.Remove(tick.Kind);
        }

        switch (tick.Kind)
        {
            case TickKind.Periodic:
                if (time.GetElapsedTime(lastSweep) > SweepInterval)
                {
                    index.RequestSweep();
                }

                passDue = true;
                break;
            case TickKind.Retry:
                retryPending = false;
                passDue = true;
                break;
            case TickKind.ReopenWriteSession when ownWriteSession && monitorConnected && writeSession is null:
                OpenWriteSession();
                break;
            case TickKind.EchoDeadline when echo is not null:
                Fail(new TimeoutException("the switch's monitor did not show the rows just written"));
                break;
        }
    }

    private void Schedule(TickKind kind, TimeSpan delay)
    {
        Cancel(kind);
        var token = ++timerTokens;
        timers[kind] = (time.CreateTimer(_ => Post(new SwitchEvent.Tick(kind, token)), null, delay, Timeout.InfiniteTimeSpan), token);
    }

    private void Cancel(TickKind kind)
    {
        if (timers.Remove(kind, out var timer))
        {
            timer.Timer.Dispose();
        }
    }

    /// <summary>
    /// Runs a pass when one is due and nothing stands in the way: diffs and, unless converged, starts the
    /// transaction. Its answer and then the replica's update that shows its rows arrive as events; the next
    /// pass waits for both.
    /// </summary>
    private void Reconcile()
    {
        if (!passDue || !writer || !monitorConnected || writeSession is null || inFlight is not null || echo is not null || retryPending || stopping.IsCancellationRequested)
        {
            return;
        }

        // Never act on a switch before the server has said what it wants there: an agent that starts must not
        // wipe rows it simply has not heard about yet. Nothing is consumed until then.
        var snapshot = index.View;
        if (snapshot is null || !snapshot[VtepTables.PhysicalSwitch].Rows.Values.Any(r => desired.ContainsKey(r.GetString("name"))))
        {
            return;
        }

        passDue = false;
        try
        {
            Pass(snapshot, writeSession);
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Switch}: a pass failed", Host.Name);
            Fail(e);
        }
    }

    private void Pass(ReplicaSnapshot snapshot, WriteSession session)
    {
        var started = time.GetTimestamp();
        var (scope, ucastRows, mcastRows) = index.TakeScope();
        if (scope is null)
        {
            lastSweep = started;
        }

        var vtep = new VtepSnapshot(snapshot);
        var state = scope is null ? VtepState.From(vtep) : VtepState.From(vtep, ucastRows, mcastRows);
        var read = time.GetTimestamp();
        var targets = state.Switches.Select(s => s.Name).Where(desired.ContainsKey).Select(s => desired[s]).ToList();
        var plan = Reconciler.Plan(targets, state, scope: scope);
        if (plan.Truncated)
        {
            index.RequestSweep(); // the rest of the rows come in the next pass
        }

        SetError(string.Join("; ", plan.Problems));
        if (plan.Converged)
        {
            var revisions = targets.ToDictionary(t => t.Switch, t => t.Revision, StringComparer.Ordinal);
            if (!revisions.OrderBy(r => r.Key).SequenceEqual(applied.OrderBy(r => r.Key)))
            {
                logger.LogInformation("{Switch}: converged ({Switches})", Host.Name, string.Join(", ", revisions.Select(r => $"{r.Key}@{r.Value}")));
                statusChanged = true;
            }

            applied = revisions;
            collectDue |= writtenSinceConverged > LargeTransaction;
            writtenSinceConverged = 0;
            metrics.PassDone(time.GetElapsedTime(started));
            return;
        }

        if (applied.Count > 0 && targets.All(t => applied.GetValueOrDefault(t.Switch) == t.Revision))
        {
            // Converged to this very desired state before, and yet there is something to write: the switch's rows
            // were changed or lost (by hand, a reboot) since.
            metrics.DriftRepaired();
        }

        logger.LogInformation("{Switch}: writing {Count} operation(s)", Host.Name, plan.Operations.Count);
        var pass = ++passes;
        var operations = plan.Operations;
        writtenSinceConverged += operations.Count;
        inFlight = new InFlight(new PassTimes(pass, started, read, time.GetTimestamp()), operations);
        var client = session.Client;
        tasks.Start(
            "a transaction",
            async () =>
            {
                try
                {
                    var result = await client.TransactAsync(VtepTables.Database, [new AssertOperation(LockName), .. operations], stopping);
                    Post(new SwitchEvent.TransactionDone(pass, result, null));
                }
                catch (Exception e)
                {
                    Post(new SwitchEvent.TransactionDone(pass, null, e));
                }
            },
            e => Post(new SwitchEvent.TransactionDone(pass, null, e)));
    }

    private void OnTransactionDone(SwitchEvent.TransactionDone done)
    {
        var written = inFlight!;
        inFlight = null;
        try
        {
            var result = done.Error is null ? done.Result!.EnsureSuccess() : throw done.Error;
            metrics.Wrote(AgentMetrics.RowCounts(written.Operations, result));
            var rows = WrittenRows.Of(written.Operations, result);
            echo = new Echo(rows, written.Times, time.GetTimestamp());
            if (index.View is { } view && rows.ShownIn(view))
            {
                EchoShown();
            }
            else if (!monitorConnected)
            {
                throw new OvsdbConnectionException($"lost {Host.Name} before its monitor showed the rows just written");
            }
            else
            {
                Schedule(TickKind.EchoDeadline, EchoTimeout);
            }
        }
        catch (Exception e) when (e is OvsdbException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Fail(e);
        }
    }

    /// <summary>The replica shows the last transaction's rows: the next diff can run.</summary>
    private void EchoShown()
    {
        var shown = echo!;
        echo = null;
        Cancel(TickKind.EchoDeadline);
        passDue = true;
        var written = shown.Written;
        metrics.PassDone(time.GetElapsedTime(written.Started));
        logger.LogDebug(
            "{Switch}: pass {Pass}: read {Read:F1} ms, diff {Diff:F1} ms, transact {Transact:F1} ms, monitor {Monitor:F1} ms",
            Host.Name,
            written.Pass,
            time.GetElapsedTime(written.Started, written.Read).TotalMilliseconds,
            time.GetElapsedTime(written.Read, written.Planned).TotalMilliseconds,
            time.GetElapsedTime(written.Planned, shown.Answered).TotalMilliseconds,
            time.GetElapsedTime(shown.Answered).TotalMilliseconds);
    }

    /// <summary>
    /// Asks for a garbage collection after bulk work, once no transaction is in flight: when the replica changed by more
    /// rows than a large transaction (the echo of a bulk write, a resync that dropped every row of a wiped switch),
    /// before the pass that follows; and when a bulk write has converged. Bulk work leaves hundreds of MB of garbage (the
    /// transaction, its JSON, the monitor's echo of it, the old snapshots) that the next pass would otherwise build on
    /// and a quiet agent would keep mapped: 408-445 MiB steady at 100,000 MACs without the collection at convergence,
    /// 190-200 MiB with it (bench/RESULTS.md). Asked at the top of the loop, once the bulk work's objects are no longer
    /// reachable from the actor; the agent's <see cref="BulkWorkCollector"/> collects on its own thread, at once or up to
    /// 5 s later, so that many switches at once cost one collection (re-measured after that change: same peak).
    /// </summary>
    private void CollectIfDue()
    {
        if (!collectDue || inFlight is not null || echo is not null)
        {
            return;
        }

        collectDue = false;
        changedSinceCollected = 0;
        collector.Request();
    }

    /// <summary>A pass failed: what it was about is no longer known, so compare everything after a pause.</summary>
    private void Fail(Exception e)
    {
        echo = null;
        Cancel(TickKind.EchoDeadline);
        index.RequestSweep();
        SetError(e.Message);
        logger.LogWarning("{Switch}: reconciliation failed: {Error}", Host.Name, e.Message);
        retryPending = true;
        Schedule(TickKind.Retry, RetryDelay);
    }

    private void SetError(string message)
    {
        if (error != message)
        {
            error = message;
            statusChanged = true;
        }
    }

    private void Publish()
    {
        if (!statusChanged)
        {
            return;
        }

        statusChanged = false;
        status = new SwitchStatus(writer && writeSession is not null, standingBy, applied, error, desired, desiredHandled);
        metrics.LockHeld(status.Writer);
        metrics.Revisions(desired, applied);
        try
        {
            Changed?.Invoke();
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Switch}: a Changed handler failed", Host.Name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        events.Writer.TryComplete();
        if (periodic is not null)
        {
            await periodic.DisposeAsync();
        }

        if (loop is not null)
        {
            await loop;
        }

        // The loop has ended: what it owned is this method's now.
        foreach (var (timer, _) in timers.Values)
        {
            await timer.DisposeAsync();
        }

        timers.Clear();
        RetireWriteSession();
        await tasks.WhenAllAsync();
        await replica.DisposeAsync();
        if (ownCollector is not null)
        {
            await ownCollector.DisposeAsync();
        }

        // Sessions opened while stopping were posted to a loop that no longer reads.
        while (events.Reader.TryRead(out var e))
        {
            if (e is SwitchEvent.WriteSessionOpened { Client: { } client })
            {
                await client.DisposeAsync();
            }
        }

        stop.Dispose();
    }

    /// <summary>When a pass started, read the replica and planned.</summary>
    private sealed record PassTimes(long Pass, long Started, long Read, long Planned);

    /// <summary>A transaction sent and not yet answered.</summary>
    private sealed record InFlight(PassTimes Times, IReadOnlyList<Operation> Operations);

    /// <summary>
    /// A transaction answered whose rows the replica does not show yet. Its operations are not kept: after a bulk
    /// write they would stay alive through the parse of the monitor's echo, the agent's peak (bench/RESULTS.md).
    /// </summary>
    private sealed record Echo(WrittenRows Rows, PassTimes Written, long Answered);
}
