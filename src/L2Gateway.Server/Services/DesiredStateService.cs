using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>
/// Keeps the planner's output for every switch current: recomputed after each committed write in this process
/// and on a timer (for writes made by other servers sharing the database), and wakes the agents' long polls
/// when a switch's revision changes.
/// </summary>
public sealed class DesiredStateService : BackgroundService
{
    private readonly Store store;
    private readonly ILogger<DesiredStateService> logger;
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private readonly TimeSpan period;
    private volatile IReadOnlyDictionary<string, SwitchDesiredState> current = new Dictionary<string, SwitchDesiredState>();
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int pending;

    public DesiredStateService(Store store, ILogger<DesiredStateService> logger, TimeSpan? period = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
        this.logger = logger;
        this.period = period ?? TimeSpan.FromSeconds(5);
        store.Committed += OnCommitted;
    }

    /// <summary>Completes once the first plan has been computed.</summary>
    public Task Ready => ready.Task;

    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The desired state of a switch; a switch with no connection wants none of the product's rows.</summary>
    public SwitchDesiredState For(string switchName) =>
        current.TryGetValue(switchName, out var state) ? state : SwitchDesiredState.Empty(switchName);

    /// <summary>A task that completes the next time any switch's desired state changes.</summary>
    public Task NextChange => Volatile.Read(ref changed).Task;

    private void OnCommitted()
    {
        // Coalesce bursts of writes into one recomputation running after them.
        if (Interlocked.Exchange(ref pending, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await RefreshAsync(CancellationToken.None);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    logger.LogError(e, "recomputing desired switch state failed");
                }
            });
        }
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await refreshing.WaitAsync(cancellationToken);
        try
        {
            Interlocked.Exchange(ref pending, 0);
            var input = await store.ReadAsync(
                async db => new PlannerInput(
                    [.. (await db.Gateways.ToListAsync(cancellationToken)).Select(g => g.ToDomain())],
                    [.. (await db.Connections.ToListAsync(cancellationToken)).Select(c => c.ToDomain())],
                    [.. (await db.Networks.ToListAsync(cancellationToken)).Select(n => n.ToDomain())],
                    [.. (await db.Ports.ToListAsync(cancellationToken)).Select(p => p.ToDomain())],
                    [.. (await db.Hosts.ToListAsync(cancellationToken)).Select(h => h.ToDomain())],
                    [.. (await db.Switches.ToListAsync(cancellationToken)).Select(s => s.ToDomain())]),
                cancellationToken);
            var plan = Planner.Plan(input);
            var before = current;
            var differs = plan.Count != before.Count
                || plan.Any(p => !before.TryGetValue(p.Key, out var old) || old.Revision != p.Value.Revision);
            current = plan;
            ready.TrySetResult();
            if (differs)
            {
                var previous = Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                previous.TrySetResult();
            }
        }
        finally
        {
            refreshing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                logger.LogError(e, "recomputing desired switch state failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        store.Committed -= OnCommitted;
        refreshing.Dispose();
        base.Dispose();
    }
}
