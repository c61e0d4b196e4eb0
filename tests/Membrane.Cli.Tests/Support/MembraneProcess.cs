using System.Diagnostics;
using Membrane.Tests.Shared;

namespace Membrane.Cli.Tests.Support;

/// <summary>Runs the real <c>membrane</c> binary (and other programs) as processes, bounded in time.</summary>
internal static class MembraneProcess
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "membrane.dll");

    /// <summary>Runs <c>membrane ARGS</c>; returns exit code, stdout and stderr.</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        RunProgramAsync("dotnet", [Dll, .. args], TimeSpan.FromSeconds(60));

    /// <summary>Runs <c>membrane ARGS</c> with <paramref name="stdin"/> as standard input.</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunWithInputAsync(string stdin, params string[] args) =>
        RunProgramAsync("dotnet", [Dll, .. args], TimeSpan.FromSeconds(60), stdin);

    public static Task<(int Code, string Stdout, string Stderr)> RunProgramAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, string? stdin = null) =>
        Processes.RunAsync(file, args, timeout, stdin);

    /// <summary>Starts a long-running <c>membrane</c> process (monitor, observe -f, agent); lines are collected as they come.</summary>
    public static RunningProcess Start(IReadOnlyList<string> prefix, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        if (prefix.Count > 0)
        {
            start.ArgumentList.Add("dotnet");
        }

        start.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        return new RunningProcess(Process.Start(start) ?? throw new InvalidOperationException("membrane did not start"));
    }
}

/// <summary>A process started by the test: its output lines, and a stop by PID (SIGTERM, then SIGKILL).</summary>
internal sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];

    public RunningProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stdout)
                {
                    _stdout.Add(e.Data);
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.Add(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Stdout
    {
        get
        {
            lock (_stdout)
            {
                return [.. _stdout];
            }
        }
    }

    public IReadOnlyList<string> Stderr
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Waits until a stdout line matches (or the timeout passes); returns it or null.</summary>
    public async Task<string?> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var found = Stdout.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        return Stdout.FirstOrDefault(match);
    }

    /// <summary>SIGTERM (a clean stop), then SIGKILL after <paramref name="grace"/>; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            await MembraneProcess.RunProgramAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
            using var cts = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
