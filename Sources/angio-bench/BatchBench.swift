import AngioPipeline
import Foundation

/// `angio-bench batch --dir D [--jobs N] [--repeat R] [--out O] [--no-images]`: times the
/// whole batch job (`angio analyze D --out O --jobs N`) on a folder of DICOM runs. Prints one
/// JSON line: files per second (median over repeats) and the per-stage split of the analysed
/// files (decode, select, vesselness, measure, report, write; summed over files, so with
/// several jobs the sums exceed the wall time).
func runBatchBench(_ arguments: [String]) -> Int32 {
    var directory: String?
    var jobs = ProcessInfo.processInfo.activeProcessorCount
    var repeats = 1
    var output: String?
    var writeImages = true
    var index = 0
    func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("angio-bench batch: \(message)\nusage: angio-bench batch --dir D [--jobs N] [--repeat R] [--out O] [--no-images]\n".utf8))
        return 2
    }
    while index < arguments.count {
        let argument = arguments[index]
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch argument {
        case "--dir": directory = value; index += 2
        case "--jobs":
            guard let text = value, let parsed = Int(text), parsed >= 1 else { return fail("--jobs needs a positive integer") }
            jobs = parsed; index += 2
        case "--repeat":
            guard let text = value, let parsed = Int(text), parsed >= 1 else { return fail("--repeat needs a positive integer") }
            repeats = parsed; index += 2
        case "--out": output = value; index += 2
        case "--no-images": writeImages = false; index += 1
        default: return fail("unknown argument '\(argument)'")
        }
    }
    guard let directory else { return fail("--dir is required") }
    let outputRoot = output ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("angio-bench-batch-\(getpid())")

    // CPU time (user + system) of the process: on a shared, loaded machine wall time varies
    // with the neighbours, CPU seconds per file much less.
    func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
    let cpuStart = cpuSeconds()
    var walls: [Double] = []
    var last: BatchRunSummary?
    for run in 0..<repeats {
        let out = (outputRoot as NSString).appendingPathComponent("run\(run)")
        try? FileManager.default.removeItem(atPath: out)
        let options = BatchOptions(outputDirectory: out, jobs: jobs, writeImages: writeImages, showProgress: false)
        do {
            let summary = try BatchRunner(options: options).run(paths: [directory])
            walls.append(summary.wallSeconds)
            last = summary
        } catch {
            FileHandle.standardError.write(Data("angio-bench batch: \(error.description)\n".utf8))
            return 1
        }
    }
    if output == nil { try? FileManager.default.removeItem(atPath: outputRoot) }
    guard let summary = last, !summary.items.isEmpty else {
        FileHandle.standardError.write(Data("angio-bench batch: no DICOM files in \(directory)\n".utf8))
        return 1
    }
    let median = walls.sorted()[walls.count / 2]
    let cpuPerRun = (cpuSeconds() - cpuStart) / Double(repeats)
    let stages = summary.stageTotals
    let stageTotal = max(1e-12, stages.reduce(0) { $0 + $1.seconds })
    var fields: [String] = [
        "\"workload\":\"batch\"", "\"size\":\(summary.items.count)", "\"threads\":\(jobs)",
        String(format: "\"medianSeconds\":%.4f", median),
        String(format: "\"filesPerSecond\":%.4f", Double(summary.items.count) / median),
        String(format: "\"cpuSeconds\":%.3f", cpuPerRun),
        String(format: "\"cpuSecondsPerFile\":%.4f", cpuPerRun / Double(summary.items.count)),
        "\"ok\":\(summary.okCount)", "\"failed\":\(summary.failedCount)", "\"repeats\":\(repeats)",
    ]
    fields.append("\"stageSeconds\":{" + stages.map { String(format: "\"%@\":%.4f", $0.stage, $0.seconds) }.joined(separator: ",") + "}")
    fields.append("\"stageFraction\":{" + stages.map { String(format: "\"%@\":%.4f", $0.stage, $0.seconds / stageTotal) }.joined(separator: ",") + "}")
    print("{" + fields.joined(separator: ",") + "}")
    return summary.failedCount > 0 ? 1 : 0
}
