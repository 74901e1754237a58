import Foundation

/// Placeholder until the vesselness benchmark lands. Returns the process exit code.
func runVesselnessBench(_ arguments: [String]) -> Int32 {
    FileHandle.standardError.write(Data("angio-bench: vesselness workload not implemented yet\n".utf8))
    return 2
}
