using System.Buffers;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>
/// Finds complete top-level JSON objects in a byte stream. The peer may split messages anywhere and send
/// several in one read. Scanning is resumable: bytes already scanned for a pending message are not
/// scanned again when more data arrives. Only ASCII bytes are structural, so multi-byte UTF-8 sequences
/// split across reads need no special handling here (validity is checked later by the JSON parser).
/// </summary>
public sealed class JsonMessageSplitter
{
    private static readonly SearchValues<byte> Structural = SearchValues.Create("{}[]\""u8);
    private static readonly SearchValues<byte> StringSpecial = SearchValues.Create("\"\\"u8);

    private long _scanned;
    private int _depth;
    private bool _inString;
    private bool _escape;

    /// <summary>A splitter that refuses messages longer than <paramref name="maxMessageSize"/> bytes.</summary>
    public JsonMessageSplitter(long maxMessageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 2);
        MaxMessageSize = maxMessageSize;
    }

    /// <summary>The largest accepted message, in bytes.</summary>
    public long MaxMessageSize { get; }

    /// <summary>True while part of a message has been seen but not its end.</summary>
    public bool HasPartialMessage => _scanned > 0;

    /// <summary>
    /// Tries to cut one complete message off the front of <paramref name="buffer"/>. On return,
    /// <paramref name="buffer"/> starts at the first byte that is not consumed (whitespace between
    /// messages is consumed). Throws <see cref="OvsdbProtocolException"/> on a message larger than
    /// <see cref="MaxMessageSize"/> or a top-level value that is not an object.
    /// </summary>
    public bool TryReadMessage(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        message = default;
        if (_scanned == 0)
        {
            buffer = SkipWhitespace(buffer);
            if (buffer.IsEmpty)
            {
                return false;
            }

            var first = buffer.FirstSpan[0];
            if (first != (byte)'{')
            {
                throw new OvsdbProtocolException($"JSON-RPC message must be an object, got byte 0x{first:x2}");
            }
        }

        var offset = _scanned;
        foreach (var memory in buffer.Slice(_scanned))
        {
            var span = memory.Span;
            var i = 0;
            while (i < span.Length)
            {
                if (_inString)
                {
                    if (_escape)
                    {
                        _escape = false;
                        i++;
                        continue;
                    }

                    var j = span[i..].IndexOfAny(StringSpecial);
                    if (j < 0)
                    {
                        break;
                    }

                    i += j;
                    if (span[i] == (byte)'\\')
                    {
                        _escape = true;
                    }
                    else
                    {
                        _inString = false;
                    }

                    i++;
                }
                else
                {
                    var j = span[i..].IndexOfAny(Structural);
                    if (j < 0)
                    {
                        break;
                    }

                    i += j;
                    var b = span[i++];
                    if (b == (byte)'"')
                    {
                        _inString = true;
                    }
                    else if (b is (byte)'{' or (byte)'[')
                    {
                        _depth++;
                    }
                    else if (--_depth == 0)
                    {
                        var end = offset + i;
                        if (end > MaxMessageSize)
                        {
                            throw TooLarge(end);
                        }

                        message = buffer.Slice(0, end);
                        buffer = buffer.Slice(end);
                        Reset();
                        return true;
                    }
                }
            }

            offset += span.Length;
            if (offset > MaxMessageSize)
            {
                throw TooLarge(offset);
            }
        }

        _scanned = offset;
        return false;
    }

    /// <summary>Forgets a partial message, to start again at a message boundary.</summary>
    public void Reset()
    {
        _scanned = 0;
        _depth = 0;
        _inString = false;
        _escape = false;
    }

    private OvsdbProtocolException TooLarge(long size) =>
        new($"JSON-RPC message exceeds the maximum size of {MaxMessageSize} bytes (at least {size} bytes)");

    internal static ReadOnlySequence<byte> SkipWhitespace(ReadOnlySequence<byte> buffer)
    {
        long skip = 0;
        foreach (var memory in buffer)
        {
            var span = memory.Span;
            var n = span.IndexOfAnyExcept(" \t\r\n"u8);
            if (n >= 0)
            {
                return buffer.Slice(skip + n);
            }

            skip += span.Length;
        }

        return buffer.Slice(buffer.End);
    }
}
