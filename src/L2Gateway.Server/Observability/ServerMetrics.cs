using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using L2Gateway.Core.Planning;

namespace L2Gateway.Server.Observability;

/// <summary>
/// The server's instruments on the meter <see cref="Telemetry.ServerMeter"/>: the desired state (revisions made,
/// planning time, each switch's current revision) and the agents that report to this server.
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] PlanningBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> revisions;
    private readonly Histogram<double> planning;
    private readonly ConcurrentDictionary<string, long> heartbeats = new(StringComparer.Ordinal);
    private readonly TimeProvider time;
    private readonly TimeSpan agentDownTime;
    private volatile Func<IReadOnlyDictionary<string, SwitchDesiredState>> desired = () => new Dictionary<string, SwitchDesiredState>();

    public ServerMetrics(IMeterFactory meters, ServerOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(options);
        this.time = time;
        agentDownTime = TimeSpan.FromSeconds(options.AgentDownTime);
        var meter = meters.Create(Telemetry.ServerMeter);
        revisions = meter.CreateCounter<long>(
            "l2gw.desired_state.revisions", "{revision}", "New desired-state revisions of switches (a switch's rows changed, or it lost its last connection)");
        revisions.Add(0); // the series exists from the start
        planning = meter.CreateHistogram<double>(
            "l2gw.desired_state.planning.duration",
            "s",
            "Time the planner took to recompute the desired state, by l2gw.planning.kind (full: after a reload of every table; incremental: after a write)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PlanningBuckets });
        meter.CreateObservableGauge(
            "l2gw.desired_state.revision",
            ObserveRevisions,
            description: "The current desired-state revision of each switch that has connections, as a number (equal revisions, equal numbers)");
        meter.CreateObservableGauge(
            "l2gw.agents.connected",
            ObserveAgents,
            "{agent}",
            "Agents whose last heartbeat reached this server within agent_down_time");
    }

    /// <summary>Where the revision gauge reads the desired state from (the one planner's output).</summary>
    public void ObserveDesiredState(Func<IReadOnlyDictionary<string, SwitchDesiredState>> current) => desired = current;

    public void Planned(TimeSpan elapsed, bool full, int newRevisions)
    {
        planning.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("l2gw.planning.kind", full ? "full" : "incremental"));
        if (newRevisions > 0)
        {
            revisions.Add(newRevisions);
        }
    }

    public void AgentReported(string host) => heartbeats[host] = time.GetTimestamp();

    private IEnumerable<Measurement<double>> ObserveRevisions() =>
        desired().Select(s => new Measurement<double>(RevisionNumber.Of(s.Value.Revision), new KeyValuePair<string, object?>("l2gw.physical_switch", s.Key)));

    private int ObserveAgents() => heartbeats.Values.Count(at => time.GetElapsedTime(at) < agentDownTime);
}
