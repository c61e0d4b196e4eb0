using System.Globalization;
using System.Text.RegularExpressions;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Filters;

/// <summary>A <c>membrane observe</c> argument that could not be parsed; <see cref="Flag"/> names the flag.</summary>
public sealed class FlowFilterParseException : FormatException
{
    /// <summary>Creates the error; the message is <c>--flag: problem</c>.</summary>
    public FlowFilterParseException(string flag, string problem)
        : base($"{flag}: {problem}")
    {
        Flag = flag;
        Problem = problem;
    }

    /// <summary>The flag as the user wrote its long form (<c>--http-status</c>), or the offending argument.</summary>
    public string Flag { get; }

    /// <summary>What is wrong, without the flag.</summary>
    public string Problem { get; }
}

/// <summary>
/// The parsed, reusable form of <c>membrane observe</c>'s flags, shared by the CLI and the agent API: a list of
/// <see cref="FlowFilter"/>s that are ORed (Hubble's whitelist), plus <see cref="Last"/>, <see cref="Since"/> and
/// <see cref="Follow"/>. Flags are combined exactly as <c>hubble observe</c> combines them: different flags AND, repeated
/// flags OR, and the either-side flags (<c>--namespace</c>, <c>--port</c>) produce two filters, one for the source side
/// and one for the destination side.
/// </summary>
public sealed class FlowFilterSpec
{
    /// <summary>How many flows are shown when neither <c>--last</c>, <c>--since</c> nor <c>--follow</c> is given (Hubble's default).</summary>
    public const int DefaultLast = 20;

    /// <summary>The flags <see cref="Parse"/> accepts (long forms).</summary>
    public static IReadOnlyList<string> Flags { get; } =
    [
        "--from-pod", "--to-pod", "--from-label", "--to-label", "--from-app", "--to-app", "--namespace", "--verdict", "--type",
        "--protocol", "--port", "--http-method", "--http-path", "--http-status", "--last", "--since", "--follow",
    ];

    private static readonly string[] Protocols = ["tcp", "udp", "icmp", "icmpv4", "icmpv6", "sctp", "http", "kafka"];

    private FlowFilterSpec(IReadOnlyList<FlowFilter> filters, int? last, DateTimeOffset? since, bool follow, IReadOnlyList<string> arguments)
    {
        Filters = filters;
        Last = last;
        Since = since;
        Follow = follow;
        Arguments = arguments;
    }

    /// <summary>An empty spec: every flow, the default last 20, no follow.</summary>
    public static FlowFilterSpec Empty { get; } = new([], DefaultLast, null, false, []);

    /// <summary>The filters; a flow passes when any of them matches, or when there are none.</summary>
    public IReadOnlyList<FlowFilter> Filters { get; }

    /// <summary>The number of buffered flows to return (<c>--last</c>, or 20 when no selector is given); null: all that match.</summary>
    public int? Last { get; }

    /// <summary>Only flows at or after this time (<c>--since</c>).</summary>
    public DateTimeOffset? Since { get; }

    /// <summary>Keep streaming new flows (<c>--follow</c>).</summary>
    public bool Follow { get; }

    /// <summary>The arguments this spec was parsed from, with short flags expanded, so they can be forwarded (to the agent API) and parsed again.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>
    /// Parses CLI-shaped arguments: <c>--flag value</c> or <c>--flag=value</c>; short forms <c>-n</c> (namespace),
    /// <c>-t</c> (type), <c>-f</c> (follow). Relative <c>--since</c> values count back from <paramref name="now"/>.
    /// </summary>
    /// <exception cref="FlowFilterParseException">An unknown flag, a missing or invalid value, or conflicting flags; nothing is half-parsed.</exception>
    public static FlowFilterSpec Parse(IReadOnlyList<string> args, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = new Builder(now ?? DateTimeOffset.UtcNow);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg;
            if (arg.StartsWith('-') && eq > 0)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            var flag = name switch
            {
                "-n" => "--namespace",
                "-t" => "--type",
                "-f" => "--follow",
                _ => name,
            };
            if (!flag.StartsWith("--", StringComparison.Ordinal) || !Flags.Contains(flag))
            {
                throw new FlowFilterParseException(arg, arg.StartsWith('-') ? "unknown flag" : "unexpected argument (flags take the form --flag value)");
            }

            if (flag == "--follow")
            {
                builder.SetFollow(inlineValue);
                continue;
            }

            var value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw new FlowFilterParseException(flag, "missing value");
                }

