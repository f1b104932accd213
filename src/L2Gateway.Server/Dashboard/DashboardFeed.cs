using System.Text.Json;
using System.Threading.Channels;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;

namespace L2Gateway.Server.Dashboard;

/// <summary>One dashboard document as built, and the one that follows it.</summary>
public sealed class DashboardPublication
{
    private readonly TaskCompletionSource<DashboardPublication> next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal DashboardPublication(byte[] json) => Json = json;

    /// <summary><c>{"l2gw_dashboard": ...}</c> as UTF-8 JSON on one line.</summary>
    public byte[] Json { get; }

    /// <summary>Completes with the next document built.</summary>
    public Task<DashboardPublication> Next => next.Task;

    internal void Followed(DashboardPublication successor) => next.TrySetResult(successor);
}

/// <summary>
/// The dashboard's live feed: one loop builds the document when something it shows may have changed, once for every
/// open stream, and only while a stream is open. Its cues are events: a committed write (heartbeats included), a new
/// desired state, the moment the next live agent would turn dead without a heartbeat, and on PostgreSQL every 10 s
/// (the period at which other servers' writes are read in, as the planner reads them). Builds are at least
/// <see cref="MinimumInterval"/> apart, so a burst of writes makes one or two documents, not one per write.
/// </summary>
public sealed class DashboardFeed : BackgroundService
{
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan OtherServersPeriod = TimeSpan.FromSeconds(10);

    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Store store;
    private readonly AgentService agents;
    private readonly DesiredStateService desired;
    private readonly ServerOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<DashboardFeed> logger;
    private DashboardPublication latest = new([]);
    private int watchers;

    public DashboardFeed(Store store, AgentService agents, DesiredStateService desired, ServerOptions options, TimeProvider time, ILogger<DashboardFeed> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
        this.agents = agents;
        this.desired = desired;
        this.options = options;
        this.time = time;
        this.logger = logger;
        store.WriteCommitted += Wake;
    }

    /// <summary>The newest document built (empty before the first).</summary>
    public DashboardPublication Latest => Volatile.Read(ref latest);

    /// <summary>
    /// Counts a watcher until disposed, and asks for a document built from now on: <see cref="DashboardWatch.First"/>
    /// completes with it.
    /// </summary>
    public DashboardWatch Watch()
    {
        Interlocked.Increment(ref watchers);
        var first = Latest.Next;
        Wake();
        return new DashboardWatch(first, () => Interlocked.Decrement(ref watchers));
    }

    private void Wake() => wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var desiredChanges = WakeOnDesiredChangesAsync(stoppingToken);
        ITimer? timer = null;
        try
        {
            while (await wake.Reader.WaitToReadAsync(stoppingToken))
            {
                wake.Reader.TryRead(out _);
                if (Volatile.Read(ref watchers) == 0)
                {
                    continue; // the next watcher asks for a fresh document
                }

                DateTimeOffset? due;
                try
                {
                    var (document, nextDeath) = await DashboardState.BuildAsync(store, agents, desired, options, time, stoppingToken);
                    var publication = new DashboardPublication(JsonSerializer.SerializeToUtf8Bytes(new System.Text.Json.Nodes.JsonObject { ["l2gw_dashboard"] = document }));
                    Interlocked.Exchange(ref latest, publication).Followed(publication);
                    due = nextDeath;
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    logger.LogError(e, "building the dashboard failed");
                    due = time.GetUtcNow() + OtherServersPeriod; // try again
                }

                if (store.Settings.Provider == DatabaseProvider.PostgreSql)
                {
                    var reload = time.GetUtcNow() + OtherServersPeriod;
                    due = due is { } d && d < reload ? d : reload;
                }

                timer?.Dispose();
                timer = due is { } at ? time.CreateTimer(_ => Wake(), null, Max(at - time.GetUtcNow(), TimeSpan.Zero), Timeout.InfiniteTimeSpan) : null;
                await Task.Delay(MinimumInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            timer?.Dispose();
            await desiredChanges;
        }
    }

    private async Task WakeOnDesiredChangesAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await desired.NextChange.WaitAsync(stoppingToken);
                Wake();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public override void Dispose()
    {
        store.WriteCommitted -= Wake;
        base.Dispose();
    }
}

/// <summary>A watcher of the <see cref="DashboardFeed"/>: counted until disposed.</summary>
public sealed class DashboardWatch(Task<DashboardPublication> first, Action release) : IDisposable
{
    private int released;

    /// <summary>Completes with the first document built after the watch began.</summary>
    public Task<DashboardPublication> First { get; } = first;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref released, 1) == 0)
        {
            release();
        }
    }
}
