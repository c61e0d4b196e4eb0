using Membrane.Agent.Api;
using Membrane.Agent.Policies;
using Membrane.Datapath;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;

namespace Membrane.Agent.Hosting;

/// <summary>Policies: import, replace, delete, list; each change one atomic revision.</summary>
internal sealed partial class AgentRuntime
{
    private const int MaxDocuments = 10_000;

    public PolicyChangeResponse ImportPolicies(PolicyImportRequest request)
    {
        var documents = request.Documents ?? [];
        if (documents.Count == 0)
        {
            throw ApiProblem.BadRequest("no policy texts were sent");
        }

        if (documents.Count > MaxDocuments || documents.Any(d => string.IsNullOrEmpty(d.Name) || d.Text is null))
        {
            throw ApiProblem.BadRequest($"every document needs a name and a text (at most {MaxDocuments} documents)");
        }

        var loaded = PolicyLoader.LoadTexts(documents.Select(d => (d.Text, d.Name)));
        if (!loaded.IsValid)
        {
            throw ApiProblem.BadRequest(
                $"invalid: {loaded.Errors.Count} error(s); nothing was applied",
                [.. loaded.Errors.Select(e => e.ToString())]);
        }

        if (loaded.Policies.Count == 0 && !request.ReplaceAll)
        {
            throw ApiProblem.BadRequest($"no policies found in {string.Join(", ", documents.Select(d => d.Name))}");
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            var imported = loaded.Policies;
            var importedRefs = imported.Select(p => p.Ref).ToHashSet();
            var current = _repository.Policies;
            var next = request.ReplaceAll ? [.. imported] : current.Where(p => !importedRefs.Contains(p.Ref)).Concat(imported).ToList();
            var changed = request.ReplaceAll ? current.Select(p => p.Ref).Union(importedRefs).ToList() : [.. importedRefs];
            var documentsAfter = _documents.AfterImport(documents, imported, request.ReplaceAll, _policyRevision + 1);
            return Change(current, () => !request.ReplaceAll && imported.Count == 1 ? _repository.Upsert(imported[0]) : _repository.ReplaceAll(next),
                documentsAfter, changed, request.ReplaceAll ? "replaced the policy set" : "imported");
        }
    }

    public PolicyChangeResponse DeletePolicies(PolicyDeleteRequest request)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var current = _repository.Policies;
            HashSet<PolicyRef> deleted;
            if (request.All)
            {
                deleted = [.. current.Select(p => p.Ref)];
            }
            else
            {
                if ((request.Policies ?? []).Count == 0)
                {
                    throw ApiProblem.BadRequest("name the policies to delete, or ask for all");
                }

                deleted = [];
                var missing = new List<string>();
                foreach (var wanted in request.Policies!)
                {
                    var matches = current.Where(p => Matches(p.Ref, wanted)).Select(p => p.Ref).ToList();
                    if (matches.Count == 0)
                    {
                        missing.Add(wanted.Kind.Length == 0 ? wanted.ToString() : $"{wanted} ({wanted.Kind})");
                    }

                    deleted.UnionWith(matches);
                }

                if (missing.Count > 0)
                {
                    throw new ApiProblem(404, $"no such policy: {string.Join(", ", missing)}; nothing was deleted (revision {_policyRevision} keeps enforcing)");
                }
            }

