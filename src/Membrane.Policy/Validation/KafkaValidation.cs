using System.Globalization;
using Membrane.Policy.L7.Kafka;

namespace Membrane.Policy.Validation;

/// <summary>Checks of <c>rules.kafka[]</c> (Cilium <c>kafka.PortRule.Sanitize</c>, reference §3.1); messages are Cilium's.</summary>
internal static class KafkaValidation
{
    public const int MaxTopicLength = 255;

    public static readonly string[] Roles = ["produce", "consume"];

    public static string? CheckRoleAndApiKey(string? role, string? apiKey) =>
        !string.IsNullOrEmpty(role) && !string.IsNullOrEmpty(apiKey) ? $"cannot set both Role \"{role}\" and APIKey \"{apiKey}\" together" : null;

    public static string? CheckRole(string role) =>
        Roles.Contains(role.ToLowerInvariant()) ? null : $"invalid Kafka Role \"{role}\" (expected produce or consume)" + Suggestions.Hint(role, Roles);

    public static string? CheckApiKey(string apiKey) =>
        KafkaApiKeys.ByName.ContainsKey(apiKey) ? null : $"invalid Kafka APIKey \"{apiKey}\"" + Suggestions.Hint(apiKey, KafkaApiKeys.ByName.Keys);

    public static string? CheckApiVersion(string apiVersion) =>
        apiVersion.All(char.IsAsciiDigit) && short.TryParse(apiVersion, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? null
            : $"invalid Kafka APIVersion \"{apiVersion}\" (expected an integer from 0 to 32767)";

    public static string? CheckTopic(string topic)
    {
        if (topic.Length > MaxTopicLength)
        {
            return $"kafka topic exceeds maximum len of {MaxTopicLength}";
        }

        return topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') ? null :
            $"invalid Kafka Topic name \"{topic}\" (letters, digits, '.', '_' and '-' only)";
    }

    public static string? CheckClientId(string clientId) =>
        clientId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') ? null :
            $"invalid Kafka clientID \"{clientId}\" (letters, digits, '.', '_' and '-' only)";
}
