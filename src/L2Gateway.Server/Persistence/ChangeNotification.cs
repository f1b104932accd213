using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace L2Gateway.Server.Persistence;

/// <summary>A row a committed write stored or removed, by table and key.</summary>
public readonly record struct ChangedRow(string Table, string Id, bool Deleted);

/// <summary>The ids of one table that a write stored (or removed, when <see cref="Deleted"/>).</summary>
public sealed record ChangedIds(string Table, bool Deleted, IReadOnlyList<string> Ids);

/// <summary>
/// One notification as the other servers read it: which server committed, and either the rows it touched or
/// <see cref="Reload"/>, which says "too much changed to list: read everything again".
/// </summary>
public sealed record ChangeNotice(string Server, bool Reload, IReadOnlyList<ChangedIds> Changes);

/// <summary>
/// The payload of the PostgreSQL notifications that tell the other servers what a committed write changed:
/// <c>{"server":ID,"changes":[{"table":T,"deleted":false,"ids":[...]}]}</c>, or <c>{"server":ID,"reload":true}</c>.
/// PostgreSQL refuses a payload of 8000 bytes or more, so a write's rows are split over several notifications
/// (all sent in the write's transaction, so they arrive together at its commit), and a write too large for
/// <see cref="MaxNotifications"/> of them sends one "reload" instead: reading a few thousand rows by id costs
/// less than a reload of every table, many thousands more do not.
/// </summary>
public static class ChangeNotification
{
    /// <summary>The channel every server sends on and listens to.</summary>
    public const string Channel = "l2gw_changes";

    /// <summary>Bytes of one payload at most (PostgreSQL's limit is below 8000).</summary>
    public const int MaxPayloadBytes = 7900;

    /// <summary>Notifications of one write at most; beyond, one "reload" (about 3,000 ids of 36 characters).</summary>
    public const int MaxNotifications = 16;

    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.Default;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = Encoder };

    /// <summary>The payloads that announce <paramref name="rows"/>; none when there are none.</summary>
    public static IReadOnlyList<string> Encode(string server, IEnumerable<ChangedRow> rows)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(rows);
        var groups = rows
            .GroupBy(r => (r.Table, r.Deleted))
            .Select(g => new ChangedIds(g.Key.Table, g.Key.Deleted, [.. g.Select(r => r.Id).Distinct(StringComparer.Ordinal)]))
            .ToList();
        if (groups.Count == 0)
        {
            return [];
        }

        var payloads = new List<string>();
        var header = Length($$"""{"server":,"changes":[]}""") + Quoted(server);
        var current = new List<ChangedIds>();
        var size = header;
        foreach (var group in groups)
        {
            var opening = Length($$"""{"table":,"deleted":{{(group.Deleted ? "true" : "false")}},"ids":[]}""") + Quoted(group.Table);
            var ids = new List<string>();
            void Close()
            {
                if (ids.Count > 0)
                {
                    current.Add(group with { Ids = ids });
                    ids = [];
                }
            }

            foreach (var id in group.Ids)
            {
                var needed = Quoted(id) + (ids.Count > 0 ? 1 : opening + (current.Count > 0 ? 1 : 0));
                if (size + needed > MaxPayloadBytes)
                {
                    Close();
                    if (current.Count == 0)
                    {
                        // One id longer than a notification: nothing but a reload can announce it.
                        return [Reload(server)];
                    }

                    payloads.Add(Write(server, current));
                    current = [];
                    size = header;
                    needed = Quoted(id) + opening;
                    if (size + needed > MaxPayloadBytes)
                    {
                        return [Reload(server)];
                    }
                }

                ids.Add(id);
                size += needed;
            }

            Close();
        }

        payloads.Add(Write(server, current));
        return payloads.Count > MaxNotifications ? [Reload(server)] : payloads;
    }

    /// <summary>The payload that asks every other server to read everything again.</summary>
    public static string Reload(string server)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("server", server);
            writer.WriteBoolean("reload", true);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads a payload; <see cref="FormatException"/> when it is not one of ours.</summary>
    public static ChangeNotice Decode(string payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("server", out var server) || server.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("a change notification needs a server");
            }

            if (root.TryGetProperty("reload", out var reload) && reload.ValueKind == JsonValueKind.True)
            {
                return new ChangeNotice(server.GetString()!, true, []);
            }

            if (!root.TryGetProperty("changes", out var changes) || changes.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("a change notification needs changes or reload");
            }

            var result = new List<ChangedIds>();
            foreach (var change in changes.EnumerateArray())
            {
                if (change.ValueKind != JsonValueKind.Object
                    || !change.TryGetProperty("table", out var table) || table.ValueKind != JsonValueKind.String
                    || !change.TryGetProperty("deleted", out var deleted) || deleted.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                    || !change.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array
                    || ids.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
                {
                    throw new FormatException("a change needs table, deleted and ids");
                }

                result.Add(new ChangedIds(table.GetString()!, deleted.GetBoolean(), [.. ids.EnumerateArray().Select(i => i.GetString()!)]));
            }

            return new ChangeNotice(server.GetString()!, false, result);
        }
        catch (JsonException e)
        {
            throw new FormatException("a change notification is not JSON: " + e.Message, e);
        }
    }

    private static string Write(string server, IReadOnlyList<ChangedIds> changes)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("server", server);
            writer.WriteStartArray("changes");
            foreach (var change in changes)
            {
                writer.WriteStartObject();
                writer.WriteString("table", change.Table);
                writer.WriteBoolean("deleted", change.Deleted);
                writer.WriteStartArray("ids");
                foreach (var id in change.Ids)
                {
                    writer.WriteStringValue(id);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int Length(string text) => System.Text.Encoding.UTF8.GetByteCount(text);

    /// <summary>Bytes of a string as the writer writes it: escaped, in quotes.</summary>
    private static int Quoted(string text) => JsonEncodedText.Encode(text, Encoder).EncodedUtf8Bytes.Length + 2;
}
