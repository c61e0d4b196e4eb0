using System.Text.RegularExpressions;
using CsCheck;
using Membrane.Policy.L7;

namespace Membrane.Policy.Tests.L7;

/// <summary>The allocation-free matcher for simple patterns agrees with the regex engine it replaces.</summary>
public sealed class SimplePatternTests
{
    [Theory]
    [InlineData("/api/v1/users/?.*", "/api/v1/users", true)]
    [InlineData("/api/v1/users/?.*", "/api/v1/users/123", true)]
    [InlineData("/api/v1/users/?.*", "/api/v1/usersX", true)]
    [InlineData("/api/v1/users/?.*", "/api/v1/user", false)]
    [InlineData("/api/v1/users/?.*", "/api/v1/users/1\n", false)]
    [InlineData("/com.example.catalog.ProductService/GetProduct", "/com.example.catalog.ProductService/GetProduct", true)]
    [InlineData("/com.example.catalog.ProductService/GetProduct", "/comXexample.catalog.ProductService/GetProduct", true)]
    [InlineData("/com.example.catalog.ProductService/GetProduct", "/com.example.catalog.ProductService/GetProducts", false)]
    [InlineData("foo\\.bar\\.com", "foo.bar.com", true)]
    [InlineData("foo\\.bar\\.com", "fooXbar.com", false)]
    [InlineData("a+b?c*", "aaac", true)]
    [InlineData("a+b?c*", "bc", false)]
    public void MatchesLikeRe2(string pattern, string input, bool expected) =>
        Assert.Equal(expected, PolicyRegex.Create(pattern).IsMatch(input));

    [Theory]
    [InlineData("(a|b)")]
    [InlineData("[ab]")]
    [InlineData("a{2}")]
    [InlineData("a*?")]
    [InlineData("a**")]
    [InlineData("\\d+")]
    [InlineData("*a")]
    [InlineData("a\\")]
    [InlineData("a^b")]
    public void OtherSyntaxIsLeftToTheRegexEngine(string pattern) => Assert.Null(SimplePattern.TryParse(pattern));

    [Fact]
    public void AgreesWithTheRegexEngine()
    {
        var atom = Gen.OneOf("a", "b", "/", ".", "\\.", "é", "\\-");
        var quantifier = Gen.OneOf("", "", "?", "*", "+");
        var pattern = Gen.Select(atom, quantifier, (a, q) => a + q).Array[0, 8].Select(parts => string.Concat(parts));
        var input = Gen.OneOf('a', 'b', '/', '.', '\n', 'é', '-', 'x').Array[0, 10].Select(c => new string(c));
        Gen.Select(pattern, input.Array[20]).Sample((p, inputs) =>
        {
            var simple = SimplePattern.TryParse(p);
            Assert.NotNull(simple);
            var regex = new Regex($"^(?:{p})\\z", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
            foreach (var s in inputs)
            {
                Assert.True(regex.IsMatch(s) == simple.IsMatch(s), $"pattern \"{p}\" input \"{s}\"");
            }
        }, iter: 2000);
    }
}
