using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Agent.Tests;

namespace L2Gateway.Service.Tests;

/// <summary>
/// The server's console log under concurrent requests, as a log shipper reads its standard output: the lines leave
/// in batches, written by the threads that log them (src/L2Gateway.Server/BatchedConsoleLogger.cs).
/// </summary>
public sealed class ConsoleLogProcessTests : IDisposable
{
    private const int Tasks = 40;
    private const int RequestsPerTask = 50;

    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-logp-" + Guid.NewGuid().ToString("N")[..8]);

    public ConsoleLogProcessTests() => Directory.CreateDirectory(dir);

    [Fact]
    public async Task Concurrent_requests_get_one_whole_json_access_line_each_and_the_shutdown_line_follows_them()
    {
        var port = SwitchDb.FreePort();
        using var server = L2gwProcess.Start([L2gwProcess.Dll, "server", "--bind", $"127.0.0.1:{port}", "--data-dir", dir, "--log-format", "json"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await UntilAsync(() => server.Lines.Any(l => l.Contains("l2gw server listening", StringComparison.Ordinal)), server, "the server listening");

        // 40 connections of 50 GETs of the version document each, every request told apart by its query string: enough
        // at once for a writer to keep finding new lines and hand the rest to the thread pool (with 8, it never did).
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var i = t * RequestsPerTask; i < (t + 1) * RequestsPerTask; i++)
            {
                using var response = await http.GetAsync(new Uri($"/?i={i}", UriKind.Relative));
                Assert.True(response.IsSuccessStatusCode, $"GET /?i={i}: {(int)response.StatusCode}");
            }
        })));

        // No line waits for a later one: all of them leave while the server is still running, nothing more logged.
        const int requests = Tasks * RequestsPerTask;
        await UntilAsync(() => server.Lines.Count(l => l.Contains("\"Category\":\"L2Gateway.Api\"", StringComparison.Ordinal)) >= requests, server, $"{requests} access lines");
        Assert.Equal(0, await server.StopAsync());

        // Every line one whole JSON object (a torn or interleaved line does not parse, or parses with trailing text).
        var lines = server.Lines;
        var events = lines.Select((line, index) =>
        {
            try
            {
                return JsonNode.Parse(line)!.AsObject();
            }
            catch (JsonException e)
            {
                Assert.Fail($"line {index} is not one JSON object ({e.Message}): {line}");
                throw;
            }
        }).ToList();
        Assert.All(events, e => Assert.True(e.ContainsKey("Timestamp") && e.ContainsKey("LogLevel") && e.ContainsKey("Category") && e.ContainsKey("Message"), e.ToJsonString()));

        // Exactly one access line per request, each of them whole.
        var access = events.Select((e, index) => (Event: e, Index: index)).Where(x => (string?)x.Event["Category"] == "L2Gateway.Api").ToList();
        Assert.All(access, x =>
        {
            var state = x.Event["State"]!;
            Assert.Equal("GET", (string?)state["Method"]);
            Assert.Equal("/", (string?)state["Path"]);
            Assert.Equal(200, (int?)state["Status"]);
            Assert.StartsWith($"GET /{(string?)state["Query"]} 200 ", (string?)x.Event["Message"], StringComparison.Ordinal);
        });
        Assert.Equal(
            Enumerable.Range(0, requests).Select(i => $"?i={i}").Order(StringComparer.Ordinal),
            access.Select(x => (string)x.Event["State"]!["Query"]!).Order(StringComparer.Ordinal));

        // Logged at shutdown, after the last request's line: written before the process ended.
        var stopping = events.FindIndex(e => (string?)e["Category"] == "Microsoft.Hosting.Lifetime" && (string?)e["Message"] == "Application is shutting down...");
        Assert.True(stopping > access[^1].Index, $"the shutdown line (at {stopping}) is not after the last access line (at {access[^1].Index}); {lines.Count} lines");
    }

    /// <summary>Waits, by looking at what the server logged, until <paramref name="condition"/> holds.</summary>
    private static async Task UntilAsync(Func<bool> condition, L2gwProcess server, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never logged: {what}; its last lines:\n{string.Join('\n', server.Lines.TakeLast(20))}");
            await Task.Delay(50);
        }
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
