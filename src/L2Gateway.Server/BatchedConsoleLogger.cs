using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace L2Gateway.Server;

/// <summary>
/// The framework's console logger, with its formatters (simple, JSON, systemd) and options, written differently. The
/// framework's hands each line to a thread of its own, which wakes up and writes that line alone: under load, the
/// wake-up and the write(2) of every line were the largest cost of a request that the product adds (the access line;
/// bench/RESULTS.md, "## API"). Here the thread that queues a line writes it, unless another is already writing, which
/// then takes the new line too: lines leave in the order they were queued, in one write per batch, none waits for a
/// later line, and no thread is woken. A writer that keeps finding new lines hands the rest to the thread pool, so that
/// one request does not write for the others for long.
/// </summary>
[ProviderAlias("Console")]
internal sealed class BatchedConsoleLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private const int RoundsPerWriter = 4;

    private readonly IOptionsMonitor<ConsoleLoggerOptions> options;
    private readonly Dictionary<string, ConsoleFormatter> formatters;
    private readonly Queue<(string Text, bool Error)> queue = new();

    // Only the thread that set `writing` touches these.
    private readonly List<(string Text, bool Error)> batch = [];
    private readonly StreamWriter stdout;
    private readonly StreamWriter stderr;

    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();
    private bool writing;
    private bool disposed;
    private int dropped;

    public BatchedConsoleLoggerProvider(IOptionsMonitor<ConsoleLoggerOptions> options, IEnumerable<ConsoleFormatter> formatters)
    {
        this.options = options;
        this.formatters = new Dictionary<string, ConsoleFormatter>(StringComparer.OrdinalIgnoreCase);
        foreach (var formatter in formatters)
        {
            // The first of a name wins, as in the framework's provider.
            this.formatters.TryAdd(formatter.Name, formatter);
        }

        // The console's encoding has no preamble (a file at position 0 would otherwise get one).
        stdout = new StreamWriter(Console.OpenStandardOutput(), Console.OutputEncoding, 64 * 1024);
        stderr = new StreamWriter(Console.OpenStandardError(), Console.OutputEncoding, 64 * 1024);
    }

    /// <summary>The formatter <see cref="ConsoleLoggerOptions.FormatterName"/> names (read per line: options may reload).</summary>
    private ConsoleFormatter Formatter =>
        options.CurrentValue.FormatterName is { } name && formatters.TryGetValue(name, out var named) ? named : formatters[ConsoleFormatterNames.Simple];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
        lock (queue)
        {
            disposed = true;

            // As the framework's: what is still being written gets a moment to leave, not more.
            var until = Environment.TickCount64 + 1500;
            while (writing && Environment.TickCount64 < until)
            {
                Monitor.Wait(queue, 100);
            }

            if (writing)
            {
                return;
            }

            writing = true;
        }

        stdout.Dispose();
        stderr.Dispose();
    }

    private void Enqueue(string text, bool error)
    {
        var current = options.CurrentValue;
        lock (queue)
        {
            while (queue.Count >= current.MaxQueueLength && !disposed)
            {
                if (current.QueueFullMode == ConsoleLoggerQueueFullMode.DropWrite)
                {
                    dropped++;
                    return;
                }

                Monitor.Wait(queue);
            }

            if (disposed)
            {
                // Too late for the queue; written here, as the framework does.
                (error ? Console.Error : Console.Out).Write(text);
                return;
            }

            queue.Enqueue((text, error));
            if (writing)
            {
                return;
            }

            writing = true;
        }

        Write(RoundsPerWriter);
    }

    /// <summary>Writes what is queued, in batches, until the queue is empty; the caller has set <see cref="writing"/>.</summary>
    private void Write(int rounds)
    {
        for (var round = 0; ; round++)
        {
            var lost = 0;
            lock (queue)
            {
                if (queue.Count == 0)
                {
                    writing = false;
                    Monitor.PulseAll(queue);
                    return;
                }

                if (round == rounds)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static provider => provider.Write(int.MaxValue), this, preferLocal: false);
                    return;
                }

                var full = queue.Count >= options.CurrentValue.MaxQueueLength;
                while (queue.TryDequeue(out var line))
                {
                    batch.Add(line);
                }

                if (full)
                {
                    Monitor.PulseAll(queue);
                }

                (lost, dropped) = (dropped, 0);
            }

            try
            {
                if (lost > 0)
                {
                    stdout.Write($"{lost} message(s) dropped because of queue size limit. Increase the queue size or decrease logging verbosity to avoid this. You may change `ConsoleLoggerQueueFullMode` to stop dropping messages.{Environment.NewLine}");
                }

                foreach (var (text, error) in batch)
                {
                    (error ? stderr : stdout).Write(text);
                }

                stdout.Flush();
                stderr.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                // Standard output is gone (closed pipe): there is nowhere left to log to, and a line must not fail the
                // request that happened to write it.
            }
            finally
            {
                batch.Clear();
            }
        }
    }

    private sealed class Logger(string category, BatchedConsoleLoggerProvider provider) : ILogger
    {
        [ThreadStatic]
        private static StringWriter? buffer;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            buffer ??= new StringWriter();
            provider.Formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), provider.scopes, buffer);
            var text = buffer.GetStringBuilder();
            if (text.Length == 0)
            {
                return;
            }

            var line = text.ToString();
            text.Clear();
            if (text.Capacity > 1024)
            {
                text.Capacity = 1024;
            }

            provider.Enqueue(line, logLevel >= provider.options.CurrentValue.LogToStandardErrorThreshold);
        }
    }
}
