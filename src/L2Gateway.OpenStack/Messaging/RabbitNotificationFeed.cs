using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>
/// Neutron's notifications from the bus: each reader gets a queue of its own (<c>l2gw-notifications-</c> and 32 hex
/// digits; exclusive, auto-deleted) bound to exchange <c>neutron</c> with key <c>notifications.info</c>, where
/// Neutron's <c>messagingv2</c> notifier publishes. The queue named <c>notifications.info</c> is never read: it
/// belongs to whoever else consumes notifications (telemetry). A reader sees what is published while its queue
/// exists; what is published while the bus is down is lost (notifications are a hint, see <see cref="INotificationFeed"/>).
/// </summary>
public sealed class RabbitNotificationFeed(RabbitBus bus, ILoggerFactory loggers) : INotificationFeed
{
    public const string Topic = "notifications.info";

    private readonly ILogger logger = loggers.CreateLogger<RabbitNotificationFeed>();

    /// <summary>Set once the reader's queue is bound (tests wait for it before they trigger a notification).</summary>
    public event Action<string>? Bound;

    public async IAsyncEnumerable<NeutronNotification> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var queue = "l2gw-notifications-" + Guid.NewGuid().ToString("N");
        var arrived = Channel.CreateUnbounded<NeutronNotification>(new UnboundedChannelOptions { SingleReader = true });
        var channel = await bus.CreateChannelAsync(cancellationToken);
        try
        {
            await channel.ExchangeDeclareAsync(RabbitBus.ControlExchange, ExchangeType.Topic, durable: false, autoDelete: false, cancellationToken: cancellationToken);
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: true, autoDelete: true, arguments: null, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(queue, RabbitBus.ControlExchange, Topic, cancellationToken: cancellationToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                try
                {
                    arrived.Writer.TryWrite(OsloWire.ParseNotification(delivery.Body.Span));
                }
                catch (FormatException e)
                {
                    logger.LogWarning("ignored a malformed notification: {Error}", e.Message);
                }

                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue, autoAck: true, consumer, cancellationToken);
            Bound?.Invoke(queue);
            while (await arrived.Reader.WaitToReadAsync(cancellationToken))
            {
                while (arrived.Reader.TryRead(out var notification))
                {
                    yield return notification;
                }
            }
        }
        finally
        {
            // Closing the channel cancels the consumer; the auto-delete queue goes with it.
            try
            {
                await channel.CloseAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or IOException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
            }

            await channel.DisposeAsync();
        }
    }
}
