namespace L2Gateway.Ovsdb.Connection;

/// <summary>One whole JSON-RPC message for the <see cref="MessageWriter"/>: bytes serialised already, or a
/// serialiser that writes the message to the socket as it goes (a streamed transaction).</summary>
internal sealed class OutgoingMessage
{
    public OutgoingMessage(ReadOnlyMemory<byte> bytes) => Bytes = bytes;

    public OutgoingMessage(Func<Stream, CancellationToken, Task<long>> streamed) => Streamed = streamed;

    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Writes the whole message (flushing as it goes) and returns how many bytes it wrote.</summary>
    public Func<Stream, CancellationToken, Task<long>>? Streamed { get; }

    /// <summary>Completed once the message is on the socket; faulted when the connection failed first. Null: nobody waits.</summary>
    public TaskCompletionSource? Written { get; set; }

    /// <summary>A message whose token is cancelled before the writer starts it is dropped, never half-sent.</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>Runs on the writer once the message is on the socket.</summary>
    public Action? OnWritten { get; init; }
}
