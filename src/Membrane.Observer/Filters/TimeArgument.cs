using System.Globalization;

namespace Membrane.Observer.Filters;

/// <summary>
/// Parses <c>--since</c> values as <c>hubble observe</c> does: a relative duration in Go syntax (<c>3s</c>, <c>4m</c>,
/// <c>1h43m</c>, <c>1.5h</c>, <c>250ms</c>) meaning "that long before now", or an absolute time (RFC 3339
/// <c>2026-01-12T10:30:01Z</c>, <c>2026-01-12T10:30:01.123+01:00</c>, <c>2026-01-12 10:30:01</c>, <c>2026-01-12</c>,
/// or StampMilli <c>Jan 12 10:30:01.123</c> in the current year). Times without an offset are UTC.
/// </summary>
public static class TimeArgument
{
    private static readonly string[] AbsoluteFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd",
    ];

    private static readonly string[] StampFormats = ["MMM d HH:mm:ss.fff", "MMM d HH:mm:ss"];

    /// <summary>Parses a relative or absolute time; relative values are subtracted from <paramref name="now"/>.</summary>
    /// <exception cref="FormatException">Neither a duration nor a time; the message lists the accepted forms.</exception>
    public static DateTimeOffset Parse(string text, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (TryParseDuration(trimmed, out var duration))
        {
            return now - duration;
        }

        var styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        if (DateTimeOffset.TryParseExact(trimmed, AbsoluteFormats, CultureInfo.InvariantCulture, styles, out var absolute))
        {
            return absolute;
        }

        var collapsed = string.Join(' ', trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        if (DateTime.TryParseExact(collapsed, StampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var stamp))
        {
            var utc = now.ToUniversalTime();
            return new DateTimeOffset(utc.Year, stamp.Month, stamp.Day, stamp.Hour, stamp.Minute, stamp.Second, stamp.Millisecond, TimeSpan.Zero);
        }

        throw new FormatException(
            $"invalid time \"{text}\": expected a duration such as 3s, 4m or 1h43m, or a time such as 2026-01-12T10:30:01Z or \"Jan 12 10:30:01.123\"");
    }

    /// <summary>Parses a Go duration (<c>1h43m</c>, <c>1.5s</c>, <c>300ms</c>, <c>2us</c>, <c>10ns</c>); must be positive.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        double totalNanos = 0;
        var pos = 0;
        while (pos < text.Length)
        {
            var start = pos;
            while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '.'))
            {
                pos++;
            }

            if (pos == start || !double.TryParse(text.AsSpan(start, pos - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unitStart = pos;
            while (pos < text.Length && !char.IsAsciiDigit(text[pos]) && text[pos] != '.')
            {
                pos++;
            }

            double? scale = text.AsSpan(unitStart, pos - unitStart) switch
            {
                "ns" => 1,
                "us" or "µs" or "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => null,
            };
            if (scale is null)
            {
                return false;
            }

            totalNanos += number * scale.Value;
        }

        if (totalNanos <= 0 || totalNanos / 100 > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)(totalNanos / 100));
        return true;
    }
}