            var next = current.Where(p => !deleted.Contains(p.Ref)).ToList();
            return Change(current, () => deleted.Count == 1 ? _repository.Delete(deleted.First())! : _repository.ReplaceAll(next),
                _documents.AfterDelete(deleted), [.. deleted], "deleted");
        }
    }

    public PolicyListResponse ListPolicies(bool withText)
    {
        lock (_gate)
        {
            var endpointPolicies = _repository.EndpointPolicies;
            var policies = new List<PolicyModel>();
            var cache = new Dictionary<string, Membrane.Policy.Parsing.PolicyLoadResult>();
            foreach (var p in _repository.Policies)
            {
                var document = _documents.DocumentOf(p.Ref);
                string? text = null;
                if (withText && document is not null)
                {
                    if (!cache.TryGetValue(document.Name + "\n" + document.Revision, out var reloaded))
                    {
                        reloaded = PolicyLoader.LoadText(document.Text, document.Name);
                        cache[document.Name + "\n" + document.Revision] = reloaded;
                    }

                    text = PolicyDocuments.Slice(document.Text, p, reloaded.Policies);
                }

                policies.Add(new PolicyModel
                {
                    Policy = PolicyDocuments.Model(p.Ref),
                    Source = p.Source.ToString(),
                    Revision = document?.Revision ?? 0,
                    SelectedEndpoints = [.. endpointPolicies
                        .Where(e => e.Ingress.DefaultDenyBy.Contains(p.Ref) || e.Egress.DefaultDenyBy.Contains(p.Ref)
                            || e.Entries.Any(x => x.Value.DerivedFrom.Contains(p.Ref)))
                        .Select(e => (int)e.EndpointId)
                        .Order()],
                    Text = text,
                });
            }

            return new PolicyListResponse(_policyRevision, policies);
        }
    }

    public PolicySourcesResponse ListPolicySources()
    {
        lock (_gate)
        {
            return new PolicySourcesResponse(_policyRevision,
                [.. _documents.Documents.Select(d => new PolicySourceModel(d.Name, d.Text, d.Revision, d.Live))]);
        }
    }

    /// <summary>
    /// One policy change, all or nothing: the repository computes it (a compile error changes nothing), the kernel gets
    /// the deltas (validated for every endpoint before any is written; on a failure the repository is put back and the
    /// kernel with it), then the documents, the revision and the state are saved and the new view published.
    /// </summary>
    private PolicyChangeResponse Change(IReadOnlyList<PolicyResource> before, Func<PolicyUpdate> compute,
        List<Membrane.Agent.State.PolicyDocumentState> documentsAfter, IReadOnlyList<PolicyRef> changed, string verb)
    {
        PolicyUpdate update;
        try
        {
            update = compute();
        }
        catch (PolicyCompileException e)
        {
            _pendingIpcache.Clear();
            var errors = e.Errors.Count > 0 ? e.Errors.Select(x => x.ToString()).ToList() : [e.Message];
            throw ApiProblem.BadRequest($"invalid: {errors.Count} error(s); nothing was applied (revision {_policyRevision} keeps enforcing)", errors);
        }

        try
        {
            ApplyDeltas(update.Deltas);
            FlushIpcache();
        }
        catch (Exception e) when (e is DatapathException or ArgumentException)
        {
            _log.Error($"policy change refused by the datapath: {e.Message}; rolling back");
            try
            {
                var undo = _repository.ReplaceAll(before);
                ApplyDeltas(undo.Deltas);
                FlushIpcache();
            }
            catch (Exception rollback) when (rollback is DatapathException or ArgumentException or PolicyCompileException)
            {
                _log.Error($"rollback failed: {rollback.Message}");
            }

            throw ApiProblem.BadRequest($"the datapath refused the change: {e.Message}; nothing was applied (revision {_policyRevision} keeps enforcing)");
        }

        _policyRevision++;
        _documents.Replace(documentsAfter);
        Publish();
        var warnings = update.Warnings.Select(w => w.ToString()).ToList();
        _log.Info($"policy revision {_policyRevision}: {verb} {string.Join(", ", changed.Select(c => c.ToString()))}; {update.Deltas.Count} endpoint(s) updated");
        return new PolicyChangeResponse(_policyRevision, [.. changed.Select(PolicyDocuments.Model)], update.Deltas.Count, warnings);
    }

    private static bool Matches(PolicyRef policy, PolicyRefModel wanted) =>
        policy.Name == wanted.Name
        && (wanted.Kind.Length == 0 || policy.Kind == wanted.Kind)
        && (wanted.Namespace is null ? policy.Namespace is null or "default" : policy.Namespace == wanted.Namespace);
}
