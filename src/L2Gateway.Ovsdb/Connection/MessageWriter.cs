using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace L2Gateway.Ovsdb.Connection;

/// <summary>
/// The only writer of a connection's socket: one task takes whole messages from two lanes and writes them one
/// after the other. The control lane (echo replies and probes, lock/steal/unlock) is always served first, so a
/// control message waits at most for the one message already being written, never for the bulk queued behind
/// it. A message is never interleaved with another: OVSDB framing is whole JSON texts on one byte stream.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The semaphore never hands out a wait handle; a sender racing the close may still release it.")]
internal sealed class MessageWriter
{
    /// <summary>Large messages go through one buffer of this size; streamed ones are flushed at this size.</summary>
    public const int Chunk = 64 * 1024;

    private readonly Stream _stream;
    private readonly ConcurrentQueue<OutgoingMessage> _control = new();
    private readonly ConcurrentQueue<OutgoingMessage> _bulk = new();
    private readonly SemaphoreSlim _queued = new(0);
    private readonly Func<Exception, Exception> _failed;
    private readonly Func<Exception> _closedError;
    private readonly OvsdbMetrics? _metrics;
    private readonly KeyValuePair<string, object?> _tag;
    private byte[]? _chunk;
    private int _stopped;

    /// <param name="stream">The connection's stream; only this writer writes to it.</param>
    /// <param name="failed">Called once when a write fails: closes the connection and returns the error for the senders.</param>
    /// <param name="closedError">The error a message gets when the connection is closed before it is written.</param>
    /// <param name="metrics">Where sent messages and bytes are counted, if anywhere.</param>
    /// <param name="tag">The connection's tag on those measurements.</param>
    public MessageWriter(Stream stream, Func<Exception, Exception> failed, Func<Exception> closedError, OvsdbMetrics? metrics, KeyValuePair<string, object?> tag)
    {
        _stream = stream;
        _failed = failed;
        _closedError = closedError;
        _metrics = metrics;
        _tag = tag;
    }

    /// <summary>Queues a message; <paramref name="control"/> puts it ahead of every bulk message not yet started.</summary>
    public void Enqueue(OutgoingMessage message, bool control)
    {
        (control ? _control : _bulk).Enqueue(message);
        _queued.Release();

        // The writer stopped before it could see this message: it gets the close error here instead.
        if (Volatile.Read(ref _stopped) != 0)
        {
            FailQueued();
        }
    }

    /// <summary>Runs until the connection closes; never throws.</summary>
    public async Task RunAsync(CancellationToken closing)
    {
        try
        {
            while (true)
            {
                await _queued.WaitAsync(closing).ConfigureAwait(false);
                if (!_control.TryDequeue(out var message) && !_bulk.TryDequeue(out message))
                {
                    continue;
                }

                if (!await WriteAsync(message, closing).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
        }
        finally
        {
            Interlocked.Exchange(ref _stopped, 1);
            FailQueued();
        }
    }

    private async Task<bool> WriteAsync(OutgoingMessage message, CancellationToken closing)
    {
        if (message.Cancellation.IsCancellationRequested)
        {
            message.Written?.TrySetCanceled(message.Cancellation);
            return true;
        }

        long bytes;
        try
        {
            if (message.Streamed is { } streamed)
            {
                bytes = await streamed(_stream, closing).ConfigureAwait(false);
            }
            else
            {
                bytes = message.Bytes.Length;
                await WriteBytesAsync(message.Bytes, closing).ConfigureAwait(false);
            }

            await _stream.FlushAsync(closing).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Part of the message may be on the wire: the connection cannot carry another one.
            message.Written?.TrySetException(_failed(ex));
            return false;
        }

        _metrics?.Sent(bytes, _tag);
        message.OnWritten?.Invoke();
        message.Written?.TrySetResult();
        return true;
    }

    private async Task WriteBytesAsync(ReadOnlyMemory<byte> bytes, CancellationToken closing)
    {
        if (bytes.Length <= Chunk)
        {
            await _stream.WriteAsync(bytes, closing).ConfigureAwait(false);
            return;
        }

        // A socket keeps a reference to the last buffer it sent; passing it a 30 MB message whole would keep that
        // message alive until the next send. Large messages go through one small buffer.
        _chunk ??= new byte[Chunk];
        for (var offset = 0; offset < bytes.Length; offset += Chunk)
        {
            var part = bytes.Slice(offset, Math.Min(Chunk, bytes.Length - offset));
            part.CopyTo(_chunk);
            await _stream.WriteAsync(_chunk.AsMemory(0, part.Length), closing).ConfigureAwait(false);
        }
    }

    private void FailQueued()
    {
        Exception? error = null;
        while (_control.TryDequeue(out var message) || _bulk.TryDequeue(out message))
        {
            message.Written?.TrySetException(error ??= _closedError());
        }
    }
}
