using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Ovsdb;

/// <summary>A switch that dialled in, with the names of its Physical_Switch rows.</summary>
public sealed record AcceptedSwitch(OvsdbClient Client, EndPoint? RemoteEndPoint, IReadOnlyList<string> PhysicalSwitchNames);

/// <summary>
/// Passive mode: listens for hardware-VTEP switches whose ovsdb-server connects out to us (a "Manager"
/// row such as tcp:CONTROLLER:6640 or ssl:CONTROLLER:6640). Each accepted connection is an ordinary
/// <see cref="OvsdbClient"/>.
/// </summary>
public sealed class OvsdbListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly OvsdbClientOptions _options;
    private readonly Func<IPEndPoint, OvsdbServerTls?>? _tls;
    private readonly OvsdbServerTls? _fixedTls;

    /// <summary>A listener for switches that dial in (their Manager table names this address).</summary>
    /// <param name="endpoint">The address and port to listen on; port 0 lets the system pick one.</param>
    /// <param name="options">The options of each accepted connection (and, with TLS, its PEM files).</param>
    /// <param name="useTls">
    /// Accept TLS ("ssl:" managers): <paramref name="options"/> must name the private key, certificate and
    /// CA files; the peer must present a certificate issued by that CA.
    /// </param>
    public OvsdbListener(IPEndPoint endpoint, OvsdbClientOptions? options = null, bool useTls = false)
    {
        _options = options ?? new OvsdbClientOptions();
        if (useTls)
        {
            if (_options.CertificateFile is null || _options.PrivateKeyFile is null || _options.CaCertificateFile is null)
            {
                throw new ArgumentException("TLS needs PrivateKeyFile, CertificateFile and CaCertificateFile", nameof(options));
            }

            _fixedTls = OvsdbServerTls.FromPemFiles(_options.PrivateKeyFile, _options.CertificateFile, _options.CaCertificateFile);
            _tls = _ => _fixedTls;
        }

        _listener = new TcpListener(endpoint);
    }

    /// <summary>A listener for switches that dial in over TLS, with credentials chosen per peer.</summary>
    /// <param name="endpoint">The address and port to listen on; port 0 lets the system pick one.</param>
    /// <param name="options">The options of each accepted connection.</param>
    /// <param name="tls">
    /// The credentials to accept each peer with, chosen by its address (a switch's own certificate files, as the
    /// reference's passive mode does); a peer it returns null for is refused.
    /// </param>
    public OvsdbListener(IPEndPoint endpoint, OvsdbClientOptions? options, Func<IPEndPoint, OvsdbServerTls?> tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        _options = options ?? new OvsdbClientOptions();
        _tls = tls;
        _listener = new TcpListener(endpoint);
    }

    /// <summary>The bound address; with port 0 the system picks one.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Starts listening on <see cref="LocalEndPoint"/>.</summary>
    public void Start() => _listener.Start();

    /// <summary>
    /// Raised when a peer connected but its TLS handshake failed (wrong CA, peer went away); the listener
    /// keeps accepting, since one misconfigured or flapping switch must not stop the others.
    /// </summary>
    public event EventHandler<OvsdbConnectionStateChangedEventArgs>? HandshakeFailed;

    /// <summary>Waits for the next peer; with TLS, only peers that complete the handshake are returned.</summary>
    public async Task<OvsdbClient> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            socket.NoDelay = true;
            var remote = socket.RemoteEndPoint;
            var network = new NetworkStream(socket, ownsSocket: true);
            if (_tls is null)
            {
                return OvsdbClient.FromStream(network, $"tcp:{remote}", _options);
            }

            OvsdbServerTls? credentials;
            try
            {
                credentials = _tls((IPEndPoint)remote!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                await network.DisposeAsync().ConfigureAwait(false);
                HandshakeFailed?.Invoke(this, new OvsdbConnectionStateChangedEventArgs(
                    OvsdbConnectionState.Disconnected, new OvsdbConnectionException($"TLS credentials for {remote} cannot be read: {ex.Message}", ex)));
                continue;
            }

            if (credentials is null)
            {
                await network.DisposeAsync().ConfigureAwait(false);
                HandshakeFailed?.Invoke(this, new OvsdbConnectionStateChangedEventArgs(
                    OvsdbConnectionState.Disconnected, new OvsdbConnectionException($"no TLS credentials for {remote}: connection refused")));
                continue;
            }

            var ssl = new SslStream(network, leaveInnerStreamOpen: false);
            try
            {
                using var limit = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = credentials.Certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, cert, _, _) => OvsdbClient.ChainsTo(cert, credentials.Trusted),
                }, timeout.Token).ConfigureAwait(false);
                return OvsdbClient.FromStream(ssl, $"ssl:{remote}", _options);
            }
            catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                HandshakeFailed?.Invoke(this, new OvsdbConnectionStateChangedEventArgs(
                    OvsdbConnectionState.Disconnected,
                    new OvsdbConnectionException($"TLS handshake with {remote} failed: {ex.Message}", ex)));
            }
        }
    }

    /// <summary>Accepts the next connection and reads its Physical_Switch names from <paramref name="database"/>.</summary>
    public async Task<AcceptedSwitch> AcceptSwitchAsync(string database = "hardware_vtep", CancellationToken cancellationToken = default)
    {
        var client = await AcceptAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return new AcceptedSwitch(client, null, await IdentifyAsync(client, database, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The names in the "Physical_Switch" table of <paramref name="database"/>, sorted: who the switch behind <paramref name="client"/> is.</summary>
    public static async Task<IReadOnlyList<string>> IdentifyAsync(OvsdbClient client, string database = "hardware_vtep", CancellationToken cancellationToken = default)
    {
        var result = (await client.TransactAsync(database, [Op.Select("Physical_Switch").Columns("name")], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        return [.. result.Operations[0]!.Rows!.Select(r => r.GetString("name")).Order(StringComparer.Ordinal)];
    }

    /// <summary>Stops listening; connections already accepted stay open.</summary>
    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        _fixedTls?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What a listener presents to a TLS peer, and the CA certificates a peer's certificate must chain to.</summary>
public sealed class OvsdbServerTls(X509Certificate2 certificate, X509Certificate2Collection trusted) : IDisposable
{
    /// <summary>The certificate (with its private key) presented to peers.</summary>
    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>The CA certificates a peer's certificate must chain to.</summary>
    public X509Certificate2Collection Trusted { get; } = trusted;

    /// <summary>Reads PEM files: a private key, its certificate, and the CA certificate(s) peers must chain to.</summary>
    public static OvsdbServerTls FromPemFiles(string privateKeyFile, string certificateFile, string caCertificateFile)
    {
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(caCertificateFile);
        return new OvsdbServerTls(X509Certificate2.CreateFromPemFile(certificateFile, privateKeyFile), trusted);
    }

    /// <summary>Disposes the certificates.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var c in Trusted)
        {
            c.Dispose();
        }
    }
}
