// angio-bench: times the project's own workloads so anyone can reproduce the benchmark numbers.
// Usage: angio-bench <workload> [options]; each workload prints one JSON line with at least
// `workload`, `size`, `threads` and `medianSeconds`. Peers are timed by scripts/bench*.sh.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let workload = arguments.first else {
    FileHandle.standardError.write(Data("usage: angio-bench <vesselness|decode|batch> [options]\n".utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())
switch workload {
case "vesselness": exit(runVesselnessBench(rest))
case "decode": exit(runDecodeBench(rest))
case "batch": exit(runBatchBench(rest))
default:
    FileHandle.standardError.write(Data("angio-bench: unknown workload '\(workload)'\n".utf8))
    exit(2)
}
