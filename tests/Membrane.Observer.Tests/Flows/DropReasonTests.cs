using Membrane.Observer.Flows;

namespace Membrane.Observer.Tests.Flows;

public sealed class DropReasonTests
{
    [Fact]
    public void The_table_is_ordered_unique_and_names_are_unique()
    {
        var codes = DropReasons.All.Select(r => (int)r.Code).ToList();
        Assert.Equal(codes.Order(), codes);
        Assert.Equal(codes.Count, codes.Distinct().Count());
        var names = DropReasons.All.Where(r => r.HubbleName is not null).Select(r => r.HubbleName).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(DropReasons.All.Where(r => r.Code >= 130), r => Assert.NotNull(r.HubbleName));
        Assert.All(DropReasons.All.Where(r => r.Code is > 0 and < 130), r => Assert.Null(r.HubbleName));
    }

    [Theory]
    [InlineData(133, "POLICY_DENIED", "Policy denied")]
    [InlineData(181, "POLICY_DENY", "Policy denied by denylist")]
    [InlineData(136, "CT_MISSING_TCP_ACK_FLAG", "Fragmentation needed")]
    [InlineData(179, "SOCKET_ASSIGN_FAILED", "Socket assign failed")]
    [InlineData(205, "DROP_PUNT_PROXY", "Punt to proxy")]
    [InlineData(2, null, "Invalid packet")]
    [InlineData(250, null, "250")]
    public void Codes_map_to_hubble_names_and_cilium_texts(int code, string? name, string text)
    {
        var reason = new DropReason((byte)code);
        Assert.Equal(name, reason.HubbleName);
        Assert.Equal(text, reason.Text);
    }

    [Theory]
    [InlineData("POLICY_DENIED", 133)]
    [InlineData("policy_deny", 181)]
    [InlineData("133", 133)]
    public void Parses_names_and_codes(string text, int code)
    {
        Assert.True(DropReason.TryParse(text, out var reason));
        Assert.Equal(code, reason.Code);
    }

    [Fact]
    public void Rejects_unknown_names() => Assert.False(DropReason.TryParse("POLICY_MAYBE", out _));

    [Fact]
    public void Policy_drops_are_133_and_181() =>
        Assert.Equal([133, 181], DropReasons.All.Where(r => new DropReason(r.Code).IsPolicyDrop).Select(r => (int)r.Code));
}
