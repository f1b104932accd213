using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;

namespace L2Gateway.Server.Api;

/// <summary>Request bodies in, Neutron-shaped JSON out.</summary>
public static class Http
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public static RequestContext Caller(this HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return (RequestContext)http.Items[typeof(RequestContext)]!;
    }

    /// <summary>Reads the JSON body and returns the object under <paramref name="key"/> (e.g. <c>l2_gateway</c>).</summary>
    public static async Task<JsonElement> ReadResourceAsync(HttpContext http, string key, IReadOnlyCollection<string> allowed)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(allowed);
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
        }
        catch (JsonException)
        {
            throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", "Malformed request body");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty(key, out var resource))
            {
                throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", $"Unable to find '{key}' in request body");
            }

            if (resource.ValueKind != JsonValueKind.Object)
            {
                throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", $"'{key}' must be an object");
            }

            var unknown = resource.EnumerateObject().Select(p => p.Name).Where(n => !allowed.Contains(n)).ToList();
            if (unknown.Count > 0)
            {
                throw new L2GatewayException(
                    ErrorKind.BadRequest, "HTTPBadRequest", $"Unrecognized attribute(s) '{string.Join(", ", unknown)}'");
            }

            return resource.Clone();
        }
    }

    public static string? OptionalString(this JsonElement body, string name, int maxLength = 255)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw L2GatewayException.InvalidInput($"'{value}' is not a valid string for {name}");
        }

        var text = value.GetString()!;
        if (text.Length > maxLength)
        {
            throw L2GatewayException.InvalidInput($"'{text[..Math.Min(text.Length, 40)]}...' exceeds maximum length of {maxLength} for {name}");
        }

        return text;
    }

    public static bool? OptionalBool(this JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var b) => b,
            _ => throw L2GatewayException.InvalidInput($"'{value}' is not a valid boolean value for {name}"),
        };
    }

    /// <summary>
    /// The project a new resource belongs to: the caller's, unless an admin names another in
    /// <c>project_id</c>/<c>tenant_id</c>.
    /// </summary>
    public static string OwnerProject(this JsonElement body, RequestContext caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var project = body.OptionalString("project_id") ?? body.OptionalString("tenant_id");
        if (project is null || project == caller.ProjectId)
        {
            return caller.ProjectId;
        }

        if (!caller.IsAdmin)
        {
            throw new L2GatewayException(
                ErrorKind.BadRequest,
                "HTTPBadRequest",
                "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
        }

        return project;
    }

    public static IResult Json(JsonNode body, int status = StatusCodes.Status200OK) =>
        Results.Text(body.ToJsonString(Compact), "application/json", statusCode: status);

    public static IResult One(string key, JsonObject resource, HashSet<string>? fields = null, int status = StatusCodes.Status200OK) =>
        Json(new JsonObject { [key] = Project(resource, fields) }, status);

    /// <summary>A list page with Neutron's <c>_links</c> (next/previous) when it is paginated.</summary>
    public static IResult Many(HttpContext http, string collection, IEnumerable<JsonObject> items, ListQuery query, bool more, Func<JsonObject, string> idOf)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(idOf);
        var list = items.ToList();
        var array = new JsonArray();
        foreach (var item in list)
        {
            array.Add(Project(item, query.Fields));
        }

        var body = new JsonObject { [collection] = array };
        if (list.Count > 0 && Links(http, query, more, idOf(list[0]), idOf(list[^1])) is { } links)
        {
            body[collection + "_links"] = links;
        }

        return Json(body);
    }

    /// <summary>The compact UTF-8 JSON of a node, byte for byte what <see cref="Json"/> writes for it.</summary>
    public static byte[] Utf8(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return System.Text.Encoding.UTF8.GetBytes(node.ToJsonString(Compact));
    }

    /// <summary>
    /// <see cref="One"/> for a resource whose JSON is already serialised (<see cref="Utf8"/>), with no
    /// <c>fields</c> projection: the same bytes, written without building a tree.
    /// </summary>
    public static IResult OneSerialized(string key, byte[] resource) =>
        new Utf8JsonResult([Prefixes.GetOrAdd(key, k => Encoding.UTF8.GetBytes($"{{\"{k}\":")), resource, EndObject]);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Prefixes = new(StringComparer.Ordinal);

    /// <summary>
    /// <see cref="Many"/> for resources whose JSON is already serialised, with no <c>fields</c> projection: the same
    /// bytes, written without building a tree.
    /// </summary>
    public static IResult ManySerialized(HttpContext http, string collection, IReadOnlyList<byte[]> items, ListQuery query, bool more, string? firstId, string? lastId)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(query);
        var parts = new List<byte[]>((items.Count * 2) + 3) { Encoding.UTF8.GetBytes($"{{\"{collection}\":[") };
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                parts.Add(Comma);
            }

            parts.Add(items[i]);
        }

        parts.Add(EndArray);
        if (items.Count > 0 && Links(http, query, more, firstId!, lastId!) is { } links)
        {
            parts.Add(Encoding.UTF8.GetBytes($",\"{collection}_links\":{links.ToJsonString(Compact)}"));
        }

        parts.Add(EndObject);
        return new Utf8JsonResult(parts);
    }

    private static readonly byte[] Comma = [(byte)','];
    private static readonly byte[] EndArray = [(byte)']'];
    private static readonly byte[] EndObject = [(byte)'}'];

    /// <summary>Neutron's next/previous links of a page that is paginated and not empty; null when there are none.</summary>
    private static JsonArray? Links(HttpContext http, ListQuery query, bool more, string firstId, string lastId)
    {
        if (query.Limit is not int limit)
        {
            return null;
        }

        var links = new JsonArray();
        var forwardMore = query.PageReverse ? query.Marker is not null : more;
        var backwardMore = query.PageReverse ? more : query.Marker is not null;
        if (forwardMore)
        {
            links.Add(Link(http, "next", limit, lastId, false));
        }

        if (backwardMore)
        {
            links.Add(Link(http, "previous", limit, firstId, true));
        }

        return links.Count > 0 ? links : null;
    }

    /// <summary>A 200 whose body is UTF-8 JSON in parts, with the headers <see cref="Json"/> gives.</summary>
    private sealed class Utf8JsonResult(IReadOnlyList<byte[]> parts) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            long length = 0;
            foreach (var part in parts)
            {
                length += part.Length;
            }

            response.ContentLength = length;
            var writer = response.BodyWriter;
            foreach (var part in parts)
            {
                writer.Write(part);
            }

            return writer.FlushAsync(httpContext.RequestAborted).AsTask();
        }
    }

    private static JsonObject Link(HttpContext http, string rel, int limit, string marker, bool reverse)
    {
        var query = http.Request.Query
            .Where(q => q.Key is not ("limit" or "marker" or "page_reverse"))
            .SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v)))
            .Append(KeyValuePair.Create("limit", (string?)limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(KeyValuePair.Create("marker", (string?)marker));
        if (reverse)
        {
            query = query.Append(KeyValuePair.Create("page_reverse", (string?)"True"));
        }

        var href = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}"
            + Microsoft.AspNetCore.Http.QueryString.Create(query).ToUriComponent();
        return new JsonObject { ["rel"] = rel, ["href"] = href };
    }

    private static JsonObject Project(JsonObject resource, HashSet<string>? fields)
    {
        if (fields is null || fields.Count == 0)
        {
            return resource;
        }

        var projected = new JsonObject();
        foreach (var (name, value) in resource)
        {
            if (fields.Contains(name))
            {
                projected[name] = value?.DeepClone();
            }
        }

        return projected;
    }

    public static JsonObject Error(string type, string message) =>
        new() { ["NeutronError"] = new JsonObject { ["type"] = type, ["message"] = message, ["detail"] = "" } };

    /// <summary>Every failure leaves as a Neutron error body; nothing leaks a stack trace.</summary>
    /// <remarks><paramref name="state"/> goes to <paramref name="next"/>, so that a static lambda needs no closure per request.</remarks>
    public static async Task HandleErrorsAsync<TState>(HttpContext http, TState state, Func<HttpContext, TState, Task> next, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next(http, state);
        }
        catch (L2GatewayException e)
        {
            await WriteErrorAsync(http, (int)e.Kind, e.Type, e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteErrorAsync(http, 413, "HTTPRequestEntityTooLarge", "Request body is larger than the limit");
        }
        catch (BadHttpRequestException e)
        {
            await WriteErrorAsync(http, e.StatusCode, "HTTPBadRequest", e.Message);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (DatabaseSettings.IsUnavailable(e))
        {
            // The write (if any) did not commit, or its outcome is unknown; either way the caller may retry.
            logger.LogWarning("request {Method} {Path}: database unavailable: {Error}", http.Request.Method, http.Request.Path, e.Message);
            await WriteErrorAsync(http, 503, "HTTPServiceUnavailable", "The database is unavailable; retry the request.");
        }
        catch (Exception e)
        {
            logger.LogError(e, "request {Method} {Path} failed", http.Request.Method, http.Request.Path);
            await WriteErrorAsync(http, 500, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.");
        }
    }

    private static async Task WriteErrorAsync(HttpContext http, int status, string type, string message)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.Clear();
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(Error(type, message).ToJsonString(Compact), http.RequestAborted);
    }
}
