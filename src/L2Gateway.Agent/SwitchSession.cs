using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// One switch database: a live replica of its hardware_vtep tables, the writer lock, and the loop that keeps it
/// at the desired state. Only the holder of the OVSDB lock <see cref="LockName"/> writes, so several agents can
/// serve one switch and exactly one of them writes; when the writer's session dies, the database hands the lock
/// to the next agent waiting for it. Every transaction asserts the lock, so one sent by a session that no longer
/// holds it is refused by the switch.
/// </summary>
/// <remarks>
/// When the agent dials the switch, it writes on a session of its own beside the monitoring one. ovsdb-server
/// sends a session's pending monitor updates before that session's transaction replies, so writing on the
/// monitoring session makes the switch compose its echo of a bulk write (3 MB for 10,000 rows) before it serves
/// any other client, the switch's own daemon included. The write session holds the lock, lives only while the
/// monitoring session does, and is closed with it, so the lock never outlives the agent's view of the switch.
/// A switch that dials in gives one session: then it carries both.
/// </remarks>
public sealed class SwitchSession : IAsyncDisposable
{
    public const string LockName = "l2gw_writer";

    private const int LargeTransaction = 10_000;

    private readonly OvsdbReplica replica;
    private readonly string endpoint;
    private readonly OvsdbClientOptions clientOptions;
    private readonly bool ownWriteSession;
    private readonly ILogger logger;
    private readonly TimeSpan periodicInterval;
    private readonly SemaphoreSlim wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource stop = new();
    private readonly CancellationToken stopping; // taken once: tasks that outlive DisposeAsync must not touch the disposed source
    private readonly Lock gate = new();
    private Dictionary<string, SwitchDesiredState> desired = new(StringComparer.Ordinal);
    private Dictionary<string, string> applied = new(StringComparer.Ordinal);

    // What the switch holds, indexed from the replica's change events (guarded by gate): the snapshot the index
    // describes, its remote MAC rows by logical switch and key, and what changed since the last pass.
    private ReplicaSnapshot? view;
    private readonly RemoteMacIndex ucastIndex = new();
    private readonly RemoteMacIndex mcastIndex = new();
    private readonly HashSet<Guid> changedLogicalSwitches = [];
    private readonly HashSet<string> dirtyLogicalSwitches = new(StringComparer.Ordinal);
    private readonly HashSet<DesiredUcastKey> dirtyUcast = [];
    private readonly HashSet<string> dirtyMcast = new(StringComparer.Ordinal);
    private bool sweep = true;
    private long lastSweep = Environment.TickCount64;
    private string error = "";
    private volatile bool writer;
    private OvsdbClient? writeClient; // guarded by gate
    private int writeGeneration; // guarded by gate: bumped when the monitoring session goes, retiring its write session
    private Task? loop;

    public SwitchSession(OvsdbHost host, string endpoint, OvsdbReplicaOptions options, TimeSpan periodicInterval, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
        this.logger = logger;
        this.periodicInterval = periodicInterval;
        stopping = stop.Token;
        ArgumentNullException.ThrowIfNull(options);
        this.endpoint = endpoint;
        clientOptions = options.Client;
        ownWriteSession = options.Connect is null;
        replica = VtepTables.CreateReplica(endpoint, options, macIndexes: false);
        replica.ConnectionStateChanged += OnConnectionStateChanged;
        replica.Changed += (_, e) =>
        {
            Index(e);
            Wake();
            Changed?.Invoke();
        };
    }

    /// <summary>A full comparison of everything runs at least this often, whatever the change events said.</summary>
    public static TimeSpan SweepInterval { get; } = TimeSpan.FromMinutes(1);

    public OvsdbHost Host { get; }

    /// <summary>Raised when anything worth reporting changes: connection, writer role, convergence, inventory.</summary>
    public event Action? Changed;

    public bool Connected => replica.State == OvsdbConnectionState.Connected;

    public bool Writer => writer && Connected && Volatile.Read(ref writeClient) is { IsConnected: true };

