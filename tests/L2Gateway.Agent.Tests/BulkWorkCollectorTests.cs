using L2Gateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace L2Gateway.Agent.Tests;

/// <summary>The agent's one owner of forced collections, on a manual clock, with a collection that counts itself.</summary>
public sealed class BulkWorkCollectorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Requests_made_during_a_collection_share_one_more_collection_a_minimum_interval_later()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var collections = 0;
        var running = new SemaphoreSlim(0);
        using var finish = new ManualResetEventSlim();
        await using var collector = new BulkWorkCollector(NullLogger.Instance, clock, () =>
        {
            Interlocked.Increment(ref collections);
            running.Release();
            finish.Wait();
        });

        var first = collector.RequestAsync();
        Assert.True(await running.WaitAsync(Timeout));

        // 199 switches finish their bulk work while the first collection runs.
        var during = Enumerable.Range(0, 199).Select(_ => collector.RequestAsync()).ToArray();
        finish.Set();
        await first.WaitAsync(Timeout);

        // The loop now waits out the interval: until the clock reaches it, nothing more is collected.
        await clock.ArmedAsync(BulkWorkCollector.MinInterval).WaitAsync(Timeout);
        Assert.Equal(1, collections);
        Assert.DoesNotContain(during, t => t.IsCompleted);

        clock.Advance(BulkWorkCollector.MinInterval);
        await Task.WhenAll(during).WaitAsync(Timeout);
        Assert.Equal(2, collections);
    }

    [Fact]
    public async Task A_request_after_a_quiet_interval_is_served_at_once()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var collections = 0;
        await using var collector = new BulkWorkCollector(NullLogger.Instance, clock, () => Interlocked.Increment(ref collections));

        await collector.RequestAsync().WaitAsync(Timeout);
        clock.Advance(BulkWorkCollector.MinInterval);

        // The manual clock fires no timer by itself: had the collector waited, this would never complete.
        await collector.RequestAsync().WaitAsync(Timeout);
        Assert.Equal(2, collections);
    }

    [Fact]
    public async Task Disposing_releases_whoever_waits_and_later_requests_complete_at_once()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var collections = 0;
        var collector = new BulkWorkCollector(NullLogger.Instance, clock, () => Interlocked.Increment(ref collections));
        await collector.RequestAsync().WaitAsync(Timeout);
        var waiting = collector.RequestAsync();
        await clock.ArmedAsync(BulkWorkCollector.MinInterval).WaitAsync(Timeout);

        await collector.DisposeAsync();
        await waiting.WaitAsync(Timeout);
        await collector.RequestAsync().WaitAsync(Timeout);
        collector.Request();
        await collector.DisposeAsync();

        Assert.Equal(1, collections);
    }

    [Fact]
    public async Task A_failed_collection_is_logged_and_the_collector_goes_on()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var collections = 0;
        await using var collector = new BulkWorkCollector(NullLogger.Instance, clock, () =>
        {
            if (Interlocked.Increment(ref collections) == 1)
            {
                throw new InvalidOperationException("boom");
            }
        });

        await collector.RequestAsync().WaitAsync(Timeout);
        clock.Advance(BulkWorkCollector.MinInterval);
        await collector.RequestAsync().WaitAsync(Timeout);

        Assert.Equal(2, collections);
    }
}
