namespace L2Gateway.Server.Tests;

public sealed class NeutronCatalogConfigurationTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static readonly Dictionary<string, string> ServiceUser = new(StringComparer.OrdinalIgnoreCase)
    {
        ["keystone_authtoken:auth_url"] = "http://127.0.0.1:5000/v3",
        ["keystone_authtoken:username"] = "l2gw",
        ["keystone_authtoken:password"] = "secret",
        ["keystone_authtoken:project_name"] = "service",
    };

    [Fact]
    public void The_catalog_and_neutron_options_come_from_the_file_the_environment_and_flags()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, """
            [DEFAULT]
            catalog = Neutron
            [neutron]
            url = http://neutron:9696
            poll_interval = 2
            full_sync_interval = 60
            """);
        try
        {
            var fromFile = ServerConfiguration.Load(["--config-file", file], NoEnvironment);
            var fromEnv = ServerConfiguration.Load(
                ["--config-file", file], new Dictionary<string, string?> { ["L2GW_NEUTRON_URL"] = "http://other:9696", ["L2GW_NEUTRON_POLL_INTERVAL"] = "9" });
            var fromFlags = ServerConfiguration.Load(["--catalog", "standalone", "--neutron-full-sync-interval=30"], NoEnvironment);

            Assert.Equal(("neutron", "http://neutron:9696", 2, 60), (fromFile.Catalog, fromFile.NeutronUrl, fromFile.NeutronPollInterval, fromFile.NeutronFullSyncInterval));
            Assert.Equal(("http://other:9696", 9), (fromEnv.NeutronUrl, fromEnv.NeutronPollInterval));
            Assert.Equal(("standalone", null, 5, 30), (fromFlags.Catalog, fromFlags.NeutronUrl, fromFlags.NeutronPollInterval, fromFlags.NeutronFullSyncInterval));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--catalog=nova", "invalid catalog 'nova': expected standalone or neutron")]
    [InlineData("--neutron-poll-interval=0", "invalid neutron_poll_interval '0'")]
    [InlineData("--neutron-full-sync-interval=soon", "invalid neutron_full_sync_interval 'soon'")]
    public void Bad_values_are_one_line_errors(string arg, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load([arg], NoEnvironment));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("noauth", true, null, "catalog=neutron needs auth_strategy=keystone")]
    [InlineData("keystone", false, null, "catalog=neutron needs the service user's credentials")]
    [InlineData("keystone", true, "neutron:9696", "invalid neutron url 'neutron:9696'")]
    public void Neutron_mode_without_what_it_needs_does_not_start(string auth, bool credentials, string? url, string message)
    {
        var options = new ServerOptions
        {
            Bind = "127.0.0.1:0",
            Catalog = "neutron",
            AuthStrategy = auth == "keystone" ? AuthStrategy.Keystone : AuthStrategy.NoAuth,
            KeystoneUrl = "http://127.0.0.1:5000/v3",
            NeutronUrl = url,
            ConfigFile = credentials ? ServiceUser : new Dictionary<string, string>(),
        };

        var error = Assert.Throws<ConfigurationException>(() => ServerHost.Build(options));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Incomplete_credentials_are_named()
    {
        var options = new ServerOptions
        {
            Bind = "127.0.0.1:0",
            Catalog = "neutron",
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = "http://127.0.0.1:5000/v3",
            ConfigFile = new Dictionary<string, string> { ["keystone_authtoken:username"] = "l2gw" },
        };

        var error = Assert.Throws<ConfigurationException>(() => ServerHost.Build(options));

        Assert.Contains("password", error.Message, StringComparison.Ordinal);
        Assert.Contains("auth_url", error.Message, StringComparison.Ordinal);
    }
}
