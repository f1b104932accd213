using System.Globalization;
using System.Text;

namespace L2Gateway.Server.Api;

/// <summary>
/// What a check is evaluated against: the caller's credentials (<see cref="Credential"/>), the target resource's
/// attributes, and the other rules for <c>rule:NAME</c>.
/// </summary>
internal readonly record struct PolicyScope(
    RequestContext Caller,
    IReadOnlyDictionary<string, string> Target,
    IReadOnlyDictionary<string, PolicyCheck> Rules)
{
    private static readonly object True = true;
    private static readonly object False = false;

    /// <summary>
    /// The caller's credential <paramref name="field"/> as oslo.policy's generic checks see it (<c>roles</c>,
    /// <c>is_admin</c>, <c>project_id</c>, <c>tenant_id</c>, <c>user_id</c>); null when the caller has none. A caller
    /// without a project has no <c>project_id</c> at all, so that it owns nothing (not even resources without a project).
    /// </summary>
    public object? Credential(string field) => field switch
    {
        "roles" => Caller.Roles,
        "is_admin" => Caller.IsAdmin ? True : False,
        "project_id" or "tenant_id" when Caller.ProjectId.Length > 0 => Caller.ProjectId,
        "user_id" when Caller.UserId.Length > 0 => Caller.UserId,
        _ => null,
    };

    /// <summary>Whether <paramref name="list"/> holds <paramref name="value"/>; a loop, so that no enumerator is allocated.</summary>
    public static bool Holds(IReadOnlyList<string> list, string value, StringComparison comparison)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, comparison))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A parsed rule: a tree of checks, built once when the policy loads and evaluated per request.</summary>
internal abstract class PolicyCheck
{
    public abstract bool Allows(PolicyScope scope);

    /// <summary>The names of the rules this check refers to with <c>rule:NAME</c>, anywhere in its tree.</summary>
    public virtual IEnumerable<string> References() => [];
}

/// <summary><c>@</c>, or the empty rule: always.</summary>
internal sealed class TrueCheck : PolicyCheck
{
    public static readonly TrueCheck Instance = new();

    public override bool Allows(PolicyScope scope) => true;

    public override string ToString() => "@";
}

/// <summary><c>!</c>: never.</summary>
internal sealed class FalseCheck : PolicyCheck
{
    public static readonly FalseCheck Instance = new();

    public override bool Allows(PolicyScope scope) => false;

    public override string ToString() => "!";
}

internal sealed class NotCheck(PolicyCheck inner) : PolicyCheck
{
    public override bool Allows(PolicyScope scope) => !inner.Allows(scope);

    public override IEnumerable<string> References() => inner.References();

    public override string ToString() => $"not {inner}";
}

internal sealed class AndCheck(IReadOnlyList<PolicyCheck> all) : PolicyCheck
{
    public override bool Allows(PolicyScope scope)
    {
        for (var i = 0; i < all.Count; i++)
        {
            if (!all[i].Allows(scope))
            {
                return false;
            }
        }

        return true;
    }

    public override IEnumerable<string> References() => all.SelectMany(c => c.References());

    public override string ToString() => $"({string.Join(" and ", all)})";
}

internal sealed class OrCheck(IReadOnlyList<PolicyCheck> any) : PolicyCheck
{
    public override bool Allows(PolicyScope scope)
    {
        for (var i = 0; i < any.Count; i++)
        {
            if (any[i].Allows(scope))
            {
                return true;
            }
        }

        return false;
    }

    public override IEnumerable<string> References() => any.SelectMany(c => c.References());

    public override string ToString() => $"({string.Join(" or ", any)})";
}

/// <summary><c>rule:NAME</c>: another rule's verdict; a rule that does not exist denies (oslo.policy fails closed).</summary>
internal sealed class RuleCheck(string name) : PolicyCheck
{
    public override bool Allows(PolicyScope scope) => scope.Rules.TryGetValue(name, out var rule) && rule.Allows(scope);

    public override IEnumerable<string> References() => [name];

    public override string ToString() => $"rule:{name}";
}

