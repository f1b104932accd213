using System.Globalization;

namespace L2Gateway.OpenStack.Messaging;

/// <summary>One RabbitMQ node of a <see cref="TransportUrl"/>, with the credentials used on it.</summary>
public sealed record RabbitHost(string Host, int Port, string UserName, string Password)
{
    public override string ToString() => $"{UserName}:***@{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
}

/// <summary>
/// oslo.messaging's <c>transport_url</c> for RabbitMQ: <c>rabbit://USER:PASS@HOST:PORT[,USER:PASS@HOST2:PORT]/VHOST</c>.
/// Several nodes are tried in order (a cluster); the virtual host is the path (<c>/</c> or nothing: RabbitMQ's
/// default <c>/</c>). User names and passwords may be percent-encoded; a node without them uses <c>guest</c>, a node
/// without a port 5672, as oslo.messaging does.
/// </summary>
public sealed record TransportUrl(IReadOnlyList<RabbitHost> Hosts, string VirtualHost)
{
    public const int DefaultPort = 5672;

    /// <summary>Parses a transport URL; throws <see cref="FormatException"/> with a one-line message naming what is wrong.</summary>
    public static TransportUrl Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException("invalid transport_url: empty (expected rabbit://USER:PASS@HOST:PORT/VHOST)");
        }

        text = text.Trim();
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw Invalid(text, "expected rabbit://USER:PASS@HOST:PORT/VHOST");
        }

        var scheme = text[..schemeEnd].ToLowerInvariant();
        if (scheme != "rabbit")
        {
            throw Invalid(text, $"unsupported scheme '{scheme}' (only rabbit:// is supported)");
        }

        var rest = text[(schemeEnd + 3)..];
        var query = rest.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            // oslo.messaging reads driver options from the query (ssl=1, ...); none is supported here, and silently
            // ignoring one (TLS above all) would connect differently from what the operator asked for.
            throw Invalid(text, $"query parameters are not supported ('{rest[query..]}')");
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var netloc = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : rest[(slash + 1)..];
        var virtualHost = path.Length == 0 ? "/" : Unescape(path);
        if (netloc.Length == 0)
        {
            throw Invalid(text, "no host");
        }

        var hosts = new List<RabbitHost>();
        foreach (var node in netloc.Split(','))
        {
            hosts.Add(ParseNode(text, node));
        }

        if (hosts.Select(h => (h.UserName, h.Password)).Distinct().Count() > 1)
        {
            // One connection fails over between the nodes with one set of credentials (RabbitMQ.Client's recovery).
            throw Invalid(text, "every host must have the same user and password");
        }

        return new TransportUrl(hosts, virtualHost);
    }

    private static RabbitHost ParseNode(string url, string node)
    {
        var at = node.LastIndexOf('@');
        string user = "guest", password = "guest";
        var hostPort = node;
        if (at >= 0)
        {
            var credentials = node[..at];
            hostPort = node[(at + 1)..];
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            user = Unescape(colon < 0 ? credentials : credentials[..colon]);
            password = colon < 0 ? "" : Unescape(credentials[(colon + 1)..]);
            if (user.Length == 0)
            {
                throw Invalid(url, $"empty user name in '{Redact(node)}'");
            }
        }

        string host;
        var port = DefaultPort;
        string? portText = null;
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Invalid(url, $"unclosed '[' in host '{hostPort}'");
            }

            host = hostPort[1..close];
            var after = hostPort[(close + 1)..];
            if (after.Length > 0)
            {
                portText = after.StartsWith(':') ? after[1..] : throw Invalid(url, $"unexpected '{after}' after host '{host}'");
            }
        }
        else
        {
            var colon = hostPort.LastIndexOf(':');
            host = colon < 0 ? hostPort : hostPort[..colon];
            portText = colon < 0 ? null : hostPort[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            throw Invalid(url, $"no host in '{Redact(node)}'");
        }

        if (!System.Net.IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            throw Invalid(url, $"invalid host '{host}'");
        }

        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw Invalid(url, $"invalid port '{portText}' of host '{host}' (expected 1-65535)");
        }

        return new RabbitHost(host, port, user, password);
    }

    private static string Unescape(string value)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException)
        {
            return value;
        }
    }

    private static FormatException Invalid(string url, string why) => new($"invalid transport_url '{Redact(url)}': {why}");

    /// <summary>The URL with every password replaced by <c>***</c>, for logs and errors.</summary>
    public static string Redact(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var start = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var end = url.IndexOfAny(['/', '?'], start);
        var netloc = end < 0 ? url[start..] : url[start..end];
        var nodes = netloc.Split(',').Select(n =>
        {
            var at = n.LastIndexOf('@');
            var colon = at < 0 ? -1 : n.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && colon < at ? n[..(colon + 1)] + "***" + n[at..] : n;
        });
        return url[..start] + string.Join(',', nodes) + (end < 0 ? "" : url[end..]);
    }

    public override string ToString() =>
        $"rabbit://{string.Join(',', Hosts)}/{(VirtualHost == "/" ? "" : Uri.EscapeDataString(VirtualHost))}";
}
