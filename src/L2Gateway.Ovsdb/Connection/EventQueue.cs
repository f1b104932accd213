using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Ovsdb.Connection;

/// <summary>
/// Runs subscriber code (events, monitor callbacks) in order on a task of its own, so that it can never hold up
/// the socket: the read loop only posts here. An exception in a subscriber is logged and the next event runs.
/// </summary>
internal sealed class EventQueue
{
    private readonly Channel<QueuedEvent> _channel = Channel.CreateUnbounded<QueuedEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly string _owner;
    private readonly Action<Exception>? _onHandlerError;
    private int _dispatchThread;

    public EventQueue(ILogger logger, string owner, Action<Exception>? onHandlerError = null)
    {
        _logger = logger;
        _owner = owner;
        _onHandlerError = onHandlerError;
        Completion = Task.Run(RunAsync);
    }

    /// <summary>Completes once <see cref="Complete"/> was called and every event before it has run; never faults.</summary>
    public Task Completion { get; }

    /// <summary>True on the thread running a subscriber: an owner disposed from its own event must not wait for itself.</summary>
    public bool OnDispatchThread => Volatile.Read(ref _dispatchThread) == Environment.CurrentManagedThreadId;

    /// <summary>Queues <paramref name="run"/>; false once the queue is complete.</summary>
    public bool Post(string what, Action run) => _channel.Writer.TryWrite(new QueuedEvent(what, run));

    /// <summary>No more events: the task ends after those already queued.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Waits for the task unless called from it (then it ends by itself once the queue is drained).</summary>
    public Task WaitAsync() => OnDispatchThread ? Task.CompletedTask : Completion;

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var e))
            {
                Volatile.Write(ref _dispatchThread, Environment.CurrentManagedThreadId);
                try
                {
                    e.Run();
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "{Owner}: a {Event} handler failed", _owner, e.What);
                    _onHandlerError?.Invoke(ex);
                }
                finally
                {
                    Volatile.Write(ref _dispatchThread, 0);
                }
            }
        }
    }

    private readonly record struct QueuedEvent(string What, Action Run);
}