    /// <summary>The names of the Physical_Switch rows in this database.</summary>
    public IReadOnlyList<string> SwitchNames =>
        Connected || replica.Ready.IsCompletedSuccessfully
            ? [.. new VtepSnapshot(replica.Snapshot).PhysicalSwitches.Select(s => s.Name)]
            : [];

    public Task StartAsync()
    {
        replica.StartAsync(stop.Token);
        loop = Task.Run(() => RunAsync(stop.Token));
        return Task.CompletedTask;
    }

    /// <summary>Hands the session a new desired state for one of its switches.</summary>
    /// <param name="delta">The delta that made <paramref name="state"/>, when it came as one: then only its rows are compared.</param>
    public void SetDesired(SwitchDesiredState state, SwitchDesiredDelta? delta = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (gate)
        {
            var before = desired.GetValueOrDefault(state.Switch);
            if (delta is not null && before?.Revision == delta.BaseRevision)
            {
                dirtyLogicalSwitches.UnionWith(delta.LogicalSwitches.Select(l => l.Name));
                dirtyLogicalSwitches.UnionWith(delta.RemovedLogicalSwitches);
                // Rows of a logical switch compared whole anyway need no key of their own (a new network's 10,000).
                dirtyUcast.UnionWith(delta.UcastRemotes.Where(u => !dirtyLogicalSwitches.Contains(u.LogicalSwitch)).Select(u => new DesiredUcastKey(u.LogicalSwitch, u.Mac, u.IpAddress)));
                dirtyUcast.UnionWith(delta.RemovedUcastRemotes.Where(k => !dirtyLogicalSwitches.Contains(k.LogicalSwitch)));
                dirtyMcast.UnionWith(delta.McastRemotes.Select(m => m.LogicalSwitch));
                dirtyMcast.UnionWith(delta.RemovedMcastRemotes);
            }
            else
            {
                dirtyLogicalSwitches.UnionWith(state.ChangedLogicalSwitches(before));
            }

            desired = new Dictionary<string, SwitchDesiredState>(desired, StringComparer.Ordinal) { [state.Switch] = state };
        }

        Wake();
    }

