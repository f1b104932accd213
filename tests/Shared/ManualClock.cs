namespace L2Gateway.Testing;

/// <summary>
/// A clock that moves only when the test says so. Its timers fire on <see cref="Advance"/>, and
/// <see cref="ArmedAsync"/> tells when the server has armed one: the event that proves a long poll is waiting.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock gate = new();
    private readonly List<ManualTimer> timers = [];
    private readonly List<(TimeSpan Due, TaskCompletionSource Armed)> waiters = [];
    private DateTimeOffset now = start;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (gate)
        {
            return now;
        }
    }

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Completes once a timer due <paramref name="dueTime"/> after its arming is armed (or is already).</summary>
    public Task ArmedAsync(TimeSpan dueTime)
    {
        lock (gate)
        {
            if (timers.Any(t => t.Armed == dueTime))
            {
                return Task.CompletedTask;
            }

            var armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((dueTime, armed));
            return armed.Task;
        }
    }

    /// <summary>Moves time on and fires, in order, every timer that falls due.</summary>
    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (gate)
        {
            now += by;
            due = [.. timers.Where(t => t.DueAt <= now).OrderBy(t => t.DueAt)];
            foreach (var timer in due)
            {
                timers.Remove(timer);
                if (timer.Period > TimeSpan.Zero && timer.Period != Timeout.InfiniteTimeSpan)
                {
                    timer.DueAt += timer.Period;
                    timers.Add(timer);
                }
            }
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset DueAt { get; set; }

        public TimeSpan Period { get; private set; }

        public TimeSpan Armed { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            List<TaskCompletionSource> armed;
            lock (clock.gate)
            {
                clock.timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }

                (DueAt, Period, Armed) = (clock.now + dueTime, period, dueTime);
                clock.timers.Add(this);
                armed = [.. clock.waiters.Where(w => w.Due == dueTime).Select(w => w.Armed)];
                clock.waiters.RemoveAll(w => w.Due == dueTime);
            }

            armed.ForEach(a => a.SetResult());
            if (dueTime <= TimeSpan.Zero)
            {
                clock.Advance(TimeSpan.Zero);
            }

            return true;
        }

        public void Dispose()
        {
            lock (clock.gate)
            {
                clock.timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