                value = args[++i];
            }

            builder.Set(flag, value);
        }

        return builder.Build();
    }

    /// <summary>True when the flow passes the filters (time and count selectors are applied by the reader).</summary>
    public bool Matches(in Flow flow)
    {
        if (Filters.Count == 0)
        {
            return true;
        }

        for (var i = 0; i < Filters.Count; i++)
        {
            if (Filters[i].Matches(flow))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <see cref="FlowRing"/> read options this spec asks for.</summary>
    public FlowReadOptions ToReadOptions() => new()
    {
        Last = Last,
        SinceUnixNanos = Since is { } since ? Flow.ToUnixNanos(since) : null,
        Follow = Follow,
        Filter = Filters.Count == 0 ? null : Matches,
    };

    /// <summary>The filters as Hubble FlowFilter JSON, one per line (as <c>--print-raw-filters</c>).</summary>
    public override string ToString() => string.Join('\n', Filters.Select(f => f.ToString()));

    private sealed class Builder(DateTimeOffset now)
    {
        private readonly List<string> _arguments = [];
        private readonly HashSet<string> _used = [];
        private readonly List<string> _namespaces = [];
        private Side? _left;
        private Side? _right;
        private int? _last;
        private DateTimeOffset? _since;
        private bool _follow;

        public void SetFollow(string? value)
        {
            _follow = value switch
            {
                null or "true" => true,
                "false" => false,
                _ => throw new FlowFilterParseException("--follow", $"invalid value \"{value}\": expected true or false"),
            };
            _arguments.Add(_follow ? "--follow" : "--follow=false");
        }

        public void Set(string flag, string value)
        {
            _used.Add(flag);
            CheckConflict(flag, "--from-pod", "--namespace");
            CheckConflict(flag, "--to-pod", "--namespace");
            _arguments.Add(flag);
            _arguments.Add(value);
            switch (flag)
            {
                case "--from-pod":
                    RequirePod(flag, value);
                    Both(s => s.SourcePod.Add((flag, value)));
                    break;
                case "--to-pod":
                    RequirePod(flag, value);
                    Both(s => s.DestinationPod.Add((flag, value)));
                    break;
                case "--from-label":
                    var from = Selector(flag, value);
                    Both(s => s.SourceLabel.Add(from));
                    break;
                case "--to-label":
                    var to = Selector(flag, value);
                    Both(s => s.DestinationLabel.Add(to));
                    break;
                case "--from-app":
                    RequireNonEmpty(flag, value);
                    Both(s => s.SourceApp.Add(value));
                    break;
                case "--to-app":
                    RequireNonEmpty(flag, value);
                    Both(s => s.DestinationApp.Add(value));
                    break;
                case "--namespace":
                    RequireNonEmpty(flag, value);
                    if (value.Contains('/', StringComparison.Ordinal))
                    {
                        throw new FlowFilterParseException(flag, $"invalid namespace \"{value}\": a namespace has no '/'");
                    }

                    _namespaces.Add(value);
                    break;
                case "--verdict":
                    if (!HubbleNames.TryParseVerdict(value, out var verdict) || verdict == Verdict.Unknown)
                    {
                        throw new FlowFilterParseException(flag,
                            $"invalid verdict \"{value}\": expected one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED");
                    }

                    Both(s => s.Verdict.Add(verdict));
                    break;
                case "--type":
                    var eventType = ParseEventType(flag, value);
                    Both(s => s.EventType.Add(eventType));
                    break;
                case "--protocol":
                    var protocol = value.ToLowerInvariant();
                    if (Array.IndexOf(Protocols, protocol) < 0)
                    {
                        throw new FlowFilterParseException(flag, $"unknown protocol \"{value}\": expected one of {string.Join(", ", Protocols)}");
                    }

                    Both(s => s.Protocol.Add(protocol));
                    break;
                case "--port":
                    if (!ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                    {
                        throw new FlowFilterParseException(flag, $"invalid port \"{value}\": expected 0-65535");
                    }

                    Left().SourcePort.Add(port);
                    Right().DestinationPort.Add(port);
                    break;
                case "--http-method":
                    RequireNonEmpty(flag, value);
                    Both(s => s.HttpMethod.Add(value));
                    break;
                case "--http-path":
                    var regex = PathRegex(flag, value);
                    Both(s => s.HttpPath.Add(regex));
                    break;
                case "--http-status":
                    if (!HttpStatusFilter.TryParse(value, out var status))
                    {
                        throw new FlowFilterParseException(flag,
                            $"invalid status \"{value}\": expected a code such as 404 or a prefix such as 5+ or 40+");
                    }

                    Both(s => s.HttpStatusCode.Add(status!));
                    break;
                case "--last":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var last))
                    {
                        throw new FlowFilterParseException(flag, $"invalid count \"{value}\": expected a non-negative integer");
                    }

                    _last = last;
                    break;
                case "--since":
                    try
                    {
                        _since = TimeArgument.Parse(value, now);
                    }
                    catch (FormatException e)
                    {
                        throw new FlowFilterParseException(flag, e.Message);
                    }

                    break;
            }
        }

        public FlowFilterSpec Build()
        {
            var filters = new List<FlowFilter>();
            if (_left is not null || _right is not null || _namespaces.Count > 0)
            {
                var left = _left ?? new Side();
                var right = _right ?? new Side();
                if (_namespaces.Count > 0)
                {
                    ApplyNamespaces(left.SourcePod);
                    ApplyNamespaces(right.DestinationPod);
                }

                var l = left.ToFilter();
                var r = right.ToFilter();
                filters.Add(l);
                if (l.ToString() != r.ToString())
                {
                    filters.Add(r);
                }
            }

            foreach (var filter in filters)
            {
                if (filter.HttpStatusCode.Count > 0 && filter.EventType.Count > 0
                    && !filter.EventType.Any(e => e.Type == MonitorMessageType.AccessLog))
                {
                    throw new FlowFilterParseException("--http-status", "filtering by HTTP status needs --type l7 (or no --type)");
                }
            }

            var last = _last ?? (_since is null && !_follow ? DefaultLast : null);
            return new FlowFilterSpec(filters, last, _since, _follow, [.. _arguments]);
        }

        private void ApplyNamespaces(List<(string Flag, string Value)> pods)
        {
            if (pods.Count == 0)
            {
                pods.Add(("--namespace", ""));
            }

            var expanded = new List<(string, string)>();
            foreach (var (flag, value) in pods)
            {
                if (value.Contains('/', StringComparison.Ordinal))
                {
                    expanded.Add((flag, value));
                    continue;
                }

                foreach (var ns in _namespaces)
                {
                    expanded.Add((flag, $"{ns}/{value}"));
                }
            }

            pods.Clear();
            pods.AddRange(expanded);
        }

        private void CheckConflict(string flag, string a, string b)
        {
            if ((flag == a && _used.Contains(b)) || (flag == b && _used.Contains(a)))
            {
                throw new FlowFilterParseException(flag, $"{a} and {b} cannot be combined (use {a} namespace/pod)");
            }
        }

        private Side Left() => _left ??= new Side();

        private Side Right() => _right ??= new Side();

        private void Both(Action<Side> update)
        {
            update(Left());
            update(Right());
        }

        private static void RequireNonEmpty(string flag, string value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new FlowFilterParseException(flag, "empty value");
            }
        }

        private static void RequirePod(string flag, string value)
        {
            if (!PodSelector.TryParse(value, out _))
            {
                throw new FlowFilterParseException(flag, $"invalid pod \"{value}\": expected [namespace/]pod-name-prefix");
            }
        }

        private static LabelSelector Selector(string flag, string value)
        {
            try
            {
                return LabelSelector.Parse(value);
            }
            catch (FormatException e)
            {
                throw new FlowFilterParseException(flag, e.Message);
            }
        }

        private static Regex PathRegex(string flag, string value)
        {
            try
            {
                // Hubble matches an unanchored Go (RE2) regexp; the non-backtracking engine keeps matching linear too.
                return new Regex(value, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw new FlowFilterParseException(flag, $"invalid regular expression \"{value}\": {e.Message}");
            }
        }

        private static EventTypeFilter ParseEventType(string flag, string value)
        {
            var parts = value.Split(':', 2);
            if (!MonitorMessageType.TryParse(parts[0], out var type)
                && !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out type))
            {
                throw new FlowFilterParseException(flag,
                    $"unknown type \"{parts[0]}\": expected one of {string.Join(", ", MonitorMessageType.TypeNames)} or a number");
            }

            if (parts.Length == 1)
            {
                return new EventTypeFilter(type);
            }

            var sub = parts[1];
            if (type == MonitorMessageType.Trace && MonitorMessageType.TryParseTraceSubType(sub, out var point))
            {
                return new EventTypeFilter(type, point, MatchSubType: true);
            }

            if (type == MonitorMessageType.Drop && DropReason.TryParse(sub, out var reason))
            {
                return new EventTypeFilter(type, reason.Code, MatchSubType: true);
            }

            if (int.TryParse(sub, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                return new EventTypeFilter(type, number, MatchSubType: true);
            }

            var hint = type switch
            {
                MonitorMessageType.Trace => $"one of {string.Join(", ", MonitorMessageType.TraceSubTypeNames)}",
                MonitorMessageType.Drop => "a drop reason such as POLICY_DENIED or 133",
                _ => "a number",
            };
            throw new FlowFilterParseException(flag, $"unknown sub-type \"{sub}\" for {parts[0]}: expected {hint}");
        }
    }

    private sealed class Side
    {
        public List<(string Flag, string Value)> SourcePod { get; } = [];

        public List<(string Flag, string Value)> DestinationPod { get; } = [];

        public List<LabelSelector> SourceLabel { get; } = [];

        public List<LabelSelector> DestinationLabel { get; } = [];

        public List<string> SourceApp { get; } = [];

        public List<string> DestinationApp { get; } = [];

        public List<Verdict> Verdict { get; } = [];

        public List<EventTypeFilter> EventType { get; } = [];

        public List<string> Protocol { get; } = [];

        public List<ushort> SourcePort { get; } = [];

        public List<ushort> DestinationPort { get; } = [];

        public List<string> HttpMethod { get; } = [];

        public List<Regex> HttpPath { get; } = [];

        public List<HttpStatusFilter> HttpStatusCode { get; } = [];

        public FlowFilter ToFilter() => new()
        {
            SourcePod = [.. SourcePod.Select(Pod)],
            DestinationPod = [.. DestinationPod.Select(Pod)],
            SourceLabel = [.. SourceLabel],
            DestinationLabel = [.. DestinationLabel],
            SourceApp = [.. SourceApp],
            DestinationApp = [.. DestinationApp],
            Verdict = [.. Verdict],
            EventType = [.. EventType],
            Protocol = [.. Protocol],
            SourcePort = [.. SourcePort],
            DestinationPort = [.. DestinationPort],
            HttpMethod = [.. HttpMethod],
            HttpPath = [.. HttpPath],
            HttpStatusCode = [.. HttpStatusCode],
        };

        private static PodSelector Pod((string Flag, string Value) pod) =>
            PodSelector.TryParse(pod.Value, out var selector)
                ? selector
                : throw new FlowFilterParseException(pod.Flag, $"invalid pod \"{pod.Value}\": expected [namespace/]pod-name-prefix");
    }
}
