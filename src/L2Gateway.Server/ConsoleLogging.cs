using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace L2Gateway.Server;

/// <summary>How log events are written to standard output.</summary>
public enum LogFormat
{
    /// <summary>One line of text per event, UTC timestamps.</summary>
    Text,

    /// <summary>One JSON object per line, with the logging scopes' fields (RequestId, Switch).</summary>
    Json,
}

/// <summary>The one log format of the server and the agent: one line per event, UTC timestamps, framework noise off.</summary>
public static class ConsoleLogging
{
    public static ILoggingBuilder AddL2gwConsole(this ILoggingBuilder logging, LogFormat format = LogFormat.Text)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.ClearProviders();
        if (format == LogFormat.Json)
        {
            logging.AddJsonConsole(c =>
            {
                c.IncludeScopes = true;
                c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                c.UseUtcTimestamp = true;
                c.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });

            // Last, so that it holds under systemd too (UseSystemd picks its own format for text).
            logging.Services.PostConfigure<ConsoleLoggerOptions>(c => c.FormatterName = ConsoleFormatterNames.Json);
        }
        else
        {
            logging.AddSimpleConsole(c =>
            {
                c.SingleLine = true;
                c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
                c.UseUtcTimestamp = true;
            });
        }

        // The same provider's formatters and options, its lines written in batches (BatchedConsoleLogger.cs).
        var framework = logging.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList();
        foreach (var descriptor in framework)
        {
            logging.Services.Remove(descriptor);
        }

        logging.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, BatchedConsoleLoggerProvider>());

        // ASP.NET Core's per-request scope would carry its own connection-based RequestId beside the product's
        // req-UUID (RequestId.cs); its request start/finish lines are below Warning anyway.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        return logging.AddFilter("Microsoft", LogLevel.Warning);
    }

    /// <summary>The value of <c>--log-format</c>, <c>L2GW_LOG_FORMAT</c> or <c>[DEFAULT] log_format</c>.</summary>
    public static LogFormat ParseFormat(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "text" => LogFormat.Text,
        "json" => LogFormat.Json,
        _ => throw new ConfigurationException($"invalid log_format '{value}': expected text or json"),
    };
}
