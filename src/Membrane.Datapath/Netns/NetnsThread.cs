using System.Collections.Concurrent;
using Membrane.Datapath.Interop;

namespace Membrane.Datapath.Netns;

/// <summary>
/// A dedicated OS thread that has entered one network namespace (setns) and runs work items there. A network
/// namespace belongs to a thread, not to a process, so everything that resolves interface names or opens netlink
/// sockets (if_nametoindex, tc and tcx attach) must run on the same thread that called setns; never on the thread
/// pool. Sockets created here stay in this namespace and may then be used from any thread. Unlike
/// <c>ip netns exec</c>, this keeps the process's view of /sys, so bpffs stays reachable.
/// </summary>
public sealed class NetnsThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts a thread in the network namespace at <paramref name="namespacePath"/>
    /// (<c>/var/run/netns/NAME</c> or <c>/proc/PID/ns/net</c>).</summary>
    /// <exception cref="DatapathException">The namespace cannot be entered.</exception>
    public NetnsThread(string namespacePath)
    {
        NamespacePath = namespacePath;
        _thread = new Thread(Run) { IsBackground = true, Name = $"netns {Path.GetFileName(namespacePath)}" };
        _thread.Start();
        try
        {
            _entered.Task.GetAwaiter().GetResult();
        }
        catch
        {
            _work.CompleteAdding();
            _thread.Join();
            throw;
        }
    }

    /// <summary>The namespace this thread runs in.</summary>
    public string NamespacePath { get; }

    /// <summary>Runs <paramref name="action"/> in the namespace and waits for it.</summary>
    public void Run(Action action) => Run(() =>
    {
        action();
        return true;
    });

    /// <summary>Runs <paramref name="function"/> in the namespace and returns its result (exceptions propagate).</summary>
    public T Run<T>(Func<T> function)
    {
        if (Thread.CurrentThread == _thread)
        {
            return function();
        }

        return RunAsync(function).GetAwaiter().GetResult();
    }

    /// <summary>Queues <paramref name="function"/> to run in the namespace.</summary>
    public Task<T> RunAsync<T>(Func<T> function)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try
                {
                    done.SetResult(function());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(NetnsThread));
        }

        return done.Task;
    }

    /// <summary>Stops the thread; the OS thread exits, so its namespace is never reused by anyone else.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        try
        {
            using var handle = File.OpenHandle(NamespacePath, FileMode.Open, FileAccess.Read);
            Libc.SetNetworkNamespace(handle, NamespacePath);
        }
        catch (Exception e)
        {
            _entered.SetException(e is DatapathException ? e : new DatapathException($"setns {NamespacePath}: {e.Message}", e));
            return;
        }

        _entered.SetResult();
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
