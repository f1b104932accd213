namespace L2Gateway.Server.Observability;

/// <summary>
/// Every request gets an id in Neutron's form, <c>req-UUID</c>: returned as <c>X-Openstack-Request-Id</c> (unless
/// the response already carries one, e.g. one forwarded from Neutron) and set as the logging scope field
/// <c>RequestId</c> of everything logged while the request runs.
/// </summary>
public static class RequestId
{
    public const string Header = "X-Openstack-Request-Id";

    private static readonly object Key = new();

    /// <summary>The id of the request being served.</summary>
    public static string? Of(HttpContext http) => http?.Items[Key] as string;

    public static IApplicationBuilder UseL2gwRequestId(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("L2Gateway.Api");
        return app.Use(async (http, next) =>
        {
            var id = NewId();
            http.Items[Key] = id;
            http.Response.OnStarting(AddHeader, http);
            using (Scope(logger, id))
            {
                await next(http);
            }
        });
    }

    // The same scope state as BeginScope("{RequestId}", id), without parsing the template and boxing per request.
    private static readonly Func<ILogger, string, IDisposable?> Scope = LoggerMessage.DefineScope<string>("{RequestId}");

    private static readonly Func<object, Task> AddHeader = static state =>
    {
        var http = (HttpContext)state;
        http.Response.Headers.TryAdd(Header, (string)http.Items[Key]!);
        return Task.CompletedTask;
    };

    private const string Prefix = "req-";

    /// <summary><c>req-</c> and a new UUID, in one string.</summary>
    private static string NewId() => string.Create(Prefix.Length + 36, Guid.NewGuid(), static (chars, guid) =>
    {
        Prefix.CopyTo(chars);
        guid.TryFormat(chars[Prefix.Length..], out _, "D");
    });
}
