using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// One switch database: a live replica of its hardware_vtep tables, the writer lock, and the loop that keeps it
/// at the desired state. Only the holder of the OVSDB lock <see cref="LockName"/> writes, so several agents can
/// serve one switch and exactly one of them writes; when the writer's session dies, the database hands the lock
/// to the next agent waiting for it.
/// </summary>
public sealed class SwitchSession : IAsyncDisposable
{
    public const string LockName = "l2gw_writer";

    private const int LargeTransaction = 10_000;

    private readonly OvsdbReplica replica;
    private readonly ILogger logger;
    private readonly TimeSpan periodicInterval;
    private readonly SemaphoreSlim wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource stop = new();
    private readonly Lock gate = new();
    private Dictionary<string, SwitchDesiredState> desired = new(StringComparer.Ordinal);
    private Dictionary<string, string> applied = new(StringComparer.Ordinal);
    private string error = "";
    private volatile bool writer;
    private Task? loop;

    public SwitchSession(OvsdbHost host, string endpoint, OvsdbReplicaOptions options, TimeSpan periodicInterval, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
        this.logger = logger;
        this.periodicInterval = periodicInterval;
        replica = VtepTables.CreateReplica(endpoint, options);
        replica.ConnectionStateChanged += OnConnectionStateChanged;
        replica.Changed += (_, e) =>
        {
            Wake();
            Changed?.Invoke();
        };
    }

    public OvsdbHost Host { get; }

    /// <summary>Raised when anything worth reporting changes: connection, writer role, convergence, inventory.</summary>
    public event Action? Changed;

    public bool Connected => replica.State == OvsdbConnectionState.Connected;

    public bool Writer => writer && Connected;

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
    public void SetDesired(SwitchDesiredState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (gate)
        {
            desired = new Dictionary<string, SwitchDesiredState>(desired, StringComparer.Ordinal) { [state.Switch] = state };
        }

        Wake();
    }

    private void Wake() => wake.Release();

    private void OnConnectionStateChanged(object? sender, OvsdbConnectionStateChangedEventArgs e)
    {
        if (e.State == OvsdbConnectionState.Connected && replica.Client is { } client)
        {
            client.LockAcquired += (_, _) =>
            {
                writer = true;
                logger.LogInformation("{Switch}: this agent is the writer", Host.Name);
                Wake();
                Changed?.Invoke();
            };
            client.LockStolen += (_, _) =>
            {
                writer = false;
                logger.LogWarning("{Switch}: writer lock stolen", Host.Name);
                Changed?.Invoke();
            };
            _ = RequestLockAsync(client);
        }
        else if (e.State != OvsdbConnectionState.Connected)
        {
            writer = false;
            if (e.Reason is not null)
            {
                logger.LogWarning("{Switch}: disconnected: {Reason}", Host.Name, e.Reason.Message);
            }
        }

        Wake();
        Changed?.Invoke();
    }

    private async Task RequestLockAsync(OvsdbClient client)
    {
        try
        {
            if (await client.LockAsync(LockName, stop.Token))
            {
                writer = true;
                logger.LogInformation("{Switch}: this agent is the writer", Host.Name);
                Wake();
                Changed?.Invoke();
            }
            else
            {
                logger.LogInformation("{Switch}: another agent writes; standing by for the lock", Host.Name);
            }
        }
        catch (Exception e) when (e is OvsdbException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection went away; the next one asks again.
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
                await wake.WaitAsync(periodicInterval, cancellationToken);
                while (wake.CurrentCount > 0)
                {
                    await wake.WaitAsync(cancellationToken); // Coalesce a burst of wake-ups into one pass.
                }

                await ReconcileAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is OvsdbException or TimeoutException or IOException or OperationCanceledException)
            {
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

    /// <summary>Diffs and writes until the switch holds the desired state (or something stands in the way).</summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var written = 0;
        for (var pass = 0; pass < 100 && Writer; pass++)
        {
            var snapshot = replica.Snapshot;
            var state = VtepState.From(new VtepSnapshot(snapshot));
            Dictionary<string, SwitchDesiredState> wanted;
            lock (gate)
            {
                wanted = desired;
            }

            // Never act on a switch before the server has said what it wants there: an agent that starts
            // must not wipe rows it simply has not heard about yet.
            var switches = state.Switches.Select(s => s.Name).Where(wanted.ContainsKey).ToList();
            if (switches.Count == 0)
            {
                return;
            }

            var targets = switches.Select(s => wanted[s]).ToList();
            var plan = Reconciler.Plan(targets, state);
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

                if (written > LargeTransaction)
                {
                    // A bulk (re)programming leaves hundreds of MB of garbage (the transaction, its JSON, the old
                    // snapshots) that a quiet agent would otherwise keep mapped for a long time.
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                }

                return;
            }

            logger.LogInformation("{Switch}: writing {Count} operation(s)", Host.Name, plan.Operations.Count);
            written += plan.Operations.Count;
            var result = await replica.TransactAsync(plan.Operations, cancellationToken);
            result.EnsureSuccess();
            var inserted = plan.Operations
                .Select((op, i) => (op, i))
                .Where(x => x.op is Ovsdb.Operations.InsertOperation { TableName: VtepTables.LogicalSwitch or VtepTables.UcastMacsRemote or VtepTables.McastMacsRemote })
                .Select(x => (x.op.Table!, result.InsertedUuid(x.i)))
                .ToList();
            await WaitForReplicaAsync(inserted, cancellationToken);
        }
    }

    // The next diff must see this transaction's effect, or it would insert the same rows again.
    private async Task WaitForReplicaAsync(List<(string Table, Guid Uuid)> inserted, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Connected && DateTime.UtcNow < deadline)
        {
            // A transaction's rows arrive in one update: look for the last one cheaply, then check them all once.
            var tables = replica.Snapshot.Tables;
            bool Present((string Table, Guid Uuid) r) => tables.TryGetValue(r.Table, out var t) && t.Rows.ContainsKey(r.Uuid);
            if ((inserted.Count == 0 || Present(inserted[^1])) && inserted.All(Present))
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

        await replica.DisposeAsync();
        stop.Dispose();
        wake.Dispose();
    }
}
