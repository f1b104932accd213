using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>
/// The process's one connection to the cloud's RabbitMQ, speaking oslo.messaging (see <see cref="OsloWire"/>).
/// <para>
/// Connecting: <see cref="Start"/> connects in the background and keeps trying (1 s, doubling to 30 s) until it
/// succeeds, so a bus that is down at start delays messages, never the process. Once connected, RabbitMQ.Client's
/// automatic recovery takes over: a lost connection is reopened every 5 s with its channels, our queues, bindings
/// and consumers. While the bus is down every send fails at once with <see cref="BusUnavailableException"/>;
/// <see cref="Connected"/> tells senders when to send again.
/// </para>
/// </summary>
public sealed class RabbitBus : IMessageBus, IAsyncDisposable
{
    /// <summary>oslo.messaging's <c>control_exchange</c> for Neutron: topic, not durable, not auto-deleted.</summary>
    public const string ControlExchange = "neutron";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly TransportUrl url;
    private readonly string clientName;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly CancellationTokenSource stopping = new();
    private readonly TaskCompletionSource<IConnection> opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<RpcReply>> pendingCalls = new(StringComparer.Ordinal);

    // Publishing: one channel, one publisher at a time (an AMQP channel is a sequence of frames); the gate is
    // only ever awaited by senders, never taken in a callback.
    private readonly SemaphoreSlim publishing = new(1, 1);
    private bool declaredControlExchange;
    private IChannel? publishChannel;
    private IChannel? replyChannel;
    private Task? running;
    private int disposed;

    /// <summary>The ids of each new message (tests fix them to compare bodies byte for byte).</summary>
    internal Func<MessageIds> NewIds { get; init; } = MessageIds.New;

    public RabbitBus(TransportUrl url, string clientName, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(loggers);
        this.url = url;
        this.clientName = clientName;
        logger = loggers.CreateLogger<RabbitBus>();
        this.time = time ?? TimeProvider.System;
        ReplyQueue = "reply_" + Guid.NewGuid().ToString("N");
    }

    /// <summary>The queue this process's calls are answered on (<c>reply_</c> and 32 hex digits, as oslo names it).</summary>
    public string ReplyQueue { get; }

    public IConnection? Connection => opened.Task.IsCompletedSuccessfully ? opened.Task.Result : null;

    public bool IsConnected => Connection is { IsOpen: true };

    public event Action? Connected;

    /// <summary>Starts connecting in the background; returns at once.</summary>
    public void Start() => running ??= ConnectLoopAsync(stopping.Token);

    /// <summary>Completes with the connection once it has opened the first time.</summary>
    public Task<IConnection> ConnectedAsync(CancellationToken cancellationToken) => opened.Task.WaitAsync(cancellationToken);

