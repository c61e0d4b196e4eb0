// The end-to-end tests create network namespaces, load BPF programs and run real traffic on a shared 2-core machine:
// one at a time, so timeouts mean what they say.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
