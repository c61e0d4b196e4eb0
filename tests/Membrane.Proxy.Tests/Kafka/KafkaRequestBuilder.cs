using System.Text;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>A topic and the partitions a built request names.</summary>
internal sealed record TopicSpec(string Name, params int[] Partitions);

/// <summary>
/// Builds request frames for every topic-bearing API and version straight from the Apache Kafka message schemas
/// (field order and versions of <c>*Request.json</c>, protocol-facts §1.5), independently of the parser, with
/// non-topic fields set to recognizable values. The parser must read back exactly the topics, partitions and groups.
/// </summary>
internal static class KafkaRequestBuilder
{
    /// <summary>Topic-bearing APIs and the versions the proxy parses.</summary>
    public static IEnumerable<(short Key, short Version)> ParsedApiVersions() =>
        KafkaApis.All.Where(a => a.ParsesBody).SelectMany(a => Enumerable.Range(a.MinVersion, a.MaxVersion - a.MinVersion + 1).Select(v => (a.Key, (short)v)));

    public static byte[] Build(short key, short v, TopicSpec[] topics, string[]? groups = null, string clientId = "membrane-test", int correlationId = 42, bool allTopics = false, short acks = -1, sbyte resourceType = 2)
    {
        KafkaApis.TryGet(key, out var api);
        var f = api.IsFlexible(v);
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(key);
        w.Int16(v);
        w.Int32(correlationId);
        w.String(false, Encoding.UTF8.GetBytes(clientId));
        w.Tags(f);
        groups ??= ["group-a"];
        switch (key)
        {
            case KafkaApis.Produce:
                if (v >= 3)
                {
                    w.NullString(f);
                }

                w.Int16(acks);
                w.Int32(30000);
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        w.Bytes(f, [1, 2, 3, 4, 5]);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                break;

            case KafkaApis.Fetch:
                if (v <= 14)
                {
                    w.Int32(-1);
                }

                w.Int32(500);
                w.Int32(1);
                if (v >= 3)
                {
                    w.Int32(1 << 20);
                }

                if (v >= 4)
                {
                    w.Int8(0);
                }

                if (v >= 7)
                {
                    w.Int32(0);
                    w.Int32(-1);
                }

                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        if (v >= 9)
                        {
                            w.Int32(-1);
                        }

                        w.Int64(123);
                        if (v >= 12)
                        {
                            w.Int32(-1);
                        }

                        if (v >= 5)
                        {
                            w.Int64(-1);
                        }

                        w.Int32(1 << 20);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                if (v >= 7)
                {
                    w.ArrayLength(f, 0);
                }

                if (v >= 11)
                {
                    w.String(f, "rack"u8);
                }

                break;

            case KafkaApis.ListOffsets:
                w.Int32(-1);
                if (v >= 2)
                {
                    w.Int8(0);
                }

                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        if (v >= 4)
                        {
                            w.Int32(-1);
                        }

                        w.Int64(-2);
                        if (v == 0)
                        {
                            w.Int32(1);
                        }

                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                if (v >= 10)
                {
                    w.Int32(1000);
                }

                break;

            case KafkaApis.Metadata:
                if (allTopics && v >= 1)
                {
                    w.ArrayLength(f, -1);
                }
                else
                {
                    Array(w, f, allTopics ? [] : topics, t =>
                    {
                        if (v >= 10)
                        {
                            w.Uuid(Guid.Empty);
                        }

                        Name(w, f, t.Name);
                        w.Tags(f);
                    });
                }

                if (v >= 4)
                {
                    w.Bool(false);
                }

                if (v >= 8 && v <= 10)
                {
                    w.Bool(false);
                }

                if (v >= 8)
                {
                    w.Bool(false);
                }

                break;

            case KafkaApis.OffsetCommit:
                Name(w, f, groups[0]);
                if (v >= 1)
                {
                    w.Int32(5);
                    Name(w, f, "member");
                }

                if (v >= 7)
                {
                    w.NullString(f);
                }

                if (v >= 2 && v <= 4)
                {
                    w.Int64(-1);
                }

                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        w.Int64(77);
                        if (v >= 6)
                        {
                            w.Int32(-1);
                        }

                        if (v == 1)
                        {
                            w.Int64(-1);
                        }

                        w.NullString(f);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                break;

            case KafkaApis.OffsetFetch:
                if (v <= 7)
                {
                    Name(w, f, groups[0]);
                    OffsetFetchTopics(w, f, allTopics, topics);
                }
                else
                {
                    Array(w, f, groups, g =>
                    {
                        Name(w, f, g);
                        if (v >= 9)
                        {
                            w.NullString(f);
                            w.Int32(-1);
                        }

                        OffsetFetchTopics(w, f, allTopics, topics);
                        w.Tags(f);
                    });
                }

                if (v >= 7)
                {
                    w.Bool(true);
                }

                break;

            case KafkaApis.FindCoordinator:
                if (v <= 3)
                {
                    Name(w, f, groups[0]);
                }

                if (v >= 1)
                {
                    w.Int8(0);
                }

                if (v >= 4)
                {
                    Array(w, f, groups, g => Name(w, f, g));
                }

                break;

            case KafkaApis.JoinGroup:
                Name(w, f, groups[0]);
                w.Int32(6000);
                if (v >= 1)
                {
                    w.Int32(6000);
                }

                Name(w, f, "");
                if (v >= 5)
                {
                    w.NullString(f);
                }

                Name(w, f, "consumer");
                w.ArrayLength(f, 2);
                foreach (var protocol in new[] { "range", "roundrobin" })
                {
                    Name(w, f, protocol);
                    w.Bytes(f, ConsumerSubscription(topics));
                    w.Tags(f);
                }

                if (v >= 8)
                {
                    w.NullString(f);
                }

                break;

            case KafkaApis.ApiVersions:
                if (v >= 3)
                {
                    w.String(true, "membrane"u8);
                    w.String(true, "1.0"u8);
                }

                break;

            case KafkaApis.CreateTopics:
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    w.Int32(t.Partitions.Length);
                    w.Int16(1);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        Array(w, f, [1], b => w.Int32(b));
                        w.Tags(f);
                    });
                    Array(w, f, ["cleanup.policy"], c =>
                    {
                        Name(w, f, c);
                        Name(w, f, "compact");
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                w.Int32(5000);
                if (v >= 1)
                {
                    w.Bool(false);
                }

                break;

            case KafkaApis.DeleteTopics:
                Array(w, f, topics, t => Name(w, f, t.Name));
                w.Int32(5000);
                break;

            case KafkaApis.DeleteRecords:
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        w.Int64(10);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                w.Int32(5000);
                break;

            case KafkaApis.InitProducerId:
                Name(w, f, "txn-1");
                w.Int32(60000);
                if (v >= 3)
                {
                    w.Int64(-1);
                    w.Int16(-1);
                }

                if (v >= 6)
                {
                    w.Bool(false);
                    w.Bool(false);
                }

                break;

            case KafkaApis.OffsetForLeaderEpoch:
                if (v >= 3)
                {
                    w.Int32(-1);
                }

                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        if (v >= 2)
                        {
                            w.Int32(-1);
                        }

                        w.Int32(3);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                break;

            case KafkaApis.AddPartitionsToTxn:
                if (v <= 3)
                {
                    Name(w, f, groups[0]);
                    w.Int64(9);
                    w.Int16(1);
                    TopicsWithIndexes(w, f, topics);
                }
                else
                {
                    Array(w, f, groups, g =>
                    {
                        Name(w, f, g);
                        w.Int64(9);
                        w.Int16(1);
                        w.Bool(false);
                        TopicsWithIndexes(w, f, topics);
                        w.Tags(f);
                    });
                }

                break;

            case KafkaApis.TxnOffsetCommit:
                Name(w, f, "txn-1");
                Name(w, f, groups[0]);
                w.Int64(9);
                w.Int16(1);
                if (v >= 3)
                {
                    w.Int32(1);
                    Name(w, f, "member");
                    w.NullString(f);
                }

                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p =>
                    {
                        w.Int32(p);
                        w.Int64(5);
                        if (v >= 2)
                        {
                            w.Int32(-1);
                        }

                        w.String(f, "meta"u8);
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                break;

            case KafkaApis.DescribeConfigs:
                Array(w, f, topics, t =>
                {
                    w.Int8(resourceType);
                    Name(w, f, t.Name);
                    Array(w, f, ["retention.ms"], k => Name(w, f, k));
                    w.Tags(f);
                });
                if (v >= 1)
                {
                    w.Bool(false);
                }

                if (v >= 3)
                {
                    w.Bool(false);
                }

                break;

            case KafkaApis.AlterConfigs:
            case KafkaApis.IncrementalAlterConfigs:
                Array(w, f, topics, t =>
                {
                    w.Int8(resourceType);
                    Name(w, f, t.Name);
                    Array(w, f, ["retention.ms"], c =>
                    {
                        Name(w, f, c);
                        if (key == KafkaApis.IncrementalAlterConfigs)
                        {
                            w.Int8(0);
                        }

                        Name(w, f, "1000");
                        w.Tags(f);
                    });
                    w.Tags(f);
                });
                w.Bool(false);
                break;

            case KafkaApis.DescribeLogDirs:
                if (allTopics)
                {
                    w.ArrayLength(f, -1);
                }
                else
                {
                    TopicsWithIndexes(w, f, topics);
                }

                break;

            case KafkaApis.CreatePartitions:
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    w.Int32(t.Partitions.Length + 1);
                    w.ArrayLength(f, -1);
                    w.Tags(f);
                });
                w.Int32(5000);
                w.Bool(false);
                break;

            case KafkaApis.ElectLeaders:
                if (v >= 1)
                {
                    w.Int8(0);
                }

                if (allTopics)
                {
                    w.ArrayLength(f, -1);
                }
                else
                {
                    TopicsWithIndexes(w, f, topics);
                }

                w.Int32(5000);
                break;

            case KafkaApis.OffsetDelete:
                Name(w, f, groups[0]);
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    Array(w, f, t.Partitions, p => w.Int32(p));
                });
                break;

            case KafkaApis.DescribeProducers:
                TopicsWithIndexes(w, f, topics);
                break;

            case KafkaApis.ConsumerGroupHeartbeat:
                Name(w, f, groups[0]);
                Name(w, f, "member");
                w.Int32(0);
                w.NullString(f);
                w.NullString(f);
                w.Int32(30000);
                Array(w, f, topics, t => Name(w, f, t.Name));
                if (v >= 1)
                {
                    w.NullString(f);
                }

                w.NullString(f);
                Array(w, f, [new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")], id =>
                {
                    w.Uuid(id);
                    Array(w, f, [0, 1], p => w.Int32(p));
                    w.Tags(f);
                });
                break;

            case KafkaApis.DescribeTopicPartitions:
                Array(w, f, topics, t =>
                {
                    Name(w, f, t.Name);
                    w.Tags(f);
                });
                w.Int32(2000);
                w.Int8(-1);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(key), key, "no builder");
        }

        if (key == KafkaApis.Fetch && v >= 12)
        {
            // ClusterId is top-level tag 0 from v12: tagged fields the parser does not use must be skipped (KIP-482).
            w.UVarint(1);
            w.UVarint(0);
            w.UVarint(4);
            w.String(true, "abc"u8);
        }
        else
        {
            w.Tags(f);
        }

        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    /// <summary>ConsumerProtocolSubscription v1 (never flexible): Topics, UserData, OwnedPartitions.</summary>
    public static byte[] ConsumerSubscription(TopicSpec[] topics)
    {
        var w = new KafkaWriter();
        w.Int16(1);
        Array(w, false, topics, t => Name(w, false, t.Name));
        w.NullBytes(false);
        Array(w, false, topics, t =>
        {
            Name(w, false, t.Name);
            Array(w, false, t.Partitions, p => w.Int32(p));
        });
        return w.WrittenSpan.ToArray();
    }

    private static void OffsetFetchTopics(KafkaWriter w, bool f, bool allTopics, TopicSpec[] topics)
    {
        if (allTopics)
        {
            w.ArrayLength(f, -1);
            return;
        }

        TopicsWithIndexes(w, f, topics);
    }

    private static void TopicsWithIndexes(KafkaWriter w, bool f, TopicSpec[] topics) =>
        Array(w, f, topics, t =>
        {
            Name(w, f, t.Name);
            Array(w, f, t.Partitions, p => w.Int32(p));
            w.Tags(f);
        });

    private static void Name(KafkaWriter w, bool f, string s) => w.String(f, Encoding.UTF8.GetBytes(s));

    private static void Array<T>(KafkaWriter w, bool f, IReadOnlyList<T> items, Action<T> write)
    {
        w.ArrayLength(f, items.Count);
        foreach (var item in items)
        {
            write(item);
        }
    }
}