    private async Task ConnectLoopAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            UserName = url.Hosts[0].UserName,
            Password = url.Hosts[0].Password,
            VirtualHost = url.VirtualHost,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(5),
            RequestedHeartbeat = TimeSpan.FromSeconds(60),
            ClientProvidedName = clientName,
        };
        var endpoints = url.Hosts.Select(h => new AmqpTcpEndpoint(h.Host, h.Port)).ToList();
        var delay = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            IConnection? connection = null;
            try
            {
                connection = await factory.CreateConnectionAsync(endpoints, clientName, cancellationToken);
                connection.ConnectionShutdownAsync += (_, e) =>
                {
                    if (e.Initiator != ShutdownInitiator.Application)
                    {
                        logger.LogWarning("message bus connection lost ({Reason}); recovering", e.ReplyText);
                    }

                    return Task.CompletedTask;
                };
                connection.RecoverySucceededAsync += (_, _) =>
                {
                    logger.LogInformation("message bus connection recovered");
                    RaiseConnected();
                    return Task.CompletedTask;
                };
                await OpenChannelsAsync(connection, cancellationToken);
                opened.TrySetResult(connection);
                logger.LogInformation("message bus connected: {Url}", url);
                RaiseConnected();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                return;
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                // Unreachable, refused credentials, a node going down mid-handshake: all the same, try again later.
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                logger.LogWarning("message bus {Url} unreachable ({Error}); retrying in {Delay} s", url, e.InnerException?.Message ?? e.Message, delay.TotalSeconds);
                try
                {
                    await Task.Delay(delay, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetry.Ticks));
            }
        }
    }

    private void RaiseConnected()
    {
        try
        {
            Connected?.Invoke();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "a message bus Connected handler failed");
        }
    }

    private async Task OpenChannelsAsync(IConnection connection, CancellationToken cancellationToken)
    {
        publishChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        replyChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);

        // oslo declares reply queues durable=false, auto_delete=false with x-expires; exclusive + auto-delete works
        // the same for neutron-server (it publishes to the default exchange by the queue's name) and leaves nothing
        // behind when this process goes.
        await replyChannel.QueueDeclareAsync(ReplyQueue, durable: false, exclusive: true, autoDelete: true, arguments: null, cancellationToken: cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(replyChannel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            OnReply(delivery.Body.Span);
            return Task.CompletedTask;
        };
        await replyChannel.BasicConsumeAsync(ReplyQueue, autoAck: true, consumer, cancellationToken);
    }

    private void OnReply(ReadOnlySpan<byte> body)
    {
        RpcReply? reply;
        try
        {
            reply = OsloWire.ParseReply(body);
        }
        catch (FormatException e)
        {
            logger.LogWarning("ignored a malformed reply on {Queue}: {Error}", ReplyQueue, e.Message);
            return;
        }

        // Unknown id: a reply to a call that timed out, or the empty "ending" message an old peer sends after the
        // result, which the first message already completed.
        if (reply is not null && pendingCalls.TryRemove(reply.MessageId, out var pending))
        {
            pending.TrySetResult(reply);
        }
    }

    public Task CastAsync(string topic, string? server, string method, JsonObject args, string version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var body = OsloWire.Cast(method, args, version, NewIds(), time.GetUtcNow());
        return PublishAsync(ControlExchange, null, server is null ? topic : $"{topic}.{server}", body, null, cancellationToken);
    }

    public Task FanoutCastAsync(string topic, string method, JsonObject args, string version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var body = OsloWire.Cast(method, args, version, NewIds(), time.GetUtcNow());
        return PublishAsync(topic + "_fanout", ExchangeType.Fanout, "", body, null, cancellationToken);
    }

    public async Task<JsonNode?> CallAsync(string topic, string method, JsonObject args, string version, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var messageId = Guid.NewGuid().ToString("N");
        var body = OsloWire.Call(method, args, version, messageId, ReplyQueue, NewIds(), time.GetUtcNow());
        var pending = new TaskCompletionSource<RpcReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        pendingCalls[messageId] = pending;
        try
        {
            var expiration = ((long)timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await PublishAsync(ControlExchange, null, topic, body, expiration, cancellationToken);
            RpcReply reply;
            try
            {
                reply = await pending.Task.WaitAsync(timeout, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no reply to {method} on {topic} within {timeout.TotalSeconds:0.###} s");
            }

            return reply.Failure is { } failure ? throw new RemoteCallException(failure) : reply.Result;
        }
        finally
        {
            pendingCalls.TryRemove(messageId, out _);
        }
    }

    /// <summary>
    /// Publishes one body with oslo's properties. <paramref name="exchangeType"/> non-null: the exchange is declared
    /// first with oslo's flags for that kind (fanout: not durable, auto-deleted); the control exchange with
    /// Neutron's (topic, not durable, not auto-deleted), once per channel.
    /// </summary>
    private async Task PublishAsync(string exchange, string? exchangeType, string routingKey, byte[] body, string? expiration, CancellationToken cancellationToken)
    {
        if (!IsConnected || Connection is not { } connection)
        {
            throw new BusUnavailableException($"the message bus ({url}) is not connected");
        }

        var properties = new BasicProperties
        {
            ContentType = OsloWire.ContentType,
            ContentEncoding = OsloWire.ContentEncoding,
            DeliveryMode = DeliveryModes.Persistent,
            Priority = 0,
            Expiration = expiration,
        };
        await publishing.WaitAsync(cancellationToken);
        try
        {
            // A channel the broker closed (a refused declaration) is not recovered with the connection: replace it.
            if (publishChannel is not { IsOpen: true })
            {
                if (publishChannel is not null)
                {
                    await publishChannel.DisposeAsync();
                }

                publishChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                declaredControlExchange = false;
            }

            var channel = publishChannel;
            if (exchange == ControlExchange)
            {
                if (!declaredControlExchange)
                {
                    await channel.ExchangeDeclareAsync(ControlExchange, ExchangeType.Topic, durable: false, autoDelete: false, cancellationToken: cancellationToken);
                    declaredControlExchange = true;
                }
            }
            else
            {
                // Declared before every publish, as kombu does: a fanout exchange is auto-deleted when its last queue
                // goes (every agent stopped), and publishing to a missing exchange would close the channel.
                await channel.ExchangeDeclareAsync(exchange, exchangeType ?? ExchangeType.Topic, durable: false, autoDelete: exchangeType == ExchangeType.Fanout, cancellationToken: cancellationToken);
            }

            await channel.BasicPublishAsync(exchange, routingKey, mandatory: false, properties, body, cancellationToken);
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException)
        {
            declaredControlExchange = false;
            throw new BusUnavailableException($"publishing to {exchange} failed", e);
        }
        finally
        {
            publishing.Release();
        }
    }

    /// <summary>A new channel on the bus's connection, for a consumer of its own (the notification feed).</summary>
    internal async Task<IChannel> CreateChannelAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectedAsync(cancellationToken);
        return await connection.CreateChannelAsync(cancellationToken: cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed once, whoever holds it under which name.
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        await stopping.CancelAsync();
        if (running is not null)
        {
            await running;
        }

        foreach (var pending in pendingCalls.Values)
        {
            pending.TrySetCanceled();
        }

        if (Connection is { } connection)
        {
            try
            {
                await connection.CloseAsync();
            }
            catch (Exception e) when (e is AlreadyClosedException or IOException or OperationInterruptedException)
            {
            }

            await connection.DisposeAsync();
        }

        stopping.Dispose();
        publishing.Dispose();
    }
}
