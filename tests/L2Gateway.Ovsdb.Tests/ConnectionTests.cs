using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace L2Gateway.Ovsdb.Tests;

/// <summary>
/// The connection's tasks (docs/design.md, "The OVSDB connection"): subscriber code runs off the read loop,
/// control messages go ahead of queued bulk sends, failures in subscribers are logged, metrics are counted and
/// every timer runs on the options' clock.
/// </summary>
public class ConnectionTests(OvsdbServerFixture fixture) : IClassFixture<OvsdbServerFixture>
{
    private const string Db = "hardware_vtep";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private readonly OvsdbServer _server = fixture.Server;

    [Fact]
    public async Task Echo_reply_goes_ahead_of_bulk_messages_queued_before_it()
    {
        await using var peer = await FakePeer.StartAsync();
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = OvsdbClient.FromStream(peer.ClientStream, "fake", new OvsdbClientOptions { InactivityProbe = TimeSpan.Zero });
        client.LockAcquired += (_, _) => locked.TrySetResult();

        // Four 2 MB messages: the peer reads nothing yet, so the first one stalls in the socket and the others queue.
        const int Bulk = 4;
        var sends = Enumerable.Range(0, Bulk).Select(i => client.SendRawAsync(BulkMessage(i, 2 << 20))).ToArray();

        // The server probes us; "locked" right behind it tells us (through an event) that the probe has been read.
        await peer.SendAsync("""{"method":"echo","params":["probe"],"id":"e1"}""" + """{"method":"locked","params":["l"],"id":null}""");
        await locked.Task.WaitAsync(Generous);

        var order = new List<string>();
        for (var i = 0; i < Bulk + 1; i++)
        {
            var m = (await peer.ReadAsync().WaitAsync(Generous))!;
            order.Add(m.Kind == JsonRpcMessageKind.Response ? "echo-reply" : $"bulk-{m.Params[0].GetInt32()}");
        }

        await Task.WhenAll(sends).WaitAsync(Generous);

        // At most the message already being written when the probe came goes before the reply.
        var at = order.IndexOf("echo-reply");
        Assert.True(at <= 1, $"echo reply written at position {at}: {string.Join(", ", order)}");
        Assert.Equal(Enumerable.Range(0, Bulk).Select(i => $"bulk-{i}"), order.Where(o => o != "echo-reply"));
        Assert.Equal(1, client.EchoRequestsAnswered);
    }

    [Fact]
    public async Task A_blocked_lock_handler_does_not_stop_replies()
    {
        var name = "lock_" + Guid.NewGuid().ToString("N")[..6];
        await using var a = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        await using var b = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        using var release = new SemaphoreSlim(0);
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.LockAcquired += (_, _) =>
        {
            inHandler.TrySetResult();
            release.Wait();
        };
        try
        {
            Assert.True(await a.LockAsync(name));
            Assert.False(await b.LockAsync(name));
            await a.UnlockAsync(name);
            await inHandler.Task.WaitAsync(Generous);

            // The handler holds b's event task; b's socket is still read and answered.
            (await b.TransactAsync(Db, Op.Assert(name))).EnsureSuccess();
            Assert.Equal(["while blocked"], await b.EchoAsync(["while blocked"]).WaitAsync(Generous));
        }
        finally
        {
            release.Release();
        }
    }

