using System.Security.Cryptography;

namespace Membrane.Datapath.Netns;

/// <summary>
/// Unique prefixes for the namespaces, interfaces and bpffs pins a run creates, so parallel test runs and a running
/// lab never collide (interface names stay within the kernel's 15 characters).
/// </summary>
public static class NamePrefix
{
    /// <summary>Longest prefix accepted: leaves room for a short suffix in a 15-character interface name.</summary>
    public const int MaxLength = 8;

    /// <summary>A random prefix such as <c>mt4kx9</c>: <paramref name="lead"/> plus four random characters.</summary>
    public static string Random(string lead = "mt")
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> suffix = stackalloc char[4];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        var prefix = lead + new string(suffix);
        return prefix.Length <= MaxLength ? prefix : throw new ArgumentException($"prefix lead \"{lead}\" is too long", nameof(lead));
    }

    /// <summary>Checks an interface name against the kernel limit (IFNAMSIZ - 1 = 15).</summary>
    public static string InterfaceName(string name) =>
        name.Length is > 0 and <= 15 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? name
            : throw new ArgumentException($"interface name \"{name}\": use 1-15 characters a-z, 0-9, '-', '_' or '.'");
}
