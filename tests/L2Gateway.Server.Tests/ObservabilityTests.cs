using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using L2Gateway.Server.Observability;
using L2Gateway.Server.Persistence;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Server.Tests;

/// <summary>/healthz, /readyz, /metrics and request ids of a real server (in-process), with a real PostgreSQL and the lab's Keystone, Neutron and RabbitMQ.</summary>
public sealed partial class ObservabilityTests : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-obs-" + Guid.NewGuid().ToString("N"));
    private readonly List<WebApplication> servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<HttpClient> StartAsync(ServerOptions options, LogCapture? log = null)
    {
        options.Bind = "127.0.0.1:0";
        options.DataDir = dir;
        var app = ServerHost.Build(options, b =>
        {
            if (log is not null)
            {
                b.Logging.AddProvider(log);
            }
        });
        servers.Add(app);
        await ServerHost.StartAsync(app);
        return new HttpClient { BaseAddress = new Uri(ServerHost.Urls(app)[0]) };
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> ProbeAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never happened: {what}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Readiness_waits_for_the_database_and_the_desired_state_and_drops_when_the_database_goes()
    {
        await using var postgres = new PostgresServer();
        await postgres.StartAsync();
        await postgres.CreateDatabaseAsync("l2gw");
        var url = postgres.Url("l2gw");
        await DatabaseSettings.Parse(url).UpgradeAsync();

        // The server comes up while its database is down: alive, not ready.
        await postgres.StopAsync();
        using var log = new LogCapture();
        using var http = await StartAsync(new ServerOptions { Database = url, MigrateOnStart = false }, log);
        var (status, body) = await ProbeAsync(http, "/healthz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", (string?)body["status"]);
        (status, body) = await ProbeAsync(http, "/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", (string?)body["checks"]!["database"]);
        Assert.Equal("Unhealthy", (string?)body["checks"]!["desired_state"]);
        Assert.DoesNotContain(postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), body.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(log.Entries, e => e.Category.EndsWith("DefaultHealthCheckService", StringComparison.Ordinal) && e.Level == LogLevel.Error && e.Message.Contains("database", StringComparison.Ordinal));

        // The database comes: ready once the desired state has been loaded from it.
        await postgres.StartAgainAsync();
        await EventuallyAsync(async () => (await ProbeAsync(http, "/readyz")).Status == HttpStatusCode.OK, "/readyz 200 once the database is back");
        (_, body) = await ProbeAsync(http, "/readyz");
        Assert.Equal("Healthy", (string?)body["checks"]!["database"]);
        Assert.Equal("Healthy", (string?)body["checks"]!["desired_state"]);

        // The database goes: not ready at once, still alive.
        await postgres.StopAsync();
        (status, body) = await ProbeAsync(http, "/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", (string?)body["checks"]!["database"]);
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(http, "/healthz")).Status);
    }

    [Fact]
    public async Task Probes_and_the_scrape_need_no_token_under_keystone_and_the_api_still_does()
    {
        using var http = await StartAsync(new ServerOptions { AuthStrategy = AuthStrategy.Keystone, KeystoneUrl = OpenStackLab.KeystoneUrl.ToString() });

        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(http, "/healthz")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(http, "/readyz")).Status);
        using (var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("http_server_request_duration_seconds_count{", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var api = await http.GetAsync(new Uri("/v2.0/l2-gateways", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task OpenStack_checks_join_readiness_only_when_configured_and_tell_which_part_is_down()
    {
        using var plain = await StartAsync(new ServerOptions());
        var (_, body) = await ProbeAsync(plain, "/readyz");
        Assert.Equal(["database", "desired_state"], body["checks"]!.AsObject().Select(c => c.Key).Order(StringComparer.Ordinal));

        using var cloud = await StartAsync(new ServerOptions
        {
            ConfigFile = new Dictionary<string, string> { ["neutron:url"] = OpenStackLab.NeutronUrl.ToString(), ["DEFAULT:transport_url"] = LabRabbitUrl() },
        });
        var (status, ready) = await ProbeAsync(cloud, "/readyz");
        Assert.True(status == HttpStatusCode.OK, ready.ToJsonString());
        Assert.Equal("Healthy", (string?)ready["checks"]!["neutron"]);
        Assert.Equal("Healthy", (string?)ready["checks"]!["bus"]);

        // A bus whose broker is not there (a port nothing listens on): not ready, and the answer says which part.
        using var noBus = await StartAsync(new ServerOptions
        {
            ConfigFile = new Dictionary<string, string>
            {
                ["neutron:url"] = OpenStackLab.NeutronUrl.ToString(),
                ["DEFAULT:transport_url"] = $"rabbit://guest:guest@127.0.0.1:{Ports.Free()}/",
            },
        });
        (status, ready) = await ProbeAsync(noBus, "/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", (string?)ready["checks"]!["bus"]);
        Assert.Equal("Healthy", (string?)ready["checks"]!["neutron"]);
    }

    [Fact]
    public async Task Instruments_on_the_OpenStack_meter_are_exported()
    {
        var options = new ServerOptions { Bind = "127.0.0.1:0", DataDir = dir };
        var app = ServerHost.Build(options);
        servers.Add(app);
        await ServerHost.StartAsync(app);
        using var http = new HttpClient { BaseAddress = new Uri(ServerHost.Urls(app)[0]) };

        // What the OpenStack parts do: a meter of that name from the host's factory.
        var meter = app.Services.GetRequiredService<IMeterFactory>().Create(L2Gateway.OpenStack.OpenStackMetrics.MeterName);
        meter.CreateCounter<long>("l2gw.openstack.test.messages", "{message}").Add(3);

        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("l2gw_openstack_test_messages_total{otel_scope_name=\"L2Gateway.OpenStack\"} 3", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_response_carries_its_own_neutron_style_request_id()
    {
        using var http = await StartAsync(new ServerOptions());
        var ids = new List<string>();
        foreach (var path in new[] { "/v2.0/l2-gateways", "/v2.0/l2-gateways", "/v2.0/nothing-here", "/healthz" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            var id = Assert.Single(response.Headers.GetValues(RequestId.Header));
            Assert.Matches(RequestIdPattern(), id);
            ids.Add(id);
        }

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("rabbit://guest:guest@127.0.0.1:25682/", "127.0.0.1:25682")]
    [InlineData("rabbit://u:p@mq1:5673,u:p@mq2/vhost", "mq1:5673 mq2:5672")]
    [InlineData("rabbit://u:p@[2001:db8::1]:5671/", "2001:db8::1:5671")]
    [InlineData("rabbit://mq", "mq:5672")]
    public void The_bus_check_reads_every_broker_of_the_transport_url(string url, string brokers) =>
        Assert.Equal(brokers, string.Join(' ', BusHealthCheck.Hosts(url).Select(b => $"{b.Host}:{b.Port}")));

    [Theory]
    [InlineData("127.0.0.1:5672")]
    [InlineData("rabbit://u:p@mq:notaport/")]
    [InlineData("rabbit:///")]
    public void A_bad_transport_url_is_a_configuration_error(string url) =>
        Assert.Throws<ConfigurationException>(() => BusHealthCheck.Hosts(url));

    [Fact]
    public void The_log_format_comes_from_flag_environment_or_file_and_defaults_to_text()
    {
        var ini = Path.Combine(dir, "l2gw.ini");
        Directory.CreateDirectory(dir);
        File.WriteAllText(ini, "[DEFAULT]\nlog_format = json\n");
        var none = new Dictionary<string, string?>();
        Assert.Equal(LogFormat.Text, ServerConfiguration.Load([], none).LogFormat);
        Assert.Equal(LogFormat.Json, ServerConfiguration.Load(["--config-file", ini], none).LogFormat);
        Assert.Equal(LogFormat.Text, ServerConfiguration.Load(["--config-file", ini], new Dictionary<string, string?> { ["L2GW_LOG_FORMAT"] = "text" }).LogFormat);
        Assert.Equal(LogFormat.Json, ServerConfiguration.Load(["--log-format", "JSON"], new Dictionary<string, string?> { ["L2GW_LOG_FORMAT"] = "text" }).LogFormat);
        var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--log-format=xml"], none));
        Assert.Contains("log_format", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The lab's RabbitMQ, as its coordinates file gives it.</summary>
    private static string LabRabbitUrl() =>
        File.ReadAllText(Path.Combine(OpenStackLab.Directory, "osv.env")).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Single(w => w.StartsWith("RABBIT=", StringComparison.Ordinal))["RABBIT=".Length..];

    /// <summary>Every event logged, whatever its level passes the server's filters.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }

    [GeneratedRegex("^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex RequestIdPattern();
}
