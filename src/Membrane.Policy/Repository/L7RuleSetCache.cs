using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Policy.Repository;

/// <summary>
/// Compiled L7 rule sets shared across endpoints, identities and connections: a set is compiled once per distinct
/// list of (rule, policy) and reused while the policies it came from stay loaded. Thread-safe.
/// </summary>
internal sealed class L7RuleSetCache
{
    /// <summary>The match-all HTTP rule (an L4-only allow on an L7 port, or a direction without default deny).</summary>
    public static readonly HttpRule HttpMatchAll = new();

    /// <summary>The match-all Kafka rule.</summary>
    public static readonly KafkaRule KafkaMatchAll = new();

    private readonly ConcurrentDictionary<RuleList, HttpRuleSet> _http = new();
    private readonly ConcurrentDictionary<RuleList, KafkaRuleSet> _kafka = new();

    public int Count => _http.Count + _kafka.Count;

    public HttpRuleSet GetHttp(IReadOnlyList<(HttpRule Rule, PolicyRef Origin)> rules) =>
        _http.GetOrAdd(new RuleList([.. rules.Select(r => ((object)r.Rule, r.Origin))]), static (_, rules) => HttpRuleSet.Compile(rules), rules);

    public KafkaRuleSet GetKafka(IReadOnlyList<(KafkaRule Rule, PolicyRef Origin)> rules) =>
        _kafka.GetOrAdd(new RuleList([.. rules.Select(r => ((object)r.Rule, r.Origin))]), static (_, rules) => KafkaRuleSet.Compile(rules), rules);

    /// <summary>Forgets every set (after a policy change: sets naming removed rules must not outlive them).</summary>
    public void Clear()
    {
        _http.Clear();
        _kafka.Clear();
    }

    /// <summary>A list of rules compared by rule reference and policy value.</summary>
    private sealed class RuleList((object Rule, PolicyRef Origin)[] items) : IEquatable<RuleList>
    {
        private readonly (object Rule, PolicyRef Origin)[] _items = items;
        private readonly int _hash = Hash(items);

        public bool Equals(RuleList? other)
        {
            if (other is null || other._hash != _hash || other._items.Length != _items.Length)
            {
                return false;
            }

            for (var i = 0; i < _items.Length; i++)
            {
                if (!ReferenceEquals(_items[i].Rule, other._items[i].Rule) || !_items[i].Origin.Equals(other._items[i].Origin))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => Equals(obj as RuleList);

        public override int GetHashCode() => _hash;

        private static int Hash((object Rule, PolicyRef Origin)[] items)
        {
            var h = new HashCode();
            foreach (var (rule, origin) in items)
            {
                h.Add(RuntimeHelpers.GetHashCode(rule));
                h.Add(origin);
            }

            return h.ToHashCode();
        }
    }
}
