using System.Collections.Immutable;
using Membrane.Policy.Model;

namespace Membrane.Policy.L7.Http;

/// <summary>The outcome of evaluating one request against an <see cref="HttpRuleSet"/>.</summary>
/// <param name="Allowed">True if at least one rule matched.</param>
/// <param name="DecidedBy">The policy of the first matching rule; null when denied (then every policy of the
/// rule set took part: <see cref="HttpRuleSet.Policies"/>).</param>
/// <param name="RuleIndex">Index of the first matching rule in the set, or -1.</param>
public readonly record struct HttpVerdict(bool Allowed, PolicyRef? DecidedBy, int RuleIndex);

/// <summary>
/// The compiled HTTP rules that apply to one (endpoint, direction, port, peer identity): a request is allowed if
/// any rule matches (reference §2). Immutable and shared by every connection of a policy revision; evaluation is
/// allocation-free unless a <c>headerMatches</c> mismatch action fires.
/// </summary>
public sealed class HttpRuleSet
{
    private readonly CompiledRule[] _rules;
    private readonly bool _canShortCircuit;

    private HttpRuleSet(CompiledRule[] rules)
    {
        _rules = rules;
        // Rules with side effects (non-FAIL mismatch actions) are all evaluated, as Cilium's Envoy filter does.
        _canShortCircuit = rules.All(r => r.HeaderMatches.All(h => h.Mismatch == HeaderMismatchAction.Fail));
        Policies = [.. rules.Select(r => r.Origin).Distinct().OrderBy(p => p.QualifiedName, StringComparer.Ordinal)];
        AllowsAll = rules.Any(r => r.IsWildcard);
    }

    /// <summary>The distinct policies whose rules are in this set.</summary>
    public ImmutableArray<PolicyRef> Policies { get; }

    /// <summary>True if some rule matches every request (an empty HTTP rule, or an L4 rule wildcarding the port).</summary>
    public bool AllowsAll { get; }

    /// <summary>Number of rules.</summary>
    public int Count => _rules.Length;

    /// <summary>The rules as written, in evaluation order, with their policy.</summary>
    public IEnumerable<(HttpRule Rule, PolicyRef Origin)> Rules => _rules.Select(r => (r.Source, r.Origin));

    /// <summary>Compiles rules already validated by the Policy layer; throws <see cref="ArgumentException"/> on a bad regex.</summary>
    public static HttpRuleSet Compile(IEnumerable<(HttpRule Rule, PolicyRef Origin)> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var cache = new Dictionary<string, PolicyRegex>(StringComparer.Ordinal);
        PolicyRegex? Re(string? pattern)
        {
            if (string.IsNullOrEmpty(pattern))
            {
                return null;
            }

            if (!cache.TryGetValue(pattern, out var r))
            {
                r = PolicyRegex.Create(pattern);
                cache.Add(pattern, r);
            }

            return r;
        }

        var compiled = new List<CompiledRule>();
        foreach (var (rule, origin) in rules)
        {
            var headers = new List<HeaderMatch>();
            foreach (var h in rule.Headers ?? [])
            {
                // Cilium splits "Name: value" on the first space; a trailing ':' on the name is trimmed.
                var space = h.IndexOf(' ', StringComparison.Ordinal);
                headers.Add(space < 0
                    ? new HeaderMatch(h, null)
                    : new HeaderMatch(h[..space].TrimEnd(':'), h[(space + 1)..]));
            }

            compiled.Add(new CompiledRule(
                rule, origin, Re(rule.Method), Re(rule.Path), Re(rule.Host),
                [.. headers.Concat((rule.HeaderMatches ?? []).Where(m => m.Mismatch == HeaderMismatchAction.Fail))],
                [.. (rule.HeaderMatches ?? []).Where(m => m.Mismatch != HeaderMismatchAction.Fail)]));
        }

        return new HttpRuleSet([.. compiled]);
    }

    /// <summary>A set that allows every request, attributed to <paramref name="origin"/> (an L4-only rule on an L7 port).</summary>
    public static HttpRuleSet AllowAll(PolicyRef origin) => Compile([(new HttpRule(), origin)]);

