using System.Buffers;
using System.Net;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

public sealed class KafkaResponseRewriterTests
{
    private static byte[] ApiVersionsResponse(bool flexible, params (short Key, short Min, short Max)[] apis)
    {
        var w = new KafkaWriter();
        w.Int32(7);
        w.Int16(0);
        w.ArrayLength(flexible, apis.Length);
        foreach (var (key, min, max) in apis)
        {
            w.Int16(key);
            w.Int16(min);
            w.Int16(max);
            w.Tags(flexible);
        }

        w.Int32(0);
        if (flexible)
        {
            // SupportedFeatures (tag 0), kept byte for byte.
            w.UVarint(1);
            w.UVarint(0);
            w.UVarint(3);
            w.Raw([1, 2, 3]);
        }

        return w.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ApiVersionsAreIntersectedWithWhatTheProxyParses(bool flexible)
    {
        var response = ApiVersionsResponse(flexible, (0, 0, 11), (1, 4, 17), (4, 0, 7), (17, 0, 1), (18, 0, 4), (20, 1, 6), (78, 1, 1), (60, 0, 2));
        var w = new KafkaWriter();
        Assert.True(KafkaResponseRewriter.RewriteApiVersions(new ReadOnlySequence<byte>(response), (short)(flexible ? 3 : 2), w));
        var payload = w.WrittenSpan[4..].ToArray();
        var (error, apis) = ResponseDecoder.ApiVersions(payload, (short)(flexible ? 3 : 0));
        Assert.Equal(0, error);
        Assert.Equal(new Dictionary<short, (short, short)>
        {
            [0] = (0, 11), // Produce: broker max below the cap; min never raised (KAFKA-18659)
            [1] = (4, 12), // Fetch: capped where topic ids start
            [17] = (1, 1), // SaslHandshake: v0 (raw SASL frames) removed
            [18] = (0, 4),
            [20] = (1, 5), // DeleteTopics: capped
            [60] = (0, 2), // DescribeCluster: topic-free, broker's range
        }, apis);

        // Throttle time and top-level tagged fields follow the array unchanged.
        Assert.EndsWith(Convert.ToHexString(response[^(flexible ? 9 : 4)..]), Convert.ToHexString(payload));
    }

    [Fact]
    public void ApiVersionsErrorAnswersAreRelayedUnchanged()
    {
        byte[] response = [0, 0, 0, 1, 0, 35, 2, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 0];
        var w = new KafkaWriter();
        Assert.True(KafkaResponseRewriter.RewriteApiVersions(new ReadOnlySequence<byte>(response), 3, w));
        Assert.Equal(response, w.WrittenSpan[4..].ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void FindCoordinatorAddressesBecomeTheProxysOnlyForRealCoordinators(short v)
    {
        var f = v >= 3;
        var w = new KafkaWriter();
        w.Int32(9);
        w.Tags(f);
        if (v >= 1)
        {
            w.Int32(0);
        }

        if (v <= 3)
        {
            w.Int16(0);
            if (v >= 1)
            {
                w.NullString(f);
            }

            w.Int32(1);
            w.String(f, "10.0.0.7"u8);
            w.Int32(9092);
        }
        else
        {
            w.ArrayLength(f, 2);
            foreach (var (key, node) in new[] { ("g1", 1), ("g2", -1) })
            {
                w.String(f, System.Text.Encoding.UTF8.GetBytes(key));
                w.Int32(node);
                w.String(f, node < 0 ? ""u8 : "10.0.0.7"u8);
                w.Int32(node < 0 ? -1 : 9092);
                w.Int16((short)(node < 0 ? 15 : 0));
                w.NullString(f);
                w.Tags(f);
            }
        }

        w.Tags(f);
        var output = new KafkaWriter();
        Assert.True(KafkaResponseRewriter.RewriteFindCoordinator(new ReadOnlySequence<byte>(w.WrittenSpan.ToArray()), v, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 15090), output));
        var text = System.Text.Encoding.ASCII.GetString(output.WrittenSpan);
        Assert.Contains("192.0.2.1", text);
        Assert.DoesNotContain("10.0.0.7", text);
        Assert.Equal(w.Length - "10.0.0.7".Length + "192.0.2.1".Length + 4, output.Length);
    }
}
