using System.CommandLine;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Cli.Commands.Policy;

/// <summary>
/// <c>membrane policy validate PATH...</c>: loads files, directories or <c>-</c> (stdin) and prints every error,
/// one per line as <c>file:line:column: field.path: message</c>. Exit 0 when valid, 1 when anything is invalid;
/// bad usage exits 2 (Program).
/// </summary>
internal static class PolicyValidateCommand
{
    public static Command Build()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Policy files or directories (recursive: *.yaml, *.yml, *.json); - reads standard input.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("validate", "Check policies for errors without applying them; prints every error with file:line:column.");
        command.Arguments.Add(paths);
        command.SetAction(parse => Run(
            parse.GetValue(paths) ?? [],
            Console.In,
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(IReadOnlyList<string> paths, TextReader stdin, TextWriter output, TextWriter error)
    {
        var result = PolicyLoader.LoadPaths(paths, stdin);
        foreach (var e in result.Errors)
        {
            error.WriteLine(e.ToString());
        }

        if (!result.IsValid)
        {
            var files = result.Errors.Select(e => e.Location.File).Distinct().Count();
            error.WriteLine($"invalid: {Plural(result.Errors.Count, "error")} in {Plural(files, "file")}; nothing may be applied from this set");
            return 1;
        }

        if (result.Policies.Count == 0)
        {
            error.WriteLine($"no policies found in {string.Join(", ", paths)}");
            return 1;
        }

        var kinds = result.Policies
            .GroupBy(p => p.Kind)
            .OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} {g.Key}");
        var withPolicies = result.Policies.Select(p => p.Source.File).Distinct().ToList();
        output.WriteLine($"valid: {Plural(result.Policies.Count, "policy", "policies")} ({string.Join(", ", kinds)}) in {Plural(withPolicies.Count, "file")}");
        foreach (var file in withPolicies)
        {
            var names = result.Policies.Where(p => p.Source.File == file).Select(Describe);
            output.WriteLine($"  {file}: {string.Join(", ", names)}");
        }

        return 0;
    }

    private static string Describe(PolicyResource p) => p.Namespace is null ? $"{p.Name} (ccnp)" : $"{p.Namespace}/{p.Name} ({Short(p.Kind)})";

    private static string Short(PolicyKind kind) => kind switch
    {
        PolicyKind.CiliumNetworkPolicy => "cnp",
        PolicyKind.CiliumClusterwideNetworkPolicy => "ccnp",
        _ => "netpol",
    };

    private static string Plural(int n, string one, string? many = null) => n == 1 ? $"1 {one}" : $"{n} {many ?? one + "s"}";
}
