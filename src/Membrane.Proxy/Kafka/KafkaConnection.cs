using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Proxy.Kafka;

/// <summary>
/// One proxied Kafka connection: a request loop (client → broker) and a response loop (broker → client) sharing an
/// in-flight queue in request order. Every write to the client happens under <see cref="_clientLock"/>, so a denial
/// synthesized by the request loop is queued behind earlier in-flight responses (the Java client requires in-order
/// responses per connection, protocol-facts §1.1) and never lands inside a response being relayed.
/// </summary>
internal sealed class KafkaConnection
{
    /// <summary>Frames still incomplete at this many buffered bytes are copied out of the pipe so a frame larger than
    /// the pipe's pause threshold cannot stall the connection.</summary>
    private const int AssembleThreshold = 32 * 1024;

    /// <summary>Enough of a Fetch v7+ response to read its session id: size, correlation id, tags, throttle, error, session id.</summary>
    private const int FetchSessionPeek = 4 + 4 + 1 + 4 + 2 + 4;

    /// <summary>Produce responses up to this size are read whole for their error code (events); larger ones stream.</summary>
    private const int InspectLimit = 64 * 1024;

    private readonly ProxiedConnection _connection;
    private readonly KafkaEngineOptions _options;
    private readonly KafkaRequest _request = new();
    private readonly KafkaWriter _requestWriter = new();
    private readonly KafkaWriter _responseWriter = new();
    private readonly KafkaByteArena _scratch = new();
    private readonly Queue<InFlight> _inFlight = new();
    private readonly SemaphoreSlim _clientLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly long[] _fetchSessions = new long[8];
    private int _fetchSessionCount;
    private IDuplexPipe? _upstream;
    private byte[] _clientIdBytes = [];
    private string? _clientIdString;
    private bool _clientIdNull = true;
    private byte[][] _topicBytes = [];
    private string[] _topicStrings = [];
    private long _relayRemaining;
    private bool _upstreamDirty;
    private volatile bool _closed;

    public KafkaConnection(ProxiedConnection connection, KafkaEngineOptions options)
    {
        _connection = connection;
        _options = options;
    }

    private enum ResponseAction : byte
    {
        Relay,
        ApiVersions,
        Metadata,
        FindCoordinator,
        InspectProduce,
        Split,
        Local,
    }

    private struct InFlight
    {
        public int CorrelationId;
        public short ApiKey;
        public short ApiVersion;
        public ResponseAction Action;
        public long StartTimestamp;
        public byte[]? Local;
        public int LocalLength;
        /// <summary>Pre-encoded response topic elements for topics removed from the forwarded request (Metadata, splits).</summary>
        public byte[]? DeniedEntries;
        public int DeniedCount;
        public string[]? DeniedTopics;
        public ConnectionPolicy Policy;
        public byte[] ClientId;
        public string? ClientIdString;
        public string[]? Topics;
        public short ErrorCode;
        public bool LearnFetchSession;
        public L7Verdict Verdict;
        public PolicyRef? DecidedBy;
        public TrafficDirection? DeniedDirection;
        public string? Detail;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var ct = linked.Token;
        try
        {
            _upstream = await _connection.ConnectUpstreamAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            ProtocolError($"upstream connect failed: {ex.Message}");
            await _connection.Client.Output.CompleteAsync().ConfigureAwait(false);
            await _connection.Client.Input.CompleteAsync().ConfigureAwait(false);
            return;
        }

        var requests = RequestLoopAsync(ct);
        var responses = ResponseLoopAsync(ct);
        await Task.WhenAll(requests, responses).ConfigureAwait(false);
        foreach (var e in _inFlight)
        {
            if (e.Local is { } local)
            {
                ArrayPool<byte>.Shared.Return(local);
            }
        }
    }