/// <summary><c>role:NAME</c>: the caller has that role, compared without case as oslo.policy does.</summary>
internal sealed class RoleCheck(PolicyTemplate role) : PolicyCheck
{
    public override bool Allows(PolicyScope scope) =>
        role.Substitute(scope.Target) is { } name
        && PolicyScope.Holds(scope.Caller.Roles, name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"role:{role}";
}

/// <summary>
/// <c>FIELD:VALUE</c>: VALUE, after <c>%(key)s</c> substitution from the target (a key the target lacks denies), equals
/// the caller's credential FIELD (any element of a list credential), or, when FIELD is a constant (<c>'member'</c>,
/// <c>True</c>, <c>7</c>), equals that constant as text: oslo.policy's generic check.
/// </summary>
internal sealed class GenericCheck(string field, string? constant, PolicyTemplate value) : PolicyCheck
{
    public override bool Allows(PolicyScope scope)
    {
        if (value.Substitute(scope.Target) is not { } match)
        {
            return false;
        }

        if (constant is not null)
        {
            return match == constant;
        }

        return scope.Credential(field) switch
        {
            string s => s == match,
            bool b => (b ? "True" : "False") == match,
            IReadOnlyList<string> list => PolicyScope.Holds(list, match, StringComparison.Ordinal),
            _ => false,
        };
    }

    public override string ToString() => $"{field}:{value}";
}

/// <summary>The right side of a check: text with Python-style <c>%(key)s</c> references into the target.</summary>
internal sealed class PolicyTemplate
{
    private readonly List<(string Text, bool IsKey)> parts;
    private readonly string source;

    private PolicyTemplate(string source, List<(string, bool)> parts)
    {
        this.source = source;
        this.parts = parts;
    }

    /// <summary>Reads <c>%(key)s</c> and <c>%%</c>; any other <c>%</c> is an error, as in Python.</summary>
    public static PolicyTemplate Parse(string text)
    {
        var parts = new List<(string, bool)>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                literal.Append(text[i]);
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '%')
            {
                literal.Append('%');
                i++;
                continue;
            }

            var close = text.IndexOf(")s", i, StringComparison.Ordinal);
            if (i + 1 >= text.Length || text[i + 1] != '(' || close < 0)
            {
                throw new FormatException($"'{text}': a '%' must start %(key)s (or be written %%)");
            }

            if (literal.Length > 0)
            {
                parts.Add((literal.ToString(), false));
                literal.Clear();
            }

            parts.Add((text[(i + 2)..close], true));
            i = close + 1;
        }

        if (literal.Length > 0 || parts.Count == 0)
        {
            parts.Add((literal.ToString(), false));
        }

        return new PolicyTemplate(text, parts);
    }

    /// <summary>The text with the target's values in place; null when the target lacks a key.</summary>
    public string? Substitute(IReadOnlyDictionary<string, string> target)
    {
        if (parts is [(var only, false)])
        {
            return only;
        }

        var result = new StringBuilder();
        foreach (var (text, isKey) in parts)
        {
            if (!isKey)
            {
                result.Append(text);
            }
            else if (target.TryGetValue(text, out var value))
            {
                result.Append(value);
            }
            else
            {
                return null;
            }
        }

        return result.ToString();
    }

    public override string ToString() => source;
}

/// <summary>
/// oslo.policy's language: checks joined by <c>not</c> (binds tightest), <c>and</c>, then <c>or</c>, with parentheses.
/// Tokens are split on white space and parentheses are peeled off a token's ends, as oslo.policy does, so that
/// <c>%(project_id)s</c> inside a check is left alone. Unlike oslo.policy, which logs and denies, a rule it cannot
/// read is an error, reported with where it went wrong.
/// </summary>
internal static class PolicyParser
{
    public static PolicyCheck Parse(string rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.Length == 0)
        {
            return TrueCheck.Instance;
        }

        var tokens = Tokenize(rule);
        if (tokens.Count == 0)
        {
            throw new FormatException("a blank rule: write \"\" to allow everyone, or \"!\" to allow no one");
        }

        var position = 0;
        var result = ParseOr(tokens, ref position);
        if (position < tokens.Count)
        {
            throw new FormatException(tokens[position].Text == ")" ? "a ')' without its '('" : $"'{tokens[position].Text}' where 'and', 'or' or the end was expected");
        }

