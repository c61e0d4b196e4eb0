using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace Membrane.Policy.Identity;

/// <summary>
/// The in-memory <see cref="IIpCache"/>: an immutable map per revision, swapped atomically by writers, so lookups
/// never lock and never see half a write.
/// </summary>
public sealed class InMemoryIpCache : IIpCache
{
    private readonly Lock _writeLock = new();
    private volatile State _state = State.Empty;

    /// <inheritdoc />
    public event Action<IpCacheChange>? Changed;

    /// <inheritdoc />
    public void Upsert(IpPrefix prefix, NumericIdentity identity, IpCacheSource source)
    {
        IpCacheChange? change;
        lock (_writeLock)
        {
            var state = _state;
            var before = state.Prefixes.TryGetValue(prefix, out var claims) ? claims : Claims.None;
            var after = before.With(source, identity);
            _state = state.With(prefix, after);
            change = Diff(prefix, before, after);
        }

        if (change is { } c)
        {
            Changed?.Invoke(c);
        }
    }

    /// <inheritdoc />
    public bool Delete(IpPrefix prefix, IpCacheSource source)
    {
        IpCacheChange? change;
        lock (_writeLock)
        {
            var state = _state;
            if (!state.Prefixes.TryGetValue(prefix, out var before) || !before.Has(source))
            {
                return false;
            }

            var after = before.Without(source);
            _state = after.IsEmpty ? state.Without(prefix) : state.With(prefix, after);
            change = Diff(prefix, before, after);
        }

        if (change is { } c)
        {
            Changed?.Invoke(c);
        }

        return true;
    }

    /// <inheritdoc />
    public bool TryLookup(IPAddress address, out IpCacheEntry entry)
    {
        ArgumentNullException.ThrowIfNull(address);
        var state = _state;
        var host = IpPrefix.Host(address);
        var lengths = host.Family == AddressFamily.InterNetwork ? state.LengthsV4 : state.LengthsV6;
        foreach (var length in lengths)
        {
            var candidate = host.Truncate(length);
            if (state.Prefixes.TryGetValue(candidate, out var claims))
            {
                var (identity, source) = claims.Winner;
                entry = new IpCacheEntry(candidate, identity, source);
                return true;
            }
        }

        entry = default;
        return false;
    }

    /// <inheritdoc />
    public NumericIdentity Lookup(IPAddress address) => TryLookup(address, out var e) ? e.Identity : NumericIdentity.World;

    /// <inheritdoc />
    public IReadOnlyList<IpCacheEntry> Entries()
    {
        var state = _state;
        return [.. state.Prefixes.OrderBy(p => p.Key).Select(p => new IpCacheEntry(p.Key, p.Value.Winner.Identity, p.Value.Winner.Source))];
    }

    private static IpCacheChange? Diff(IpPrefix prefix, Claims before, Claims after)
    {
        NumericIdentity? old = before.IsEmpty ? null : before.Winner.Identity;
        NumericIdentity? now = after.IsEmpty ? null : after.Winner.Identity;
        return old == now ? null : new IpCacheChange(prefix, old, now);
    }

    /// <summary>The prefixes, and per family how many prefixes have each length (so lookups probe only present lengths).</summary>
    private sealed class State(ImmutableDictionary<IpPrefix, Claims> prefixes, int[] countsV4, int[] countsV6)
    {
        public ImmutableDictionary<IpPrefix, Claims> Prefixes { get; } = prefixes;

        public int[] LengthsV4 { get; } = Present(countsV4);

        public int[] LengthsV6 { get; } = Present(countsV6);

        public static State Empty { get; } = new(ImmutableDictionary<IpPrefix, Claims>.Empty, new int[33], new int[129]);

        private int[] CountsV4 { get; } = countsV4;

        private int[] CountsV6 { get; } = countsV6;

        public State With(IpPrefix prefix, Claims claims) =>
            Prefixes.ContainsKey(prefix)
                ? new State(Prefixes.SetItem(prefix, claims), CountsV4, CountsV6)
                : Recount(Prefixes.SetItem(prefix, claims), prefix, +1);

        public State Without(IpPrefix prefix) => Recount(Prefixes.Remove(prefix), prefix, -1);

        private State Recount(ImmutableDictionary<IpPrefix, Claims> prefixes, IpPrefix prefix, int delta)
        {
            var v4 = CountsV4;
            var v6 = CountsV6;
            if (prefix.Family == AddressFamily.InterNetwork)
            {
                v4 = (int[])v4.Clone();
                v4[prefix.Length] += delta;
            }
            else
            {
                v6 = (int[])v6.Clone();
                v6[prefix.Length] += delta;
            }

            return new State(prefixes, v4, v6);
        }

        private static int[] Present(int[] counts)
        {
            var lengths = new List<int>();
            for (var l = counts.Length - 1; l >= 0; l--)
            {
                if (counts[l] > 0)
                {
                    lengths.Add(l);
                }
            }

            return [.. lengths];
        }
    }

    /// <summary>The claims of up to three sources on one prefix.</summary>
    private readonly record struct Claims(NumericIdentity? PolicyCidr, NumericIdentity? Remote, NumericIdentity? Endpoint)
    {
        public static Claims None => default;

        public bool IsEmpty => PolicyCidr is null && Remote is null && Endpoint is null;

        public (NumericIdentity Identity, IpCacheSource Source) Winner =>
            Endpoint is { } e ? (e, IpCacheSource.Endpoint)
            : Remote is { } r ? (r, IpCacheSource.Remote)
            : (PolicyCidr!.Value, IpCacheSource.PolicyCidr);

        public bool Has(IpCacheSource source) => source switch
        {
            IpCacheSource.PolicyCidr => PolicyCidr is not null,
            IpCacheSource.Remote => Remote is not null,
            _ => Endpoint is not null,
        };

        public Claims With(IpCacheSource source, NumericIdentity id) => source switch
        {
            IpCacheSource.PolicyCidr => this with { PolicyCidr = id },
            IpCacheSource.Remote => this with { Remote = id },
            _ => this with { Endpoint = id },
        };

        public Claims Without(IpCacheSource source) => source switch
        {
            IpCacheSource.PolicyCidr => this with { PolicyCidr = null },
            IpCacheSource.Remote => this with { Remote = null },
            _ => this with { Endpoint = null },
        };
    }
}
