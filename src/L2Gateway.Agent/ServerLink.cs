using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Keystone;

namespace L2Gateway.Agent;

/// <summary>
/// The agent's HTTP channel to the server: heartbeats and reports out, desired state in. With Keystone credentials
/// every request carries the agent's token (see <see cref="KeystoneTokenSource"/>).
/// </summary>
public sealed class ServerLink : IDisposable
{
    private readonly HttpClient http;

    public ServerLink(Uri serverUrl, KeystoneTokenSource? tokens = null)
    {
        http = tokens is null ? new HttpClient() : new HttpClient(new KeystoneAuthHandler(tokens));
        http.BaseAddress = serverUrl;
        http.Timeout = TimeSpan.FromSeconds(90);
    }

    public async Task ReportAsync(AgentReport report, CancellationToken cancellationToken)
    {
        using var content = new StringContent(JsonSerializer.Serialize(report, AgentProtocol.Json), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("v2.0/l2gw-agent/report", UriKind.Relative), content, cancellationToken);
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

        var batch = await http.GetFromJsonAsync<DesiredStateBatch>(new Uri(query.ToString(), UriKind.Relative), AgentProtocol.Json, cancellationToken);
        return batch ?? new DesiredStateBatch([]);
    }

    public void Dispose() => http.Dispose();
}
