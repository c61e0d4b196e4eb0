// The agent tests start real agents, workloads and traffic in network namespaces on a shared 2-core machine: one at a
// time, so timeouts mean what they say.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
