using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Membrane.Datapath.Events;
using Membrane.Datapath.Interop;
using Membrane.Datapath.KernelTests.Support;

namespace Membrane.Datapath.KernelTests.Interop;

/// <summary>
/// One definition for C and C#: bpf/include/membrane/shared.h. These tests fail when a C# mirror drifts from it —
/// struct layouts are compared with the BTF of the compiled objects (every member, offset and size, both ways),
/// the drop-reason table and the constants are expanded by the C preprocessor, and the libbpf option structs are
/// checked by compiling generated _Static_asserts against libbpf's headers.
/// </summary>
public sealed partial class LayoutTests
{
    private static readonly Type[] s_sharedStructs =
    [
        typeof(policy_key), typeof(policy_value), typeof(policy_meta), typeof(endpoint_info), typeof(ipcache_prefix_key),
        typeof(ipcache_value), typeof(ct_key), typeof(ct_entry), typeof(datapath_config), typeof(datapath_event), typeof(metrics_value),
    ];

    [Theory]
    [InlineData("from_container.bpf.o")]
    [InlineData("to_container.bpf.o")]
    public async Task Every_shared_struct_matches_the_btf_of_the_object(string objectFile)
    {
        var btf = await Btf.Load(Repository.Object(objectFile));
        var failures = new List<string>();
        foreach (var type in s_sharedStructs)
        {
            if (!btf.Structs.TryGetValue(type.Name, out var c))
            {
                failures.Add($"struct {type.Name}: not in the BTF of {objectFile}");
                continue;
            }

            if (c.Size != Marshal.SizeOf(type))
            {
                failures.Add($"struct {type.Name}: C size {c.Size}, C# size {Marshal.SizeOf(type)}");
            }

            var fields = type.GetFields(BindingFlags.Public | BindingFlags.Instance).ToDictionary(f => f.Name);
            foreach (var member in c.Members)
            {
                if (!fields.Remove(member.Name, out var field))
                {
                    failures.Add($"{type.Name}.{member.Name}: in C (offset {member.Offset}), missing in C#");
                    continue;
                }

                var offset = field.GetCustomAttribute<FieldOffsetAttribute>()?.Value ?? -1;
                var size = FieldSize(field);
                if (offset != member.Offset || size != member.Size)
                {
                    failures.Add($"{type.Name}.{member.Name}: C offset {member.Offset} size {member.Size}, C# offset {offset} size {size}");
                }
            }

            failures.AddRange(fields.Keys.Select(name => $"{type.Name}.{name}: in C#, missing in C"));
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task The_drop_reason_enum_matches_the_c_table_codes_texts_and_hubble_names()
    {
        const string Source = "#include \"membrane/shared.h\"\n#define ROW(name, code, text, hubble) @@row name code text #hubble\nMEMBRANE_DROP_REASONS(ROW)\n";
        var expanded = await Preprocess(Source);
        var rows = RowPattern().Matches(expanded).Select(m => (Name: m.Groups[1].Value, Code: int.Parse(m.Groups[2].Value), Text: m.Groups[3].Value, Hubble: m.Groups[4].Value)).ToList();
        Assert.True(rows.Count >= 10, $"only {rows.Count} rows parsed from:\n{expanded}");

        var csharp = Enum.GetValues<DropReason>().Where(r => r != DropReason.None).ToList();
        Assert.Equal(rows.Select(r => PascalCase(r.Name)).Order(), csharp.Select(r => r.ToString()).Order());
        foreach (var row in rows)
        {
            var reason = Enum.Parse<DropReason>(PascalCase(row.Name));
            Assert.Equal(row.Code, (int)reason);
            Assert.Equal(row.Text, reason.Describe());
            Assert.Equal(row.Hubble, reason.HubbleName());
        }
    }

    [Fact]
    public async Task Every_shared_constant_has_the_value_of_its_macro()
    {
        var defines = (await Preprocess("#include \"membrane/shared.h\"\n", "-dM"))
            .Split('\n')
            .Select(line => DefinePattern().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
        var constants = typeof(SharedConstants).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToList();
        Assert.True(constants.Count > 30);
        foreach (var constant in constants)
        {
            Assert.True(defines.TryGetValue(constant.Name, out var text), $"{constant.Name} is not defined in shared.h");
            Assert.Equal(Convert.ToInt64(constant.GetRawConstantValue()), ParseNumber(text));
        }

        Assert.Equal(0xFE, SharedConstants.PolicyMetaTraffic(0));
        Assert.Equal(0xFF, SharedConstants.PolicyMetaTraffic(1));
    }

    [Fact]
    public async Task The_libbpf_option_structs_match_libbpf_headers()
    {
        var source = new StringBuilder("#include <stddef.h>\n#include <bpf/libbpf.h>\n#include <bpf/bpf.h>\n");
        var mirrors = typeof(Libbpf).GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public).Where(t => t.IsValueType && t.Name.StartsWith("bpf_", StringComparison.Ordinal)).ToList();
        Assert.True(mirrors.Count >= 8);
        foreach (var type in mirrors)
        {
            source.AppendLine($"_Static_assert(sizeof(struct {type.Name}) == {Marshal.SizeOf(type)}, \"sizeof {type.Name}\");");
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                var offset = field.GetCustomAttribute<FieldOffsetAttribute>()!.Value;
                source.AppendLine($"_Static_assert(offsetof(struct {type.Name}, {field.Name}) == {offset}, \"{type.Name}.{field.Name}\");");
            }
        }

        var file = Path.Combine(Path.GetTempPath(), $"membrane-libbpf-layout-{Guid.NewGuid():N}.c");
        await File.WriteAllTextAsync(file, source.ToString());
        try
        {
            var (code, _, stderr) = await Commands.Run("clang-14", ["-fsyntax-only", file], TimeSpan.FromSeconds(60));
            Assert.True(code == 0, stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static int FieldSize(FieldInfo field)
    {
        if (field.GetCustomAttribute<FixedBufferAttribute>() is { } buffer)
        {
            return buffer.Length * Marshal.SizeOf(buffer.ElementType);
        }

        return Marshal.SizeOf(field.FieldType);
    }

    private static async Task<string> Preprocess(string source, string mode = "-P")
    {
        var file = Path.Combine(Path.GetTempPath(), $"membrane-shared-{Guid.NewGuid():N}.c");
        await File.WriteAllTextAsync(file, source);
        try
        {
            var include = Path.Combine(Repository.Root, "bpf", "include");
            var (code, stdout, stderr) = await Commands.Run("clang-14", ["-E", mode, "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", $"-I{include}", file], TimeSpan.FromSeconds(60));
            Assert.True(code == 0, stderr);
            return stdout;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string PascalCase(string cName) =>
        string.Concat(cName.Split('_').Select(part => part.Length == 0 ? part : part[0] + part[1..].ToLowerInvariant()));

    private static long ParseNumber(string text)
    {
        var t = text.Trim('(', ')', ' ').TrimEnd('U', 'u', 'L', 'l');
        return t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Convert.ToInt64(t[2..], 16) : long.Parse(t);
    }

    [GeneratedRegex("@@row\\s+(\\w+)\\s+(\\d+)\\s+\"([^\"]*)\"\\s+\"(\\w+)\"")]
    private static partial Regex RowPattern();

    [GeneratedRegex("^#define\\s+(\\w+)\\s+(.+)$")]
    private static partial Regex DefinePattern();

    /// <summary>Struct layouts from an object's BTF (via bpftool's JSON dump).</summary>
    private sealed record Btf(Dictionary<string, (int Size, List<(string Name, int Offset, int Size)> Members)> Structs)
    {
        public static async Task<Btf> Load(string objectFile)
        {
            var (code, stdout, stderr) = await Commands.Run("bpftool", ["-j", "btf", "dump", "file", objectFile], TimeSpan.FromSeconds(60));
            Assert.True(code == 0, $"bpftool: {stderr}");
            var types = JsonDocument.Parse(stdout).RootElement.GetProperty("types").EnumerateArray().ToDictionary(t => t.GetProperty("id").GetInt32());
            var structs = new Dictionary<string, (int, List<(string, int, int)>)>();
            foreach (var t in types.Values.Where(t => t.GetProperty("kind").GetString() == "STRUCT" && t.TryGetProperty("name", out var n) && n.GetString() is { Length: > 0 }))
            {
                var members = t.GetProperty("members").EnumerateArray()
                    .Select(m => (m.GetProperty("name").GetString()!, m.GetProperty("bits_offset").GetInt32() / 8, SizeOf(types, m.GetProperty("type_id").GetInt32())))
                    .ToList();
                structs[t.GetProperty("name").GetString()!] = (t.GetProperty("size").GetInt32(), members);
            }

            return new Btf(structs);
        }

        private static int SizeOf(Dictionary<int, JsonElement> types, int id)
        {
            var t = types[id];
            return t.GetProperty("kind").GetString() switch
            {
                "TYPEDEF" or "VOLATILE" or "CONST" => SizeOf(types, t.GetProperty("type_id").GetInt32()),
                "ARRAY" => t.GetProperty("nr_elems").GetInt32() * SizeOf(types, t.GetProperty("type_id").GetInt32()),
                "PTR" => 8,
                _ => t.GetProperty("size").GetInt32(),
            };
        }
    }
}
