using System.Text.Json;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>
/// One notification Neutron published on the bus (<c>[oslo_messaging_notifications] driver = messagingv2</c>):
/// <c>port.create.end</c>, <c>network.delete.end</c> and so on, with the payload as Neutron sent it.
/// </summary>
public sealed record NeutronNotification(string EventType, JsonElement Payload, DateTimeOffset? Timestamp);

/// <summary>
/// Neutron's notifications as they arrive. A reader sees only what arrives while it reads: notifications are a hint
/// that something changed, never the only source of truth (the catalog also polls and reads everything periodically).
/// </summary>
public interface INotificationFeed
{
    IAsyncEnumerable<NeutronNotification> ReadAllAsync(CancellationToken cancellationToken);
}
