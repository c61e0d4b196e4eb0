using Membrane.Policy.Validation;

namespace Membrane.Policy.Tests.Validation;

public sealed class ValueValidationTests
{
    [Theory]
    [InlineData("0", true, 0)]
    [InlineData("80", true, 80)]
    [InlineData("65535", true, 65535)]
    [InlineData("http", true, null)]
    [InlineData("http-8080", true, null)]
    [InlineData("0x50", true, null)] // an IANA name, as in Cilium
    [InlineData("65536", false, null)]
    [InlineData("080", false, null)]
    [InlineData("-1", false, null)]
    [InlineData("a--b", false, null)]
    [InlineData("-ab", false, null)]
    [InlineData("abcdefghijklmnop", false, null)] // 16 characters
    [InlineData("1234", true, 1234)]
    [InlineData("", false, null)]
    public void Ports(string port, bool valid, int? number)
    {
        Assert.Equal(valid, PortValidation.CheckPort(port, out var n) is null);
        Assert.Equal(number, n);
    }

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("10.0.0.1/8", true)] // host bits set: accepted, as Go's netip.ParsePrefix does
    [InlineData("0.0.0.0/0", true)]
    [InlineData("::/0", true)]
    [InlineData("2001:db8::/32", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0/8", false)]
    [InlineData("10.0.0.01/8", false)]
    [InlineData("1/8", false)]
    [InlineData("fe80::1%eth0/64", false)]
    [InlineData("10.0.0.0/08", false)]
    [InlineData("10.0.0.0/", false)]
    public void CidrRules(string cidr, bool valid) => Assert.Equal(valid, CidrValidation.CheckCidrRule(cidr) is null);

    [Theory]
    [InlineData("10.0.0.0/8", "10.1.0.0/16", true)]
    [InlineData("10.0.0.0/8", "10.0.0.0/8", true)]
    [InlineData("10.0.0.0/16", "10.0.0.0/8", false)] // wider than the allowed prefix
    [InlineData("10.0.0.0/8", "11.0.0.0/16", false)]
    [InlineData("2001:db8::/32", "2001:db8:1::/48", true)]
    [InlineData("10.0.0.0/8", "::/0", false)]
    public void Excepts(string cidr, string except, bool valid) => Assert.Equal(valid, CidrValidation.CheckExcept(cidr, except) is null);

    [Theory]
    [InlineData("app", true)]
    [InlineData("k8s:app.kubernetes.io/name", true)]
    [InlineData("any:io.kubernetes.pod.namespace", true)]
    [InlineData("reserved:host", true)]
    [InlineData("reserved:hots", false)]
    [InlineData("cidr:10.0.0.0/8", true)]
    [InlineData("k8z:app", false)]
    [InlineData("Example.com/app", false)]
    [InlineData("app-", false)]
    [InlineData("", false)]
    public void LabelKeys(string key, bool valid) => Assert.Equal(valid, LabelValidation.CheckKey(key) is null);

    [Theory]
    [InlineData("IPv4", "8", 8)]
    [InlineData("IPv4", "EchoRequest", 8)]
    [InlineData("IPv6", "EchoRequest", 128)]
    [InlineData("IPv6", "NeighborSolicitation", 135)]
    [InlineData("IPv4", "255", 255)]
    public void IcmpTypesResolve(string family, string type, int code)
    {
        Assert.True(IcmpTypes.TryResolve(family, type, out var c));
        Assert.Equal(code, c);
    }

    [Theory]
    [InlineData("IPv4", "256")]
    [InlineData("IPv4", "PacketTooBig")] // an IPv6 name
    [InlineData("IPv4", "08")]
    [InlineData("IPv4", "echorequest")]
    public void IcmpTypesRejected(string family, string type) => Assert.False(IcmpTypes.TryResolve(family, type, out _));

    [Theory]
    [InlineData("fromEndpoint", "fromEndpoints")]
    [InlineData("fromCidr", "fromCIDR")]
    [InlineData("toPort", "toPorts")]
    [InlineData("egres", "egress")]
    [InlineData("priority", null)]
    [InlineData("xy", null)]
    public void DidYouMean(string written, string? expected) =>
        Assert.Equal(expected, Suggestions.Closest(written, ["fromEndpoints", "fromCIDR", "fromCIDRSet", "toPorts", "egress", "ingress", "icmps"]));
}

public sealed class RegexValidationTests
{
    [Theory]
    [InlineData("/api/v1/users/?.*")]
    [InlineData("GET|POST")]
    [InlineData("/items/[0-9]+")]
    [InlineData("^/exact$")]
    [InlineData("/api(")]
    [InlineData("GET|[POST")]
    [InlineData("*.example.com")]
    [InlineData("a**")]
    [InlineData("[z-a]")]
    [InlineData("trailing\\")]
    [InlineData("(?=lookahead)x")]
    [InlineData("(?<!behind)x")]
    [InlineData("(?>atomic)")]
    [InlineData("(a)\\1")]
    [InlineData("(?P<name>x)")]
    [InlineData("a{2,1}")]
    [InlineData("a{1000}")]
    [InlineData("\\d+\\.\\d+")]
    [InlineData(")")]
    public void TryValidateAgreesWithTryCreate(string pattern)
    {
        var created = Membrane.Policy.L7.PolicyRegex.TryCreate(pattern, out _, out var createError);
        var validated = Membrane.Policy.L7.PolicyRegex.TryValidate(pattern, out var validateError);
        Assert.Equal(created, validated);
        Assert.Equal(createError, validateError);
    }
}
