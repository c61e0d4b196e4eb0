using System.Globalization;
using Membrane.Agent.Api;

namespace Membrane.Cli.Commands.Policy;

/// <summary>Text shared by the policy verbs that change the agent's policy set.</summary>
internal static class PolicyText
{
    public static string ChangeSummary(string verb, PolicyChangeResponse result)
    {
        var names = result.Changed.Count == 0 ? "" : ": " + string.Join(", ", result.Changed.Select(p => $"{p} ({p.Kind})"));
        var count = result.Changed.Count == 1 ? "1 policy" : $"{result.Changed.Count.ToString(CultureInfo.InvariantCulture)} policies";
        var endpoints = result.EndpointsChanged == 1 ? "1 endpoint" : $"{result.EndpointsChanged.ToString(CultureInfo.InvariantCulture)} endpoints";
        return $"{verb} {count}{names}\nrevision {result.Revision.ToString(CultureInfo.InvariantCulture)} is enforcing ({endpoints} updated)";
    }
}
