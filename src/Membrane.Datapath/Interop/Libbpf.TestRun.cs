using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>BPF_PROG_TEST_RUN: the kernel runs a loaded program on a synthetic packet (benchmarks, tests).</summary>
internal static unsafe partial class Libbpf
{
    /// <summary><c>struct bpf_test_run_opts</c> (80 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 80)]
    internal struct bpf_test_run_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public void* data_in;
        [FieldOffset(16)] public void* data_out;
        [FieldOffset(24)] public uint data_size_in;
        [FieldOffset(28)] public uint data_size_out;
        [FieldOffset(32)] public void* ctx_in;
        [FieldOffset(40)] public void* ctx_out;
        [FieldOffset(48)] public uint ctx_size_in;
        [FieldOffset(52)] public uint ctx_size_out;
        [FieldOffset(56)] public uint retval;
        [FieldOffset(60)] public int repeat;
        [FieldOffset(64)] public uint duration;
        [FieldOffset(68)] public uint flags;
        [FieldOffset(72)] public uint cpu;
        [FieldOffset(76)] public uint batch_size;
    }

    [LibraryImport(Library)]
    internal static partial int bpf_prog_test_run_opts(int progFd, bpf_test_run_opts* opts);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int bpf_prog_load(int progType, string name, string license, ulong* instructions, nuint count, void* opts);

    /// <summary>Loads "return TC_ACT_OK" as a tc program: the empty baseline of the per-packet benchmarks.</summary>
    public static BpfFileDescriptor LoadEmptyClassifier()
    {
        LibbpfLog.EnsureInstalled();
        // BPF_MOV64_IMM(r0, 0) = 0xb7 (dst r0, imm 0); BPF_EXIT_INSN() = 0x95.
        var instructions = stackalloc ulong[2] { 0x00000000000000b7UL, 0x0000000000000095UL };
        return new BpfFileDescriptor(Check(bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "empty", "GPL", instructions, 2, null), "bpf_prog_load empty"));
    }

    /// <summary>
    /// Runs the program <paramref name="repeat"/> times on <paramref name="packet"/>; the skb context gets
    /// <paramref name="ifindex"/> and <paramref name="mark"/>. Returns the program's return value and the kernel's
    /// mean duration per run in nanoseconds.
    /// </summary>
    public static (uint ReturnValue, uint MeanNanoseconds) TestRun(int programFd, ReadOnlySpan<byte> packet, int repeat, int ifindex, uint mark)
    {
        // struct __sk_buff is 192 bytes; the kernel accepts ifindex (offset 40) and mark (offset 8) from user space.
        var context = stackalloc byte[192];
        new Span<byte>(context, 192).Clear();
        *(uint*)(context + 8) = mark;
        *(uint*)(context + 40) = (uint)ifindex;
        var output = stackalloc byte[packet.Length + 256];
        fixed (byte* data = packet)
        {
            var opts = new bpf_test_run_opts
            {
                sz = (nuint)sizeof(bpf_test_run_opts),
                data_in = data,
                data_size_in = (uint)packet.Length,
                data_out = output,
                data_size_out = (uint)packet.Length + 256,
                ctx_in = context,
                ctx_size_in = 192,
                repeat = repeat,
            };
            Check(bpf_prog_test_run_opts(programFd, &opts), "bpf_prog_test_run");
            return (opts.retval, opts.duration);
        }
    }
}