    private async Task RequestLoopAsync(CancellationToken ct)
    {
        var input = _connection.Client.Input;
        var upstream = _upstream!.Output;
        byte[]? assembly = null;
        var assembled = 0;
        var assemblySize = 0;
        try
        {
            while (!_closed)
            {
                var result = await input.ReadAsync(ct).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (!_closed)
                    {
                        if (assembly is not null)
                        {
                            var n = (int)Math.Min(assemblySize - assembled, buffer.Length);
                            buffer.Slice(0, n).CopyTo(assembly.AsSpan(assembled));
                            assembled += n;
                            buffer = buffer.Slice(n);
                            if (assembled < assemblySize)
                            {
                                break;
                            }

                            var frame = new ReadOnlySequence<byte>(assembly, 0, assemblySize);
                            var ok = await HandleRequestAsync(frame, upstream, ct).ConfigureAwait(false);
                            ArrayPool<byte>.Shared.Return(assembly);
                            assembly = null;
                            if (!ok)
                            {
                                return;
                            }

                            continue;
                        }

                        var status = KafkaRequestParser.TryFrame(buffer, _options.MaxRequestFrameSize, out _, out var frameLength, out var reason);
                        if (status == KafkaParseStatus.NeedMoreData)
                        {
                            if (buffer.Length >= AssembleThreshold)
                            {
                                assemblySize = FrameSize(buffer) + 4;
                                assembly = ArrayPool<byte>.Shared.Rent(assemblySize);
                                assembled = (int)buffer.Length;
                                buffer.CopyTo(assembly);
                                buffer = buffer.Slice(buffer.End);
                            }

                            break;
                        }

                        if (status == KafkaParseStatus.Rejected)
                        {
                            RejectFrame(reason, buffer);
                            return;
                        }

                        if (!await HandleRequestAsync(buffer.Slice(0, frameLength), upstream, ct).ConfigureAwait(false))
                        {
                            return;
                        }

                        buffer = buffer.Slice(frameLength);
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (_upstreamDirty)
                {
                    _upstreamDirty = false;
                    var flush = await upstream.FlushAsync(ct).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        break;
                    }
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (TooManyInFlightException)
        {
            ProtocolError($"more than {_options.MaxInFlightRequests} requests in flight: closing the connection");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
        }
        finally
        {
            if (assembly is not null)
            {
                ArrayPool<byte>.Shared.Return(assembly);
            }

            // Kafka clients never half-close while waiting for answers: the client is gone, so is the connection.
            Close();
            await input.CompleteAsync().ConfigureAwait(false);
            await upstream.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static (int Size, int CorrelationId) ResponseHead(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[8];
        buffer.Slice(0, 8).CopyTo(head);
        return (BinaryPrimitives.ReadInt32BigEndian(head), BinaryPrimitives.ReadInt32BigEndian(head[4..]));
    }

    private static int FrameSize(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        return BinaryPrimitives.ReadInt32BigEndian(prefix);
    }

    private void RejectFrame(KafkaRejectReason reason, in ReadOnlySequence<byte> buffer)
    {
        ProtocolError($"request rejected: {reason} (frame size {FrameSize(buffer)})");
        Close();
    }

    /// <summary>Handles one whole request frame; false when the connection must close.</summary>
    private async ValueTask<bool> HandleRequestAsync(ReadOnlySequence<byte> frame, PipeWriter upstream, CancellationToken ct)
    {
        var payload = frame.Slice(4);
        var q = _request;
        var reason = KafkaRequestParser.ParsePayload(payload, q);
        if (reason == KafkaRejectReason.UnsupportedVersion && q.ApiKey == KafkaApis.ApiVersions)
        {
            _requestWriter.Clear();
            KafkaDenials.WriteApiVersionsUnsupported(q.CorrelationId, _requestWriter);
            var e = NewEntry(q, CurrentPolicy());
            e.Verdict = L7Verdict.Denied;
            e.ErrorCode = KafkaErrors.UnsupportedVersion;
            e.Detail = $"ApiVersions v{q.ApiVersion} above v{KafkaApis.ApiVersionsMax}: UNSUPPORTED_VERSION";
            PublishRequest(e);
            await AnswerLocallyAsync(e, _requestWriter, ct).ConfigureAwait(false);
            return true;
        }

        if (reason != KafkaRejectReason.None)
        {
            ProtocolError($"{KafkaApis.NameOf(q.ApiKey)} v{q.ApiVersion} correlation id {q.CorrelationId}: {reason}", q);
            Close();
            return false;
        }

        var policy = CurrentPolicy();
        if (!policy.L4Allowed)
        {
            // The new revision no longer allows this connection at L3/L4 (or policy could not be resolved): close it.
            _connection.Events.Publish(new L7Event
            {
                Kind = L7EventKind.ConnectionDenied,
                TimestampUnixNs = UnixNanoseconds(),
                Connection = _connection.Info,
                Policy = policy,
                Verdict = L7Verdict.Denied,
                DecidedBy = policy.L4DecidedBy.Count > 0 ? policy.L4DecidedBy[0] : null,
                Detail = $"connection no longer allowed at policy revision {policy.Revision}",
                KafkaApiKey = q.ApiKey,
                KafkaApiVersion = q.ApiVersion,
                KafkaCorrelationId = q.CorrelationId,
                GrpcStatus = -1,
            });
            Close();
            return false;
        }

        var entry = NewEntry(q, policy);
        if (q.ApiKey == KafkaApis.Metadata)
        {
            return await MetadataAsync(entry, payload, frame, upstream, ct).ConfigureAwait(false);
        }

        var incrementalFetch = q.ApiKey == KafkaApis.Fetch && q.FetchSessionEpoch > 0;
        if (incrementalFetch && !IsKnownFetchSession(q.FetchSessionId, policy.Revision))
        {
            // An incremental fetch names only changed partitions; the broker-side session may still hold partitions
            // evaluated under an older policy or never seen here (KIP-227). Make the client start a full fetch.
            _requestWriter.Clear();
            KafkaDenials.WriteFetchSessionReset(q, _requestWriter);
            entry.Verdict = L7Verdict.Denied;
            entry.ErrorCode = KafkaErrors.FetchSessionIdNotFound;
            entry.Detail = "incremental fetch session not evaluated under the current policy: FETCH_SESSION_ID_NOT_FOUND";
            PublishRequest(entry);
            await AnswerLocallyAsync(entry, _requestWriter, ct).ConfigureAwait(false);
            return true;
        }

        if (incrementalFetch && q.EvaluatedTopicCount == 0)
        {
            // Nothing changed in a session whose every partition was allowed under this very revision.
            entry.Verdict = L7Verdict.Forwarded;
            entry.Detail = "incremental fetch of a session evaluated under this policy revision";
        }
        else
        {
            Evaluate(q, policy, out entry.Verdict, out entry.DecidedBy, out entry.DeniedDirection);
        }

        if (entry.Verdict == L7Verdict.Denied && q.EvaluatedTopicCount > 1 && PrepareSplit(q, payload, ref entry))
        {
            PublishRequest(entry);
            if (entry.Verdict == L7Verdict.Denied)
            {
                await AnswerLocallyAsync(entry, _requestWriter, ct).ConfigureAwait(false);
                return true;
            }

            if (q.ApiKey != KafkaApis.Produce || q.Acks != 0)
            {
                await EnqueueAsync(entry, ct).ConfigureAwait(false);
            }

            upstream.Write(_requestWriter.WrittenSpan);
            _upstreamDirty = true;
            return true;
        }

        if (entry.Verdict == L7Verdict.Denied)
        {
            entry.ErrorCode = KafkaDenials.ErrorCodeFor(q);
            if (q.ApiKey == KafkaApis.Produce && q.Acks == 0)
            {
                entry.Detail = "acks=0: dropped without a response, as a broker sends none";
                PublishRequest(entry);
                return true;
            }

            _requestWriter.Clear();
            if (!KafkaDenials.TryWrite(q, _requestWriter))
            {
                entry.Detail = $"{KafkaApis.NameOf(q.ApiKey)} v{q.ApiVersion} denied; no error response shape, closing the connection";
                PublishRequest(entry);
                Close();
                return false;
            }

            PublishRequest(entry);
            await AnswerLocallyAsync(entry, _requestWriter, ct).ConfigureAwait(false);
            return true;
        }

        entry.Action = q.ApiKey switch
        {
            KafkaApis.ApiVersions => ResponseAction.ApiVersions,
            KafkaApis.FindCoordinator when _connection.AdvertisedAddress is not null => ResponseAction.FindCoordinator,
            KafkaApis.Produce => ResponseAction.InspectProduce,
            _ => ResponseAction.Relay,
        };
        entry.LearnFetchSession = q.ApiKey == KafkaApis.Fetch && q.ApiVersion >= 7 && q.FetchSessionEpoch == 0;
        PublishRequest(entry);
        if (q.ApiKey == KafkaApis.Produce && q.Acks == 0)
        {
            Forward(upstream, frame);
            return true;
        }

        await EnqueueAsync(entry, ct).ConfigureAwait(false);
        Forward(upstream, frame);
        return true;
    }

    /// <summary>
    /// Metadata is always forwarded (it names brokers, which are not secret) and filtered: explicitly requested topics
    /// policy denies are removed from the forwarded request (so the broker cannot auto-create them) and answered with
    /// error 29 entries; all-topics answers simply omit denied topics, as a broker with ACLs does.
    /// </summary>
    private async ValueTask<bool> MetadataAsync(InFlight entry, ReadOnlySequence<byte> payload, ReadOnlySequence<byte> frame, PipeWriter upstream, CancellationToken ct)
    {
        var q = _request;
        entry.Action = ResponseAction.Metadata;
        entry.Verdict = L7Verdict.Forwarded;
        var n = q.TopicCount;
        Span<bool> allowed = n <= 256 ? stackalloc bool[n] : new bool[n];
        var denied = 0;
        for (var i = 0; i < n; i++)
        {
            var t = q.TopicAt(i);
            allowed[i] = !t.NameIsNull && TopicAllowed(entry.Policy, q.ApiKey, q.ApiVersion, entry.ClientId, q.NameOf(t));
            denied += allowed[i] ? 0 : 1;
        }

        entry.DecidedBy = (entry.Policy.KafkaIngress ?? entry.Policy.KafkaEgress) is { Policies.Length: > 0 } set ? set.Policies[0] : null;
        if (denied > 0)
        {
            _responseWriterForDenied.Clear();
            for (var i = 0; i < n; i++)
            {
                if (!allowed[i])
                {
                    var t = q.TopicAt(i);
                    KafkaDenials.WriteMetadataTopic(_responseWriterForDenied, q.ApiVersion, q.Flexible, q.NameOf(t), t.NameIsNull, t.TopicId, KafkaErrors.TopicAuthorizationFailed);
                }
            }

            entry.DeniedEntries = _responseWriterForDenied.WrittenSpan.ToArray();
            entry.DeniedCount = denied;
            entry.ErrorCode = KafkaErrors.TopicAuthorizationFailed;
            entry.Detail = $"{denied} of {n} requested topics denied: answered with TOPIC_AUTHORIZATION_FAILED";
            if (denied == n && q.ApiVersion == 0)
            {
                // v0 cannot ask for "no topics" (an empty list means all): answer without the broker.
                entry.Verdict = L7Verdict.Denied;
                _requestWriter.Clear();
                KafkaDenials.TryWrite(q, _requestWriter);
                PublishRequest(entry);
                await AnswerLocallyAsync(entry, _requestWriter, ct).ConfigureAwait(false);
                return true;
            }

            PublishRequest(entry);
            _requestWriter.Clear();
            KafkaResponseRewriter.RewriteMetadataRequest(payload, q, allowed, _requestWriter);
            await EnqueueAsync(entry, ct).ConfigureAwait(false);
            upstream.Write(_requestWriter.WrittenSpan);
            _upstreamDirty = true;
            return true;
        }

        PublishRequest(entry);
        await EnqueueAsync(entry, ct).ConfigureAwait(false);
        Forward(upstream, frame);
        return true;
    }

    private readonly KafkaWriter _responseWriterForDenied = new();

    /// <summary>
    /// A request naming allowed and denied topics, handled as a broker with ACLs does (<see cref="KafkaSplit"/>): fills
    /// <see cref="_requestWriter"/> with the request to forward (only the allowed topics) and <paramref name="entry"/>
    /// with the denied topics' error-29 entries to add to the broker's answer. AddPartitionsToTxn instead gets a local
    /// answer: a broker fails the whole request (29 for the denied topics, OPERATION_NOT_ATTEMPTED for the others).
    /// False when no topic is allowed or the API is not split: the request is then denied whole.
    /// </summary>
    private bool PrepareSplit(KafkaRequest q, in ReadOnlySequence<byte> payload, ref InFlight entry)
    {
        var transactional = q.ApiKey == KafkaApis.AddPartitionsToTxn;
        if (!transactional && !KafkaSplit.CanSplit(q))
        {
            return false;
        }

        var n = q.EvaluatedTopicCount;
        Span<bool> allowed = n <= 256 ? stackalloc bool[n] : new bool[n];
        var kept = 0;
        for (var i = 0; i < n; i++)
        {
            allowed[i] = TopicAllowed(entry.Policy, q.ApiKey, q.ApiVersion, entry.ClientId, q.NameOf(q.TopicAt(i)));
            kept += allowed[i] ? 1 : 0;
        }

        if (kept == 0 || kept == n)
        {
            // Nothing to forward; or the per-topic answer disagrees with the request's verdict: deny whole (fail closed).
            return false;
        }

        var denied = new string[n - kept];
        for (int i = 0, d = 0; i < n; i++)
        {
            if (!allowed[i])
            {
                denied[d++] = entry.Topics![i];
            }
        }

        entry.DeniedTopics = denied;
        entry.ErrorCode = KafkaErrors.TopicAuthorizationFailed;
        _requestWriter.Clear();
        if (transactional)
        {
            KafkaDenials.TryWrite(q, _requestWriter, allowed);
            entry.Detail = $"{n - kept} of {n} topics denied ({string.Join(", ", denied)}): TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED (a broker fails the whole request)";
            return true;
        }

        KafkaSplit.WriteRequest(payload, q, allowed, _requestWriter);
        _responseWriterForDenied.Clear();
        entry.DeniedCount = KafkaDenials.WriteDeniedTopics(q, allowed, _responseWriterForDenied);
        entry.DeniedEntries = _responseWriterForDenied.WrittenSpan.ToArray();
        entry.Verdict = L7Verdict.Forwarded;
        entry.Action = ResponseAction.Split;
        entry.LearnFetchSession = q.ApiKey == KafkaApis.Fetch && q.ApiVersion >= 7 && q.FetchSessionEpoch == 0;
        entry.Detail = q.ApiKey == KafkaApis.Produce && q.Acks == 0
            ? $"{n - kept} of {n} topics denied ({string.Join(", ", denied)}): removed from the forwarded request; acks=0, no answer"
            : $"{n - kept} of {n} topics denied ({string.Join(", ", denied)}): removed from the forwarded request, answered with TOPIC_AUTHORIZATION_FAILED";
        return true;
    }

    private async ValueTask EnqueueAsync(InFlight entry, CancellationToken ct)
    {
        await _clientLock.WaitAsync(ct).ConfigureAwait(false);
        var full = _inFlight.Count >= _options.MaxInFlightRequests;
        if (!full)
        {
            _inFlight.Enqueue(entry);
        }

        _clientLock.Release();
        if (full)
        {
            throw new TooManyInFlightException();
        }
    }

    /// <summary>Ends the request loop when a client keeps more requests in flight than any client does.</summary>
    private sealed class TooManyInFlightException : InvalidOperationException;

    /// <summary>Sends a proxy-made response now if nothing is in flight, else queues it behind earlier responses.</summary>
    private async ValueTask AnswerLocallyAsync(InFlight entry, KafkaWriter response, CancellationToken ct)
    {
        entry.Action = ResponseAction.Local;
        await _clientLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_inFlight.Count == 0)
            {
                _connection.Client.Output.Write(response.WrittenSpan);
                PublishResponse(entry, entry.ErrorCode);
                await _connection.Client.Output.FlushAsync(ct).ConfigureAwait(false);
            }
            else if (_inFlight.Count >= _options.MaxInFlightRequests)
            {
                throw new TooManyInFlightException();
            }
            else
            {
                entry.Local = ArrayPool<byte>.Shared.Rent(response.Length);
                entry.LocalLength = response.Length;
                response.WrittenSpan.CopyTo(entry.Local);
                _inFlight.Enqueue(entry);
            }
        }
        finally
        {
            _clientLock.Release();
        }
    }

    private async Task ResponseLoopAsync(CancellationToken ct)
    {
        var input = _upstream!.Input;
        var client = _connection.Client.Output;
        byte[]? assembly = null;
        var assembled = 0;
        var assemblySize = 0;
        try
        {
            while (!_closed)
            {
                var result = await input.ReadAsync(ct).ConfigureAwait(false);
                var buffer = result.Buffer;
                await _clientLock.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    while (!_closed && !buffer.IsEmpty)
                    {
                        if (_relayRemaining > 0)
                        {
                            var n = Math.Min(_relayRemaining, buffer.Length);
                            Write(client, buffer.Slice(0, n));
                            buffer = buffer.Slice(n);
                            _relayRemaining -= n;
                            if (_relayRemaining == 0)
                            {
                                CompleteResponse(_inFlight.Peek().ErrorCode);
                            }

                            continue;
                        }

                        if (assembly is not null)
                        {
                            var n = (int)Math.Min(assemblySize - assembled, buffer.Length);
                            buffer.Slice(0, n).CopyTo(assembly.AsSpan(assembled));
                            assembled += n;
                            buffer = buffer.Slice(n);
                            if (assembled < assemblySize)
                            {
                                break;
                            }

                            var ok = Rewrite(new ReadOnlySequence<byte>(assembly, 4, assemblySize - 4), client);
                            ArrayPool<byte>.Shared.Return(assembly);
                            assembly = null;
                            if (!ok)
                            {
                                return;
                            }

                            continue;
                        }

                        if (buffer.Length < 8)
                        {
                            break;
                        }

                        var (size, correlationId) = ResponseHead(buffer);
                        if (size < 4 || _inFlight.Count == 0 || _inFlight.Peek() is not { Action: not ResponseAction.Local } expected
                            || expected.CorrelationId != correlationId)
                        {
                            ProtocolError($"unexpected response from the broker (correlation id {correlationId}, size {size})");
                            Close();
                            return;
                        }

                        if (expected.Action == ResponseAction.Split)
                        {
                            var prefix = KafkaSplit.TryReadResponsePrefix(buffer, expected.ApiKey, expected.ApiVersion, out var countOffset, out var prefixLength, out var count);
                            if (prefix == KafkaParseStatus.NeedMoreData)
                            {
                                break;
                            }

                            if (prefix == KafkaParseStatus.Rejected)
                            {
                                ProtocolError($"malformed {KafkaApis.NameOf(expected.ApiKey)} v{expected.ApiVersion} response from the broker (correlation id {correlationId})");
                                Close();
                                return;
                            }

                            if (expected.LearnFetchSession)
                            {
                                LearnFetchSession(buffer, expected);
                            }

                            _responseWriter.Clear();
                            KafkaSplit.WriteResponsePrefix(
                                buffer, KafkaSplit.IsFlexible(expected.ApiKey, expected.ApiVersion), countOffset, prefixLength, count, expected.DeniedCount, expected.DeniedEntries, _responseWriter);
                            client.Write(_responseWriter.WrittenSpan);
                            buffer = buffer.Slice(prefixLength);
                            _relayRemaining = size + 4L - prefixLength;
                            if (_relayRemaining == 0)
                            {
                                CompleteResponse(expected.ErrorCode);
                            }

                            continue;
                        }

                        if (expected.Action == ResponseAction.Relay || (expected.Action == ResponseAction.InspectProduce && size > InspectLimit))
                        {
                            if (expected.LearnFetchSession)
                            {
                                if (buffer.Length < FetchSessionPeek)
                                {
                                    break;
                                }

                                LearnFetchSession(buffer, expected);
                            }

                            _relayRemaining = size + 4L;
                            continue;
                        }

                        if (size > _options.MaxRewrittenResponseSize)
                        {
                            ProtocolError($"{KafkaApis.NameOf(expected.ApiKey)} response of {size} bytes exceeds the rewrite limit");
                            Close();
                            return;
                        }

                        if (buffer.Length < size + 4L)
                        {
                            if (buffer.Length >= AssembleThreshold)
                            {
                                assemblySize = size + 4;
                                assembly = ArrayPool<byte>.Shared.Rent(assemblySize);
                                assembled = (int)buffer.Length;
                                buffer.CopyTo(assembly);
                                buffer = buffer.Slice(buffer.End);
                            }

                            break;
                        }

                        if (!Rewrite(buffer.Slice(4, size), client))
                        {
                            return;
                        }

                        buffer = buffer.Slice(size + 4);
                    }

                    input.AdvanceTo(buffer.Start, buffer.End);
                    var flush = await client.FlushAsync(ct).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        break;
                    }
                }
                finally
                {
                    _clientLock.Release();
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
        }
        finally
        {
            if (assembly is not null)
            {
                ArrayPool<byte>.Shared.Return(assembly);
            }

            Close();
            await input.CompleteAsync().ConfigureAwait(false);
            await client.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Rewrites one whole response (payload without size prefix) for the head entry; false closes.</summary>
    private bool Rewrite(in ReadOnlySequence<byte> payload, PipeWriter client)
    {
        var e = _inFlight.Peek();
        if (e.Action == ResponseAction.InspectProduce)
        {
            Span<byte> prefix = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(prefix, (int)payload.Length);
            client.Write(prefix);
            Write(client, payload);
            CompleteResponse(KafkaResponseRewriter.FirstProduceError(payload, e.ApiVersion));
            return true;
        }

        _responseWriter.Clear();
        var ok = e.Action switch
        {
            ResponseAction.ApiVersions => KafkaResponseRewriter.RewriteApiVersions(payload, e.ApiVersion, _responseWriter),
            ResponseAction.FindCoordinator => KafkaResponseRewriter.RewriteFindCoordinator(payload, e.ApiVersion, _connection.AdvertisedAddress!, _responseWriter),
            ResponseAction.Metadata => KafkaResponseRewriter.RewriteMetadata(
                payload, e.ApiVersion, new MetadataFilter(e.Policy, e.ClientId, e.ApiVersion), e.DeniedCount, e.DeniedEntries, _connection.AdvertisedAddress, _scratch, _responseWriter),
            _ => false,
        };
        if (!ok)
        {
            ProtocolError($"malformed {KafkaApis.NameOf(e.ApiKey)} v{e.ApiVersion} response from the broker (correlation id {e.CorrelationId})");
            Close();
            return false;
        }

        client.Write(_responseWriter.WrittenSpan);
        CompleteResponse(e.ErrorCode);
        return true;
    }

    /// <summary>The head response has been written: record it, then send proxy-made answers queued behind it.</summary>
    private void CompleteResponse(short errorCode)
    {
        var done = _inFlight.Dequeue();
        PublishResponse(done, errorCode);
        while (_inFlight.Count > 0 && _inFlight.Peek().Action == ResponseAction.Local)
        {
            var local = _inFlight.Dequeue();
            _connection.Client.Output.Write(local.Local.AsSpan(0, local.LocalLength));
            ArrayPool<byte>.Shared.Return(local.Local!);
            PublishResponse(local, local.ErrorCode);
        }
    }

    private void LearnFetchSession(in ReadOnlySequence<byte> buffer, in InFlight e)
    {
        Span<byte> head = stackalloc byte[FetchSessionPeek];
        buffer.Slice(0, FetchSessionPeek).CopyTo(head);
        var offset = 8 + (e.ApiVersion >= 12 ? 1 : 0);
        var error = BinaryPrimitives.ReadInt16BigEndian(head[(offset + 4)..]);
        var sessionId = BinaryPrimitives.ReadInt32BigEndian(head[(offset + 6)..]);
        if (error != 0 || sessionId == 0)
        {
            return;
        }

        // Remember (session id, revision); a small ring: clients keep one session per broker connection.
        _fetchSessions[_fetchSessionCount++ % _fetchSessions.Length] = ((long)sessionId << 32) | (uint)e.Policy.Revision;
    }

    private bool IsKnownFetchSession(int sessionId, long revision)
    {
        var key = ((long)sessionId << 32) | (uint)revision;
        var n = Math.Min(_fetchSessionCount, _fetchSessions.Length);
        for (var i = 0; i < n; i++)
        {
            if (_fetchSessions[i] == key)
            {
                return true;
            }
        }

        return false;
    }

    private ConnectionPolicy CurrentPolicy()
    {
        try
        {
            return _connection.CurrentPolicy();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A policy source that cannot answer must not let traffic through: fail closed with a policy that allows nothing.
            var p = _connection.Policy;
            return new ConnectionPolicy
            {
                Revision = p.Revision,
                Source = p.Source,
                Destination = p.Destination,
                DestinationPort = p.DestinationPort,
                L4Allowed = false,
                Protocol = p.Protocol,
                KafkaIngress = KafkaRuleSet.Compile([]),
            };
        }
    }

    private static void Evaluate(KafkaRequest q, ConnectionPolicy p, out L7Verdict verdict, out PolicyRef? decidedBy, out TrafficDirection? deniedDirection)
    {
        decidedBy = null;
        deniedDirection = null;
        verdict = L7Verdict.Forwarded;
        var clientId = q.ClientIdBytes;
        if (p.KafkaEgress is { } egress)
        {
            var topics = q.EvaluatedTopics;
            var v = egress.Evaluate(q.ApiKey, q.ApiVersion, clientId, ref topics);
            if (!v.Allowed)
            {
                verdict = L7Verdict.Denied;
                deniedDirection = TrafficDirection.Egress;
                decidedBy = egress.Policies.Length > 0 ? egress.Policies[0] : null;
                return;
            }

            decidedBy = v.DecidedBy;
        }

        if (p.KafkaIngress is { } ingress)
        {
            var topics = q.EvaluatedTopics;
            var v = ingress.Evaluate(q.ApiKey, q.ApiVersion, clientId, ref topics);
            if (!v.Allowed)
            {
                verdict = L7Verdict.Denied;
                deniedDirection = TrafficDirection.Ingress;
                decidedBy = ingress.Policies.Length > 0 ? ingress.Policies[0] : null;
                return;
            }

            decidedBy = v.DecidedBy;
        }
    }

    private static bool TopicAllowed(ConnectionPolicy p, short apiKey, short version, ReadOnlySpan<byte> clientId, ReadOnlySpan<byte> topic) =>
        (p.KafkaEgress?.IsTopicAllowed(apiKey, version, clientId, topic) ?? true)
        && (p.KafkaIngress?.IsTopicAllowed(apiKey, version, clientId, topic) ?? true);

    private readonly struct MetadataFilter(ConnectionPolicy policy, byte[] clientId, short version) : IKafkaTopicFilter
    {
        public bool IsAllowed(ReadOnlySpan<byte> topic) => TopicAllowed(policy, KafkaApis.Metadata, version, clientId, topic);
    }

    private InFlight NewEntry(KafkaRequest q, ConnectionPolicy policy)
    {
        var clientId = q.ClientIdBytes;
        if (_clientIdNull != q.ClientIdIsNull || !clientId.SequenceEqual(_clientIdBytes))
        {
            _clientIdBytes = clientId.ToArray();
            _clientIdNull = q.ClientIdIsNull;
            _clientIdString = q.ClientIdIsNull ? null : Encoding.UTF8.GetString(clientId);
        }

        return new InFlight
        {
            CorrelationId = q.CorrelationId,
            ApiKey = q.ApiKey,
            ApiVersion = q.ApiVersion,
            StartTimestamp = Stopwatch.GetTimestamp(),
            Policy = policy,
            ClientId = _clientIdBytes,
            ClientIdString = _clientIdString,
            Topics = TopicStrings(q),
        };
    }

    /// <summary>The request's topics as strings, reusing the previous array when the request names the same topics
    /// (the common case: a producer or consumer repeating one request shape), so events allocate nothing then.</summary>
    private string[]? TopicStrings(KafkaRequest q)
    {
        var n = q.TopicCount;
        if (n == 0)
        {
            return null;
        }

        var same = n == _topicBytes.Length;
        for (var i = 0; same && i < n; i++)
        {
            same = q.NameOf(q.TopicAt(i)).SequenceEqual(_topicBytes[i]);
        }

        if (!same)
        {
            _topicBytes = new byte[n][];
            _topicStrings = new string[n];
            for (var i = 0; i < n; i++)
            {
                var t = q.TopicAt(i);
                _topicBytes[i] = q.NameOf(t).ToArray();
                _topicStrings[i] = t.NameIsNull ? t.TopicId.ToString() : Encoding.UTF8.GetString(_topicBytes[i]);
            }
        }

        return _topicStrings;
    }

    private void PublishRequest(in InFlight e) => Publish(L7EventKind.KafkaRequest, e, e.ErrorCode, 0);

    private void PublishResponse(in InFlight e, short errorCode) =>
        Publish(L7EventKind.KafkaResponse, e, errorCode, (long)Stopwatch.GetElapsedTime(e.StartTimestamp).TotalNanoseconds);

    private void Publish(L7EventKind kind, in InFlight e, short errorCode, long latencyNs)
    {
        var ev = new L7Event
        {
            Kind = kind,
            TimestampUnixNs = UnixNanoseconds(),
            Connection = _connection.Info,
            Policy = e.Policy,
            Verdict = e.Verdict,
            DecidedBy = e.DecidedBy,
            DeniedDirection = e.DeniedDirection,
            Detail = e.Detail,
            LatencyNs = latencyNs,
            KafkaApiKey = e.ApiKey,
            KafkaApiVersion = e.ApiVersion,
            KafkaCorrelationId = e.CorrelationId,
            KafkaClientId = e.ClientIdString,
            KafkaTopics = e.Topics,
            KafkaDeniedTopics = e.DeniedTopics,
            KafkaErrorCode = errorCode,
            GrpcStatus = -1,
        };
        _connection.Events.Publish(ev);
    }

    private void ProtocolError(string detail, KafkaRequest? q = null)
    {
        var ev = new L7Event
        {
            Kind = L7EventKind.ProtocolError,
            TimestampUnixNs = UnixNanoseconds(),
            Connection = _connection.Info,
            Policy = _connection.Policy,
            Verdict = L7Verdict.Error,
            Detail = detail,
            KafkaApiKey = q?.ApiKey ?? -1,
            KafkaApiVersion = q?.ApiVersion ?? -1,
            KafkaCorrelationId = q?.CorrelationId ?? 0,
            GrpcStatus = -1,
        };
        _connection.Events.Publish(ev);
    }

    private static long UnixNanoseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private void Forward(PipeWriter upstream, in ReadOnlySequence<byte> frame)
    {
        Write(upstream, frame);
        _upstreamDirty = true;
    }

    private static void Write(PipeWriter writer, in ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            writer.Write(segment.Span);
        }
    }

    /// <summary>Ends both directions: pending reads are cancelled, the loops complete their pipes.</summary>
    private void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _connection.Client.Input.CancelPendingRead();
        _upstream?.Input.CancelPendingRead();
    }
}
