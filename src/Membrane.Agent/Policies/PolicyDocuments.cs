using Membrane.Agent.Api;
using Membrane.Agent.State;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Agent.Policies;

/// <summary>
/// The imported policy texts, each with the policies of it that are still loaded: a later import of the same policy
/// takes it over, a delete removes it, and a text with no policy left is forgotten. This is what the state directory
/// keeps, so a restarted agent re-reads exactly the loaded policies from the texts they came from (locations and
/// all). Not thread-safe: the agent changes it under its write lock.
/// </summary>
internal sealed class PolicyDocuments
{
    private readonly List<PolicyDocumentState> _documents = [];

    public PolicyDocuments(IEnumerable<PolicyDocumentState> documents) => _documents.AddRange(documents);

    public IReadOnlyList<PolicyDocumentState> Documents => _documents;

    public static PolicyRefModel Model(PolicyRef p) => new(p.Kind, p.Namespace, p.Name);

    public static PolicyRef Ref(PolicyRefModel p) => new(p.Kind, p.Namespace, p.Name);

    /// <summary>
    /// Reloads every document and keeps the resources still live in it: the policy set to restore.
    /// </summary>
    /// <exception cref="InvalidDataException">A saved text no longer loads (its errors are in the message).</exception>
    public IReadOnlyList<PolicyResource> Load()
    {
        var result = new List<PolicyResource>();
        foreach (var doc in _documents)
        {
            var loaded = PolicyLoader.LoadText(doc.Text, doc.Name);
            if (!loaded.IsValid)
            {
                throw new InvalidDataException($"saved policy text {doc.Name} no longer loads: {string.Join("; ", loaded.Errors)}");
            }

            var live = doc.Live.Select(Ref).ToHashSet();
            result.AddRange(loaded.Policies.Where(p => live.Contains(p.Ref)));
        }

        return result;
    }

    /// <summary>The new document list after importing <paramref name="texts"/> (whose policies are <paramref name="imported"/>).</summary>
    public List<PolicyDocumentState> AfterImport(IReadOnlyList<PolicyDocument> texts, IReadOnlyList<PolicyResource> imported, bool replaceAll, long revision)
    {
        var importedRefs = imported.Select(p => p.Ref).ToHashSet();
        var next = replaceAll ? [] : Without(importedRefs);
        foreach (var text in texts)
        {
            var live = imported.Where(p => p.Source.File == text.Name).Select(p => Model(p.Ref)).ToList();
            if (live.Count > 0)
            {
                next.Add(new PolicyDocumentState { Name = text.Name, Text = text.Text, Revision = revision, Live = live });
            }
        }

        return next;
    }

    /// <summary>The new document list after deleting <paramref name="deleted"/>.</summary>
    public List<PolicyDocumentState> AfterDelete(IReadOnlySet<PolicyRef> deleted) => Without(deleted);

    public void Replace(IEnumerable<PolicyDocumentState> documents)
    {
        var list = documents.ToList();
        _documents.Clear();
        _documents.AddRange(list);
    }

    /// <summary>The document a loaded policy came from, and the revision that imported it.</summary>
    public PolicyDocumentState? DocumentOf(PolicyRef policy) =>
        _documents.LastOrDefault(d => d.Live.Any(l => Ref(l).Equals(policy)));

    /// <summary>
    /// The part of a document's text that holds one policy: from the line its resource starts on to the line before
    /// the next resource or document separator (the whole text for a single policy).
    /// </summary>
    public static string Slice(string text, PolicyResource policy, IEnumerable<PolicyResource> sameDocument)
    {
        var lines = text.Split('\n');
        var start = Math.Max(policy.Source.Line, 1) - 1;
        var nextStart = sameDocument
            .Where(p => p.Source.Line > policy.Source.Line)
            .Select(p => p.Source.Line - 1)
            .DefaultIfEmpty(lines.Length)
            .Min();
        var end = nextStart;
        for (var i = start + 1; i < nextStart; i++)
        {
            if (lines[i].StartsWith("---", StringComparison.Ordinal))
            {
                end = i;
                break;
            }
        }

        // A YAML resource's recorded start is its first key; keep a leading "---" line out and comments above in.
        while (start > 0 && lines[start - 1].TrimStart().StartsWith('#'))
        {
            start--;
        }

        return string.Join('\n', lines[start..end]).TrimEnd() + "\n";
    }

    private List<PolicyDocumentState> Without(IReadOnlySet<PolicyRef> refs)
    {
        var next = new List<PolicyDocumentState>();
        foreach (var doc in _documents)
        {
            var live = doc.Live.Where(l => !refs.Contains(Ref(l))).ToList();
            if (live.Count > 0)
            {
                next.Add(doc with { Live = live });
            }
        }

        return next;
    }
}
