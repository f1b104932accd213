using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Keystone;

namespace L2Gateway.Agent;

/// <summary>
/// A server the agent could not use: the connection was refused or broke, no answer came in time, or it answered
/// 5xx. The link has already moved on to the next server when this is thrown.
/// </summary>
public sealed class ServerUnavailableException : HttpRequestException
{
    public ServerUnavailableException(Uri server, string reason, Exception? innerException)
        : base($"{server}: {reason}", innerException)
    {
        Server = server;
    }

    public ServerUnavailableException()
        : this(new Uri("http://unknown/"), "unavailable", null)
    {
    }

    public ServerUnavailableException(string message)
        : base(message)
    {
        Server = new Uri("http://unknown/");
    }

    public ServerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
        Server = new Uri("http://unknown/");
    }

    /// <summary>The server that failed.</summary>
    public Uri Server { get; }
}

/// <summary>
/// The agent's HTTP channel to the servers: heartbeats and reports out, desired state in. It uses one server at a
/// time, the first of the list to begin with, and moves to the next one (round the list) when that one fails; a
/// server that answers 4xx is alive and is kept. With Keystone credentials every request carries the agent's token
/// (see <see cref="KeystoneTokenSource"/>).
/// </summary>
public sealed class ServerLink : IDisposable
{
    /// <summary>How long a connection to a server may take: a host that drops packets is left after this.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long past its wait a long poll, and how long any other call, may go without an answer.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);

    private readonly HttpClient http;
    private readonly Uri[] servers;
    private int current;

    public ServerLink(Uri serverUrl, KeystoneTokenSource? tokens = null)
        : this([serverUrl], tokens)
    {
    }

    public ServerLink(IReadOnlyList<Uri> serverUrls, KeystoneTokenSource? tokens = null)
    {
        ArgumentNullException.ThrowIfNull(serverUrls);
        if (serverUrls.Count == 0)
        {
            throw new ArgumentException("at least one server URL is needed", nameof(serverUrls));
        }

        // A base without a trailing slash would lose its last segment when request paths are resolved against it.
        servers = [.. serverUrls.Select(u => u.AbsolutePath.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/"))];
        var sockets = new SocketsHttpHandler { ConnectTimeout = ConnectTimeout };
        http = tokens is null ? new HttpClient(sockets) : new HttpClient(new KeystoneAuthHandler(tokens) { InnerHandler = sockets });

        // Each call has its own deadline (the long poll's depends on its wait).
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <summary>The server the next call goes to.</summary>
    public Uri Current => servers[Volatile.Read(ref current)];

    /// <summary>How many servers there are to try.</summary>
    public int Count => servers.Length;

    public async Task ReportAsync(AgentReport report, CancellationToken cancellationToken)
    {
        using var content = new StringContent(JsonSerializer.Serialize(report, AgentProtocol.Json), Encoding.UTF8, "application/json");
        using var response = await SendAsync(HttpMethod.Post, "v2.0/l2gw-agent/report", content, AnswerTimeout, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Long-polls for the desired state of <paramref name="known"/>'s switches that differ from the revisions given.</summary>
    public async Task<DesiredStateBatch> DesiredAsync(IReadOnlyDictionary<string, string?> known, int waitSeconds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(known);
        var query = new StringBuilder("v2.0/l2gw-agent/desired-state?wait=").Append(waitSeconds);
        foreach (var (name, revision) in known)
        {
            query.Append("&switch=").Append(Uri.EscapeDataString(name)).Append("&known=").Append(Uri.EscapeDataString(revision ?? ""));
        }

        using var response = await SendAsync(HttpMethod.Get, query.ToString(), null, TimeSpan.FromSeconds(waitSeconds) + AnswerTimeout, cancellationToken);
        response.EnsureSuccessStatusCode();
        var batch = await response.Content.ReadFromJsonAsync<DesiredStateBatch>(AgentProtocol.Json, cancellationToken);
        return batch ?? new DesiredStateBatch([]);
    }

    /// <summary>Sends to the current server and reads the whole answer, or moves on and throws <see cref="ServerUnavailableException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var index = Volatile.Read(ref current);
        var server = servers[index];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var request = new HttpRequestMessage(method, new Uri(server, path)) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw MoveOn(index, $"no answer within {timeout.TotalSeconds:0} s", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException)
        {
            throw MoveOn(index, e.Message, e);
        }

        if ((int)response.StatusCode >= 500)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw MoveOn(index, $"answered {status}", null);
        }

        return response;
    }

    /// <summary>Leaves the server at <paramref name="index"/>, unless a concurrent call has left it already.</summary>
    private ServerUnavailableException MoveOn(int index, string reason, Exception? cause)
    {
        Interlocked.CompareExchange(ref current, (index + 1) % servers.Length, index);
        return new ServerUnavailableException(servers[index], reason, cause);
    }

    public void Dispose() => http.Dispose();
}
