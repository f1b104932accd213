using L2Gateway.Core;
using YamlDotNet.RepresentationModel;

namespace L2Gateway.Server.Api;

/// <summary>
/// oslo.policy-style rules: each API call names a rule; a rule is a small expression over the caller
/// (<c>role:X</c>, <c>rule:NAME</c>, <c>project_id:%(project_id)s</c>, <c>@</c>, <c>!</c>, <c>""</c>) joined by
/// <c>or</c> / <c>and</c> / <c>not</c>. The defaults are the reference's: every gateway and connection call is
/// admin-only. A YAML policy file overrides any rule by name.
/// </summary>
public sealed class Policy
{
    private static readonly Dictionary<string, string> Defaults = new(StringComparer.Ordinal)
    {
        ["context_is_admin"] = "role:admin",
        ["owner"] = "project_id:%(project_id)s",
        ["admin_or_owner"] = "rule:context_is_admin or rule:owner",
        ["admin_only"] = "rule:context_is_admin",
        ["create_l2_gateway"] = "rule:admin_only",
        ["update_l2_gateway"] = "rule:admin_only",
        ["get_l2_gateway"] = "rule:admin_only",
        ["delete_l2_gateway"] = "rule:admin_only",
        ["create_l2_gateway_connection"] = "rule:admin_only",
        ["get_l2_gateway_connection"] = "rule:admin_only",
        ["delete_l2_gateway_connection"] = "rule:admin_only",
        ["create_network"] = "rule:admin_or_owner",
        ["get_network"] = "rule:admin_or_owner",
        ["update_network"] = "rule:admin_or_owner",
        ["delete_network"] = "rule:admin_or_owner",
        ["create_port"] = "rule:admin_or_owner",
        ["get_port"] = "rule:admin_or_owner",
        ["update_port"] = "rule:admin_or_owner",
        ["delete_port"] = "rule:admin_or_owner",
        ["create_host"] = "rule:admin_only",
        ["get_host"] = "rule:admin_only",
        ["delete_host"] = "rule:admin_only",
        ["get_agent"] = "rule:admin_only",
        ["delete_agent"] = "rule:admin_only",
        ["get_l2_gateway_switch"] = "rule:admin_only",
        ["report_l2gw_agent"] = "rule:admin_only",
    };

    private readonly Dictionary<string, string> rules;

    public Policy(IReadOnlyDictionary<string, string>? overrides = null)
    {
        rules = new Dictionary<string, string>(Defaults, StringComparer.Ordinal);
        foreach (var (name, rule) in overrides ?? new Dictionary<string, string>())
        {
            rules[name] = rule;
        }
    }

    /// <summary>Reads a policy file (YAML or JSON, a map of rule name to expression).</summary>
    public static Policy Load(string path)
    {
        using var reader = new StreamReader(path);
        var yaml = new YamlStream();
        yaml.Load(reader);
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        if (yaml.Documents.Count > 0 && yaml.Documents[0].RootNode is YamlMappingNode map)
        {
            foreach (var (key, value) in map.Children)
            {
                overrides[((YamlScalarNode)key).Value ?? ""] = (value as YamlScalarNode)?.Value ?? "";
            }
        }

        return new Policy(overrides);
    }

    /// <summary>
    /// Refuses (403) a call the caller could not make on any resource, before anything is looked up, so that a
    /// refused caller learns nothing about which ids exist.
    /// </summary>
    public void Authorize(string action, RequestContext caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!Check(action, caller, caller.ProjectId))
        {
            throw new L2GatewayException(
                ErrorKind.Forbidden, "PolicyNotAuthorized", $"rule:{action} is disallowed by policy");
        }
    }

    /// <summary>Whether the caller may act on a resource of <paramref name="targetProject"/>.</summary>
    public bool Check(string action, RequestContext caller, string targetProject)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return Evaluate(rules.TryGetValue(action, out var rule) ? rule : "rule:admin_only", caller, targetProject, 0);
    }

    /// <summary>Whether the caller sees every project's resources, or only their own.</summary>
    public bool SeesAllProjects(string action, RequestContext caller) =>
        Check(action, caller, "\u0000no-such-project\u0000");

    private bool Evaluate(string expression, RequestContext caller, string target, int depth)
    {
        if (depth > 16)
        {
            return false;
        }

        var text = expression.Trim();
        if (text.Length == 0 || text == "@")
        {
            return true;
        }

        var orParts = Split(text, " or ");
        if (orParts.Count > 1)
        {
            return orParts.Any(p => Evaluate(p, caller, target, depth + 1));
        }

        var andParts = Split(text, " and ");
        if (andParts.Count > 1)
        {
            return andParts.All(p => Evaluate(p, caller, target, depth + 1));
        }

        if (text.StartsWith("not ", StringComparison.Ordinal))
        {
            return !Evaluate(text[4..], caller, target, depth + 1);
        }

        if (text.StartsWith('(') && text.EndsWith(')'))
        {
            return Evaluate(text[1..^1], caller, target, depth + 1);
        }

        if (text == "!")
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var kind = text[..colon];
        var value = text[(colon + 1)..];
        return kind switch
        {
            "role" => caller.Roles.Contains(value, StringComparer.OrdinalIgnoreCase),
            "rule" => rules.TryGetValue(value, out var rule) && Evaluate(rule, caller, target, depth + 1),
            "project_id" or "tenant_id" when value is "%(project_id)s" or "%(tenant_id)s" =>
                caller.ProjectId.Length > 0 && caller.ProjectId == target,
            "project_id" or "tenant_id" => caller.ProjectId == value,
            _ => false,
        };
    }

    private static List<string> Split(string text, string separator) =>
        [.. text.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
