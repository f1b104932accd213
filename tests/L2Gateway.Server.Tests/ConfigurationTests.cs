using L2Gateway.Server.Persistence;

namespace L2Gateway.Server.Tests;

public class ConfigurationTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Flags_beat_environment_which_beats_the_config_file()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, """
            [DEFAULT]
            bind = 127.0.0.1:7000
            data_dir = /tmp/from-file
            auth_strategy = noauth
            [database]
            connection = sqlite:///tmp/file.sqlite
            [QUOTAS]
            quota_l2_gateway = -1
            """);
        var fromFile = ServerConfiguration.Load(["--config-file", file], NoEnvironment);
        Assert.Equal("127.0.0.1:7000", fromFile.Bind);
        Assert.Equal("/tmp/from-file", fromFile.DataDir);
        Assert.Equal("sqlite:///tmp/file.sqlite", fromFile.Database);
        Assert.Equal(-1, fromFile.QuotaL2Gateway);

        var fromEnv = ServerConfiguration.Load(["--config-file", file], new Dictionary<string, string?> { ["L2GW_BIND"] = "127.0.0.1:7001" });
        Assert.Equal("127.0.0.1:7001", fromEnv.Bind);
        var fromFlag = ServerConfiguration.Load(["--config-file", file, "--bind=127.0.0.1:7002"], new Dictionary<string, string?> { ["L2GW_BIND"] = "127.0.0.1:7001" });
        Assert.Equal("127.0.0.1:7002", fromFlag.Bind);
        File.Delete(file);
    }

    [Fact]
    public void Defaults_are_the_one_machine_quick_start()
    {
        var options = ServerConfiguration.Load([], NoEnvironment);
        Assert.Equal("127.0.0.1:9696", options.Bind);
        Assert.Equal(AuthStrategy.NoAuth, options.AuthStrategy);
        Assert.Equal(5, options.QuotaL2Gateway);
        Assert.StartsWith("sqlite:///", options.DatabaseUrl, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--bind")]
    [InlineData("--auth-strategy=ldap")]
    [InlineData("--quota-l2-gateway=-7")]
    [InlineData("--config-file=/nonexistent/l2gw.ini")]
    public void Bad_options_are_one_line_errors(string arg)
    {
        var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load([arg], NoEnvironment));
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Noauth_on_a_public_address_is_refused_unless_forced()
    {
        var refused = Assert.Throws<ConfigurationException>(() => ServerHost.Build(new ServerOptions { Bind = "0.0.0.0:9696" }));
        Assert.Contains("noauth", refused.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() => ServerHost.Build(new ServerOptions { Bind = "nonsense" }));
        Assert.Throws<ConfigurationException>(() => ServerHost.Build(new ServerOptions { Database = "mysql://x" }));
    }

    [Theory]
    [InlineData("postgresql://u:secret@db.example:5433/l2gw", DatabaseProvider.PostgreSql)]
    [InlineData("postgresql+psycopg2://u:secret@127.0.0.1/l2gw", DatabaseProvider.PostgreSql)]
    [InlineData("sqlite:////var/lib/l2gw/db.sqlite", DatabaseProvider.Sqlite)]
    public void Database_urls(string url, DatabaseProvider provider)
    {
        var settings = DatabaseSettings.Parse(url);
        Assert.Equal(provider, settings.Provider);
        Assert.DoesNotContain("secret", settings.Display, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("1", true)]
    [InlineData("false", false)]
    [InlineData("No", false)]
    [InlineData("OFF", false)]
    [InlineData("0", false)]
    [InlineData("", false)]
    public void Ini_booleans_are_read_as_oslo_config_reads_them(string value, bool expected)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, $"[DEFAULT]\nforce_noauth = {value}\n");
        try
        {
            Assert.Equal(expected, ServerConfiguration.Load(["--config-file", file], NoEnvironment).ForceNoAuth);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Ture")]
    [InlineData("enabled")]
    [InlineData("2")]
    [InlineData("y")]
    public void An_ini_boolean_that_is_not_one_is_an_error_naming_the_option(string value)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, $"[DEFAULT]\nforce_noauth = {value}\n");
        try
        {
            var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--config-file", file], NoEnvironment));
            Assert.Contains("force_noauth", error.Message, StringComparison.Ordinal);
            Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
