using System.Collections.Immutable;
using System.Text;
using Membrane.Policy.Model;

namespace Membrane.Policy.L7.Kafka;

/// <summary>The topics named by one Kafka request, as UTF-8 bytes (no strings are built on the hot path).</summary>
public interface IKafkaTopicList
{
    /// <summary>Number of topics in the request (duplicates allowed).</summary>
    int Count { get; }

    /// <summary>The UTF-8 name of the <paramref name="index"/>-th topic.</summary>
    ReadOnlySpan<byte> this[int index] { get; }
}

/// <summary>The outcome of evaluating one Kafka request against a <see cref="KafkaRuleSet"/>.</summary>
/// <param name="Allowed">True if the request is allowed (all its topics covered).</param>
/// <param name="DecidedBy">The policy of the rule that completed the match; null when denied.</param>
public readonly record struct KafkaVerdict(bool Allowed, PolicyRef? DecidedBy);

/// <summary>
/// The compiled Kafka rules that apply to one (endpoint, direction, port, peer identity). Semantics follow Cilium's
/// <c>kafkalib</c> exactly (reference §3.2): a rule matches when the API key is in its set (or the set is empty), the
/// version and client id are equal (or unset); a rule's topic applies only to topic-bearing API keys, and a request
/// is allowed only when every topic it names is covered by some matching rule. A topic-bearing request that names no
/// topic (Metadata for all topics) is not matched by topic-constrained rules: the proxy filters such responses with
/// <see cref="IsTopicAllowed"/> instead.
/// </summary>
public sealed class KafkaRuleSet
{
    private readonly CompiledRule[] _rules;

    private KafkaRuleSet(CompiledRule[] rules)
    {
        _rules = rules;
        Policies = [.. rules.Select(r => r.Origin).Distinct().OrderBy(p => p.QualifiedName, StringComparer.Ordinal)];
        AllowsAll = rules.Any(r => r.ApiKeys is null && r.ApiVersion < 0 && r.ClientId is null && r.Topic is null);
    }

    /// <summary>The distinct policies whose rules are in this set.</summary>
    public ImmutableArray<PolicyRef> Policies { get; }

    /// <summary>True if some rule matches every request.</summary>
    public bool AllowsAll { get; }

    /// <summary>Number of rules.</summary>
    public int Count => _rules.Length;

    /// <summary>Compiles rules already validated by the Policy layer; throws <see cref="ArgumentException"/> on bad input.</summary>
    public static KafkaRuleSet Compile(IEnumerable<(KafkaRule Rule, PolicyRef Origin)> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var compiled = new List<CompiledRule>();
        foreach (var (rule, origin) in rules)
        {
            short[]? keys = null;
            if (!string.IsNullOrEmpty(rule.Role))
            {
                keys = rule.Role.ToLowerInvariant() switch
                {
                    "produce" => [.. KafkaApiKeys.ProduceRole],
                    "consume" => [.. KafkaApiKeys.ConsumeRole],
                    _ => throw new ArgumentException($"invalid Kafka role {rule.Role}", nameof(rules)),
                };
            }
            else if (!string.IsNullOrEmpty(rule.ApiKey))
            {
                keys = KafkaApiKeys.ByName.TryGetValue(rule.ApiKey, out var k)
                    ? [k]
                    : throw new ArgumentException($"invalid Kafka APIKey {rule.ApiKey}", nameof(rules));
            }

            var version = string.IsNullOrEmpty(rule.ApiVersion) ? (short)-1 : short.Parse(rule.ApiVersion, System.Globalization.CultureInfo.InvariantCulture);
            compiled.Add(new CompiledRule(
                origin,
                keys,
                version,
                string.IsNullOrEmpty(rule.ClientId) ? null : Encoding.UTF8.GetBytes(rule.ClientId),
                string.IsNullOrEmpty(rule.Topic) ? null : Encoding.UTF8.GetBytes(rule.Topic)));
        }

        return new KafkaRuleSet([.. compiled]);
    }

    /// <summary>A set that allows every request, attributed to <paramref name="origin"/>.</summary>
    public static KafkaRuleSet AllowAll(PolicyRef origin) => Compile([(new KafkaRule(), origin)]);

    /// <summary>
    /// Evaluates one request. <paramref name="clientId"/> is the header's client id (UTF-8; empty when null).
    /// Allocation-free for requests naming up to 64 distinct topics.
    /// </summary>
    public KafkaVerdict Evaluate<TTopics>(short apiKey, short apiVersion, ReadOnlySpan<byte> clientId, ref TTopics topics)
        where TTopics : IKafkaTopicList, allows ref struct
    {
        var topicBearing = KafkaApiKeys.IsTopicApiKey(apiKey);
        var n = topics.Count;
        Span<bool> covered = n <= 64 ? stackalloc bool[n] : new bool[n];
        var remaining = n;
        foreach (var r in _rules)
        {
            if (!r.MatchesHeader(apiKey, apiVersion, clientId))
            {
                continue;
            }

            if (r.Topic is null || !topicBearing)
            {
                return new KafkaVerdict(true, r.Origin);
            }

            var hit = false;
            for (var i = 0; i < n; i++)
            {
                if (!covered[i] && topics[i].SequenceEqual(r.Topic))
                {
                    covered[i] = true;
                    remaining--;
                    hit = true;
                }
            }

            if (hit && remaining == 0)
            {
                return new KafkaVerdict(true, r.Origin);
            }
        }

        return new KafkaVerdict(false, null);
    }

    /// <summary>
    /// True if a request of this key, version and client id naming only <paramref name="topic"/> would be allowed:
    /// the per-topic decision used to filter all-topics Metadata responses and to split multi-topic requests.
    /// </summary>
    public bool IsTopicAllowed(short apiKey, short apiVersion, ReadOnlySpan<byte> clientId, ReadOnlySpan<byte> topic)
    {
        foreach (var r in _rules)
        {
            if (r.MatchesHeader(apiKey, apiVersion, clientId) && (r.Topic is null || topic.SequenceEqual(r.Topic)))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class CompiledRule(PolicyRef origin, short[]? apiKeys, short apiVersion, byte[]? clientId, byte[]? topic)
    {
        public PolicyRef Origin { get; } = origin;

        public short[]? ApiKeys { get; } = apiKeys;

        public short ApiVersion { get; } = apiVersion;

        public byte[]? ClientId { get; } = clientId;

        public byte[]? Topic { get; } = topic;

        public bool MatchesHeader(short apiKey, short apiVersion, ReadOnlySpan<byte> clientId) =>
            (ApiKeys is null || Array.IndexOf(ApiKeys, apiKey) >= 0)
            && (ApiVersion < 0 || ApiVersion == apiVersion)
            && (ClientId is null || clientId.SequenceEqual(ClientId));
    }
}
