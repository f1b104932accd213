using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace L2Gateway.Ovsdb.Tests;

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
