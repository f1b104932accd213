using System.Text.Json.Nodes;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>
/// oslo.messaging's RPC over the cloud's bus, as Neutron and its agents use it: casts (to a topic, to one server of
/// a topic, or to every listener of a topic) and calls that wait for the answer. Everything goes through Neutron's
/// control exchange, <c>neutron</c>.
/// </summary>
public interface IMessageBus
{
    /// <summary>Whether the bus is connected now; a message sent while it is not fails at once with <see cref="BusUnavailableException"/>.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// Raised when the bus (re)connects: first connection and every recovery. Messages sent while it was down were
    /// not delivered; whoever needs them delivered sends them again. Handlers must return at once.
    /// </summary>
    event Action? Connected;

    /// <summary>A cast to a topic (<paramref name="server"/> null: one of its consumers) or to one server of it.</summary>
    Task CastAsync(string topic, string? server, string method, JsonObject args, string version, CancellationToken cancellationToken);

    /// <summary>A cast to every consumer of a topic (exchange <c>TOPIC_fanout</c>).</summary>
    Task FanoutCastAsync(string topic, string method, JsonObject args, string version, CancellationToken cancellationToken);

    /// <summary>A call to a topic; the answer's <c>result</c>, or <see cref="RemoteCallException"/> / <see cref="TimeoutException"/>.</summary>
    Task<JsonNode?> CallAsync(string topic, string method, JsonObject args, string version, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The bus is not connected (it is being connected or recovered); nothing was sent.</summary>
public sealed class BusUnavailableException(string message) : Exception(message)
{
    public BusUnavailableException()
        : this("the message bus is not connected")
    {
    }

    public BusUnavailableException(string message, Exception innerException)
        : this(message + ": " + innerException?.Message)
    {
    }
}

/// <summary>The remote side of a call raised an exception (oslo's <c>failure</c>).</summary>
public sealed class RemoteCallException : Exception
{
    public RemoteCallException(RemoteError error)
        : base($"remote error {error?.ToString()}") => Error = error!;

    public RemoteCallException()
        : this(new RemoteError("RemoteError", "", ""))
    {
    }

    public RemoteCallException(string message)
        : this(new RemoteError("RemoteError", "", message))
    {
    }

    public RemoteCallException(string message, Exception innerException)
        : base(message, innerException) => Error = new RemoteError("RemoteError", "", message);

    public RemoteError Error { get; }
}
