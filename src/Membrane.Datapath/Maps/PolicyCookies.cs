using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Maps;

/// <summary>
/// Interns the policy lists of map-state entries (<c>PolicyEntry.DerivedFrom</c>) to the 32-bit cookies stored in
/// kernel policy entries, and resolves cookies in kernel events back to policies. A cookie is a hash of the list,
/// probed forward on a collision, so the same list gets the same cookie after an agent restart (barring a
/// collision, which only costs a re-write of the entries when the agent re-applies its state). Cookie 0 means
/// "no policy" (default deny, allow-all of an unenforced direction).
/// </summary>
internal sealed class PolicyCookies
{
    private readonly ConcurrentDictionary<uint, ImmutableArray<PolicyRef>> _byCookie = new();
    private readonly ConcurrentDictionary<string, uint> _byText = new();
    private readonly Lock _gate = new();

    public uint Intern(ImmutableArray<PolicyRef> policies)
    {
        if (policies.IsDefaultOrEmpty)
        {
            return 0;
        }

        var text = Canonical(policies);
        if (_byText.TryGetValue(text, out var known))
        {
            return known;
        }

        lock (_gate)
        {
            if (_byText.TryGetValue(text, out known))
            {
                return known;
            }

            var cookie = Fnv1a(Encoding.UTF8.GetBytes(text));
            while (cookie == 0 || (_byCookie.TryGetValue(cookie, out var other) && Canonical(other) != text))
            {
                cookie++;
            }

            _byCookie[cookie] = policies;
            _byText[text] = cookie;
            return cookie;
        }
    }

    /// <summary>The policies behind <paramref name="cookie"/>, or an empty list when unknown or 0.</summary>
    public ImmutableArray<PolicyRef> Resolve(uint cookie) =>
        _byCookie.TryGetValue(cookie, out var policies) ? policies : ImmutableArray<PolicyRef>.Empty;

    private static uint Fnv1a(ReadOnlySpan<byte> bytes)
    {
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    private static string Canonical(ImmutableArray<PolicyRef> policies) =>
        string.Join('\n', policies.Select(p => $"{p.Kind}\t{p.Namespace}\t{p.Name}"));
}
