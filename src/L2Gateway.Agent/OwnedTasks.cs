using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// The tasks an actor starts (opening a session, asking for a lock, a transaction, closing a connection): each is
/// kept until it ends, awaited when the actor stops, and a failure it did not handle itself is logged and handed to
/// <c>onFault</c> (which posts an event, so the actor handles it). Started and awaited from the actor's loop only
/// (or once that loop has ended): not thread-safe.
/// </summary>
internal sealed class OwnedTasks(ILogger logger, string owner)
{
    private readonly List<Task> running = [];

    public int Count
    {
        get
        {
            running.RemoveAll(t => t.IsCompleted);
            return running.Count;
        }
    }

    public void Start(string what, Func<Task> work, Action<Exception>? onFault = null)
    {
        running.RemoveAll(t => t.IsCompleted);
        running.Add(RunAsync(what, work, onFault));
    }

    private async Task RunAsync(string what, Func<Task> work, Action<Exception>? onFault)
    {
        // The work starts on the caller's thread (the actor's loop) up to its first await, as an awaited call
        // would: a transaction's first bytes then go out without waiting for a thread of the pool.
        try
        {
            await work();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Switch}: {Task} failed", owner, what);
            onFault?.Invoke(e);
        }
    }

    /// <summary>Waits for every task started (including those started while waiting). Never throws: failures were observed.</summary>
    public async Task WhenAllAsync()
    {
        while (Count > 0)
        {
            await Task.WhenAll([.. running]);
        }
    }
}
