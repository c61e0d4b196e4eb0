// Kernel tests share the machine's CPUs with the kernel work they measure (and with other engineers' runs): run
// them one at a time so timeouts mean what they say.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
