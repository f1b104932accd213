using System.IO.Pipelines;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>Reads JSON-RPC messages one by one from a <see cref="PipeReader"/>.</summary>
public sealed class JsonRpcReader
{
    private readonly PipeReader _reader;
    private readonly JsonMessageSplitter _splitter;
    private readonly IMonitorLookup? _monitors;
    private readonly UuidDatumCache _uuids = new();

    /// <summary>Reads from <paramref name="reader"/>; a message longer than <paramref name="maxMessageSize"/> bytes is a protocol error.</summary>
    public JsonRpcReader(PipeReader reader, long maxMessageSize)
        : this(reader, maxMessageSize, null)
    {
    }

    /// <summary>A reader that parses the traffic of the monitors <paramref name="monitors"/> knows straight into table updates.</summary>
    internal JsonRpcReader(PipeReader reader, long maxMessageSize, IMonitorLookup? monitors)
    {
        _reader = reader;
        _splitter = new JsonMessageSplitter(maxMessageSize);
        _monitors = monitors;
    }

    /// <summary>The size in bytes of the message <see cref="ReadAsync"/> returned last.</summary>
    public long LastMessageLength { get; private set; }

    /// <summary>Returns the next message, or null at a clean end of stream.</summary>
    public async ValueTask<JsonRpcMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (_monitors is not null && !_splitter.HasPartialMessage
                && MonitorMessageParser.TryParseFirst(ref buffer, _monitors, _uuids, _splitter.MaxMessageSize, out var update, out var length))
            {
                LastMessageLength = length;
                _reader.AdvanceTo(buffer.Start);
                return update;
            }

            if (_splitter.TryReadMessage(ref buffer, out var message))
            {
                JsonRpcMessage parsed;
                LastMessageLength = message.Length;
                try
                {
                    parsed = (_monitors is null ? null : MonitorMessageParser.TryParse(message, _monitors, _uuids)) ?? JsonRpcMessage.Parse(message);
                }
                finally
                {
                    _reader.AdvanceTo(buffer.Start);
                }

                return parsed;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var partial = !buffer.IsEmpty;
                _reader.AdvanceTo(buffer.End);
                if (partial)
                {
                    throw new OvsdbProtocolException("stream ended in the middle of a JSON-RPC message");
                }

                return null;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