    // Runs on the replica's read loop, once per update and in order, so the index always matches `view`.
    private void Index(ReplicaChangedEventArgs e)
    {
        lock (gate)
        {
            if (e.IsInitial || e.IsResync || view is null)
            {
                ucastIndex.Clear();
                mcastIndex.Clear();
                foreach (var row in e.Snapshot[VtepTables.UcastMacsRemote].Rows.Values)
                {
                    ucastIndex.Add(row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"), row.Uuid);
                }

                foreach (var row in e.Snapshot[VtepTables.McastMacsRemote].Rows.Values)
                {
                    mcastIndex.Add(row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"), row.Uuid);
                }

                sweep = true;
            }
            else
            {
                var before = view;
                string? NameOf(Guid ls) =>
                    (e.Snapshot[VtepTables.LogicalSwitch].Get(ls) ?? before[VtepTables.LogicalSwitch].Get(ls))?.GetString("name");

                foreach (var change in e.Changes)
                {
                    switch (change.Table)
                    {
                        case VtepTables.UcastMacsRemote or VtepTables.McastMacsRemote:
                            var index = change.Table == VtepTables.UcastMacsRemote ? ucastIndex : mcastIndex;
                            foreach (var (row, added) in new[] { (change.Old, false), (change.New, true) })
                            {
                                if (row is null)
                                {
                                    continue;
                                }

                                var (ls, mac, ip) = (row.GetUuid("logical_switch"), row.GetString("MAC"), row.GetString("ipaddr"));
                                if (added)
                                {
                                    index.Add(ls, mac, ip, row.Uuid);
                                }
                                else
                                {
                                    index.Remove(ls, mac, ip, row.Uuid);
                                }

                                // Rows of a logical switch that is gone went with it; the logical switches themselves are always compared.
                                if (NameOf(ls) is { } name)
                                {
                                    _ = index == ucastIndex ? dirtyUcast.Add(new DesiredUcastKey(name, mac, ip)) : dirtyMcast.Add(name);
                                }
                            }

                            break;
                        case VtepTables.LogicalSwitch:
                            changedLogicalSwitches.Add(change.Uuid);
                            break;
                        case VtepTables.PhysicalLocator or VtepTables.PhysicalLocatorSet when change.Kind == RowChangeKind.Modify:
                            sweep = true; // rows of any logical switch may point at it
                            break;
                    }
                }
            }

            view = e.Snapshot;
        }
    }

    private void Wake() => wake.Release();

    private void RequestSweep()
    {
        lock (gate)
        {
            sweep = true;
        }
    }

    private void OnConnectionStateChanged(object? sender, OvsdbConnectionStateChangedEventArgs e)
    {
        if (e.State == OvsdbConnectionState.Connected && replica.Client is { } client)
        {
            int generation;
            lock (gate)
            {
                generation = ++writeGeneration;
            }

            if (ownWriteSession)
            {
                _ = OpenWriteSessionAsync(generation);
            }
            else
            {
                UseForWriting(client, generation);
            }
        }
        else if (e.State != OvsdbConnectionState.Connected)
        {
            RetireWriteSession();
            if (e.Reason is not null)
            {
                logger.LogWarning("{Switch}: disconnected: {Reason}", Host.Name, e.Reason.Message);
            }
        }

        Wake();
        Changed?.Invoke();
    }

    private async Task OpenWriteSessionAsync(int generation)
    {
        while (!stopping.IsCancellationRequested && IsCurrent(generation))
        {
            try
            {
                var client = await OvsdbClient.ConnectAsync(endpoint, clientOptions, stopping);
                var used = false;
                try
                {
                    await client.GetSchemaAsync(VtepTables.Database, stopping); // the first transaction need not ask
                    used = UseForWriting(client, generation);
                }
                finally
                {
                    if (!used)
                    {
                        await client.DisposeAsync();
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever failed (network, TLS files being replaced, the switch refusing), try again shortly: a
                // session that cannot write must not stay that way until the monitoring session reconnects.
                logger.LogWarning("{Switch}: write session: {Error}", Host.Name, e.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool IsCurrent(int generation)
    {
        lock (gate)
        {
            return generation == writeGeneration;
        }
    }

    /// <summary>Makes <paramref name="client"/> the session that takes the lock and writes; false when its monitoring session is already gone.</summary>
    private bool UseForWriting(OvsdbClient client, int generation)
    {
        // Handlers first: a session that closes at once must still be noticed (the event is raised only once).
        client.LockAcquired += (_, _) => BecomeWriter(client);
        client.LockStolen += (_, _) =>
        {
            lock (gate)
            {
                if (writeClient != client)
                {
                    return;
                }

                writer = false;
            }

            // The session stays in the lock's queue: the database hands the lock back with "locked" when it is free.
            logger.LogWarning("{Switch}: writer lock stolen; waiting to get it back", Host.Name);
            Changed?.Invoke();
        };
        if (ownWriteSession)
        {
            client.Disconnected += (_, _) => WriteSessionLost(client, generation);
        }

        lock (gate)
        {
            if (generation != writeGeneration)
            {
                return false;
            }

            writeClient = client;
        }

        if (ownWriteSession && !client.IsConnected)
        {
            WriteSessionLost(client, generation); // closed before it was published: its event found no current session
            return true;
        }

        _ = RequestLockAsync(client);
        return true;
    }

    private void WriteSessionLost(OvsdbClient client, int generation)
    {
        lock (gate)
        {
            if (writeClient != client)
            {
                return; // retired on purpose, or already handled
            }

            writeClient = null;
            writer = false;
        }

        logger.LogWarning("{Switch}: write session lost; opening another", Host.Name);
        Changed?.Invoke();
        _ = ReopenAfterDelayAsync(client, generation);
    }

    private async Task ReopenAfterDelayAsync(OvsdbClient lost, int generation)
    {
        await lost.DisposeAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await OpenWriteSessionAsync(generation);
    }

    private void RetireWriteSession()
    {
        OvsdbClient? retired;
        lock (gate)
        {
            writeGeneration++;
            retired = ownWriteSession ? writeClient : null;
            writeClient = null;
            writer = false;
        }

        // Closing it hands the lock to the next agent: a writer must not hold the switch while it cannot see it.
        if (retired is not null)
        {
            _ = retired.DisposeAsync().AsTask();
        }
    }

    private void BecomeWriter(OvsdbClient client)
    {
        lock (gate)
        {
            if (writeClient != client)
            {
                return;
            }

            writer = true;
            sweep = true;
        }

        logger.LogInformation("{Switch}: this agent is the writer", Host.Name);
        Wake();
        Changed?.Invoke();
    }

    private async Task RequestLockAsync(OvsdbClient client)
    {
        while (client.IsConnected)
        {
            try
            {
                if (await client.LockAsync(LockName, stopping))
                {
                    BecomeWriter(client);
                }
                else
                {
                    logger.LogInformation("{Switch}: another agent writes; standing by for the lock", Host.Name);
                }

                return;
            }
            catch (OvsdbTimeoutException) when (client.IsConnected && !stopping.IsCancellationRequested)
            {
                // The session is alive but the answer did not come: ask again, or this agent would never write.
            }
            catch (Exception e) when (e is OvsdbException or OperationCanceledException or ObjectDisposedException)
            {
                return; // the connection went away; the next one asks again
            }
        }
    }

    /// <summary>What this session knows of each switch in its database, for the heartbeat.</summary>
    public IReadOnlyList<SwitchReport> Reports()
    {
        if (!replica.Ready.IsCompletedSuccessfully)
        {
            return [new SwitchReport(Host.Name, false, false, null, replica.LastError?.Message ?? "not connected yet", [], FaultStatus.Up, [], "", [])];
        }

        var snapshot = new VtepSnapshot(replica.Snapshot);
        var logicalSwitchNames = snapshot.LogicalSwitches.ToDictionary(l => l.Uuid, l => l.Name);
        var locators = snapshot.PhysicalLocators.ToDictionary(l => l.Uuid, l => l.DstIp);
        var ports = snapshot.PhysicalPorts.ToDictionary(p => p.Uuid);
        var connected = Connected;
        string lastError;
        Dictionary<string, string> appliedNow;
        lock (gate)
        {
            lastError = error;
            appliedNow = applied;
        }

        var disconnectReason = connected ? "" : replica.LastError?.Message ?? "disconnected";
        return [.. snapshot.PhysicalSwitches.Select(sw => new SwitchReport(
            sw.Name,
            connected,
            Writer,
            appliedNow.GetValueOrDefault(sw.Name),
            connected ? lastError : disconnectReason,
            sw.TunnelIps,
            sw.SwitchFaultStatus.Count == 0 ? FaultStatus.Up : string.Join(",", sw.SwitchFaultStatus),
            [.. sw.Ports.Where(ports.ContainsKey).Select(p => ports[p]).Select(p => new SwitchPortInventory(p.Name, p.PortFaultStatus.Count == 0 ? FaultStatus.Up : string.Join(",", p.PortFaultStatus)))],
            sw.Description,
            [.. snapshot.UcastMacsLocal
                .Where(m => logicalSwitchNames.ContainsKey(m.LogicalSwitch))
                .Select(m => new LocalMac(logicalSwitchNames[m.LogicalSwitch], m.Mac, m.IpAddr, locators.GetValueOrDefault(m.Locator) ?? ""))]))];
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!await wake.WaitAsync(periodicInterval, cancellationToken) && Environment.TickCount64 - Volatile.Read(ref lastSweep) > SweepInterval.TotalMilliseconds)
                {
                    RequestSweep();
                }

                while (wake.CurrentCount > 0)
                {
                    await wake.WaitAsync(cancellationToken); // Coalesce a burst of wake-ups into one pass.
                }

                if (await ReconcileAsync(cancellationToken) > LargeTransaction)
                {
                    // Resume in a fresh frame: the finished pass must not be reachable from this one's locals.
                    await Task.Yield();
                    // A bulk (re)programming leaves hundreds of MB of garbage (the transaction, its JSON, the old
                    // snapshots) that a quiet agent would otherwise keep mapped for a long time. Collected here,
                    // once the pass's own references to it are gone.
                    System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    logger.LogDebug(
                        "{Switch}: after a bulk write: managed heap {Heap} MiB, process working set {WorkingSet} MiB",
                        Host.Name,
                        GC.GetGCMemoryInfo().HeapSizeBytes >> 20,
                        Environment.WorkingSet >> 20);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is OvsdbException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                RequestSweep(); // what the failed pass was about is no longer known
                SetError(e.Message);
                logger.LogWarning("{Switch}: reconciliation failed: {Error}", Host.Name, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                Wake();
            }
        }
    }

    private void SetError(string message)
    {
        lock (gate)
        {
            if (error == message)
            {
                return;
            }

            error = message;
        }

        Changed?.Invoke();
    }

    /// <summary>Diffs and writes until the switch holds the desired state (or something stands in the way); returns the operations written.</summary>
    private async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var written = 0;
        for (var pass = 0; pass < 100 && Writer; pass++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            ReplicaSnapshot? snapshot;
            Dictionary<string, SwitchDesiredState> wanted;
            ReconcileScope? scope;
            List<Guid> ucastRows = [], mcastRows = [];
            lock (gate)
            {
                snapshot = view;
                wanted = desired;
                // Never act on a switch before the server has said what it wants there: an agent that starts
                // must not wipe rows it simply has not heard about yet. Nothing is consumed until then.
                if (snapshot is null || !snapshot[VtepTables.PhysicalSwitch].Rows.Values.Any(r => wanted.ContainsKey(r.GetString("name"))))
                {
                    return written;
                }

                if (sweep)
                {
                    scope = null;
                    sweep = false;
                    Volatile.Write(ref lastSweep, Environment.TickCount64);
                }
                else
                {
                    var logicalSwitches = snapshot[VtepTables.LogicalSwitch];
                    var full = new HashSet<string>(dirtyLogicalSwitches, StringComparer.Ordinal);
                    foreach (var uuid in changedLogicalSwitches)
                    {
                        if (logicalSwitches.Get(uuid) is { } row)
                        {
                            full.Add(row.GetString("name"));
                        }
                    }

                    scope = new ReconcileScope(full, new HashSet<DesiredUcastKey>(dirtyUcast), new HashSet<string>(dirtyMcast, StringComparer.Ordinal));
                    var uuidsByName = logicalSwitches.Rows.Values.ToLookup(r => r.GetString("name"), r => r.Uuid, StringComparer.Ordinal);
                    foreach (var name in full)
                    {
                        foreach (var uuid in uuidsByName[name])
                        {
                            ucastRows.AddRange(ucastIndex.Of(uuid));
                        }
                    }

                    foreach (var key in scope.UcastRemotes)
                    {
                        if (!full.Contains(key.LogicalSwitch))
                        {
                            foreach (var uuid in uuidsByName[key.LogicalSwitch])
                            {
                                ucastRows.AddRange(ucastIndex.Of(uuid, key.Mac, key.IpAddress));
                            }
                        }
                    }

                    foreach (var name in full.Union(scope.McastRemotes, StringComparer.Ordinal))
                    {
                        foreach (var uuid in uuidsByName[name])
                        {
                            mcastRows.AddRange(mcastIndex.Of(uuid));
                        }
                    }
                }

                changedLogicalSwitches.Clear();
                dirtyLogicalSwitches.Clear();
                dirtyUcast.Clear();
                dirtyUcast.TrimExcess(); // after a bulk write it held every row's key
                dirtyMcast.Clear();
            }

            var vtep = new VtepSnapshot(snapshot);
            var state = scope is null ? VtepState.From(vtep) : VtepState.From(vtep, ucastRows, mcastRows);
            var read = System.Diagnostics.Stopwatch.GetTimestamp();

            var targets = state.Switches.Select(s => s.Name).Where(wanted.ContainsKey).Select(s => wanted[s]).ToList();
            var plan = Reconciler.Plan(targets, state, scope: scope);
            if (plan.Truncated)
            {
                RequestSweep(); // the rest of the rows come in the next pass
            }

            var planned = System.Diagnostics.Stopwatch.GetTimestamp();
            SetError(string.Join("; ", plan.Problems));
            if (plan.Converged)
            {
                var revisions = targets.ToDictionary(t => t.Switch, t => t.Revision, StringComparer.Ordinal);
                bool changed;
                lock (gate)
                {
                    changed = !revisions.OrderBy(r => r.Key).SequenceEqual(applied.OrderBy(r => r.Key));
                    applied = revisions;
                }

                if (changed)
                {
                    logger.LogInformation("{Switch}: converged ({Switches})", Host.Name, string.Join(", ", revisions.Select(r => $"{r.Key}@{r.Value}")));
                    Changed?.Invoke();
                }

                return written;
            }

            logger.LogInformation("{Switch}: writing {Count} operation(s)", Host.Name, plan.Operations.Count);
            written += plan.Operations.Count;
            OvsdbClient client;
            lock (gate)
            {
                client = writeClient ?? throw new OvsdbConnectionException($"no session to write to {Host.Name} on");
            }

            var result = await client.TransactAsync(VtepTables.Database, [new AssertOperation(LockName), .. plan.Operations], cancellationToken);
            result.EnsureSuccess();
            var inserted = plan.Operations
                .Select((op, i) => (op, i))
                .Where(x => x.op is { Op: "insert", Table: VtepTables.LogicalSwitch or VtepTables.UcastMacsRemote or VtepTables.McastMacsRemote })
                .Select(x => (x.op.Table!, result.InsertedUuid(x.i + 1)))
                .ToList();
            var deleted = plan.Operations
                .OfType<DeleteOperation>()
                .Where(d => d.Conditions is [{ Column: "_uuid", Function: ConditionFunction.Equal }])
                .Select(d => (d.TableName, d.Conditions[0].Value.Single.AsUuid()))
                .ToList();
            var transacted = System.Diagnostics.Stopwatch.GetTimestamp();
            await WaitForReplicaAsync(inserted, deleted, cancellationToken);
            logger.LogDebug(
                "{Switch}: pass {Pass}: read {Read:F1} ms, diff {Diff:F1} ms, transact {Transact:F1} ms, monitor {Monitor:F1} ms",
                Host.Name,
                pass,
                System.Diagnostics.Stopwatch.GetElapsedTime(started, read).TotalMilliseconds,
                System.Diagnostics.Stopwatch.GetElapsedTime(read, planned).TotalMilliseconds,
                System.Diagnostics.Stopwatch.GetElapsedTime(planned, transacted).TotalMilliseconds,
                System.Diagnostics.Stopwatch.GetElapsedTime(transacted).TotalMilliseconds);
        }

        return written;
    }

    // The next diff must see this transaction's effect, or it would insert the same rows again. The monitor may run
    // behind the write session: rows inserted must be there and rows deleted gone (a row updated and still shown
    // as it was would only be updated again).
    private async Task WaitForReplicaAsync(List<(string Table, Guid Uuid)> inserted, List<(string Table, Guid Uuid)> deleted, CancellationToken cancellationToken)
    {
        // Generous: the monitor's echo of 100,000 rows takes seconds. Past this, the monitor is broken; the next
        // pass may then write rows again, and the one after removes the duplicates.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            if (!Connected)
            {
                throw new OvsdbConnectionException($"lost {Host.Name} before its monitor showed the rows just written");
            }

            // A transaction's rows arrive in one update: look for the last one cheaply, then check them all once.
            ReplicaSnapshot? indexed;
            lock (gate)
            {
                indexed = view;
            }

            var tables = indexed?.Tables ?? replica.Snapshot.Tables;
            bool Present((string Table, Guid Uuid) r) => tables.TryGetValue(r.Table, out var t) && t.Rows.ContainsKey(r.Uuid);
            if ((inserted.Count == 0 || Present(inserted[^1])) && inserted.All(Present) && !deleted.Any(Present))
            {
                return;
            }

            await Task.Delay(2, cancellationToken);
        }

        throw new TimeoutException("the switch's monitor did not show the rows just written");
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        RetireWriteSession();
        await replica.DisposeAsync();
        stop.Dispose();
        wake.Dispose();
    }
}
