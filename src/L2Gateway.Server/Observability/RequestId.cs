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
            var id = "req-" + Guid.NewGuid().ToString("D");
            http.Items[Key] = id;
            http.Response.OnStarting(() =>
            {
                http.Response.Headers.TryAdd(Header, id);
                return Task.CompletedTask;
            });
            using (logger.BeginScope("{RequestId}", id))
            {
                await next(http);
            }
        });
    }
}
