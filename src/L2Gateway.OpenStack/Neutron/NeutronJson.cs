using System.Globalization;
using System.Text.Json;

namespace L2Gateway.OpenStack.Neutron;

/// <summary>
/// Neutron's JSON to resources, as pure functions. A resource without what identifies it (an id, a port's network
/// or MAC) is a <see cref="FormatException"/>; any other attribute that is missing or null takes its Neutron default,
/// since a caller without the admin role, or a <c>fields=</c> projection, leaves attributes out.
/// </summary>
public static class NeutronJson
{
    private static readonly string[] TimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss",
    ];

    public static NeutronNetwork ParseNetwork(JsonElement network)
    {
        RequireObject(network, "network");
        var segments = new List<NeutronSegment>();
        if (network.TryGetProperty("segments", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var segment in list.EnumerateArray())
            {
                if (ParseSegment(segment) is { } s)
                {
                    segments.Add(s);
                }
            }
        }
        else if (ParseSegment(network) is { } single)
        {
            segments.Add(single);
        }

        return new NeutronNetwork(
            Required(network, "id", "network"),
            Text(network, "name") ?? "",
            Text(network, "project_id") ?? Text(network, "tenant_id") ?? "",
            segments,
            Bool(network, "admin_state_up") ?? true,
            Bool(network, "shared") ?? false,
            Text(network, "description") ?? "",
            Int(network, "mtu") ?? 1450,
            Time(network, "created_at"),
            Long(network, "revision_number") ?? 0);
    }

    private static NeutronSegment? ParseSegment(JsonElement segment) =>
        segment.ValueKind == JsonValueKind.Object && Text(segment, "provider:network_type") is { } type
            ? new NeutronSegment(type, Int(segment, "provider:segmentation_id"), Text(segment, "provider:physical_network"))
            : null;

    public static NeutronPort ParsePort(JsonElement port)
    {
        RequireObject(port, "port");
        var mac = Required(port, "mac_address", "port").ToLowerInvariant();
        var fixedIps = new List<NeutronFixedIp>();
        foreach (var ip in Array(port, "fixed_ips"))
        {
            if (Text(ip, "ip_address") is { } address)
            {
                fixedIps.Add(new NeutronFixedIp(Text(ip, "subnet_id"), address));
            }
        }

        var pairs = new List<NeutronAddressPair>();
        foreach (var pair in Array(port, "allowed_address_pairs"))
        {
            if (Text(pair, "ip_address") is { } address)
            {
                pairs.Add(new NeutronAddressPair(Text(pair, "mac_address")?.ToLowerInvariant() ?? mac, address));
            }
        }

        return new NeutronPort(
            Required(port, "id", "port"),
            Text(port, "name") ?? "",
            Required(port, "network_id", "port"),
            Text(port, "project_id") ?? Text(port, "tenant_id") ?? "",
            mac,
            fixedIps,
            pairs,
            Text(port, "binding:host_id"),
            Text(port, "status") ?? "DOWN",
            Text(port, "device_owner") ?? "",
            Text(port, "device_id") ?? "",
            Bool(port, "admin_state_up") ?? true,
            Text(port, "description") ?? "",
            Time(port, "created_at"),
            Long(port, "revision_number") ?? 0);
    }

    /// <summary>Whether a port body carries every attribute <see cref="ParsePort"/> reads (a notification's payload may not).</summary>
    public static bool IsCompletePort(JsonElement port) =>
        port.ValueKind == JsonValueKind.Object
        && CompletePortKeys.All(k => port.TryGetProperty(k, out _));

    private static readonly string[] CompletePortKeys =
        ["id", "network_id", "mac_address", "fixed_ips", "allowed_address_pairs", "binding:host_id", "status", "revision_number"];

    /// <summary>Whether a network body carries its segments (only admins see <c>provider:*</c> and <c>segments</c>).</summary>
    public static bool IsCompleteNetwork(JsonElement network) =>
        network.ValueKind == JsonValueKind.Object && network.TryGetProperty("id", out _) && network.TryGetProperty("revision_number", out _)
        && (network.TryGetProperty("provider:network_type", out _) || network.TryGetProperty("segments", out _));

    public static NeutronAgent ParseAgent(JsonElement agent)
    {
        RequireObject(agent, "agent");
        var tunnelingIp = agent.TryGetProperty("configurations", out var c) && c.ValueKind == JsonValueKind.Object ? Text(c, "tunneling_ip") : null;
        return new NeutronAgent(
            Required(agent, "id", "agent"),
            Required(agent, "host", "agent"),
            Text(agent, "binary") ?? "",
            tunnelingIp,
            Time(agent, "started_at"),
            Bool(agent, "alive") ?? false);
    }

    /// <summary>One page of a list answer: its items and whether Neutron links a next page (<c>COLLECTION_links</c>, rel next).</summary>
    public static (List<T> Items, bool HasNext) ParsePage<T>(JsonElement root, string collection, Func<JsonElement, T> parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(collection, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"Neutron's answer has no '{collection}' list");
        }

        var items = new List<T>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            items.Add(parse(item));
        }

        var hasNext = root.TryGetProperty(collection + "_links", out var links) && links.ValueKind == JsonValueKind.Array
            && links.EnumerateArray().Any(l => l.ValueKind == JsonValueKind.Object && Text(l, "rel") == "next");
        return (items, hasNext);
    }

    /// <summary>The message of a <c>{"NeutronError": {...}}</c> body, or null.</summary>
    public static string? ErrorMessage(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("NeutronError", out var error) && error.ValueKind == JsonValueKind.Object
                ? Text(error, "message")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A time as Neutron writes it: <c>2026-12-02T00:24:40Z</c> (resources), <c>2026-12-02 00:18:26.110375</c> (agents), UTC.</summary>
    public static DateTimeOffset? ParseTime(string? text) =>
        text is not null && DateTime.TryParseExact(
            text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? new DateTimeOffset(t, TimeSpan.Zero)
            : null;

    /// <summary>The <c>changed_since</c> form Neutron accepts: <c>YYYY-MM-DDTHH:MM:SSZ</c>.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void RequireObject(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"a {what} must be a JSON object, got {e.ValueKind}");
        }
    }

    private static string Required(JsonElement e, string name, string what) =>
        Text(e, name) ?? throw new FormatException($"a {what} without '{name}'" + (Text(e, "id") is { } id ? $" ({id})" : ""));

    private static IEnumerable<JsonElement> Array(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.Object)
            : [];

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;

    private static bool? Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static int? Int(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetInt32(out var n) => n,
            JsonValueKind.String when int.TryParse(v.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
            _ => null,
        };
    }

    private static long? Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    private static DateTimeOffset? Time(JsonElement e, string name) => ParseTime(Text(e, name));
}
