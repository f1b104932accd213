using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Server.Tests;

/// <summary>A server's log lines, and a wait for the n-th line containing a text.</summary>
internal sealed class LogLines : ILoggerProvider
{
    private readonly ConcurrentQueue<string> lines = new();
    private readonly SemaphoreSlim added = new(0, int.MaxValue);

    public int Count(string text) => lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    public async Task WaitForAsync(string text, int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (Count(text) < count)
        {
            try
            {
                await added.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the server never logged '{text}' {count} time(s); it logged:\n{string.Join('\n', lines)}");
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() => added.Dispose();

    private sealed class Logger(LogLines owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner.lines.Enqueue(formatter(state, exception));
            owner.added.Release();
        }
    }
}
