using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Logging.Abstractions;

namespace L2Gateway.Agent.Tests;

/// <summary>
/// The actor's logic without a switch: events posted as the OVSDB client's callbacks would post them, from other
/// threads, with the switch's side played in memory, and timers driven by a manual clock.
/// </summary>
public sealed class SwitchActorTests
{
    /// <summary>An actor whose replica never starts: the test posts the monitoring session's events itself.</summary>
    private static SwitchActor Actor(TimeProvider time, bool ownWriteSession = false)
    {
        var options = new OvsdbReplicaOptions
        {
            Connect = ownWriteSession ? null : async ct =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                throw new OperationCanceledException(ct);
            },
        };
        var actor = new SwitchActor(new OvsdbHost("tor1", "127.0.0.1", 1), "tcp:127.0.0.1:1", options, TimeSpan.FromSeconds(2), NullLogger.Instance, time);
        actor.StartLoop();
        return actor;
    }

    private static Task Until(Func<bool> condition, string what) => Eventually.HoldsAsync(() => Task.FromResult(condition()), what, seconds: 10);

    [Fact]
    public async Task The_lock_granted_stolen_and_given_back_on_the_clients_thread_drives_the_writer_role()
    {
        await using var peer = new MemoryPeer();
        await using var actor = Actor(TimeProvider.System);

        // A switch that dials in: its one session carries the monitor and the writes, and asks for the lock.
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Connected, peer.Client, null));
        var request = await peer.NextRequestAsync();
        Assert.Equal("lock", request.GetProperty("method").GetString());
        Assert.Equal(SwitchActor.LockName, request.GetProperty("params")[0].GetString());
        Assert.False(actor.Status.Writer);

        await peer.ReplyAsync(request, """{"locked":true}""");
        await Until(() => actor.Status.Writer, "the writer once the lock is granted");

        // The lock's events arrive on the client's read loop; the actor only hears of them through its channel.
        await peer.NotifyAsync("stolen");
        await Until(() => !actor.Status.Writer && actor.Status.StandingBy, "standing by once the lock is stolen");
        await peer.NotifyAsync("locked");
        await Until(() => actor.Status.Writer && !actor.Status.StandingBy, "the writer again once the lock is handed back");

        // The monitoring session goes: the write session goes with it, and with it the writer role.
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Disconnected, null, new IOException("gone")));
        await Until(() => !actor.Status.Writer, "no writer without a monitoring session");
    }

    [Fact]
    public async Task A_queued_lock_request_stands_by_until_locked_and_events_of_a_retired_session_are_ignored()
    {
        await using var first = new MemoryPeer();
        await using var second = new MemoryPeer();
        await using var actor = Actor(TimeProvider.System);
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Connected, first.Client, null));
        var request = await first.NextRequestAsync();
        await first.ReplyAsync(request, """{"locked":false}""");
        await Until(() => actor.Status.StandingBy, "standing by while another agent writes");
        Assert.False(actor.Status.Writer);

        // The session is replaced: a late "locked" for the old one must not make this agent a writer.
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Disconnected, null, null));
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Connected, second.Client, null));
        var again = await second.NextRequestAsync();
        await first.NotifyAsync("locked");
        actor.Post(new SwitchEvent.LockGranted(first.Client));
        await second.ReplyAsync(again, """{"locked":false}""");
        await Until(() => actor.Status.StandingBy, "the new session stands by");
        Assert.False(actor.Status.Writer);
        await second.NotifyAsync("locked");
        await Until(() => actor.Status.Writer, "the new session's lock makes it the writer");
    }

    [Fact]
    public async Task Desired_states_posted_from_many_threads_are_all_taken_in_by_the_one_loop()
    {
        await using var actor = Actor(TimeProvider.System);
        const int Threads = 8, PerThread = 200;
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 1; i <= PerThread; i++)
            {
                actor.SetDesired(new SwitchDesiredState($"sw{t}", [new DesiredLogicalSwitch($"ls{i}", i, "")], [], [], []));
            }
        })));
        await Until(() => actor.Status.DesiredHandled == Threads * PerThread, "every desired state handled");
        Assert.Equal(Threads, actor.Status.Desired.Count);
        Assert.All(actor.Status.Desired.Values, s => Assert.Equal($"ls{PerThread}", Assert.Single(s.LogicalSwitches).Name));

        // Nothing to write to (no session, no replica): the states are held, and nothing converged.
        Assert.Empty(actor.Status.Applied);
        Assert.False(actor.Status.Writer);
    }

    [Fact]
    public async Task A_write_session_that_cannot_open_is_tried_again_after_exactly_the_retry_delay()
    {
        var time = new ManualTimeProvider();
        await using var monitor = new MemoryPeer();
        await using var actor = Actor(time, ownWriteSession: true);
        var attempts = 0;
        actor.WriteSessionOpener = _ =>
        {
            Interlocked.Increment(ref attempts);
            return Task.FromException<OvsdbClient>(new OvsdbConnectionException("refused"));
        };

        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Connected, monitor.Client, null));
        await Until(() => Volatile.Read(ref attempts) == 1 && time.Timers == 2, "one attempt, and the retry timer set beside the periodic one");
        time.Advance(SwitchActor.RetryDelay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, Volatile.Read(ref attempts));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Until(() => Volatile.Read(ref attempts) == 2, "a second attempt once the delay has passed");

        // The monitoring session goes: the pending retry is dropped, and no more attempts are made.
        await Until(() => time.Timers == 2, "the next retry timer set");
        actor.Post(new SwitchEvent.MonitorSession(OvsdbConnectionState.Disconnected, null, null));
        await Until(() => time.Timers == 1, "the retry timer cancelled");
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, Volatile.Read(ref attempts));
    }

    [Fact]
    public void Written_rows_are_shown_when_every_insert_is_present_and_every_delete_gone()
    {
        var (a, b, gone) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var rows = new WrittenRows([("Ucast_Macs_Remote", a), ("Ucast_Macs_Remote", b)], [("Ucast_Macs_Remote", gone)]);
        bool In(HashSet<Guid> present, string table, Guid uuid) => table == "Ucast_Macs_Remote" && present.Contains(uuid);
        Assert.False(rows.ShownIn((t, u) => In([a, gone], t, u)));
        Assert.False(rows.ShownIn((t, u) => In([a, b, gone], t, u)));
        Assert.False(rows.ShownIn((t, u) => In([b], t, u)));
        Assert.True(rows.ShownIn((t, u) => In([a, b], t, u)));
        Assert.True(new WrittenRows([], []).ShownIn((_, _) => false));
    }

    [Fact]
    public async Task Owned_tasks_are_awaited_and_their_failures_handed_on()
    {
        var tasks = new OwnedTasks(NullLogger.Instance, "tor1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? fault = null;
        tasks.Start("slow", () => release.Task);
        tasks.Start("failing", () => throw new InvalidOperationException("bug"), e => fault = e);
        var all = tasks.WhenAllAsync();
        Assert.False(all.IsCompleted);
        release.SetResult();
        await all;
        Assert.IsType<InvalidOperationException>(fault);
        Assert.Equal(0, tasks.Count);
    }
}

