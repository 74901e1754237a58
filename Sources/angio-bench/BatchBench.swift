import Foundation

/// Placeholder until the batch benchmark lands. Returns the process exit code.
func runBatchBench(_ arguments: [String]) -> Int32 {
    FileHandle.standardError.write(Data("angio-bench: batch workload not implemented yet\n".utf8))
    return 2
}
