using System.Text.Json;
using System.Text.Json.Serialization;

namespace L2Gateway.Core.Planning;

/// <summary>
/// Remote MAC rows on the server-agent wire, grouped by logical switch:
/// <c>[{"logical_switch": LS, "rows": [[MAC, IP, DST_IP], ...]}, ...]</c>. A network of 10,000 ports is one
/// group: its 36-character name is not repeated 10,000 times, nor are the member names, and the agent reads
/// 40 % of the bytes (and keeps one copy of each tunnel IP).
/// </summary>
public sealed class UcastRowsWireForm() : GroupedByLogicalSwitch<DesiredUcastRemote>(3)
{
    protected override string LogicalSwitchOf(DesiredUcastRemote item) => item.LogicalSwitch;

    protected override void WriteFields(Utf8JsonWriter writer, DesiredUcastRemote item)
    {
        writer.WriteStringValue(item.Mac);
        writer.WriteStringValue(item.IpAddress);
        writer.WriteStringValue(item.DstIp);
    }

    protected override DesiredUcastRemote Create(string logicalSwitch, string[] fields, Dictionary<string, string> shared)
    {
        var dst = fields[2];
        if (!shared.TryGetValue(dst, out var one))
        {
            shared[dst] = one = dst;
        }

        return new DesiredUcastRemote(fields[0], fields[1], logicalSwitch, one);
    }
}

/// <summary>Keys of remote MAC rows on the wire, grouped like <see cref="UcastRowsWireForm"/>: rows are <c>[MAC, IP]</c>.</summary>
public sealed class UcastKeysWireForm() : GroupedByLogicalSwitch<DesiredUcastKey>(2)
{
    protected override string LogicalSwitchOf(DesiredUcastKey item) => item.LogicalSwitch;

    protected override void WriteFields(Utf8JsonWriter writer, DesiredUcastKey item)
    {
        writer.WriteStringValue(item.Mac);
        writer.WriteStringValue(item.IpAddress);
    }

    protected override DesiredUcastKey Create(string logicalSwitch, string[] fields, Dictionary<string, string> shared) =>
        new(logicalSwitch, fields[0], fields[1]);
}

/// <summary>A list written as groups of rows of <paramref name="width"/> strings, one group per run of one logical switch.</summary>
public abstract class GroupedByLogicalSwitch<T>(int width) : JsonConverter<IReadOnlyList<T>>
{
    protected abstract string LogicalSwitchOf(T item);

    protected abstract void WriteFields(Utf8JsonWriter writer, T item);

    /// <param name="shared">Strings already read by this call, for values that repeat (one copy each is kept).</param>
    protected abstract T Create(string logicalSwitch, string[] fields, Dictionary<string, string> shared);

    public override IReadOnlyList<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var items = new List<T>();
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        UcastWire.ReadGroups(ref reader, width, (ls, f) => items.Add(Create(ls, f, shared)));
        return items;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<T> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        UcastWire.WriteGroups(writer, value, LogicalSwitchOf, WriteFields);
    }
}

internal static class UcastWire
{
    private static readonly JsonEncodedText LogicalSwitch = JsonEncodedText.Encode("logical_switch");
    private static readonly JsonEncodedText Rows = JsonEncodedText.Encode("rows");

    /// <summary>Consecutive items of one logical switch make a group (a logical switch may come back in a later group).</summary>
    public static void WriteGroups<T>(Utf8JsonWriter writer, IReadOnlyList<T> items, Func<T, string> logicalSwitch, Action<Utf8JsonWriter, T> writeFields)
    {
        writer.WriteStartArray();
        string? current = null;
        for (var i = 0; i < items.Count; i++)
        {
            var ls = logicalSwitch(items[i]);
            if (current is null || !string.Equals(ls, current, StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }

                current = ls;
                writer.WriteStartObject();
                writer.WriteString(LogicalSwitch, ls);
                writer.WriteStartArray(Rows);
            }

            writer.WriteStartArray();
            writeFields(writer, items[i]);
            writer.WriteEndArray();
        }

        if (current is not null)
        {
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>Reads the groups; <paramref name="row"/> gets each row's logical switch and its <paramref name="width"/> fields (the array is reused).</summary>
    public static void ReadGroups(ref Utf8JsonReader reader, int width, Action<string, string[]> row)
    {
        Expect(ref reader, JsonTokenType.StartArray, "an array of groups");
        var fields = new string[width];
        var pending = new List<string[]>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, "a group object");
            string? ls = null;
            pending.Clear();
            var sawRows = false;
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                Expect(ref reader, JsonTokenType.PropertyName, "a property name");
                if (reader.ValueTextEquals("logical_switch"u8))
                {
                    Next(ref reader);
                    Expect(ref reader, JsonTokenType.String, "logical_switch as a string");
                    ls = reader.GetString()!;
                }
                else if (reader.ValueTextEquals("rows"u8))
                {
                    sawRows = true;
                    Next(ref reader);
                    Expect(ref reader, JsonTokenType.StartArray, "rows as an array");
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        Expect(ref reader, JsonTokenType.StartArray, $"a row of {width} strings");
                        for (var f = 0; f < width; f++)
                        {
                            Next(ref reader);
                            Expect(ref reader, JsonTokenType.String, $"a row of {width} strings");
                            fields[f] = reader.GetString()!;
                        }

                        Next(ref reader);
                        Expect(ref reader, JsonTokenType.EndArray, $"a row of {width} strings");
                        if (ls is not null)
                        {
                            row(ls, fields);
                        }
                        else
                        {
                            pending.Add((string[])fields.Clone()); // rows before their logical switch: kept until it is known
                        }
                    }
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }

            if (ls is null || !sawRows)
            {
                throw new JsonException("a group of remote MAC rows needs \"logical_switch\" and \"rows\"");
            }

            foreach (var p in pending)
            {
                row(ls, p);
            }
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("remote MAC rows end early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"remote MAC rows: expected {what}, found {reader.TokenType}");
        }
    }
}