        return result;
    }

    private enum Kind
    {
        Open,
        Close,
        And,
        Or,
        Not,
        Quoted,
        Check,
    }

    private readonly record struct Token(Kind Kind, string Text);

    private static List<Token> Tokenize(string rule)
    {
        var tokens = new List<Token>();
        foreach (var word in rule.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var text = word.TrimStart('(');
            tokens.AddRange(Enumerable.Repeat(new Token(Kind.Open, "("), word.Length - text.Length));
            if (text.Length == 0)
            {
                continue;
            }

            var clean = text.TrimEnd(')');
            if (clean.Length > 0)
            {
                tokens.Add(clean.ToLowerInvariant() switch
                {
                    "and" => new Token(Kind.And, clean),
                    "or" => new Token(Kind.Or, clean),
                    "not" => new Token(Kind.Not, clean),
                    _ when text.Length >= 2 && text[0] is '"' or '\'' && text[^1] == text[0] => new Token(Kind.Quoted, text),
                    _ => new Token(Kind.Check, clean),
                });
            }

            tokens.AddRange(Enumerable.Repeat(new Token(Kind.Close, ")"), text.Length - clean.Length));
        }

        return tokens;
    }

    private static PolicyCheck ParseOr(List<Token> tokens, ref int position)
    {
        var any = new List<PolicyCheck> { ParseAnd(tokens, ref position) };
        while (position < tokens.Count && tokens[position].Kind == Kind.Or)
        {
            position++;
            any.Add(ParseAnd(tokens, ref position));
        }

        return any.Count == 1 ? any[0] : new OrCheck(any);
    }

    private static PolicyCheck ParseAnd(List<Token> tokens, ref int position)
    {
        var all = new List<PolicyCheck> { ParseNot(tokens, ref position) };
        while (position < tokens.Count && tokens[position].Kind == Kind.And)
        {
            position++;
            all.Add(ParseNot(tokens, ref position));
        }

        return all.Count == 1 ? all[0] : new AndCheck(all);
    }

    private static PolicyCheck ParseNot(List<Token> tokens, ref int position)
    {
        if (position >= tokens.Count)
        {
            throw new FormatException(position == 0 ? "no check" : $"a check is missing after '{tokens[position - 1].Text}'");
        }

        var token = tokens[position++];
        switch (token.Kind)
        {
            case Kind.Not:
                return new NotCheck(ParseNot(tokens, ref position));
            case Kind.Open:
                var inner = ParseOr(tokens, ref position);
                if (position >= tokens.Count || tokens[position].Kind != Kind.Close)
                {
                    throw new FormatException("a '(' without its ')'");
                }

                position++;
                return inner;
            case Kind.Check:
                return ParseCheck(token.Text);
            case Kind.Quoted:
                throw new FormatException($"{token.Text} is a quoted string, not a check (a constant goes before the ':', as in 'member':%(role.name)s)");
            default:
                throw new FormatException($"'{token.Text}' where a check was expected");
        }
    }

    /// <summary>One check: <c>@</c>, <c>!</c>, <c>rule:NAME</c>, <c>role:NAME</c> or a generic <c>FIELD:VALUE</c>.</summary>
    private static PolicyCheck ParseCheck(string text)
    {
        if (text == "@")
        {
            return TrueCheck.Instance;
        }

        if (text == "!")
        {
            return FalseCheck.Instance;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"'{text}' is not a check: expected KIND:VALUE (rule:NAME, role:NAME, FIELD:VALUE), @ or !");
        }

        var kind = text[..colon];
        var value = text[(colon + 1)..];
        switch (kind)
        {
            case "rule":
                return value.Length > 0 ? new RuleCheck(value) : throw new FormatException("'rule:' names no rule");
            case "role":
                return new RoleCheck(PolicyTemplate.Parse(value));
            case "http" or "https":
                throw new FormatException($"'{text}': remote (http/https) checks are not supported");
            case "":
                throw new FormatException($"'{text}' has nothing before the ':'");
            default:
                return new GenericCheck(kind, Constant(kind), PolicyTemplate.Parse(value));
        }
    }

    /// <summary>
    /// A constant on the left of a generic check, as Python's <c>ast.literal_eval</c> would read it, in the text
    /// Python's <c>str()</c> gives it: a quoted string, <c>True</c>/<c>False</c>/<c>None</c> or an integer. Null for a
    /// credential's name.
    /// </summary>
    private static string? Constant(string kind)
    {
        if (kind.Length >= 2 && kind[0] is '\'' or '"' && kind[^1] == kind[0])
        {
            return kind[1..^1];
        }

        if (kind is "True" or "False" or "None")
        {
            return kind;
        }

        return long.TryParse(kind, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n.ToString(CultureInfo.InvariantCulture) : null;
    }
}
