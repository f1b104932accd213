namespace L2Gateway.Server.Api;

/// <summary>Who is calling: their project and roles, as the auth strategy established them.</summary>
public sealed record RequestContext(string ProjectId, IReadOnlyList<string> Roles, string UserId = "")
{
    public bool IsAdmin => Roles.Contains("admin", StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// noauth: admin unless <c>X-Roles</c> lists roles without admin; the project comes from <c>X-Project-Id</c>
    /// (or the older <c>X-Tenant-Id</c>).
    /// </summary>
    public static RequestContext FromNoAuthHeaders(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var project = First(headers, "X-Project-Id") ?? First(headers, "X-Tenant-Id") ?? "";
        var rolesHeader = First(headers, "X-Roles");
        IReadOnlyList<string> roles = string.IsNullOrWhiteSpace(rolesHeader)
            ? AdminOnly
            : [.. rolesHeader.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        return new RequestContext(project.Trim(), roles, First(headers, "X-User-Id") ?? "");
    }

    private static readonly IReadOnlyList<string> AdminOnly = Array.AsReadOnly(new[] { "admin" });

    /// <summary>The header's first value; unlike LINQ's FirstOrDefault, without boxing the StringValues.</summary>
    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;
}
