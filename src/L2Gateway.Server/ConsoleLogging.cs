using Microsoft.Extensions.Logging;

namespace L2Gateway.Server;

/// <summary>The one log format of the server and the agent: one line per event, UTC timestamps, framework noise off.</summary>
public static class ConsoleLogging
{
    public static ILoggingBuilder AddL2gwConsole(this ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.ClearProviders();
        logging.AddSimpleConsole(c =>
        {
            c.SingleLine = true;
            c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
            c.UseUtcTimestamp = true;
        });
        return logging.AddFilter("Microsoft", LogLevel.Warning);
    }
}
