namespace L2Gateway.Ovsdb;

/// <summary>Base class of every error raised by the OVSDB library.</summary>
public class OvsdbException : Exception
{
    /// <inheritdoc/>
    public OvsdbException() { }
    /// <inheritdoc/>
    public OvsdbException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The peer sent bytes that are not valid RFC 7047 JSON-RPC (or a message was too large).</summary>
public class OvsdbProtocolException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbProtocolException() { }
    /// <inheritdoc/>
    public OvsdbProtocolException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbProtocolException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The connection could not be established or was lost; pending calls fail with this.</summary>
public class OvsdbConnectionException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbConnectionException() { }
    /// <inheritdoc/>
    public OvsdbConnectionException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbConnectionException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A call got no reply within its timeout.</summary>
public class OvsdbTimeoutException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbTimeoutException() { }
    /// <inheritdoc/>
    public OvsdbTimeoutException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbTimeoutException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A schema could not be parsed, or an operation does not conform to the schema.</summary>
public class OvsdbSchemaException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbSchemaException() { }
    /// <inheritdoc/>
    public OvsdbSchemaException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbSchemaException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The server answered a JSON-RPC request with a non-null "error".</summary>
public class OvsdbRpcException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbRpcException() { }
    /// <inheritdoc/>
    public OvsdbRpcException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbRpcException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>An error reply to <paramref name="method"/>: its "error" and "details" strings.</summary>
    public OvsdbRpcException(string method, string error, string? details)
        : base($"{method}: {error}{(details is null ? "" : $" ({details})")}")
    {
        Method = method;
        Error = error;
        Details = details;
    }

    /// <summary>The method of the failed request.</summary>
    public string? Method { get; }

    /// <summary>The "error" string of the reply, e.g. "unknown method" or "canceled".</summary>
    public string? Error { get; }

    /// <summary>The "details" string of the reply, if any.</summary>
    public string? Details { get; }
}

/// <summary>A transaction failed: one operation or the commit returned an error.</summary>
public class OvsdbTransactionException : OvsdbException
{
    /// <inheritdoc/>
    public OvsdbTransactionException() { }
    /// <inheritdoc/>
    public OvsdbTransactionException(string message) : base(message) { }
    /// <inheritdoc/>
    public OvsdbTransactionException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>A failed transaction, described by its <paramref name="result"/>.</summary>
    public OvsdbTransactionException(Operations.TransactResult result)
        : base(Describe(result))
    {
        Result = result;
    }

    /// <summary>The reply to the transaction, when the exception came from one.</summary>
    public Operations.TransactResult? Result { get; }

    /// <summary>The RFC 7047 error string, e.g. "constraint violation" or "referential integrity violation".</summary>
    public string? Error => Result?.Error?.Error;

    /// <summary>The RFC 7047 "details" string of the failed operation, if any.</summary>
    public string? Details => Result?.Error?.Details;

    private static string Describe(Operations.TransactResult result)
    {
        var e = result.Error;
        return e is null
            ? "transaction failed"
            : $"transaction failed at operation {e.OperationIndex}: {e.Error}{(e.Details is null ? "" : $": {e.Details}")}";
    }
}
