using Membrane.Policy.L7.Http;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.L7;

public sealed class HttpRuleSetTests
{
    private static readonly PolicyRef Users = new("CiliumNetworkPolicy", "default", "user-service-api-policy");

    private readonly struct Headers(params (string Name, string Value)[] fields) : IHttpHeaderView
    {
        public int Count(string name) => fields.Count(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

        public ReadOnlySpan<char> Value(string name, int index) =>
            fields.Where(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)).ElementAt(index).Value;
    }

    private static HttpVerdict Eval(HttpRuleSet set, string method, string path, params (string, string)[] headers)
    {
        var h = new Headers(headers);
        return set.Evaluate(method, path, "user-service", ref h);
    }

    [Theory]
    [InlineData("GET", "/api/v1/users", true)]
    [InlineData("GET", "/api/v1/users/123", true)]
    [InlineData("GET", "/api/v1/usersX", true)] // the seed's "/api/v1/users/?.*" also allows this: full-match regex, as Cilium
    [InlineData("DELETE", "/api/v1/users/123", false)]
    [InlineData("get", "/api/v1/users/123", false)] // methods are case-sensitive
    [InlineData("GET", "/api/v2/users", false)]
    [InlineData("POST", "/api/v1/payments", false)]
    public void SeedFrontendRule(string method, string path, bool allowed)
    {
        var set = HttpRuleSet.Compile([(new HttpRule(Method: "GET", Path: "/api/v1/users/?.*"), Users)]);
        var v = Eval(set, method, path);
        Assert.Equal(allowed, v.Allowed);
        Assert.Equal(allowed ? Users : null, v.DecidedBy);
    }

    [Fact]
    public void PathIsAFullMatch()
    {
        var set = HttpRuleSet.Compile([(new HttpRule(Path: "/status"), Users)]);
        Assert.True(Eval(set, "GET", "/status").Allowed);
        Assert.False(Eval(set, "GET", "/status/x").Allowed);
        Assert.False(Eval(set, "GET", "/status?x=1").Allowed);
        Assert.False(Eval(set, "GET", "/x/status").Allowed);
    }

    [Fact]
    public void RegexAlternationIsAnchoredAsAWhole()
    {
        var set = HttpRuleSet.Compile([(new HttpRule(Method: "GET|HEAD", Path: "/a|/b"), Users)]);
        Assert.True(Eval(set, "HEAD", "/b").Allowed);
        Assert.False(Eval(set, "GETX", "/a").Allowed);
        Assert.False(Eval(set, "GET", "/ab").Allowed);
    }

    [Fact]
    public void HeadersExactAndPresence()
    {
        var set = HttpRuleSet.Compile([(new HttpRule(Headers: ["X-Token: secret", "X-Present"]), Users)]);
        Assert.True(Eval(set, "GET", "/", ("x-token", "secret"), ("X-Present", "")).Allowed);
        Assert.False(Eval(set, "GET", "/", ("x-token", "secret")).Allowed);
        Assert.False(Eval(set, "GET", "/", ("x-token", "secreT"), ("X-Present", "1")).Allowed);
    }

    [Fact]
    public void HeaderMatchComparesAllValuesJoined()
    {
        var set = HttpRuleSet.Compile([(new HttpRule(HeaderMatches: [new HeaderMatch("X-Request-Source", "a,b")]), Users)]);
        Assert.True(Eval(set, "GET", "/", ("X-Request-Source", "a"), ("X-Request-Source", "b")).Allowed);
        Assert.False(Eval(set, "GET", "/", ("X-Request-Source", "a")).Allowed);
        Assert.False(Eval(set, "GET", "/", ("X-Request-Source", "a,b,c")).Allowed);
    }

    [Fact]
    public void MismatchActionsKeepTheRuleMatchingAndReportChanges()
    {
        var set = HttpRuleSet.Compile([(new HttpRule(Method: "GET", HeaderMatches:
        [
            new HeaderMatch("X-Add", "v", HeaderMismatchAction.Add),
            new HeaderMatch("X-Replace", "v", HeaderMismatchAction.Replace),
            new HeaderMatch("X-Delete", "v", HeaderMismatchAction.Delete),
            new HeaderMatch("X-Log", "v", HeaderMismatchAction.Log),
        ]), Users)]);
        var actions = new List<HttpHeaderAction>();
        var h = new Headers(("X-Replace", "old"), ("X-Delete", "bad"));
        var v = set.Evaluate("GET", "/", "", ref h, actions);
        Assert.True(v.Allowed);
        Assert.Equal(
            [
                new HttpHeaderAction(HeaderMismatchAction.Add, "X-Add", "v"),
                new HttpHeaderAction(HeaderMismatchAction.Replace, "X-Replace", "v"),
                new HttpHeaderAction(HeaderMismatchAction.Delete, "X-Delete", null),
                new HttpHeaderAction(HeaderMismatchAction.Log, "X-Log", null),
            ],
            actions);
    }

    [Fact]
    public void InvalidRegexIsReportedInRe2Words()
    {
        Assert.False(Membrane.Policy.L7.PolicyRegex.TryCreate("/api(", out _, out var error));
        Assert.Equal("missing )", error);
    }
}
