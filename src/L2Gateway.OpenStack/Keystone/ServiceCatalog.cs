using System.Text.Json;

namespace L2Gateway.OpenStack.Keystone;

/// <summary>One endpoint of Keystone's service catalog: a service type, an interface, a region and a URL.</summary>
public sealed record ServiceEndpoint(string Type, string Interface, string? Region, Uri Url);

/// <summary>The service catalog a project-scoped token carries (<c>token.catalog</c> of <c>POST /v3/auth/tokens</c>).</summary>
public sealed class ServiceCatalog
{
    public static readonly ServiceCatalog Empty = new([]);

    public ServiceCatalog(IReadOnlyList<ServiceEndpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        Endpoints = endpoints;
    }

    public IReadOnlyList<ServiceEndpoint> Endpoints { get; }

    /// <summary>Reads the catalog of a token body's <c>token</c> object; entries without a usable URL are left out.</summary>
    public static ServiceCatalog Parse(JsonElement token)
    {
        if (token.ValueKind != JsonValueKind.Object || !token.TryGetProperty("catalog", out var catalog) || catalog.ValueKind != JsonValueKind.Array)
        {
            return Empty;
        }

        var endpoints = new List<ServiceEndpoint>();
        foreach (var service in catalog.EnumerateArray())
        {
            if (service.ValueKind != JsonValueKind.Object || Text(service, "type") is not { } type
                || !service.TryGetProperty("endpoints", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var endpoint in list.EnumerateArray())
            {
                if (endpoint.ValueKind == JsonValueKind.Object
                    && Text(endpoint, "interface") is { } iface
                    && Uri.TryCreate(Text(endpoint, "url"), UriKind.Absolute, out var url)
                    && url.Scheme is "http" or "https")
                {
                    endpoints.Add(new ServiceEndpoint(type, iface, Text(endpoint, "region_id") ?? Text(endpoint, "region"), url));
                }
            }
        }

        return new ServiceCatalog(endpoints);
    }

    /// <summary>
    /// The URL of <paramref name="type"/> at <paramref name="interface"/> in <paramref name="region"/> (any region when
    /// null, provided only one has it); a <see cref="KeyNotFoundException"/> saying what is missing otherwise.
    /// </summary>
    public Uri Find(string type, string @interface, string? region)
    {
        var matches = Endpoints
            .Where(e => e.Type == type && e.Interface == @interface && (region is null || e.Region == region))
            .ToList();
        var regions = matches.Select(e => e.Region).Distinct().Count();
        return matches.Count switch
        {
            0 => throw new KeyNotFoundException(
                $"Keystone's catalog has no {@interface} endpoint of type {type}" + (region is null ? "" : $" in region {region}")),
            _ when regions > 1 => throw new KeyNotFoundException(
                $"Keystone's catalog has {@interface} {type} endpoints in several regions ({string.Join(", ", matches.Select(e => e.Region).Distinct())}): set region_name"),
            _ => matches[0].Url,
        };
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
}
