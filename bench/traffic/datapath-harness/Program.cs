using Membrane.DatapathHarness;

// Commands (root):
//   prog-cost [--rounds 5] [--repeat 2000000] [--entries 0,10000] [--objects DIR] [--out results.jsonl]
//   layouts   [--rounds 5] [--repeat 2000000] [--entries 100,10000] [--out results.jsonl]
//   new-flow-costs [--rounds 5] [--repeat 2000000] [--fresh-repeat 20000] [--entries 0] [--objects DIR] [--out results.jsonl]
//   run-object --source FILE.bpf.c --programs a,b [--fresh a] [--rounds 5] [--repeat 2000000] [--fresh-repeat 20000] [--entries 0]
//   setup     --prefix P --variant none|membrane [--entries N]     (two pods, datapath attached with policy)
//   teardown  --prefix P
var arguments = Arguments.Parse(args);
try
{
    return arguments.Command switch
    {
        "prog-cost" => ProgramCost.Run(arguments),
        "layouts" => Layouts.Run(arguments),
        "new-flow-costs" => NewFlowCosts.Run(arguments),
        "run-object" => ObjectRun.Run(arguments),
        "setup" => Topology.Setup(arguments),
        "teardown" => Topology.Teardown(arguments),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"datapath-harness {arguments.Command}: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Membrane.DatapathHarness prog-cost|layouts|new-flow-costs|setup|teardown [options] (see Program.cs)");
    return 2;
}