/// <summary>The switch's side of one OVSDB connection, in memory: reads the client's requests, answers, notifies.</summary>
internal sealed class MemoryPeer : IAsyncDisposable
{
    private readonly Pipe toClient = new();
    private readonly Pipe toPeer = new();
    private readonly StringBuilder pending = new();

    public MemoryPeer()
    {
        Client = OvsdbClient.FromStream(new Duplex(toClient.Reader.AsStream(), toPeer.Writer.AsStream()), "memory:", new OvsdbClientOptions { InactivityProbe = TimeSpan.Zero });
    }

    public OvsdbClient Client { get; }

    public async Task<JsonElement> NextRequestAsync()
    {
        var reader = toPeer.Reader;
        while (true)
        {
            if (pending.Length > 0)
            {
                var text = pending.ToString();
                var json = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
                if (JsonDocument.TryParseValue(ref json, out var document))
                {
                    pending.Remove(0, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)[..(int)json.BytesConsumed]).Length);
                    return document!.RootElement.Clone();
                }
            }

            var read = await reader.ReadAsync();
            foreach (var segment in read.Buffer)
            {
                pending.Append(Encoding.UTF8.GetString(segment.Span));
            }

            reader.AdvanceTo(read.Buffer.End);
        }
    }

    public Task ReplyAsync(JsonElement request, string result) =>
        SendAsync($$"""{"id":{{request.GetProperty("id").GetRawText()}},"result":{{result}},"error":null}""");

    public Task NotifyAsync(string method) => SendAsync($$"""{"id":null,"method":"{{method}}","params":["{{SwitchActor.LockName}}"]}""");

    private async Task SendAsync(string message) => await toClient.Writer.WriteAsync(Encoding.UTF8.GetBytes(message));

    public async ValueTask DisposeAsync()
    {
        await toClient.Writer.CompleteAsync();
        await Client.DisposeAsync();
    }

    private sealed class Duplex(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => output.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => input.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => output.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => output.WriteAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                input.Dispose();
                output.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>A clock that moves only when told: timers fire inside <see cref="Advance"/>, in order of due time.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock gate = new();
    private readonly List<ManualTimer> timers = [];
    private long ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (gate)
        {
            return ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    /// <summary>Timers created and not disposed.</summary>
    public int Timers
    {
        get
        {
            lock (gate)
            {
                return timers.Count;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (gate)
        {
            timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        long end;
        lock (gate)
        {
            end = ticks + by.Ticks;
        }

        while (true)
        {
            ManualTimer? next;
            lock (gate)
            {
                next = timers.Where(t => t.Due is { } due && due <= end).MinBy(t => t.Due);
                if (next is null)
                {
                    ticks = end;
                    return;
                }

                ticks = Math.Max(ticks, next.Due!.Value);
                next.Due = next.Period is { } period ? ticks + period : null;
            }

            next.Fire();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long? Due { get; set; }

        public long? Period { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner.gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner.ticks + dueTime.Ticks;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period.Ticks;
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner.gate)
            {
                Due = null;
                owner.timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
