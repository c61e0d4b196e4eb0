using Membrane.Proxy.Http;

namespace Membrane.Proxy.Tests.Http;

public sealed class PathNormalizerTests
{
    private static string? Normalize(string target, out string? error)
    {
        var output = new char[8192];
        error = PathNormalizer.Normalize(target, output, out var n);
        return error is null ? new string(output, 0, n) : null;
    }

    [Theory]
    [InlineData("/", "/")]
    [InlineData("/api/v1/users/1", "/api/v1/users/1")]
    [InlineData("/api/v1/users/", "/api/v1/users/")]
    [InlineData("/a/./b/../c", "/a/c")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/a/b/.", "/a/b/")]
    [InlineData("/..", "/")]
    [InlineData("/../../a", "/a")]
    [InlineData("/api/v1/users/../../admin", "/api/admin")]
    [InlineData("/api/v1/users/%2e%2e/%2E%2E/admin", "/api/admin")]
    [InlineData("/api/v1/users/.%2e/admin", "/api/v1/admin")]
    [InlineData("/api/v1/%75sers/1", "/api/v1/users/1")]
    [InlineData("//api//v1///users", "/api/v1/users")]
    [InlineData("/a%3fb", "/a%3Fb")]
    [InlineData("/caf%c3%a9", "/caf%C3%A9")]
    [InlineData("/%7Euser", "/~user")]
    [InlineData("/a..b/.c/..d", "/a..b/.c/..d")]
    [InlineData("/api?x=%2F&y=../z", "/api?x=%2F&y=../z")]
    [InlineData("/a/../b?q", "/b?q")]
    [InlineData("/?", "/?")]
    [InlineData("http://users/api/v1/users/1?x", "/api/v1/users/1?x")]
    [InlineData("http://users", "/")]
    [InlineData("*", "*")]
    public void Normalizes(string target, string expected)
    {
        Assert.Equal(expected, Normalize(target, out var error));
        Assert.Null(error);
        // Idempotent: what was checked and forwarded normalizes to itself.
        Assert.Equal(expected, Normalize(expected, out _));
    }

    [Theory]
    [InlineData("/api/v1/users/..%2f..%2fadmin", "encoded slash in path")]
    [InlineData("/a%2Fb", "encoded slash in path")]
    [InlineData("/a%5cb", "encoded slash in path")]
    [InlineData("/a\\b", "backslash in path")]
    [InlineData("/a%00", "encoded NUL in path")]
    [InlineData("/a%zz", "malformed percent-encoding in path")]
    [InlineData("/a%4", "malformed percent-encoding in path")]
    [InlineData("/a%", "malformed percent-encoding in path")]
    [InlineData("/a b", "invalid character in path")]
    [InlineData("/a\tb", "invalid character in path")]
    [InlineData("/a#frag", "fragment in request target")]
    [InlineData("api", "request target is not origin-form or absolute-form")]
    [InlineData("", "empty request target")]
    public void Rejects(string target, string reason)
    {
        Assert.Null(Normalize(target, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void EveryPrefixOfAValidTargetEitherNormalizesOrIsRejectedWithoutThrowing()
    {
        const string target = "/api/v1/users/%2e%2e/./x%41//y?q=%2F";
        for (var i = 0; i <= target.Length; i++)
        {
            _ = Normalize(target[..i], out _);
        }
    }

    [Fact]
    public void TooLongIsRejected()
    {
        var output = new char[16];
        Assert.Equal("request target too long", PathNormalizer.Normalize("/" + new string('a', 20), output, out _));
    }

    [Fact]
    public void NormalizingAllocatesNothing()
    {
        var output = new char[256];
        PathNormalizer.Normalize("/api/v1/users/%2e%2e/x", output, out _);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            PathNormalizer.Normalize("/api/v1/users/%2e%2e/x", output, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
