using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.Cli;

/// <summary>The exit codes of <c>l2gw</c> (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int NotFound = 3;
    public const int Conflict = 4;
    public const int Unreachable = 5;
    public const int Auth = 6;

    public static int ForStatus(int status) => status switch
    {
        404 => NotFound,
        409 => Conflict,
        401 or 403 => Auth,
        _ => Failure,
    };
}

/// <summary>A failure to report as one line on stderr, with its exit code.</summary>
internal sealed class CliException(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}

/// <summary>
/// A tiny HTTP/1.1 client for the Neutron API. Plain <c>http://</c> goes over a raw socket (no HttpClient:
/// loading it costs more than the whole request); <c>https://</c> uses HttpClient.
/// </summary>
internal sealed class Rest(Uri endpoint, string? token, TextWriter? debug)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public Uri Endpoint { get; } = endpoint;

    public string? Token { get; set; } = token;

    /// <summary>Whether <c>/v2.0</c> goes after the endpoint (Neutron) or not (Keystone).</summary>
    public bool AppendVersion { get; init; } = true;

    /// <summary>The API root: the endpoint with <c>/v2.0</c> appended unless it is there already.</summary>
    public string Root
    {
        get
        {
            var text = Endpoint.ToString().TrimEnd('/');
            return !AppendVersion || text.EndsWith("/v2.0", StringComparison.Ordinal) ? text : text + "/v2.0";
        }
    }

    public JsonNode? Get(string path) => Send("GET", path, null);

    public JsonNode? Post(string path, JsonNode body) => Send("POST", path, body);

    public JsonNode? Put(string path, JsonNode body) => Send("PUT", path, body);

    public void Delete(string path) => Send("DELETE", path, null);

    /// <summary>Sends a request; a 4xx/5xx answer throws <see cref="CliException"/> with the server's message.</summary>
    public JsonNode? Send(string method, string path, JsonNode? body) => SendWithHeaders(method, path, body).Body;

    /// <summary>Like <see cref="Send"/>, also returning the response headers.</summary>
    public (JsonNode? Body, string Headers) SendWithHeaders(string method, string path, JsonNode? body)
    {
        var url = new Uri(Root + path);
        var payload = body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
        if (debug is not null)
        {
            var curl = new StringBuilder($"REQ: curl -g -i -X {method} {url} -H \"Accept: application/json\" -H \"User-Agent: l2gw/{Program.Version}\"");
            if (Token is not null)
            {
                curl.Append(" -H \"X-Auth-Token: {SHA256}").Append(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Token)))).Append('"');
            }

            if (payload is not null)
            {
                curl.Append(" -H \"Content-Type: application/json\" -d '").Append(Encoding.UTF8.GetString(payload)).Append('\'');
            }

            debug.WriteLine(curl.ToString());
        }

        int status;
        string headers;
        byte[] content;
        try
        {
            (status, headers, content) = url.Scheme == "http" ? SendRaw(method, url, payload) : SendHttpClient(method, url, payload);
        }
        catch (Exception e) when (e is SocketException or IOException or HttpRequestException or TimeoutException or TaskCanceledException)
        {
            throw new CliException(ExitCodes.Unreachable, $"Unable to establish connection to {url}: {Reason(e)}");
        }

        if (debug is not null)
        {
            debug.WriteLine($"RESP: [{status}] {headers.Replace("\r\n", " ", StringComparison.Ordinal).Trim()}");
            debug.WriteLine($"RESP BODY: {Encoding.UTF8.GetString(content)}");
            debug.WriteLine();
        }

        JsonNode? json = null;
        if (content.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(content);
            }
            catch (JsonException)
            {
                if (status < 400)
                {
                    throw new CliException(ExitCodes.Failure, $"{method} {url}: the server answered {status} with a body that is not JSON");
                }
            }
        }

        if (status >= 400)
        {
            throw new CliException(ExitCodes.ForStatus(status), ErrorMessage(status, json, content));
        }

        return (json, headers);
    }

    private static string Reason(Exception e) => e switch
    {
        SocketException s => s.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "Connection refused",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "Name or service not known",
            SocketError.TimedOut => "Connection timed out",
            _ => s.Message,
        },
        HttpRequestException { InnerException: SocketException s } => Reason(s),
        _ => e.Message,
    };

    private static string ErrorMessage(int status, JsonNode? json, byte[] content)
    {
        if (json is JsonObject obj)
        {
            if (obj["NeutronError"] is JsonObject neutron && neutron["message"] is JsonValue m)
            {
                return Python.Str(m);
            }

            if (obj["NeutronError"] is JsonValue text)
            {
                return Python.Str(text);
            }

            foreach (var (_, value) in obj)
            {
                if (value is JsonObject inner && inner["message"] is JsonValue message)
                {
                    return Python.Str(message);
                }
            }

            if (obj["message"] is JsonValue plain)
            {
                return Python.Str(plain);
            }
        }

        var body = Encoding.UTF8.GetString(content).Trim();
        var firstLine = body.Split('\n')[0].Trim();
        return firstLine.Length > 0 ? $"HTTP {status}: {firstLine}" : $"HTTP {status}";
    }

    private (int Status, string Headers, byte[] Content) SendRaw(string method, Uri url, byte[]? payload)
    {
        using var socket = Connect(url.Host, url.Port);
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(url.PathAndQuery).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(url.Authority).Append("\r\n");
        request.Append("Accept: application/json\r\nConnection: close\r\n");
        request.Append("User-Agent: l2gw/").Append(Program.Version).Append("\r\n");
        if (Token is not null)
        {
            request.Append("X-Auth-Token: ").Append(Token).Append("\r\n");
        }

        if (payload is not null)
        {
            request.Append("Content-Type: application/json\r\n");
        }

        if (payload is not null || method is "POST" or "PUT")
        {
            request.Append("Content-Length: ").Append((payload?.Length ?? 0).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        request.Append("\r\n");
        var head = Encoding.ASCII.GetBytes(request.ToString());
        if (payload is null)
        {
            socket.Send(head);
        }
        else
        {
            var all = new byte[head.Length + payload.Length];
            head.CopyTo(all, 0);
            payload.CopyTo(all, head.Length);
            socket.Send(all);
        }

        var response = new MemoryStream();
        var buffer = new byte[16384];
        int read;
        while ((read = socket.Receive(buffer)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        return ParseResponse(response.GetBuffer().AsSpan(0, (int)response.Length));
    }

    private static Socket Connect(string host, int port)
    {
        IPAddress[] addresses = IPAddress.TryParse(host.Trim('[', ']'), out var ip) ? [ip]
            : host == "localhost" ? [IPAddress.Loopback, IPAddress.IPv6Loopback]
            : Dns.GetHostAddresses(host);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 120_000, SendTimeout = 60_000 };
            try
            {
                var connect = socket.ConnectAsync(new IPEndPoint(address, port));
                if (!connect.Wait(ConnectTimeout))
                {
                    throw new SocketException((int)SocketError.TimedOut);
                }

                return socket;
            }
            catch (AggregateException e) when (e.InnerException is SocketException s)
            {
                socket.Dispose();
                last = s;
            }
            catch (SocketException s)
            {
                socket.Dispose();
                last = s;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static (int Status, string Headers, byte[] Content) ParseResponse(ReadOnlySpan<byte> data)
    {
        var end = data.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            throw new IOException("incomplete HTTP response");
        }

        var head = Encoding.ASCII.GetString(data[..end]);
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        if (statusParts.Length < 2 || !int.TryParse(statusParts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new IOException($"not an HTTP response: {lines[0]}");
        }

        var body = data[(end + 4)..];
        var chunked = false;
        var length = -1;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        byte[] content;
        if (chunked)
        {
            var output = new MemoryStream();
            var position = 0;
            while (true)
            {
                var lineEnd = body[position..].IndexOf("\r\n"u8);
                if (lineEnd < 0)
                {
                    break;
                }

                var sizeText = Encoding.ASCII.GetString(body.Slice(position, lineEnd)).Split(';')[0].Trim();
                var size = int.Parse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                position += lineEnd + 2;
                if (size == 0)
                {
                    break;
                }

                output.Write(body.Slice(position, size));
                position += size + 2;
            }

            content = output.ToArray();
        }
        else
        {
            content = (length >= 0 && length <= body.Length ? body[..length] : body).ToArray();
        }

        return (status, string.Join("\r\n", lines.Skip(1)), content);
    }

    private (int Status, string Headers, byte[] Content) SendHttpClient(string method, Uri url, byte[]? payload)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        request.Headers.Add("Accept", "application/json");
        request.Headers.Add("User-Agent", "l2gw/" + Program.Version);
        if (Token is not null)
        {
            request.Headers.Add("X-Auth-Token", Token);
        }

        if (payload is not null)
        {
            request.Content = new ByteArrayContent(payload);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        using var response = http.Send(request);
        using var stream = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return ((int)response.StatusCode, response.Headers.ToString() + response.Content.Headers, buffer.ToArray());
    }
}
