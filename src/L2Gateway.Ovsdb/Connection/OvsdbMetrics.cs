using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace L2Gateway.Ovsdb.Connection;

/// <summary>
/// The library's instruments on the meter "L2Gateway.Ovsdb", created from the <see cref="IMeterFactory"/> of the
/// options (one set per factory); every measurement carries the connection's endpoint as "server.address".
/// </summary>
internal sealed class OvsdbMetrics
{
    public const string MeterName = "L2Gateway.Ovsdb";

    private static readonly ConditionalWeakTable<IMeterFactory, OvsdbMetrics> ByFactory = [];

    private readonly Counter<long> _messagesSent;
    private readonly Counter<long> _messagesReceived;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _requestsInFlight;

    private OvsdbMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(MeterName);
        _messagesSent = meter.CreateCounter<long>("ovsdb.client.messages.sent", "{message}", "JSON-RPC messages written to the socket");
        _messagesReceived = meter.CreateCounter<long>("ovsdb.client.messages.received", "{message}", "JSON-RPC messages read from the socket");
        _bytesSent = meter.CreateCounter<long>("ovsdb.client.bytes.sent", "By", "Bytes of JSON-RPC messages written");
        _bytesReceived = meter.CreateCounter<long>("ovsdb.client.bytes.received", "By", "Bytes of JSON-RPC messages read");
        _errors = meter.CreateCounter<long>("ovsdb.client.errors", "{error}", "Errors by error.type: protocol, disconnect, timeout, handler");
        _requestsInFlight = meter.CreateUpDownCounter<long>("ovsdb.client.requests.in_flight", "{request}", "Requests sent or queued and not yet answered");
    }

    public static OvsdbMetrics? For(IMeterFactory? factory) => factory is null ? null : ByFactory.GetValue(factory, f => new OvsdbMetrics(f));

    public void Sent(long bytes, KeyValuePair<string, object?> endpoint)
    {
        _messagesSent.Add(1, endpoint);
        _bytesSent.Add(bytes, endpoint);
    }

    public void Received(long bytes, KeyValuePair<string, object?> endpoint)
    {
        _messagesReceived.Add(1, endpoint);
        _bytesReceived.Add(bytes, endpoint);
    }

    public void Error(string type, KeyValuePair<string, object?> endpoint) =>
        _errors.Add(1, endpoint, new KeyValuePair<string, object?>("error.type", type));

    public void InFlight(int delta, KeyValuePair<string, object?> endpoint) => _requestsInFlight.Add(delta, endpoint);
}
