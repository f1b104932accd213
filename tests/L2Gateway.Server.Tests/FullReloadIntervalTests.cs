namespace L2Gateway.Server.Tests;

/// <summary><c>full_reload_interval</c>: the period of the planner's safety-net reload, read as every server option is.</summary>
public sealed class FullReloadIntervalTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void It_is_a_minute_unless_set_by_file_environment_or_flag()
    {
        Assert.Equal(60, ServerConfiguration.Load([], NoEnvironment).FullReloadInterval);
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "[DEFAULT]\nfull_reload_interval = 600\n");
        try
        {
            Assert.Equal(600, ServerConfiguration.Load(["--config-file", file], NoEnvironment).FullReloadInterval);
            var environment = new Dictionary<string, string?> { ["L2GW_FULL_RELOAD_INTERVAL"] = "30" };
            Assert.Equal(30, ServerConfiguration.Load(["--config-file", file], environment).FullReloadInterval);
            Assert.Equal(3600, ServerConfiguration.Load(["--config-file", file, "--full-reload-interval", "3600"], environment).FullReloadInterval);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("often")]
    public void Anything_but_a_positive_number_of_seconds_is_a_one_line_error(string value)
    {
        var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--full-reload-interval", value], NoEnvironment));
        Assert.Contains($"invalid full_reload_interval '{value}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }
}
