import Foundation

/// Placeholder until the decode benchmark lands. Returns the process exit code.
func runDecodeBench(_ arguments: [String]) -> Int32 {
    FileHandle.standardError.write(Data("angio-bench: decode workload not implemented yet\n".utf8))
    return 2
}
