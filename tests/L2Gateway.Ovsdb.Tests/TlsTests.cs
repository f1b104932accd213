using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace L2Gateway.Ovsdb.Tests;

/// <summary>A CA and leaf certificates made in-process and written as PEM files for ovsdb-server and the client.</summary>
public sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Dir = Path.Combine(Path.GetTempPath(), "ovsdbpki-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Dir);
        (CaCert, _caKey, _ca) = CreateCa("ca", "L2GW test CA");
        ServerCert = Issue("server", "ovsdb-server", _ca);
        ClientCert = Issue("client", "l2gw-agent", _ca);
        var (otherCaCert, otherKey, otherCa) = CreateCa("other-ca", "Unrelated CA");
        OtherCaCert = otherCaCert;
        RogueClientCert = Issue("rogue", "rogue-agent", otherCa);
        otherCa.Dispose();
        otherKey.Dispose();
    }

    private readonly RSA _caKey;
    private readonly X509Certificate2 _ca;

    public string Dir { get; }

    public string CaCert { get; }

    public string OtherCaCert { get; }

    public (string Cert, string Key) ServerCert { get; }

    public (string Cert, string Key) ClientCert { get; }

    public (string Cert, string Key) RogueClientCert { get; }

    private (string Path, RSA Key, X509Certificate2 Cert) CreateCa(string file, string cn)
    {
        var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(Dir, file + "-cert.pem");
        File.WriteAllText(path, cert.ExportCertificatePem());
        return (path, key, cert);
    }

    private (string Cert, string Key) Issue(string file, string cn, X509Certificate2 ca)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = req.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMonths(6), RandomNumberGenerator.GetBytes(12));
        var certPath = Path.Combine(Dir, file + "-cert.pem");
        var keyPath = Path.Combine(Dir, file + "-privkey.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

public class TlsTests(TestPki pki) : IClassFixture<TestPki>
{
    [Fact]
    public async Task Ssl_endpoint_with_client_certificate_and_ca_verification()
    {
        var sslPort = OvsdbServer.FreePort();
        using var server = new OvsdbServer(
            $"--private-key={pki.ServerCert.Key}",
            $"--certificate={pki.ServerCert.Cert}",
            $"--ca-cert={pki.CaCert}",
            $"--remote=pssl:{sslPort}:127.0.0.1");
        var endpoint = $"ssl:127.0.0.1:{sslPort}";

        var good = new OvsdbClientOptions { PrivateKeyFile = pki.ClientCert.Key, CertificateFile = pki.ClientCert.Cert, CaCertificateFile = pki.CaCert };
        await using (var client = await ConnectWhenListening(endpoint, good))
        {
            Assert.Contains("hardware_vtep", await client.ListDatabasesAsync());
            Assert.Equal("hardware_vtep", (await client.GetSchemaAsync("hardware_vtep")).Name);
        }

        // The server's certificate does not chain to the CA the client trusts.
        var wrongCa = new OvsdbClientOptions { PrivateKeyFile = pki.ClientCert.Key, CertificateFile = pki.ClientCert.Cert, CaCertificateFile = pki.OtherCaCert };
        await Assert.ThrowsAsync<OvsdbConnectionException>(() => OvsdbClient.ConnectAsync(endpoint, wrongCa));

        // The server rejects a client certificate from another CA: the handshake or the first call fails.
        var rogue = new OvsdbClientOptions { PrivateKeyFile = pki.RogueClientCert.Key, CertificateFile = pki.RogueClientCert.Cert, CaCertificateFile = pki.CaCert };
        await Assert.ThrowsAsync<OvsdbConnectionException>(async () =>
        {
            await using var c = await OvsdbClient.ConnectAsync(endpoint, rogue);
            await c.ListDatabasesAsync();
        });
    }

    [Fact]
    public async Task Passive_ssl_listener_accepts_a_switch_with_a_certificate_from_the_trusted_ca()
    {
        using var server = new OvsdbServer(
            $"--private-key={pki.ServerCert.Key}",
            $"--certificate={pki.ServerCert.Cert}",
            $"--ca-cert={pki.CaCert}",
            "--remote=db:hardware_vtep,Global,managers");
        server.VtepCtl("add-ps tls-tor");
        var options = new OvsdbClientOptions { PrivateKeyFile = pki.ClientCert.Key, CertificateFile = pki.ClientCert.Cert, CaCertificateFile = pki.CaCert };
        await using var listener = new OvsdbListener(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), options, useTls: true);
        listener.Start();

        // A peer whose certificate is from another CA is turned away; the listener keeps accepting.
        var rejected = new TaskCompletionSource<Exception?>();
        listener.HandshakeFailed += (_, e) => rejected.TrySetResult(e.Reason);
        var rogue = new OvsdbClientOptions { PrivateKeyFile = pki.RogueClientCert.Key, CertificateFile = pki.RogueClientCert.Cert, CaCertificateFile = pki.CaCert };
        var acceptTask = listener.AcceptSwitchAsync();
        await Assert.ThrowsAnyAsync<OvsdbException>(async () =>
        {
            await using var c = await OvsdbClient.ConnectAsync($"ssl:127.0.0.1:{listener.LocalEndPoint.Port}", rogue);
            await c.ListDatabasesAsync();
        });
        Assert.IsType<OvsdbConnectionException>(await rejected.Task.WaitAsync(TimeSpan.FromSeconds(30)));

        server.VtepCtl($"set-manager ssl:127.0.0.1:{listener.LocalEndPoint.Port}");

        var accepted = await acceptTask.WaitAsync(TimeSpan.FromSeconds(30));
        await using var client = accepted.Client;
        Assert.StartsWith("ssl:", client.Endpoint, StringComparison.Ordinal);
        Assert.Equal(["tls-tor"], accepted.PhysicalSwitchNames);
    }

    private static async Task<OvsdbClient> ConnectWhenListening(string endpoint, OvsdbClientOptions options)
    {
        // The pssl remote is opened a moment after the ptcp one the fixture waits for.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await OvsdbClient.ConnectAsync(endpoint, options);
            }
            catch (OvsdbConnectionException) when (attempt < 100)
            {
                await Task.Delay(50);
            }
        }
    }
}
