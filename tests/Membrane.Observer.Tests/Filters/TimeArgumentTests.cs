using Membrane.Observer.Filters;

namespace Membrane.Observer.Tests.Filters;

public sealed class TimeArgumentTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("3s", 0, 0, 3, 0)]
    [InlineData("4m", 0, 4, 0, 0)]
    [InlineData("1h43m", 1, 43, 0, 0)]
    [InlineData("1.5h", 1, 30, 0, 0)]
    [InlineData("250ms", 0, 0, 0, 250)]
    [InlineData("1m30s", 0, 1, 30, 0)]
    public void Relative_durations_count_back_from_now(string text, int h, int m, int s, int ms) =>
        Assert.Equal(Now - new TimeSpan(0, h, m, s, ms), TimeArgument.Parse(text, Now));

    [Theory]
    [InlineData("2026-01-12T10:30:01Z", "2026-01-12T10:30:01.0000000+00:00")]
    [InlineData("2026-01-12T10:30:01.123+01:00", "2026-01-12T09:30:01.1230000+00:00")]
    [InlineData("2026-01-12T10:30:01", "2026-01-12T10:30:01.0000000+00:00")]
    [InlineData("2026-01-12 10:30:01", "2026-01-12T10:30:01.0000000+00:00")]
    [InlineData("2026-01-12", "2026-01-12T00:00:00.0000000+00:00")]
    [InlineData("Jan 12 10:30:01.123", "2026-01-12T10:30:01.1230000+00:00")]
    [InlineData("Jan  2 10:30:01", "2026-01-02T10:30:01.0000000+00:00")]
    public void Absolute_times_are_utc_unless_they_say_otherwise(string text, string expected) =>
        Assert.Equal(expected, TimeArgument.Parse(text, Now).ToString("o", System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("5")]
    [InlineData("5d")]
    [InlineData("h")]
    [InlineData("yesterday")]
    [InlineData("2026-13-01")]
    public void Rejects_what_is_neither(string text) =>
        Assert.Throws<FormatException>(() => TimeArgument.Parse(text, Now));
}