    /// <summary>
    /// Evaluates one request. <paramref name="path"/> is the normalized path with its query string, exactly what the
    /// proxy forwards. Header changes asked by matched rules are appended to <paramref name="actions"/> when given.
    /// </summary>
    public HttpVerdict Evaluate<THeaders>(
        ReadOnlySpan<char> method,
        ReadOnlySpan<char> path,
        ReadOnlySpan<char> host,
        ref THeaders headers,
        List<HttpHeaderAction>? actions = null)
        where THeaders : IHttpHeaderView, allows ref struct
    {
        var first = -1;
        for (var i = 0; i < _rules.Length; i++)
        {
            var r = _rules[i];
            if (!r.Matches(method, path, host, ref headers))
            {
                continue;
            }

            if (r.HeaderMatches.Length > 0)
            {
                r.ApplyMismatchActions(ref headers, actions);
            }

            if (first < 0)
            {
                first = i;
            }

            if (_canShortCircuit)
            {
                break;
            }
        }

        return first < 0 ? new HttpVerdict(false, null, -1) : new HttpVerdict(true, _rules[first].Origin, first);
    }

    private sealed class CompiledRule(
        HttpRule source,
        PolicyRef origin,
        PolicyRegex? method,
        PolicyRegex? path,
        PolicyRegex? host,
        HeaderMatch[] required,
        HeaderMatch[] headerMatches)
    {
        public HttpRule Source { get; } = source;

        public PolicyRef Origin { get; } = origin;

        public HeaderMatch[] HeaderMatches { get; } = headerMatches;

        public bool IsWildcard => method is null && path is null && host is null && required.Length == 0 && HeaderMatches.Length == 0;

        public bool Matches<THeaders>(ReadOnlySpan<char> m, ReadOnlySpan<char> p, ReadOnlySpan<char> h, ref THeaders headers)
            where THeaders : IHttpHeaderView, allows ref struct
        {
            if ((method is not null && !method.IsMatch(m)) || (path is not null && !path.IsMatch(p)) || (host is not null && !host.IsMatch(h)))
            {
                return false;
            }

            foreach (var hm in required)
            {
                if (!HeaderValueMatches(hm, ref headers))
                {
                    return false;
                }
            }

            return true;
        }

        public void ApplyMismatchActions<THeaders>(ref THeaders headers, List<HttpHeaderAction>? actions)
            where THeaders : IHttpHeaderView, allows ref struct
        {
            foreach (var hm in HeaderMatches)
            {
                if (HeaderValueMatches(hm, ref headers) || actions is null)
                {
                    continue;
                }

                var present = headers.Count(hm.Name) > 0;
                switch (hm.Mismatch)
                {
                    case HeaderMismatchAction.Log:
                        actions.Add(new HttpHeaderAction(HeaderMismatchAction.Log, hm.Name, null));
                        break;
                    case HeaderMismatchAction.Add:
                        actions.Add(new HttpHeaderAction(HeaderMismatchAction.Add, hm.Name, hm.Value ?? ""));
                        break;
                    case HeaderMismatchAction.Delete when present:
                        actions.Add(new HttpHeaderAction(HeaderMismatchAction.Delete, hm.Name, null));
                        break;
                    case HeaderMismatchAction.Replace:
                        actions.Add(new HttpHeaderAction(HeaderMismatchAction.Replace, hm.Name, hm.Value ?? ""));
                        break;
                }
            }
        }

        private static bool HeaderValueMatches<THeaders>(HeaderMatch match, ref THeaders headers)
            where THeaders : IHttpHeaderView, allows ref struct
        {
            var count = headers.Count(match.Name);
            if (count == 0)
            {
                return false;
            }

            if (string.IsNullOrEmpty(match.Value))
            {
                return true;
            }

            // Compare against all values joined by ',' without building the joined string; constant time in the
            // expected value's length (Cilium compares with CRYPTO_memcmp).
            var expected = match.Value.AsSpan();
            var diff = 0;
            var pos = 0;
            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    diff |= pos < expected.Length ? expected[pos] ^ ',' : 1;
                    pos++;
                }

                var v = headers.Value(match.Name, i);
                for (var j = 0; j < v.Length; j++, pos++)
                {
                    diff |= pos < expected.Length ? expected[pos] ^ v[j] : 1;
                }
            }

            return diff == 0 && pos == expected.Length;
        }
    }
}
