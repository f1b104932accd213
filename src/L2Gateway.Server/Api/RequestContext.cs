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
        var project = headers["X-Project-Id"].FirstOrDefault() ?? headers["X-Tenant-Id"].FirstOrDefault() ?? "";
        var rolesHeader = headers["X-Roles"].FirstOrDefault();
        IReadOnlyList<string> roles = string.IsNullOrWhiteSpace(rolesHeader)
            ? ["admin"]
            : [.. rolesHeader.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        return new RequestContext(project.Trim(), roles, headers["X-User-Id"].FirstOrDefault() ?? "");
    }
}
