using System.Collections.Concurrent;
using System.Net;

namespace L2Gateway.ScaleOut.Tests;

/// <summary>One answer a server gave to a write of the load.</summary>
public sealed record WriteAnswer(string Server, HttpStatusCode Status, string? ErrorType, string? Id, string Kind);

/// <summary>
/// A steady write load, as clients of a cloud make it: workers that create networks (with their VXLAN segment) and
/// gateways (with a device and its interfaces) one after another, round the given servers. Every answer is kept: a
/// 201 is an acknowledged write that must be stored for good. A server that cannot be reached at all (killed) is
/// left, as a load balancer would leave it; a refused write is not retried, only followed by the next one after a
/// short pause.
/// </summary>
public sealed class WriteLoad : IAsyncDisposable
{
    private static int nextVni = 10_000;

    private readonly ConcurrentQueue<WriteAnswer> answers = new();
    private readonly ConcurrentQueue<(string Server, string Error)> unreachable = new();
    private readonly ConcurrentDictionary<string, int> inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> left = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim answered = new(0, int.MaxValue);
    private readonly CancellationTokenSource stop = new();
    private readonly Task[] workers;

    private WriteLoad(IReadOnlyList<ServerNode> servers, int workerCount) =>
        workers = [.. Enumerable.Range(0, workerCount).Select(w => Task.Run(() => WorkAsync(servers, w)))];

    public static WriteLoad Start(IReadOnlyList<ServerNode> servers, int workers) => new(servers, workers);

    public IReadOnlyList<WriteAnswer> Answers => [.. answers];

    /// <summary>Writes whose answer never came (the server was gone), by server.</summary>
    public IReadOnlyList<(string Server, string Error)> Unreachable => [.. unreachable];

    public IReadOnlyList<WriteAnswer> Acknowledged => [.. answers.Where(a => a.Status == HttpStatusCode.Created)];

    /// <summary>Writes sent to <paramref name="server"/> and not answered yet.</summary>
    public int InFlight(string server) => inFlight.GetValueOrDefault(server);

    private async Task WorkAsync(IReadOnlyList<ServerNode> servers, int worker)
    {
        for (var turn = worker; !stop.IsCancellationRequested; turn++)
        {
            var usable = servers.Where(s => !left.ContainsKey(s.Name)).ToList();
            if (usable.Count == 0)
            {
                return;
            }

            var server = usable[turn % usable.Count];
            var vni = Interlocked.Increment(ref nextVni);
            var (kind, path, json) = turn % 2 == 0
                ? ("network", "/v2.0/networks", $$$"""{"network":{"name":"load-{{{vni}}}","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}""")
                : ("l2_gateway", "/v2.0/l2-gateways", $$$"""{"l2_gateway":{"name":"load-{{{vni}}}","devices":[{"device_name":"sw-{{{vni}}}","interfaces":[{"name":"e1"},{"name":"e2"}]}]}}""");
            inFlight.AddOrUpdate(server.Name, 1, (_, n) => n + 1);
            try
            {
                // Not cancelled when the load stops: a write in flight then is answered, and counted.
                var (status, body) = await server.SendAsync(HttpMethod.Post, path, json);
                answers.Enqueue(new WriteAnswer(
                    server.Name, status, (string?)body?["NeutronError"]?["type"], (string?)body?[kind]?["id"], kind));
                if (status != HttpStatusCode.Created)
                {
                    await Task.Delay(50, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                unreachable.Enqueue((server.Name, e.Message));
                left[server.Name] = true;
            }
            finally
            {
                inFlight.AddOrUpdate(server.Name, 0, (_, n) => n - 1);
                answered.Release();
            }
        }
    }

    /// <summary>Waits, answer by answer, until <paramref name="condition"/> holds.</summary>
    public async Task WaitAsync(Func<bool> condition, string what, int seconds = 90)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (!condition())
        {
            try
            {
                await answered.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"never happened: {what}; answers: {string.Join(", ", answers.GroupBy(a => (a.Server, a.Status)).Select(g => $"{g.Key.Server} {(int)g.Key.Status} x{g.Count()}"))}");
            }
        }
    }

    /// <summary>Stops the workers once the writes in flight are answered.</summary>
    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        stop.Dispose();
        answered.Dispose();
    }
}
