using Membrane.Observer.Filters;
using Membrane.Observer.Flows;
using Membrane.Observer.Tests.Printers;

namespace Membrane.Observer.Tests.Filters;

public sealed class FlowFilterSpecTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 12, 10, 35, 0, TimeSpan.Zero);

    private static readonly (string Name, Flow Flow)[] Flows =
    [
        ("D", FlowSamples.DeniedDelete), ("G", FlowSamples.AllowedGet), ("R", FlowSamples.GetResponse),
        ("PV", FlowSamples.PolicyVerdictAllowed), ("W", FlowSamples.WorldDropped), ("T", FlowSamples.TraceReply),
        ("K", FlowSamples.KafkaDenied), ("I", FlowSamples.IcmpDenylisted), ("U", FlowSamples.Ipv6UdpUnknownDirection),
        ("H", FlowSamples.HostileUrl),
    ];

    public static TheoryData<string, string> Cases => new()
    {
        { "", "D G R PV W T K I U H" },
        { "--from-pod frontend", "D G PV I H" },
        { "--from-pod default/frontend-xyz", "D G PV I H" },
        { "--from-pod=kube-system/frontend", "" },
        { "--to-pod user-service", "D G PV W H" },
        { "--from-pod frontend --from-pod default/user", "D G R PV T I H" },
        { "--from-pod frontend --to-pod user", "D G PV H" },
        { "--to-pod kafka/", "K" },
        { "-n kafka", "K" },
        { "--namespace default", "D G R PV W T I H" },
        { "-n kafka -n default", "D G R PV W T K I H" },
        { "--from-label app=frontend", "D G PV I H" },
        { "--from-label k8s:app=frontend", "D G PV I H" },
        { "--from-label any:app==frontend", "D G PV I H" },
        { "--from-label container:app=frontend", "" },
        { "--from-label reserved:world", "W" },
        { "--to-label reserved:world", "I" },
        { "--from-label reserved:host", "U" },
        { "--from-label 'app in (frontend, users)'", "D G R PV T I H" },
        { "--from-label !app", "W U" },
        { "--to-label 'app notin (users)'", "R T K I U" },
        { "--from-label app!=frontend", "R W T K U" },
        { "--to-label app=", "" },
        { "--from-label app=frontend,io.kubernetes.pod.namespace=default", "D G PV I H" },
        { "--from-label app=frontend --from-label app=shipping", "D G PV K I H" },
        { "--from-app frontend", "D G PV I H" },
        { "--to-app kafka-broker", "K" },
        { "--from-app frontend --from-label reserved:world", "" },
        { "--verdict DROPPED", "D W K I" },
        { "--verdict dropped --verdict ERROR", "D W K I H" },
        { "--type l7", "D G R K H" },
        { "-t drop", "W" },
        { "--type trace", "T U" },
        { "--type trace:to-endpoint", "T" },
        { "--type trace:from-endpoint", "U" },
        { "--type policy-verdict", "PV I" },
        { "--type drop:POLICY_DENIED", "W" },
        { "--type drop:181", "" },
        { "--type 129", "D G R K H" },
        { "--type l7 --type drop", "D G R W K H" },
        { "--protocol http", "D G R H" },
        { "--protocol kafka", "K" },
        { "--protocol TCP", "D G R PV W T K H" },
        { "--protocol udp", "U" },
        { "--protocol icmp", "I" },
        { "--protocol icmpv4", "I" },
        { "--protocol icmpv6", "" },
        { "--protocol sctp", "" },
        { "--protocol udp --protocol icmp", "I U" },
        { "--port 80", "D G R PV W T H" },
        { "--port 53", "U" },
        { "--port 9092", "K" },
        { "--http-method get", "G R H" },
        { "--http-method DELETE", "D" },
        { "--http-path ^/api/v1/users", "D G R" },
        { @"--http-path users/\d+$", "D G R" },
        { "--http-path fields", "" },
        { "--http-status 200", "R" },
        { "--http-status 2+", "R" },
        { "--http-status 20+", "R" },
        { "--http-status 5+", "" },
        { "-n default --port 80", "D G R PV W T H" },
        { "--verdict FORWARDED --type l7", "G R" },
        { "--from-pod frontend --verdict DROPPED --protocol http", "D" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_flag_selects_what_hubble_would(string args, string expected)
    {
        var spec = FlowFilterSpec.Parse(Split(args), Now);
        var matched = Flows.Where(f => spec.Matches(f.Flow)).Select(f => f.Name);
        Assert.Equal(expected, string.Join(' ', matched));

        // The forwarded argument list parses to the same spec (CLI -> agent API).
        var again = FlowFilterSpec.Parse(spec.Arguments, Now);
        Assert.Equal(spec.ToString(), again.ToString());
        Assert.Equal(expected, string.Join(' ', Flows.Where(f => again.Matches(f.Flow)).Select(f => f.Name)));
    }

    public static TheoryData<string, string, string> Errors => new()
    {
        { "--frob x", "--frob", "unknown flag" },
        { "frontend", "frontend", "unexpected argument" },
        { "--verdict DENIED", "--verdict", "invalid verdict \"DENIED\"" },
        { "--http-status 6xx", "--http-status", "invalid status \"6xx\"" },
        { "--http-status 2000", "--http-status", "invalid status" },
        { "--from-pod frontend -n default", "--namespace", "cannot be combined" },
        { "-n default --to-pod users", "--to-pod", "cannot be combined" },
        { "--from-label 'app in (a'", "--from-label", "expected ',' or ')'" },
        { "--from-label ,", "--from-label", "expected a label key" },
        { "--from-label 'app foo'", "--from-label", "unknown operator \"foo\"" },
        { "--from-label app>x", "--from-label", "needs an integer value" },
        { "--http-path (", "--http-path", "invalid regular expression" },
        { "--type nope", "--type", "unknown type \"nope\"" },
        { "--type trace:nowhere", "--type", "unknown sub-type \"nowhere\" for trace" },
        { "--port 70000", "--port", "invalid port \"70000\"" },
        { "--last -1", "--last", "invalid count" },
        { "--last x", "--last", "invalid count" },
        { "--since yesterday", "--since", "invalid time \"yesterday\"" },
        { "--protocol dns", "--protocol", "unknown protocol \"dns\"" },
        { "--last", "--last", "missing value" },
        { "--http-status 200 --type drop", "--http-status", "needs --type l7" },
        { "--follow=maybe", "--follow", "expected true or false" },
        { "--from-pod /", "--from-pod", "invalid pod" },
        { "--namespace a/b", "--namespace", "has no '/'" },
        { "--from-app ''", "--from-app", "empty value" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Bad_input_names_the_flag(string args, string flag, string problem)
    {
        var e = Assert.Throws<FlowFilterParseException>(() => FlowFilterSpec.Parse(Split(args), Now));
        Assert.Equal(flag, e.Flag);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(flag + ": ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_selectors_the_last_20_are_shown_and_nothing_is_followed()
    {
        var spec = FlowFilterSpec.Parse([], Now);
        Assert.Equal(20, spec.Last);
        Assert.False(spec.Follow);
        Assert.Null(spec.Since);
        Assert.Empty(spec.Filters);
    }

    [Fact]
    public void Follow_alone_streams_only_new_flows()
    {
        var spec = FlowFilterSpec.Parse(["-f"], Now);
        Assert.True(spec.Follow);
        Assert.Null(spec.Last);
        Assert.Equal(["--follow"], spec.Arguments);
    }

    [Fact]
    public void Last_since_and_follow_combine()
    {
        var spec = FlowFilterSpec.Parse(["--last", "3", "--since", "1h43m", "--follow"], Now);
        Assert.Equal(3, spec.Last);
        Assert.True(spec.Follow);
        Assert.Equal(Now - new TimeSpan(1, 43, 0), spec.Since);
        var options = spec.ToReadOptions();
        Assert.Equal(3, options.Last);
        Assert.Equal(Flow.ToUnixNanos(Now - new TimeSpan(1, 43, 0)), options.SinceUnixNanos);
        Assert.Null(options.Filter);
    }

    [Fact]
    public void Either_side_flags_become_a_source_filter_or_a_destination_filter_as_in_hubble()
    {
        var spec = FlowFilterSpec.Parse(["-n", "default", "--port", "80", "--verdict", "DROPPED"], Now);
        Assert.Equal(
            """
            {"source_pod":["default/"],"verdict":["DROPPED"],"source_port":["80"]}
            {"destination_pod":["default/"],"verdict":["DROPPED"],"destination_port":["80"]}
            """.ReplaceLineEndings("\n"),
            spec.ToString());
    }

    [Fact]
    public void Same_filter_on_both_sides_is_one_filter()
    {
        var spec = FlowFilterSpec.Parse(["--from-pod", "frontend", "--type", "trace:to-endpoint"], Now);
        Assert.Single(spec.Filters);
        Assert.Equal("""{"source_pod":["default/frontend"],"event_type":[{"type":4,"match_sub_type":true,"sub_type":0}]}""", spec.ToString());
    }

    [Fact]
    public void A_parsed_spec_drives_a_ring_read()
    {
        var ring = new FlowRing(64);
        foreach (var (_, flow) in Flows)
        {
            ring.TryWrite(flow);
        }

        var spec = FlowFilterSpec.Parse(["--verdict", "DROPPED", "--last", "2"], Now);
        var got = ring.ReadBuffered(spec.ToReadOptions());
        Assert.Equal([FlowSamples.KafkaDenied.Uuid, FlowSamples.IcmpDenylisted.Uuid], got.Select(f => f.Uuid));
    }

    [Fact]
    public void Matching_allocates_nothing()
    {
        var spec = FlowFilterSpec.Parse(Split("--from-pod frontend --from-label 'app in (frontend)' --from-app frontend --verdict DROPPED --type l7 --protocol http --http-method DELETE --http-path ^/api --to-label !canary --port 80"), Now);
        var flow = FlowSamples.DeniedDelete;
        Assert.True(spec.Matches(flow));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            spec.Matches(flow);
            foreach (var (_, f) in Flows)
            {
                spec.Matches(f);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static string[] Split(string args)
    {
        var result = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        var any = false;
        foreach (var c in args)
        {
            if (c == '\'')
            {
                quoted = !quoted;
                any = true;
            }
            else if (c == ' ' && !quoted)
            {
                if (current.Length > 0 || any)
                {
                    result.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0 || any)
        {
            result.Add(current.ToString());
        }

        return [.. result];
    }
}
