using Membrane.Observer.Filters;
using Membrane.Policy.Model;

namespace Membrane.Observer.Tests.Filters;

public sealed class LabelSelectorTests
{
    private static readonly LabelSet Web = LabelSet.Parse("k8s:app=web,k8s:tier=front,k8s:replicas=3,container:owner=team-a");

    [Theory]
    [InlineData("app", true)]
    [InlineData("k8s:app", true)]
    [InlineData("any:app", true)]
    [InlineData("container:app", false)]
    [InlineData("!app", false)]
    [InlineData("!k8s:missing", true)]
    [InlineData("app=web", true)]
    [InlineData("app==web", true)]
    [InlineData("app=db", false)]
    [InlineData("app!=db", true)]
    [InlineData("missing!=db", true)]
    [InlineData("app in (db,web)", true)]
    [InlineData("app in (db)", false)]
    [InlineData("app notin (db, cache)", true)]
    [InlineData("app notin (web)", false)]
    [InlineData("missing notin (web)", true)]
    [InlineData("replicas>2", true)]
    [InlineData("replicas<3", false)]
    [InlineData("app>1", false)]
    [InlineData("owner=team-a", true)]
    [InlineData("container:owner=team-a", true)]
    [InlineData("k8s:owner=team-a", false)]
    [InlineData("app=web, tier=front", true)]
    [InlineData("app=web,tier=back", false)]
    [InlineData(" app = web ", true)]
    [InlineData("app.kubernetes.io/name", false)]
    public void Matches_kubernetes_selector_semantics_with_cilium_sources(string selector, bool expected) =>
        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(Web));

    [Fact]
    public void Null_labels_are_an_empty_set()
    {
        Assert.True(LabelSelector.Parse("!app").Matches(null));
        Assert.False(LabelSelector.Parse("app").Matches(null));
        Assert.True(LabelSelector.Parse("app notin (x)").Matches(null));
    }

    [Fact]
    public void Reserved_labels_select_reserved_identities()
    {
        Assert.True(LabelSelector.Parse("reserved:world").Matches(LabelSet.Parse("reserved:world")));
        Assert.False(LabelSelector.Parse("reserved:world").Matches(LabelSet.Parse("reserved:host")));
    }

    [Theory]
    [InlineData("", "empty selector")]
    [InlineData("app in (a", "at column 10: expected ',' or ')' in value list")]
    [InlineData("app in a", "expected '(' after in")]
    [InlineData("app foo (a)", "unknown operator \"foo\"")]
    [InlineData("app=web;", "unexpected ';'")]
    [InlineData(":app", "invalid label key \":app\"")]
    [InlineData("a:b:c", "invalid label key")]
    [InlineData("app<x", "needs an integer value")]
    public void Errors_say_what_and_where(string selector, string message)
    {
        var e = Assert.Throws<FormatException>(() => LabelSelector.Parse(selector));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
