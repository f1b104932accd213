using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace L2Gateway.Server.Observability;

/// <summary>
/// Readiness in OpenStack mode: Neutron answers (<c>[neutron] url</c>) and the bus accepts connections
/// (<c>[DEFAULT] transport_url</c>). Each check is registered only when its setting is in the config file.
/// </summary>
public static class OpenStackHealthChecks
{
    public static void AddConfigured(IHealthChecksBuilder checks, IReadOnlyDictionary<string, string> ini)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(ini);
        if (ini.GetValueOrDefault("neutron:url") is { Length: > 0 } neutron)
        {
            if (!Uri.TryCreate(neutron, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                throw new ConfigurationException($"invalid [neutron] url '{neutron}': expected http(s)://HOST:PORT");
            }

            checks.AddCheck("neutron", new NeutronHealthCheck(url), tags: [Health.ReadyTag], timeout: Health.CheckTimeout);
        }

        if (ini.GetValueOrDefault("DEFAULT:transport_url") is { Length: > 0 } transport)
        {
            checks.AddCheck("bus", new BusHealthCheck(BusHealthCheck.Hosts(transport)), tags: [Health.ReadyTag], timeout: Health.CheckTimeout);
        }
    }
}

/// <summary>Neutron answers its version document (no credentials needed) with anything but a server error.</summary>
public sealed class NeutronHealthCheck(Uri url) : IHealthCheck, IDisposable
{
    private readonly HttpClient http = new();

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(url, cancellationToken);
        return (int)response.StatusCode < 500
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"Neutron at {url} answered {(int)response.StatusCode}");
    }

    public void Dispose() => http.Dispose();
}

/// <summary>One of the bus's brokers accepts a TCP connection (the oslo.messaging URL may list several).</summary>
public sealed class BusHealthCheck(IReadOnlyList<(string Host, int Port)> brokers) : IHealthCheck
{
    public IReadOnlyList<(string Host, int Port)> Brokers { get; } = brokers;

    /// <summary>The brokers of <c>rabbit://USER:PASS@HOST:PORT,USER:PASS@HOST2:PORT/VHOST</c> (port 5672 by default).</summary>
    public static IReadOnlyList<(string Host, int Port)> Hosts(string transportUrl)
    {
        ArgumentNullException.ThrowIfNull(transportUrl);
        var scheme = transportUrl.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0)
        {
            throw new ConfigurationException("invalid transport_url: expected rabbit://USER:PASS@HOST:PORT/");
        }

        var rest = transportUrl[(scheme + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var hosts = new List<(string, int)>();
        foreach (var entry in (slash < 0 ? rest : rest[..slash]).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var hostPort = entry[(entry.LastIndexOf('@') + 1)..];
            var colon = hostPort.LastIndexOf(':');
            var hasPort = colon > 0 && !hostPort.EndsWith(']');
            var host = (hasPort ? hostPort[..colon] : hostPort).Trim('[', ']');
            var port = 5672;
            if ((hasPort && !int.TryParse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out port)) || port is < 1 or > 65535 || host.Length == 0)
            {
                throw new ConfigurationException($"invalid broker '{hostPort}' in transport_url: expected HOST:PORT");
            }

            hosts.Add((host, port));
        }

        return hosts.Count > 0 ? hosts : throw new ConfigurationException("invalid transport_url: it names no broker");
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        foreach (var (host, port) in Brokers)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(host, port, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (SocketException)
            {
                // The next broker, if any.
            }
        }

        return HealthCheckResult.Unhealthy($"no broker of the bus accepts connections ({string.Join(", ", Brokers.Select(b => $"{b.Host}:{b.Port}"))})");
    }
}
