using System.CommandLine;
using Membrane.Agent.Api;

namespace Membrane.Cli.Commands.Policy;

/// <summary>
/// <c>membrane policy delete NAME... [-n NAMESPACE] [--kind KIND] | --all</c>: removes policies from the running agent,
/// atomically, as one new revision. A name without a namespace matches a namespaced policy in <c>-n</c> (default
/// <c>default</c>) or a cluster-wide one.
/// </summary>
internal static class PolicyDeleteCommand
{
    public static Command Build()
    {
        var names = new Argument<string[]>("NAME") { Description = "Policy names ([namespace/]name).", Arity = ArgumentArity.ZeroOrMore };
        var ns = new Option<string?>("--namespace", "-n") { Description = "Namespace of the named policies (default: default, or cluster-wide)." };
        var kind = new Option<string?>("--kind") { Description = "Only this kind: cnp, ccnp or knp (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy)." };
        kind.AcceptOnlyFromAmong("cnp", "ccnp", "knp", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy");
        var all = new Option<bool>("--all") { Description = "Delete every policy." };
        var output = AgentCall.Output("text", "json");
        var command = new Command("delete", "Delete policies from the running agent (atomically).");
        command.Arguments.Add(names);
        foreach (var o in new Option[] { ns, kind, all, output })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) =>
        {
            var given = parse.GetValue(names) ?? [];
            var deleteAll = parse.GetValue(all);
            if (given.Length == 0 == !deleteAll)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: give policy names or --all (not both)");
                return Task.FromResult(2);
            }

            var kindName = parse.GetValue(kind) switch
            {
                "cnp" => "CiliumNetworkPolicy",
                "ccnp" => "CiliumClusterwideNetworkPolicy",
                "knp" => "NetworkPolicy",
                { } k => k,
                null => "",
            };
            var refs = new List<PolicyRefModel>();
            foreach (var name in given)
            {
                var slash = name.IndexOf('/', StringComparison.Ordinal);
                refs.Add(slash < 0
                    ? new PolicyRefModel(kindName, parse.GetValue(ns), name)
                    : new PolicyRefModel(kindName, name[..slash], name[(slash + 1)..]));
            }

            var request = new PolicyDeleteRequest { Policies = refs, All = deleteAll };
            return AgentCall.RunAsync(parse, async (client, writer, token) =>
            {
                var result = await client.DeletePoliciesAsync(request, token).ConfigureAwait(false);
                if (parse.GetValue(output) == "json")
                {
                    AgentCall.WriteJson(writer, result, ApiJson.Indented.PolicyChangeResponse);
                }
                else
                {
                    writer.WriteLine(PolicyText.ChangeSummary("deleted", result));
                }

                return 0;
            }, ct);
        });
        return command;
    }
}
