using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Agent;

/// <summary>
/// The agent's instruments on the meter "L2Gateway.Agent", created from an <see cref="IMeterFactory"/> (one set per
/// factory). Every measurement carries the switch database's name (its <c>ovsdb_hosts</c> name) as "l2gw.switch";
/// revisions also carry the Physical_Switch's name as "l2gw.physical_switch".
/// </summary>
internal sealed class AgentMetrics
{
    public const string MeterName = "L2Gateway.Agent";

    private static readonly ConditionalWeakTable<IMeterFactory, AgentMetrics> ByFactory = [];

    private AgentMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(MeterName);
        Connected = meter.CreateGauge<int>("l2gw.agent.switch.connected", null, "1 while the agent's monitoring session with the switch database is up, else 0");
        LockHeld = meter.CreateGauge<int>("l2gw.agent.switch.lock_held", null, "1 while this agent holds the switch's writer lock (it is the agent that writes), else 0");
        PassDuration = meter.CreateGauge<double>(
            "l2gw.agent.switch.pass.duration", "s", "How long the last reconciliation pass took: the diff, and when it wrote, the transaction and the monitor's echo of its rows");
        RowsWritten = meter.CreateCounter<long>("l2gw.agent.switch.rows.written", "{row}", "Rows the agent inserted or updated on the switch");
        RowsDeleted = meter.CreateCounter<long>("l2gw.agent.switch.rows.deleted", "{row}", "Rows the agent deleted from the switch");
        DriftRepairs = meter.CreateCounter<long>(
            "l2gw.agent.switch.drift_repairs", "{repair}", "Passes that wrote to a switch already converged to the same desired state: its rows had been changed or lost behind the agent's back");
        Reconnects = meter.CreateCounter<long>("l2gw.agent.switch.reconnects", "{reconnect}", "Times the monitoring session came back after being lost");
        RevisionApplied = meter.CreateGauge<double>(
            "l2gw.agent.switch.revision.applied", null, "The desired-state revision the switch was last converged to, as a number (0: none yet); converged when equal to l2gw.agent.switch.revision.desired");
        RevisionDesired = meter.CreateGauge<double>(
            "l2gw.agent.switch.revision.desired", null, "The desired-state revision the agent holds for the switch, as a number");
    }

    public Gauge<int> Connected { get; }

    public Gauge<int> LockHeld { get; }

    public Gauge<double> PassDuration { get; }

    public Counter<long> RowsWritten { get; }

    public Counter<long> RowsDeleted { get; }

    public Counter<long> DriftRepairs { get; }

    public Counter<long> Reconnects { get; }

    public Gauge<double> RevisionApplied { get; }

    public Gauge<double> RevisionDesired { get; }

    public static AgentMetrics? For(IMeterFactory? factory) => factory is null ? null : ByFactory.GetValue(factory, f => new AgentMetrics(f));

    /// <summary>
    /// The rows a transaction of <paramref name="operations"/> (sent after one assert of the lock) wrote and deleted,
    /// as its result counts them: an insert is one row, an update, mutate or delete as many as it matched.
    /// </summary>
    public static (long Written, long Deleted) RowCounts(IReadOnlyList<Operation> operations, TransactResult result)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(result);
        long written = 0, deleted = 0;
        for (var i = 0; i < operations.Count && i + 1 < result.Operations.Count; i++)
        {
            var answer = result.Operations[i + 1];
            switch (operations[i].Op)
            {
                case "insert" when answer?.Uuid is not null:
                    written++;
                    break;
                case "update" or "mutate":
                    written += answer?.Count ?? 0;
                    break;
                case "delete":
                    deleted += answer?.Count ?? 0;
                    break;
            }
        }

        return (written, deleted);
    }
}

/// <summary>One switch database's measurements, recorded by its actor's loop; records nothing without a meter factory.</summary>
internal sealed class SwitchMetrics
{
    private readonly AgentMetrics? metrics;
    private readonly KeyValuePair<string, object?> database;

    public SwitchMetrics(AgentMetrics? metrics, string databaseName)
    {
        this.metrics = metrics;
        database = new KeyValuePair<string, object?>("l2gw.switch", databaseName);

        // Every series exists from the start, at zero, so that rates and alerts see a switch never reached.
        metrics?.Connected.Record(0, database);
        metrics?.LockHeld.Record(0, database);
        metrics?.RowsWritten.Add(0, database);
        metrics?.RowsDeleted.Add(0, database);
        metrics?.DriftRepairs.Add(0, database);
        metrics?.Reconnects.Add(0, database);
    }

    public void Connected(bool connected) => metrics?.Connected.Record(connected ? 1 : 0, database);

    public void Reconnected() => metrics?.Reconnects.Add(1, database);

    public void LockHeld(bool held) => metrics?.LockHeld.Record(held ? 1 : 0, database);

    public void PassDone(TimeSpan elapsed) => metrics?.PassDuration.Record(elapsed.TotalSeconds, database);

    public void Wrote((long Written, long Deleted) rows)
    {
        metrics?.RowsWritten.Add(rows.Written, database);
        metrics?.RowsDeleted.Add(rows.Deleted, database);
    }

    public void DriftRepaired() => metrics?.DriftRepairs.Add(1, database);

    /// <summary>The revision desired and the one applied, for each Physical_Switch the agent holds a desired state of.</summary>
    public void Revisions(IReadOnlyDictionary<string, SwitchDesiredState> desired, IReadOnlyDictionary<string, string> applied)
    {
        if (metrics is null)
        {
            return;
        }

        foreach (var (name, state) in desired)
        {
            var physical = new KeyValuePair<string, object?>("l2gw.physical_switch", name);
            metrics.RevisionDesired.Record(RevisionNumber.Of(state.Revision), database, physical);
            metrics.RevisionApplied.Record(RevisionNumber.Of(applied.GetValueOrDefault(name)), database, physical);
        }
    }
}
