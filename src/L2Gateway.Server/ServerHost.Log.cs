namespace L2Gateway.Server;

public static partial class ServerHost
{
    // Event id 0, as the access line had before it was generated: the text format shows it ("L2Gateway.Api[0]").
    [LoggerMessage(EventId = 0, Message = "{Method} {Path}{Query} {Status} {Elapsed:F1} ms")]
    private static partial void AccessLine(ILogger logger, LogLevel level, string method, string? path, string? query, int status, double elapsed);
}
