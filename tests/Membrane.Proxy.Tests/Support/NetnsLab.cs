using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Membrane.Tests.Shared;

namespace Membrane.Proxy.Tests.Support;

/// <summary>
/// Network namespaces for one test, with a unique random prefix; everything is deleted in <see cref="DisposeAsync"/>
/// (deleting a namespace deletes its veths, routes, rules and nft tables). Sockets are created inside a namespace
/// by a dedicated thread that entered it with setns (a socket stays in the namespace it was created in).
/// </summary>
internal sealed partial class NetnsLab : IAsyncDisposable
{
    private const int CloneNewNet = 0x40000000;
    private readonly List<string> _namespaces = [];
    private readonly List<NamespaceThread> _threads = [];

    public string Prefix { get; } = "mbp" + Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..5];

    /// <summary>Fails (does not skip) when the machine cannot run namespace tests: they are part of the suite.</summary>
    public static async Task RequireCapabilitiesAsync()
    {
        Assert.True(Environment.UserName == "root" || geteuid() == 0, "namespace tests need root (CI runs as root)");
        foreach (var tool in new[] { "ip", "nft" })
        {
            var (code, _, err) = await Processes.RunAsync("sh", ["-c", $"command -v {tool}"]);
            Assert.True(code == 0, $"{tool} is required for namespace tests: {err}");
        }
    }

    public async Task<string> AddNamespaceAsync(string suffix)
    {
        var name = Prefix + suffix;
        await RunAsync("ip", "netns", "add", name);
        _namespaces.Add(name);
        await InAsync(name, "ip", "link", "set", "lo", "up");
        return name;
    }

    public static Task RunAsync(params string[] args) => Check(Processes.RunAsync(args[0], args[1..]));

    public static Task InAsync(string ns, params string[] args) => Check(Processes.RunAsync("ip", ["netns", "exec", ns, .. args]));

    public static Task<(int ExitCode, string Stdout, string Stderr)> TryInAsync(string ns, params string[] args) => Processes.RunAsync("ip", ["netns", "exec", ns, .. args]);

    /// <summary>A socket factory whose sockets live in <paramref name="ns"/>.</summary>
    public Func<AddressFamily, Socket> SocketFactory(string ns)
    {
        var thread = new NamespaceThread(ns);
        _threads.Add(thread);
        return family => thread.Invoke(() => new Socket(family, SocketType.Stream, ProtocolType.Tcp));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _threads)
        {
            t.Dispose();
        }

        foreach (var ns in _namespaces)
        {
            await Processes.RunAsync("ip", ["netns", "del", ns]);
        }
    }

    private static async Task Check(Task<(int ExitCode, string Stdout, string Stderr)> run)
    {
        var (code, stdout, stderr) = await run;
        Assert.True(code == 0, $"command failed ({code}): {stderr}{stdout}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    private sealed class NamespaceThread : IDisposable
    {
        private readonly BlockingCollection<(Func<Socket> Work, TaskCompletionSource<Socket> Done)> _queue = new();
        private readonly Thread _thread;

        public NamespaceThread(string ns)
        {
            var ready = new TaskCompletionSource();
            _thread = new Thread(() =>
            {
                using (var handle = File.OpenHandle($"/var/run/netns/{ns}"))
                {
                    if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    {
                        ready.SetException(new InvalidOperationException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}"));
                        return;
                    }
                }

                ready.SetResult();
                foreach (var (work, done) in _queue.GetConsumingEnumerable())
                {
                    try
                    {
                        done.SetResult(work());
                    }
                    catch (Exception e)
                    {
                        done.SetException(e);
                    }
                }
            }) { IsBackground = true, Name = $"netns {ns}" };
            _thread.Start();
            ready.Task.GetAwaiter().GetResult();
        }

        public Socket Invoke(Func<Socket> work)
        {
            var done = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
            _queue.Add((work, done));
            return done.Task.GetAwaiter().GetResult();
        }

        public void Dispose() => _queue.CompleteAdding();
    }
}
