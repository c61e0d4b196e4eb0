using Membrane.Policy.Model;

namespace Membrane.Policy.Parsing;

/// <summary>
/// Loads CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy resources from YAML or
/// JSON: files, multi-document streams, <c>List</c> kinds, directories (recursive, <c>*.yaml</c>, <c>*.yml</c>,
/// <c>*.json</c>) and text handed over directly. Every error is collected, with file, line, column and field path.
/// </summary>
public static class PolicyLoader
{
    /// <summary>Largest file or text accepted (a policy set is kilobytes; this bounds memory on hostile input).</summary>
    public const int MaxTextLength = 16 * 1024 * 1024;

    /// <summary>The name used for standard input in locations.</summary>
    public const string StdinName = "<stdin>";

    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>Loads files and directories (recursively: <c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>, in path order).</summary>
    /// <param name="paths">Files or directories.</param>
    public static PolicyLoadResult LoadPaths(IEnumerable<string> paths) => LoadPaths(paths, stdin: null);

    /// <summary>Like <see cref="LoadPaths(IEnumerable{string})"/>; a path <c>-</c> reads <paramref name="stdin"/> (named <c>&lt;stdin&gt;</c>).</summary>
    /// <param name="paths">Files, directories, or <c>-</c>.</param>
    /// <param name="stdin">Standard input, or null when <c>-</c> is not allowed.</param>
    public static PolicyLoadResult LoadPaths(IEnumerable<string> paths, TextReader? stdin)
    {
        var (sources, errors) = ReadPaths(paths, stdin);
        return Load([.. sources], [.. errors]);
    }

    /// <summary>
    /// Reads the texts <see cref="LoadPaths(IEnumerable{string}, TextReader?)"/> would load, without parsing them, each
    /// with the name its errors print: for clients that hand the texts to someone else (the CLI to the agent API).
    /// </summary>
    /// <param name="paths">Files, directories (recursive, hidden entries skipped), or <c>-</c>.</param>
    /// <param name="stdin">Standard input, or null when <c>-</c> is not allowed.</param>
    /// <returns>The texts in load order, and the paths that could not be read.</returns>
    public static (IReadOnlyList<(string Text, string File)> Sources, IReadOnlyList<PolicyError> Errors) ReadPaths(IEnumerable<string> paths, TextReader? stdin)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var sources = new List<(string Text, string File)>();
        var errors = new List<PolicyError>();
        foreach (var path in paths)
        {
            if (path == "-" && stdin is not null)
            {
                sources.Add((stdin.ReadToEnd(), StdinName));
            }
            else if (Directory.Exists(path))
            {
                foreach (var file in PolicyFilesUnder(path).Order(StringComparer.Ordinal))
                {
                    ReadFile(file, sources, errors);
                }
            }
            else if (File.Exists(path))
            {
                ReadFile(path, sources, errors);
            }
            else
            {
                errors.Add(new PolicyError(new SourceLocation(path, 0, 0), "", "no such file or directory"));
            }
        }

        return (sources, errors);
    }

    /// <summary>Loads policies from text (standard input, the agent API).</summary>
    /// <param name="text">YAML or JSON, possibly several documents.</param>
    /// <param name="fileName">The name errors print for this text.</param>
    public static PolicyLoadResult LoadText(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        return Load([(text, fileName)], []);
    }

    /// <summary>Loads several named texts as one set (duplicates across them are errors, as across files).</summary>
    /// <param name="sources">Each text with the name its errors print.</param>
    public static PolicyLoadResult LoadTexts(IEnumerable<(string Text, string File)> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return Load([.. sources], []);
    }

    // Hidden entries are skipped (.git, and the "..data" and "..<timestamp>" folders of a Kubernetes ConfigMap
    // volume, whose visible files are symlinks into them: reading both would load every policy twice). Symlinked
    // files are read; symlinked directories are not followed, so a link cycle cannot loop.
    private static IEnumerable<string> PolicyFilesUnder(string directory)
    {
        var root = Path.GetFullPath(directory);
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in dir.EnumerateFileSystemInfos())
            {
                if (entry.Name.StartsWith('.'))
                {
                    continue;
                }

                if (entry is DirectoryInfo sub)
                {
                    if (sub.LinkTarget is null)
                    {
                        pending.Push(sub);
                    }
                }
                else if (Extensions.Contains(entry.Extension, StringComparer.OrdinalIgnoreCase))
                {
                    // Keep the path as the user wrote it ("policies/a.yaml"), for error locations.
                    yield return Path.Join(directory, Path.GetRelativePath(root, entry.FullName));
                }
            }
        }
    }

    private static void ReadFile(string file, List<(string, string)> sources, List<PolicyError> errors)
    {
        try
        {
            if (new FileInfo(file).Length > MaxTextLength)
            {
                errors.Add(new PolicyError(new SourceLocation(file, 0, 0), "", $"file is larger than {MaxTextLength / (1024 * 1024)} MiB"));
                return;
            }

            sources.Add((File.ReadAllText(file), file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new PolicyError(new SourceLocation(file, 0, 0), "", $"cannot read: {e.Message}"));
        }
    }

    private static PolicyLoadResult Load(List<(string Text, string File)> sources, List<PolicyError> errors)
    {
        var policies = new List<PolicyResource>();
        var files = new List<string>();
        foreach (var (text, file) in sources)
        {
            files.Add(file);
            if (text.Length > MaxTextLength)
            {
                errors.Add(new PolicyError(new SourceLocation(file, 0, 0), "", $"text is larger than {MaxTextLength / (1024 * 1024)} MiB"));
                continue;
            }

            PolicyDocumentReader.Read(text, file, policies, errors);
        }

        ReportDuplicates(policies, errors);
        var fileOrder = files.Select((f, i) => (f, i)).GroupBy(x => x.f).ToDictionary(g => g.Key, g => g.First().i);
        var ordered = errors
            .Select((e, i) => (e, i))
            .OrderBy(x => fileOrder.GetValueOrDefault(x.e.Location.File, -1))
            .ThenBy(x => x.e.Location.Line)
            .ThenBy(x => x.e.Location.Column)
            .ThenBy(x => x.i)
            .Select(x => x.e)
            .ToList();
        return new PolicyLoadResult(policies, ordered, files);
    }

    private static void ReportDuplicates(List<PolicyResource> policies, List<PolicyError> errors)
    {
        var seen = new Dictionary<PolicyRef, PolicyResource>();
        foreach (var p in policies)
        {
            if (seen.TryGetValue(p.Ref, out var first))
            {
                errors.Add(new PolicyError(p.LocationOf("metadata.name"), "metadata.name",
                    $"duplicate {p.Kind} \"{p.Ref.QualifiedName}\": already defined at {first.LocationOf("metadata.name")}"));
            }
            else
            {
                seen[p.Ref] = p;
            }
        }
    }
}
