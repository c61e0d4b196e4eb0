using Membrane.Datapath.KernelTests.Support;

namespace Membrane.Datapath.KernelTests.Programs;

/// <summary>
/// The capability probe: on a kernel that should support a feature, a missing feature fails this test (it never
/// skips), naming what is missing.
/// </summary>
public sealed class CapabilityTests
{
    [Fact]
    public void The_kernel_offers_everything_the_datapath_needs()
    {
        Assert.True(Environment.IsPrivilegedProcess, "kernel tests run as root (BPF, netns, tc)");
        using var lab = Lab.Create([("probe", 1001)], attach: false);
        var features = lab.Datapath.Features;
        var release = Version.Parse(string.Join('.', features.KernelRelease.Split('-')[0].Split('.').Take(2)));

        var missing = new List<string>(features.Missing);
        if (release >= new Version(6, 6) && !features.Tcx)
        {
            missing.Add($"tcx on kernel {features.KernelRelease} (6.6+)");
        }

        Assert.True(missing.Count == 0, $"missing on {features.KernelRelease}: {string.Join(", ", missing)}");
        Assert.Equal(features.Tcx ? AttachMode.Tcx : AttachMode.TcClsact, features.AttachMode);
        Assert.True(File.Exists(Repository.Object("from_container.bpf.o")) && File.Exists(Repository.Object("to_container.bpf.o")));
    }
}
