using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;

namespace L2Gateway.OpenStack.Tests;

/// <summary>The bus against the lab's real RabbitMQ and neutron-server; every queue and topic is the test's own.</summary>
public sealed class BusTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static RabbitBus NewBus(TimeProvider? time = null, MessageIds? ids = null, string? url = null) =>
        new(TransportUrl.Parse(url ?? OpenStackLab.RabbitUrl), "l2gw-test", NullLoggerFactory.Instance, time) { NewIds = ids is null ? MessageIds.New : () => ids };

    private static async Task<RabbitBus> ConnectedBusAsync(TimeProvider? time = null, MessageIds? ids = null)
    {
        var bus = NewBus(time, ids);
        bus.Start();
        await bus.ConnectedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return bus;
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static void AssertOsloProperties(Received message)
    {
        Assert.Equal("application/json", message.Properties.ContentType);
        Assert.Equal("utf-8", message.Properties.ContentEncoding);
        Assert.Equal(DeliveryModes.Persistent, message.Properties.DeliveryMode);
        Assert.Equal(0, message.Properties.Priority);
    }

    [Fact]
    public async Task A_cast_to_a_topic_arrives_byte_for_byte_in_oslo_format()
    {
        var topic = Unique("l2gw-test-topic");
        var ids = MessageIds.New();
        var clock = new ManualClock(Start);
        await using var queue = await LabQueue.BindAsync((RabbitBus.ControlExchange, topic), (RabbitBus.ControlExchange, topic + ".host-a"));
        await using var bus = await ConnectedBusAsync(clock, ids);
        var args = new JsonObject { ["hostname"] = "host-a", ["n"] = 1 };

        await bus.CastAsync(topic, null, "set_monitor_agent", args, "1.0", CancellationToken.None);
        await bus.CastAsync(topic, "host-a", "set_monitor_agent", args, "1.0", CancellationToken.None);

        var toTopic = await queue.NextAsync(m => m.RoutingKey == topic);
        Assert.Equal(RabbitBus.ControlExchange, toTopic.Exchange);
        Assert.Equal(OsloWire.Cast("set_monitor_agent", args, "1.0", ids, Start), toTopic.Body);
        AssertOsloProperties(toTopic);
        Assert.Null(toTopic.Properties.Expiration);
        var toServer = await queue.NextAsync(m => m.RoutingKey == topic + ".host-a");
        Assert.Equal(toTopic.Body, toServer.Body);
    }

    [Fact]
    public async Task A_fanout_cast_goes_to_the_topics_fanout_exchange()
    {
        var topic = Unique("l2gw-test-fanout");
        var ids = MessageIds.New();
        var clock = new ManualClock(Start);
        await using var bus = await ConnectedBusAsync(clock, ids);

        // The exchange oslo declares for a fanout topic, with its flags (a mismatch would close the channel).
        await using var queue = await LabQueue.BindAsync();
        await queue.Channel.ExchangeDeclareAsync(topic + "_fanout", ExchangeType.Fanout, durable: false, autoDelete: true);
        await queue.Channel.QueueBindAsync(queue.Name, topic + "_fanout", "");
        var args = new JsonObject { ["fdb_entries"] = new JsonObject() };

        await bus.FanoutCastAsync(topic, "add_fdb_entries", args, "1.0", CancellationToken.None);

        var message = await queue.NextAsync(_ => true);
        Assert.Equal(topic + "_fanout", message.Exchange);
        Assert.Equal("", message.RoutingKey);
        Assert.Equal(OsloWire.Cast("add_fdb_entries", args, "1.0", ids, Start), message.Body);
        AssertOsloProperties(message);
    }

    [Fact]
    public async Task A_publish_the_broker_refuses_fails_alone_and_the_next_one_goes_out()
    {
        var topic = Unique("l2gw-test-refused");
        await using var queue = await LabQueue.BindAsync((RabbitBus.ControlExchange, topic));

        // An exchange of that name with other flags than oslo's: the broker closes the channel that declares it.
        await queue.Channel.ExchangeDeclareAsync(topic + "_fanout", ExchangeType.Fanout, durable: true, autoDelete: false);
        try
        {
            await using var bus = await ConnectedBusAsync();

            await Assert.ThrowsAsync<BusUnavailableException>(() => bus.FanoutCastAsync(topic, "m", [], "1.0", CancellationToken.None));
            await bus.CastAsync(topic, null, "next", [], "1.0", CancellationToken.None);

            await queue.NextAsync(m => OsloWire.Open(m.Body)["method"]!.GetValue<string>() == "next");
        }
        finally
        {
            await queue.Channel.ExchangeDeleteAsync(topic + "_fanout");
        }
    }

    [Fact]
    public async Task A_call_of_report_state_is_answered_by_neutron_server()
    {
        var host = Unique("l2gw-bus-test");
        await using var bus = await ConnectedBusAsync();
        JsonObject Report(bool start) => new()
        {
            ["agent_state"] = new JsonObject
            {
                ["agent_state"] = new JsonObject
                {
                    ["binary"] = "neutron-l2gateway-agent",
                    ["host"] = host,
                    ["topic"] = "l2gateway_agent",
                    ["configurations"] = new JsonObject { ["report_interval"] = 30.0, ["switches"] = new JsonArray("tor-a") },
                    ["start_flag"] = start,
                    ["agent_type"] = "L2 Gateway agent",
                    ["uuid"] = Guid.NewGuid().ToString(),
                },
            },
            ["time"] = OsloWire.AgentTime(DateTimeOffset.UtcNow),
        };

        try
        {
            var first = await bus.CallAsync("q-reports-plugin", "report_state", Report(true), "1.2", TimeSpan.FromSeconds(30), CancellationToken.None);
            var second = await bus.CallAsync("q-reports-plugin", "report_state", Report(false), "1.2", TimeSpan.FromSeconds(30), CancellationToken.None);

            Assert.Equal("new", first!.GetValue<string>());
            Assert.Equal("alive", second!.GetValue<string>());
        }
        finally
        {
            var id = await OpenStackLab.OpenStackAsync("admin", "network", "agent", "list", "--host", host, "-f", "value", "-c", "ID");
            if (id.Length > 0)
            {
                await OpenStackLab.OpenStackAsync("admin", "network", "agent", "delete", id);
            }
        }
    }

    [Fact]
    public async Task A_remote_error_comes_back_as_the_servers_exception()
    {
        await using var bus = await ConnectedBusAsync();

        var error = await Assert.ThrowsAsync<RemoteCallException>(
            () => bus.CallAsync("q-reports-plugin", "l2gw_no_such_method", [], "1.2", TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Equal("NoSuchMethod", error.Error.ExceptionType);
    }

    [Fact]
    public async Task A_call_nobody_answers_times_out_on_the_bus_clock()
    {
        var clock = new ManualClock(Start);
        await using var bus = await ConnectedBusAsync(clock);

        var call = bus.CallAsync(Unique("l2gw-test-nobody"), "ping", [], "1.0", TimeSpan.FromSeconds(7), CancellationToken.None);
        await clock.ArmedAsync(TimeSpan.FromSeconds(7));
        clock.Advance(TimeSpan.FromSeconds(7));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => call);
        Assert.Contains("no reply to ping", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_created_with_the_openstack_client_arrives_as_port_create_end()
    {
        var name = Unique("l2gw-bus-feed");
        await using var bus = await ConnectedBusAsync();
        var feed = new RabbitNotificationFeed(bus, NullLoggerFactory.Instance);
        var bound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        feed.Bound += _ => bound.TrySetResult();
        using var reading = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var arrived = Task.Run(async () =>
        {
            await foreach (var notification in feed.ReadAllAsync(reading.Token))
            {
                if (notification.EventType == "port.create.end" && notification.Payload.GetProperty("port").GetProperty("name").GetString() == name)
                {
                    return notification;
                }
            }

            throw new InvalidOperationException("the feed ended");
        });
        await bound.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var network = await LabNetwork.CreateAsync(name);
        try
        {
            var portId = await OpenStackLab.OpenStackAsync("admin", "port", "create", "--network", network.Id, name, "-f", "value", "-c", "id");

            var notification = await arrived.WaitAsync(TimeSpan.FromMinutes(2));

            Assert.Equal(portId, notification.Payload.GetProperty("port").GetProperty("id").GetString());
            Assert.Equal(network.Id, notification.Payload.GetProperty("port").GetProperty("network_id").GetString());
            Assert.NotNull(notification.Timestamp);
            await OpenStackLab.OpenStackAsync("admin", "port", "delete", portId);
        }
        finally
        {
            await reading.CancelAsync();
            await network.DeleteAsync();
        }
    }

    [Fact]
    public async Task A_bus_down_at_start_and_cut_later_comes_back_by_itself()
    {
        var url = TransportUrl.Parse(OpenStackLab.RabbitUrl);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, url.Hosts[0].Port));
        var topic = Unique("l2gw-test-recover");
        await using var queue = await LabQueue.BindAsync((RabbitBus.ControlExchange, topic));
        await using var bus = NewBus(url: $"rabbit://guest:guest@127.0.0.1:{relay.Port}/");
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bus.Connected += () => connected.TrySetResult();

        bus.Start();
        await Assert.ThrowsAsync<BusUnavailableException>(() => bus.CastAsync(topic, null, "m", [], "1.0", CancellationToken.None));
        relay.Open();
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(90));
        await bus.CastAsync(topic, null, "first", [], "1.0", CancellationToken.None);
        await queue.NextAsync(m => OsloWire.Open(m.Body)["method"]!.GetValue<string>() == "first");

        connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        relay.Cut();
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(90));
        await bus.CastAsync(topic, null, "after-recovery", [], "1.0", CancellationToken.None);
        await queue.NextAsync(m => OsloWire.Open(m.Body)["method"]!.GetValue<string>() == "after-recovery");

        // The reply queue and its consumer came back too: a call is answered.
        await Assert.ThrowsAsync<RemoteCallException>(
            () => bus.CallAsync("q-reports-plugin", "l2gw_no_such_method", [], "1.2", TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task Sending_while_the_bus_is_unreachable_fails_at_once_and_the_process_goes_on()
    {
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, 1));
        await using var bus = NewBus(url: $"rabbit://guest:guest@127.0.0.1:{relay.Port}/");
        bus.Start();

        var error = await Assert.ThrowsAsync<BusUnavailableException>(
            () => bus.FanoutCastAsync("q-agent-notifier-l2population-update", "add_fdb_entries", [], "1.0", CancellationToken.None));

        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("guest:guest", error.Message, StringComparison.Ordinal);
        Assert.False(bus.IsConnected);
    }
}