    [Fact]
    public async Task A_blocked_Changed_handler_does_not_stop_replies_nor_the_snapshot()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        await using var replica = new OvsdbReplica(_server.TcpEndpoint, Db, ["Logical_Switch"]).AddIndex("Logical_Switch", "name");
        using var release = new SemaphoreSlim(0);
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        replica.Changed += (_, e) =>
        {
            if (e.Changes.Any(c => c.New?.GetString("name") == $"first-{tag}"))
            {
                inHandler.TrySetResult();
                release.Wait();
            }
        };
        await replica.StartAsync();
        try
        {
            await replica.Ready.WaitAsync(Generous);
            (await replica.TransactAsync([Op.Insert("Logical_Switch").Set("name", $"first-{tag}")])).EnsureSuccess();
            await inHandler.Task.WaitAsync(Generous);

            // The subscriber is stuck; transactions still complete and the replica still applies what comes back.
            (await replica.TransactAsync([Op.Insert("Logical_Switch").Set("name", $"second-{tag}")]).WaitAsync(Generous)).EnsureSuccess();
            await ReplicaTests.WaitUntil(() => replica.Tables["Logical_Switch"].FindOne("name", $"second-{tag}") is not null, "second row in the snapshot");
        }
        finally
        {
            release.Release();
        }
    }

    [Fact]
    public async Task A_throwing_handler_is_logged_and_the_connection_and_later_events_go_on()
    {
        var name = "lock_" + Guid.NewGuid().ToString("N")[..6];
        var logs = new CapturingLoggerFactory();
        await using var a = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        await using var b = await OvsdbClient.ConnectAsync(_server.TcpEndpoint, new OvsdbClientOptions { LoggerFactory = logs });
        var stolen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.LockAcquired += (_, _) => throw new InvalidOperationException("subscriber bug");
        b.LockStolen += (_, e) => stolen.TrySetResult(e.LockName);

        Assert.True(await a.LockAsync(name));
        Assert.False(await b.LockAsync(name));
        await a.UnlockAsync(name);
        var logged = await logs.Error.WaitAsync(Generous);
        Assert.Equal("subscriber bug", logged.Message);

        Assert.True(b.IsConnected);
        Assert.Equal(["alive"], await b.EchoAsync(["alive"]));
        await a.StealAsync(name);
        Assert.Equal(name, await stolen.Task.WaitAsync(Generous));
    }

    [Fact]
    public async Task Metrics_count_messages_bytes_requests_in_flight_and_errors()
    {
        using var meters = new TestMeterFactory();
        var totals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "L2Gateway.Ovsdb" && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var t in tags)
            {
                if (t.Key == "error.type")
                {
                    key += "/" + t.Value;
                }
            }

            totals.AddOrUpdate(key, value, (_, v) => v + value);
        });
        listener.Start();
        long Total(string name) => totals.TryGetValue(name, out var v) ? v : 0;

        var options = new OvsdbClientOptions { MeterFactory = meters, InactivityProbe = TimeSpan.Zero };
        await using (var client = await OvsdbClient.ConnectAsync(_server.TcpEndpoint, options))
        {
            await client.ListDatabasesAsync();
            await client.EchoAsync(["x"]);
            // Two requests and their replies (plus ovsdb-server's echo and our answer, should the test be slow enough
            // for the server's 5 s probe).
            Assert.InRange(Total("ovsdb.client.messages.sent"), 2, 3);
            Assert.InRange(Total("ovsdb.client.messages.received"), 2, 3);
            Assert.InRange(Total("ovsdb.client.bytes.sent"), 60, 200);
            Assert.InRange(Total("ovsdb.client.bytes.received"), 60, 400);
            Assert.Equal(0, Total("ovsdb.client.requests.in_flight"));

            // With the schema cached, TransactAsync queues its request before it returns: the echo goes after it.
            await client.GetSchemaAsync(Db);
            using var cts = new CancellationTokenSource();
            var blocked = client.TransactAsync(Db, [Op.Wait("Global").Columns("other_config").Until(true).Row(new Dictionary<string, Data.OvsdbDatum> { ["other_config"] = Data.OvsdbDatum.Map(("never", "true")) })], cts.Token);
            await client.EchoAsync(["after"]);
            Assert.Equal(1, Total("ovsdb.client.requests.in_flight"));
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
            Assert.Equal(0, Total("ovsdb.client.requests.in_flight"));

            client.Abort(new OvsdbConnectionException("cut"));
            Assert.Equal(1, Total("ovsdb.client.errors/disconnect"));
        }

        await using (var small = await OvsdbClient.ConnectAsync(_server.TcpEndpoint, new OvsdbClientOptions { MeterFactory = meters, MaxMessageSize = 1000 }))
        {
            await Assert.ThrowsAsync<OvsdbConnectionException>(() => small.GetSchemaAsync(Db));
            await small.Completion;
            Assert.Equal(1, Total("ovsdb.client.errors/protocol"));
        }
    }

    [Fact]
    public async Task Inactivity_probe_runs_on_the_options_clock()
    {
        var time = new FakeTimeProvider();
        var probe = TimeSpan.FromSeconds(5);
        await using var peer = await FakePeer.StartAsync();
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = OvsdbClient.FromStream(peer.ClientStream, "fake", new OvsdbClientOptions { TimeProvider = time, InactivityProbe = probe });
        client.LockAcquired += (_, _) => locked.TrySetResult();

        // Idle for one interval: the client probes.
        time.Advance(probe);
        var first = (await peer.ReadAsync().WaitAsync(Generous))!;
        Assert.Equal("echo", first.Method);

        // The peer answers (and "locked" tells us the answer was read); at the deadline the link is alive, and a
        // second interval later, idle again, the client probes again.
        await peer.SendAsync("""{"id":"echo","result":[],"error":null}""" + """{"method":"locked","params":["l"],"id":null}""");
        await locked.Task.WaitAsync(Generous);
        time.Advance(probe);
        var second = (await peer.ReadAsync().WaitAsync(Generous))!;
        Assert.Equal("echo", second.Method);
        Assert.True(client.IsConnected);

        // Unanswered: one interval later the link is declared dead.
        time.Advance(probe);
        var reason = await client.Completion.WaitAsync(Generous);
        Assert.Contains("inactivity probe", reason!.Message);
    }

    private static byte[] BulkMessage(int index, int size)
    {
        var head = $$"""{"method":"bulk","params":[{{index}},""";
        var message = new byte[size];
        Encoding.ASCII.GetBytes(head).CopyTo(message, 0);
        message.AsSpan(head.Length, size - head.Length - 3).Fill((byte)'x');
        message[head.Length] = (byte)'"';
        "\"]}"u8.CopyTo(message.AsSpan(size - 3));
        return message;
    }

    /// <summary>The other end of a client's socket, played by the test: small buffers, reads only when asked.</summary>
    private sealed class FakePeer : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly PipeReader _pipe;
        private readonly JsonRpcReader _reader;

        private FakePeer(Socket socket, Stream clientStream)
        {
            _socket = socket;
            ClientStream = clientStream;
            _pipe = PipeReader.Create(new NetworkStream(socket, ownsSocket: false));
            _reader = new JsonRpcReader(_pipe, 64 << 20);
        }

        public Stream ClientStream { get; }

        public static async Task<FakePeer> StartAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = 16 * 1024, NoDelay = true };
            await client.ConnectAsync(listener.LocalEndPoint!);
            var server = await listener.AcceptAsync();
            server.ReceiveBufferSize = 16 * 1024;
            return new FakePeer(server, new NetworkStream(client, ownsSocket: true));
        }

        public async Task SendAsync(string text) => await _socket.SendAsync(Encoding.UTF8.GetBytes(text));

        public async Task<JsonRpcMessage?> ReadAsync() => await _reader.ReadAsync();

        public async ValueTask DisposeAsync()
        {
            await _pipe.CompleteAsync();
            _socket.Dispose();
            await ClientStream.DisposeAsync();
        }
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, this);
            lock (_meters)
            {
                _meters.Add(meter);
            }

            return meter;
        }

        public void Dispose()
        {
            lock (_meters)
            {
                _meters.ForEach(m => m.Dispose());
            }
        }
    }

    /// <summary>Hands the first error logged with an exception to <see cref="Error"/>.</summary>
    private sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
    {
        private readonly TaskCompletionSource<Exception> _error = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Exception> Error => _error.Task;

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error && exception is not null)
            {
                _error.TrySetResult(exception);
            }
        }

        public void Dispose()
        {
        }
    }
}
