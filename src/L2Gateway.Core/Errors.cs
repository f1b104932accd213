namespace L2Gateway.Core;

/// <summary>HTTP-meaningful class of a rejected request.</summary>
public enum ErrorKind
{
    BadRequest = 400,
    Unauthorized = 401,
    Forbidden = 403,
    NotFound = 404,
    Conflict = 409,
    PayloadTooLarge = 413,
    ServiceUnavailable = 503,
}

/// <summary>
/// A request the product refuses. <see cref="Type"/> is the Neutron exception name the
/// reference uses for the same case, so clients that match on it keep working.
/// </summary>
public sealed class L2GatewayException : Exception
{
    public L2GatewayException(ErrorKind kind, string type, string message)
        : base(message)
    {
        Kind = kind;
        Type = type;
    }

    public L2GatewayException()
        : this(ErrorKind.BadRequest, "BadRequest", "Bad request")
    {
    }

    public L2GatewayException(string message)
        : this(ErrorKind.BadRequest, "BadRequest", message)
    {
    }

    public L2GatewayException(string message, Exception innerException)
        : this(ErrorKind.BadRequest, "BadRequest", message, innerException)
    {
    }

    public L2GatewayException(ErrorKind kind, string type, string message, Exception? innerException)
        : base(message, innerException)
    {
        Kind = kind;
        Type = type;
    }

    public ErrorKind Kind { get; }

    public string Type { get; }

    public static L2GatewayException InvalidInput(string message) =>
        new(ErrorKind.BadRequest, "InvalidInput", "Invalid input for operation: " + message);

    public static L2GatewayException NotFound(string type, string message) =>
        new(ErrorKind.NotFound, type, message);

    public static L2GatewayException Conflict(string type, string message) =>
        new(ErrorKind.Conflict, type, message);

    public static L2GatewayException Conflict(string type, string message, Exception cause) =>
        new(ErrorKind.Conflict, type, message, cause);
}
