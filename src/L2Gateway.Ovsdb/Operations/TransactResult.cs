using System.Text.Json;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Operations;

/// <summary>The error an operation (or the commit) returned: "error" and optional "details".</summary>
public sealed record OperationError(int OperationIndex, string Error, string? Details);

/// <summary>The result of one operation: "uuid" for insert, "rows" for select, "count" for update/mutate/delete.</summary>
public sealed record OperationResult(Guid? Uuid, IReadOnlyList<Row>? Rows, long? Count, OperationError? Error);

/// <summary>
/// The reply to "transact". <see cref="Operations"/> is parallel to the request; entries after an error are null.
/// An error at index == request length is a commit failure (RFC 7047 section 4.1.3).
/// </summary>
public sealed class TransactResult
{
    /// <summary>A result from the per-operation <paramref name="operations"/> and the first <paramref name="error"/>, if any.</summary>
    public TransactResult(IReadOnlyList<OperationResult?> operations, OperationError? error)
    {
        Operations = operations;
        Error = error;
    }

    /// <summary>One result per operation of the request; null after an error.</summary>
    public IReadOnlyList<OperationResult?> Operations { get; }

    /// <summary>The first error: of an operation, or of the commit (index == request length); null on success.</summary>
    public OperationError? Error { get; }

    /// <summary>Whether every operation and the commit succeeded.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The uuid assigned by the insert at <paramref name="index"/>.</summary>
    public Guid InsertedUuid(int index) =>
        Operations[index]?.Uuid ?? throw new InvalidOperationException($"operation {index} returned no uuid");

    /// <summary>This result, or <see cref="OvsdbTransactionException"/> if it failed.</summary>
    public TransactResult EnsureSuccess() => Succeeded ? this : throw new OvsdbTransactionException(this);

    internal static TransactResult Parse(JsonElement result, IReadOnlyList<Operation> request, DatabaseSchema? schema)
    {
        if (result.ValueKind != JsonValueKind.Array)
        {
            throw new OvsdbProtocolException("transact result is not an array");
        }

        var ops = new List<OperationResult?>();
        OperationError? firstError = null;
        var index = 0;
        foreach (var e in result.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Null)
            {
                ops.Add(null);
                index++;
                continue;
            }

            if (e.ValueKind != JsonValueKind.Object)
            {
                throw new OvsdbProtocolException("transact result element is not an object");
            }

            OperationError? error = null;
            if (e.TryGetProperty("error", out var err) && err.ValueKind != JsonValueKind.Null)
            {
                var details = e.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                error = new OperationError(index, err.ValueKind == JsonValueKind.String ? err.GetString()! : err.GetRawText(), details);
                firstError ??= error;
            }

            Guid? uuid = e.TryGetProperty("uuid", out var u) ? OvsdbAtom.Parse(u, AtomKind.Uuid).AsUuid() : null;
            long? count = e.TryGetProperty("count", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt64() : null;
            List<Row>? rows = null;
            if (e.TryGetProperty("rows", out var r) && r.ValueKind == JsonValueKind.Array)
            {
                TableSchema? table = null;
                if (index < request.Count && request[index].Table is { } tn)
                {
                    schema?.Tables.TryGetValue(tn, out table);
                }

                rows = [.. r.EnumerateArray().Select(x => Row.Parse(x, table))];
            }

            ops.Add(new OperationResult(uuid, rows, count, error));
            index++;
        }

        return new TransactResult(ops, firstError);
    }
}
