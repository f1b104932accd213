using L2Gateway.Core;
using YamlDotNet.RepresentationModel;

namespace L2Gateway.Server.Api;

/// <summary>
/// oslo.policy rules: each API call names a rule (<c>create_X</c>, <c>get_X</c>, <c>update_X</c>, <c>delete_X</c>); a
/// rule is an expression in oslo.policy's language (see <see cref="PolicyParser"/>) over the caller and the target
/// resource. Every rule is parsed once, when the policy loads. The defaults are the reference's: every gateway and
/// connection call is admin-only. A policy file (YAML or JSON) overrides any rule by name.
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
        ["update_host"] = "rule:admin_only",
        ["delete_host"] = "rule:admin_only",
        ["get_agent"] = "rule:admin_only",
        ["delete_agent"] = "rule:admin_only",
        ["get_l2_gateway_switch"] = "rule:admin_only",
        ["report_l2gw_agent"] = "rule:admin_only",
        ["get_l2gw_dashboard"] = "rule:admin_only",
    };

    private readonly Dictionary<string, PolicyCheck> rules;

    /// <summary>
    /// The defaults with <paramref name="overrides"/> on top, every rule parsed now. Throws
    /// <see cref="FormatException"/> naming the rule that cannot be read or that refers back to itself.
    /// </summary>
    public Policy(IReadOnlyDictionary<string, string>? overrides = null)
    {
        var texts = new Dictionary<string, string>(Defaults, StringComparer.Ordinal);
        foreach (var (name, rule) in overrides ?? new Dictionary<string, string>())
        {
            texts[name] = rule;
        }

        rules = new Dictionary<string, PolicyCheck>(StringComparer.Ordinal);
        foreach (var (name, text) in texts)
        {
            try
            {
                rules[name] = PolicyParser.Parse(text);
            }
            catch (FormatException e)
            {
                throw new FormatException($"policy rule '{name}' (\"{text}\"): {e.Message}", e);
            }
        }

        RefuseCycles();
    }

    /// <summary>The rules the server names, each with its default (the reference's).</summary>
    public static IReadOnlyDictionary<string, string> DefaultRules => Defaults;

    /// <summary>Reads a policy file (YAML or JSON, a map of rule name to rule text).</summary>
    public static Policy Load(string path)
    {
        using var reader = new StreamReader(path);
        var yaml = new YamlStream();
        yaml.Load(reader);
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        if (yaml.Documents.Count > 0)
        {
            if (yaml.Documents[0].RootNode is not YamlMappingNode map)
            {
                throw new FormatException("a policy file is a map of rule name to rule");
            }

            foreach (var (key, value) in map.Children)
            {
                var name = (key as YamlScalarNode)?.Value ?? throw new FormatException($"a rule name must be text, not '{key}'");
                overrides[name] = value is YamlScalarNode scalar
                    ? scalar.Value ?? ""
                    : throw new FormatException($"policy rule '{name}': a rule is one line of text (the list form is not supported)");
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
    public bool Check(string action, RequestContext caller, string targetProject) =>
        Check(action, caller, new ProjectTarget(targetProject));

    /// <summary>
    /// Whether rule <paramref name="action"/> lets the caller act on a resource with attributes
    /// <paramref name="target"/> (the <c>%(key)s</c> of generic checks). A rule the server does not define is a bug
    /// of the server, not a denial: it throws, as oslo.policy's <c>authorize</c> does for an unregistered rule.
    /// </summary>
    public bool Check(string action, RequestContext caller, IReadOnlyDictionary<string, string> target)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(target);
        if (!Defaults.ContainsKey(action) || !rules.TryGetValue(action, out var rule))
        {
            throw new InvalidOperationException($"policy rule '{action}' has no default: every rule the server checks must have one");
        }

        return rule.Allows(new PolicyScope(caller, target, rules));
    }

    /// <summary>Whether the caller sees every project's resources, or only their own.</summary>
    public bool SeesAllProjects(string action, RequestContext caller) =>
        Check(action, caller, "\u0000no-such-project\u0000");

    /// <summary>A rule that reaches itself through <c>rule:</c> references would never finish: refused at load.</summary>
    private void RefuseCycles()
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        void Visit(string name)
        {
            if (path.IndexOf(name) is var at and >= 0)
            {
                throw new FormatException($"policy rule '{name}' refers back to itself: {string.Join(" -> ", path[at..].Append(name).Select(n => "rule:" + n))}");
            }

            if (!done.Add(name) || !rules.TryGetValue(name, out var rule))
            {
                return;
            }

            path.Add(name);
            foreach (var next in rule.References())
            {
                Visit(next);
            }

            path.RemoveAt(path.Count - 1);
        }

        foreach (var name in rules.Keys)
        {
            Visit(name);
        }
    }

    /// <summary>
    /// The attributes <c>project_id</c> and <c>tenant_id</c> of a resource, both its project: what a dictionary of the
    /// two would hold, without building one per check.
    /// </summary>
    private sealed class ProjectTarget(string project) : IReadOnlyDictionary<string, string>
    {
        public int Count => 2;

        public IEnumerable<string> Keys => ["project_id", "tenant_id"];

        public IEnumerable<string> Values => [project, project];

        public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

        public bool ContainsKey(string key) => key is "project_id" or "tenant_id";

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
        {
            value = ContainsKey(key) ? project : null;
            return value is not null;
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            yield return KeyValuePair.Create("project_id", project);
            yield return KeyValuePair.Create("tenant_id", project);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
