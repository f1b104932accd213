using System.Runtime;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// The agent's one owner of forced garbage collections. A switch actor that has finished bulk work (a 100,000-row
/// write, a resync of a wiped switch) asks for a full compacting collection, so that the hundreds of MB the work left
/// behind are returned rather than built on. A collection is process-wide, so the agent needs one per burst, not one
/// per switch: 200 switches resyncing together would otherwise stop the process 200 times. Requests go to one loop,
/// which collects at once when the last collection is at least <see cref="MinInterval"/> old and otherwise waits
/// until it is; every request that arrived meanwhile is served by that one collection.
/// </summary>
public sealed partial class BulkWorkCollector : IAsyncDisposable
{
    /// <summary>The shortest time between two forced collections.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(5);

    private readonly Channel<TaskCompletionSource?> requests = Channel.CreateUnbounded<TaskCompletionSource?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource stop = new();
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Action collect;
    private readonly Task loop;
    private int disposed;

    /// <param name="collect">What a collection is (tests count them); a full, blocking, compacting collection by default.</param>
    public BulkWorkCollector(ILogger logger, TimeProvider? time = null, Action? collect = null)
    {
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        this.collect = collect ?? CollectEverything;
        loop = RunAsync(stop.Token);
    }

    /// <summary>Asks for a collection once the work that made the garbage is done with it.</summary>
    public void Request() => requests.Writer.TryWrite(null);

    /// <summary>Completes once a collection that began after this call has finished (or the collector is disposed).</summary>
    public Task RequestAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!requests.Writer.TryWrite(done))
        {
            done.TrySetResult();
        }

        return done.Task;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var waiting = new List<TaskCompletionSource>();
        long? last = null;
        try
        {
            while (await requests.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (last is { } at && time.GetElapsedTime(at) is var since && since < MinInterval)
                {
                    await Task.Delay(MinInterval - since, time, cancellationToken).ConfigureAwait(false);
                }

                // Everything that asked before this collection begins is served by it.
                while (requests.Reader.TryRead(out var request))
                {
                    if (request is not null)
                    {
                        waiting.Add(request);
                    }
                }

                var started = time.GetTimestamp();
                try
                {
                    collect();
                }
                catch (Exception e)
                {
                    LogCollectionFailed(e);
                }

                last = started;
                foreach (var request in waiting)
                {
                    request.TrySetResult();
                }

                waiting.Clear();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var request in waiting)
            {
                request.TrySetResult();
            }

            requests.Writer.TryComplete();
            while (requests.Reader.TryRead(out var request))
            {
                request?.TrySetResult();
            }
        }
    }

    private void CollectEverything()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        LogCollected(GC.GetGCMemoryInfo().HeapSizeBytes >> 20, Environment.WorkingSet >> 20);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        // ConfigureAwait(false): the agent's synchronous Dispose waits for this.
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Collected after bulk work: managed heap {Heap} MiB, process working set {WorkingSet} MiB")]
    private partial void LogCollected(long heap, long workingSet);

    [LoggerMessage(Level = LogLevel.Error, Message = "Forced collection after bulk work failed")]
    private partial void LogCollectionFailed(Exception e);
}
