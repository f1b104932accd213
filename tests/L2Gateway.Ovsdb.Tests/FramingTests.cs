using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using CsCheck;
using L2Gateway.Ovsdb.Protocol;

namespace L2Gateway.Ovsdb.Tests;

public class FramingTests
{
    private static readonly string[] Pieces = ["a", "{", "}", "[", "]", "\"", "\\", " ", "é", "漢", "😀", ":", ",", "\n", "\\u"];

    [Fact]
    public void Splits_at_every_boundary_including_inside_multibyte_utf8_and_escapes()
    {
        var text = """{"method":"echo","params":["}{][ \" \\", "é漢😀", {"x":[1,{"y":"\\\"}"}]}],"id":7} {"id":7,"result":[],"error":null}""";
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var messages = ReadAll([bytes[..cut], bytes[cut..]]);
            Assert.Equal(2, messages.Count);
            Assert.Equal("echo", messages[0].Method);
            Assert.Equal("}{][ \" \\", messages[0].Params[0].GetString());
            Assert.Equal("é漢😀", messages[0].Params[1].GetString());
            Assert.Equal("\\\"}", messages[0].Params[2].GetProperty("x")[1].GetProperty("y").GetString());
            Assert.Equal(JsonRpcMessageKind.Response, messages[1].Kind);
        }
    }

    [Fact]
    public void Several_messages_in_one_read()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"method":"a","params":[],"id":null}{"method":"b","params":[],"id":1}  {"id":1,"result":null,"error":{"error":"x"}}""");
        var messages = ReadAll([bytes]);
        Assert.Equal([JsonRpcMessageKind.Notification, JsonRpcMessageKind.Request, JsonRpcMessageKind.Response], messages.Select(m => m.Kind));
        Assert.True(messages[2].IsError);
    }

    [Fact]
    public void Message_over_the_limit_is_a_protocol_error_even_when_incomplete()
    {
        var splitter = new JsonMessageSplitter(64);
        var seq = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("{\"method\":\"" + new string('x', 100)));
        Assert.Throws<OvsdbProtocolException>(() => splitter.TryReadMessage(ref seq, out _));

        var complete = Encoding.UTF8.GetBytes("{\"method\":\"" + new string('x', 60) + "\",\"params\":[],\"id\":null}");
        Assert.Throws<OvsdbProtocolException>(() => ReadAll([complete], maxSize: 64));
        Assert.Single(ReadAll([complete], maxSize: complete.Length));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("42")]
    [InlineData("{\"method\":\"x\"}")]
    [InlineData("{\"foo\":1}")]
    [InlineData("{\"method\":\"x\",\"params\":[],\"id\":1")]
    [InlineData("{\"a\":\"\\uZZZZ\"}")]
    public void Malformed_input_raises_protocol_exception(string text)
    {
        Assert.Throws<OvsdbProtocolException>(() => ReadAll([Encoding.UTF8.GetBytes(text)]));
    }

    [Fact]
    public void Invalid_utf8_is_a_protocol_error()
    {
        byte[] bytes = [.. "{\"method\":\"x\",\"params\":[\""u8, 0xC3, 0x28, .. "\"],\"id\":1}"u8];
        Assert.Throws<OvsdbProtocolException>(() => ReadAll([bytes]));
    }

    [Fact]
    public void Random_splits_give_back_exactly_the_messages()
    {
        var genString = Gen.OneOf(Pieces).Array[0, 12].Select(p => string.Concat(p));
        var genMessage = Gen.Select(genString, genString, Gen.Long[0, long.MaxValue], Gen.Bool);
        var gen = Gen.Select(genMessage.Array[1, 12], Gen.Int[1, 64].Array[1, 40]);
        gen.Sample((messages, cuts) =>
        {
            var sb = new StringBuilder();
            foreach (var (method, arg, id, spaced) in messages)
            {
                sb.Append($"{{\"method\":{Quote(method)},\"params\":[{Quote(arg)},{{\"k\":[{Quote(arg)}]}}],\"id\":{id}}}");
                if (spaced)
                {
                    sb.Append(" \n");
                }
            }

            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            var chunks = new List<byte[]>();
            var pos = 0;
            foreach (var c in cuts.Cycle())
            {
                if (pos >= bytes.Length)
                {
                    break;
                }

                var n = Math.Min(c, bytes.Length - pos);
                chunks.Add(bytes[pos..(pos + n)]);
                pos += n;
            }

            var got = ReadAll(chunks);
            Assert.Equal(messages.Length, got.Count);
            for (var i = 0; i < got.Count; i++)
            {
                Assert.Equal(messages[i].Item1, got[i].Method);
                Assert.Equal(messages[i].Item2, got[i].Params[0].GetString());
                Assert.Equal(messages[i].Item2, got[i].Params[1].GetProperty("k")[0].GetString());
                Assert.Equal(messages[i].Item3, got[i].Id.GetInt64());
            }
        }, iter: 300);
    }

    [Fact]
    public void Random_garbage_only_ever_raises_protocol_exception()
    {
        var gen = Gen.Select(
            Gen.OneOf(Gen.Byte.Array[0, 300], Gen.OneOf(Pieces).Array[0, 60].Select(p => Encoding.UTF8.GetBytes("{" + string.Concat(p)))),
            Gen.Int[1, 32]);
        gen.Sample((bytes, chunk) =>
        {
            var chunks = bytes.Chunk(chunk).ToList();
            try
            {
                ReadAll(chunks, maxSize: 256);
            }
            catch (OvsdbProtocolException)
            {
            }
        }, iter: 1000);
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var ch in s)
        {
            sb.Append(ch switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                _ => ch.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Feeds chunks through a real Pipe (one flush each) and reads messages until the end.</summary>
    private static List<JsonRpcMessage> ReadAll(IReadOnlyList<byte[]> chunks, long maxSize = 1 << 20)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        foreach (var c in chunks)
        {
            pipe.Writer.Write(c);
            pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
        }

        pipe.Writer.Complete();
        var reader = new JsonRpcReader(pipe.Reader, maxSize);
        var result = new List<JsonRpcMessage>();
        while (true)
        {
            var task = reader.ReadAsync().AsTask();
            if (Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10))).GetAwaiter().GetResult() != task)
            {
                throw new InvalidOperationException("reader hung on a completed pipe");
            }

            if (task.GetAwaiter().GetResult() is not { } m)
            {
                return result;
            }

            result.Add(m);
        }
    }
}

internal static class EnumerableExtensions
{
    public static IEnumerable<T> Cycle<T>(this IReadOnlyList<T> items)
    {
        while (true)
        {
            foreach (var i in items)
            {
                yield return i;
            }
        }
    }
}
