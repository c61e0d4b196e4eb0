using System.Diagnostics;

namespace Membrane.Cli.Tests.Commands.Policy;

/// <summary>Runs the real <c>membrane</c> binary (as a process) and checks what a user sees: output and exit code.</summary>
public sealed class PolicyValidateCommandTests : IDisposable
{
    private const string Valid = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users
          namespace: shop
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: frontend
        """;

    private const string Invalid = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: users
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoint:
            - matchLabels:
                app: frontend
            toPorts:
            - ports:
              - port: "80"
                protocol: TCP
              rules:
                http:
                - path: "/api("
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("membrane-cli-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ValidFilesPrintASummaryAndExitZero()
    {
        var file = Write("users.yaml", Valid);
        var knp = Write("sub/db.json", """
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "db"}, "spec": {"podSelector": {}}}
            """);

        var (code, stdout, stderr) = Run(null, "policy", "validate", _dir);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(
            [
                "valid: 2 policies (1 CiliumNetworkPolicy, 1 NetworkPolicy) in 2 files",
                $"  {knp}: default/db (netpol)",
                $"  {file}: shop/users (cnp)",
            ],
            Lines(stdout));
    }

    [Fact]
    public void InvalidFilePrintsEveryErrorWithLocationAndExitsOne()
    {
        var file = Write("users.yaml", Invalid);

        var (code, stdout, stderr) = Run(null, "policy", "validate", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            [
                $"{file}:10:5: spec.ingress[0].fromEndpoint: unknown field; did you mean \"fromEndpoints\"?",
                $"{file}:19:17: spec.ingress[0].toPorts[0].rules.http[0].path: invalid regex \"/api(\": missing )",
                "invalid: 2 errors in 1 file; nothing may be applied from this set",
            ],
            Lines(stderr));
    }

    [Fact]
    public void OneInvalidFileMakesTheWholeSetInvalid()
    {
        Write("a-valid.yaml", Valid);
        Write("b-invalid.yaml", Invalid);

        var (code, stdout, _) = Run(null, "policy", "validate", _dir);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void DashReadsStandardInput()
    {
        var (code, stdout, _) = Run(Valid, "policy", "validate", "-");
        Assert.Equal(0, code);
        Assert.Equal(["valid: 1 policy (1 CiliumNetworkPolicy) in 1 file", "  <stdin>: shop/users (cnp)"], Lines(stdout));

        (code, _, var stderr) = Run(Invalid, "policy", "validate", "-");
        Assert.Equal(1, code);
        Assert.StartsWith("<stdin>:10:5: spec.ingress[0].fromEndpoint: unknown field", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPathExitsOne()
    {
        var missing = Path.Combine(_dir, "missing.yaml");
        var (code, _, stderr) = Run(null, "policy", "validate", missing);
        Assert.Equal(1, code);
        Assert.Equal($"{missing}: no such file or directory", Lines(stderr)[0]);
    }

    [Fact]
    public void EmptyDirectoryExitsOne()
    {
        var (code, _, stderr) = Run(null, "policy", "validate", _dir);
        Assert.Equal(1, code);
        Assert.Equal($"no policies found in {_dir}", Lines(stderr)[0]);
    }

    [Theory]
    [InlineData("policy", "validate")]
    [InlineData("policy")]
    [InlineData("policy", "frobnicate", "x.yaml")]
    public void BadUsageExitsTwo(params string[] args)
    {
        var (code, _, stderr) = Run(null, args);
        Assert.Equal(2, code);
        Assert.NotEqual("", stderr);
    }

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static (int Code, string Stdout, string Stderr) Run(string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "membrane.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("membrane did not exit within 60 s");
        }

        return (process.ExitCode, stdoutTask.Result, stderrTask.Result);
    }
}
