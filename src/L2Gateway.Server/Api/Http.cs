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
        var list = items.ToList();
        var array = new JsonArray();
        foreach (var item in list)
        {
            array.Add(Project(item, query.Fields));
        }

        var body = new JsonObject { [collection] = array };
        if (query.Limit is int limit && list.Count > 0)
        {
            var links = new JsonArray();
            var forwardMore = query.PageReverse ? query.Marker is not null : more;
            var backwardMore = query.PageReverse ? more : query.Marker is not null;
            if (forwardMore)
            {
                links.Add(Link(http, "next", limit, idOf(list[^1]), false));
            }

            if (backwardMore)
            {
                links.Add(Link(http, "previous", limit, idOf(list[0]), true));
            }

            if (links.Count > 0)
            {
                body[collection + "_links"] = links;
            }
        }

        return Json(body);
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
    public static async Task HandleErrorsAsync(HttpContext http, RequestDelegate next, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next(http);
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
