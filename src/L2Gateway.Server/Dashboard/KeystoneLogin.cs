using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Api;

namespace L2Gateway.Server.Dashboard;

/// <summary>What a person types into the dashboard's login form.</summary>
public sealed record PasswordLogin(string Username, string Password, string ProjectName, string UserDomainName, string ProjectDomainName);

/// <summary>
/// Relays a dashboard password login to the Keystone the server validates tokens with (<c>POST /v3/auth/tokens</c>,
/// password method, scoped to a project) and hands the token back to the page. The server keeps neither the
/// password nor the token; the URL is the server's own, never one the caller gives.
/// </summary>
public sealed class KeystoneLogin : IDisposable
{
    private static readonly string[] PasswordMethod = ["password"];
    private readonly HttpClient http;

    public KeystoneLogin(Uri keystoneUrl)
    {
        ArgumentNullException.ThrowIfNull(keystoneUrl);
        http = new HttpClient { BaseAddress = KeystoneAuth.IdentityRoot(keystoneUrl), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The token Keystone issued, its expiry, and who it is for.</summary>
    public async Task<JsonObject> LoginAsync(PasswordLogin login, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(login);
        var body = JsonSerializer.Serialize(new
        {
            auth = new
            {
                identity = new
                {
                    methods = PasswordMethod,
                    password = new { user = new { name = login.Username, domain = new { name = login.UserDomainName }, password = login.Password } },
                },
                scope = new { project = new { name = login.ProjectName, domain = new { name = login.ProjectDomainName } } },
            },
        });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(new Uri("v3/auth/tokens", UriKind.Relative), content, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", "The identity service is unreachable: " + e.Message);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                throw new L2GatewayException(
                    ErrorKind.Unauthorized, "HTTPUnauthorized", "Keystone refused these credentials (user, password, project or domain).");
            }

            if (response.StatusCode == HttpStatusCode.BadRequest)
            {
                throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", "Keystone refused the login: " + await KeystoneMessageAsync(response, cancellationToken));
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", $"The identity service answered {(int)response.StatusCode}");
            }

            var token = response.Headers.TryGetValues("X-Subject-Token", out var values) ? values.FirstOrDefault() : null;
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            if (string.IsNullOrEmpty(token) || !json.RootElement.TryGetProperty("token", out var t))
            {
                throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", "The identity service answered without a token");
            }

            return new JsonObject
            {
                ["token"] = token,
                ["expires_at"] = Text(t, "expires_at"),
                ["user"] = t.TryGetProperty("user", out var u) ? Text(u, "name") : "",
                ["project"] = t.TryGetProperty("project", out var p) ? Text(p, "name") : "",
                ["roles"] = new JsonArray([.. Roles(t).Select(x => (JsonNode)x)]),
            };
        }
    }

    private static List<string> Roles(JsonElement token) =>
        token.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array ? [.. r.EnumerateArray().Select(x => Text(x, "name"))] : [];

    private static string Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static async Task<string> KeystoneMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return json.RootElement.TryGetProperty("error", out var e) ? Text(e, "message") : "";
        }
        catch (JsonException)
        {
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
    }

    public void Dispose() => http.Dispose();
}
