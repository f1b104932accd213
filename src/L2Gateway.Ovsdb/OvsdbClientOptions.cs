using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace L2Gateway.Ovsdb;

/// <summary>How a connection is made and supervised: TLS files, timeouts, limits, logging, clock and metrics.</summary>
public sealed class OvsdbClientOptions
{
    /// <summary>PEM private key for "ssl:" endpoints (ovsdb-server's --private-key counterpart).</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>PEM client certificate for "ssl:" endpoints.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM CA certificate the server's certificate must chain to.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>
    /// After this long without receiving anything, an "echo" is sent; if nothing arrives within another
    /// interval the link is declared dead. <see cref="TimeSpan.Zero"/> disables probing.
    /// </summary>
    public TimeSpan InactivityProbe { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Default timeout of a call; <see cref="Timeout.InfiniteTimeSpan"/> for none.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a TCP connection (and TLS handshake) may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest accepted message; a larger one is a protocol error that closes the connection.</summary>
    public long MaxMessageSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>Validate every operation against the database schema before sending it.</summary>
    public bool ValidateOperations { get; set; } = true;

    /// <summary>Where the connection logs (lost connections, failing event handlers); none by default.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock of every timer and timeout of the library (inactivity probe, call and connect timeouts, reconnect backoff).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Creates the meter "L2Gateway.Ovsdb" (messages and bytes sent and received, errors, requests in flight);
    /// null publishes no metrics.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }
}
