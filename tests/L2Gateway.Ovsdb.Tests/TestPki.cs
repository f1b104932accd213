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
