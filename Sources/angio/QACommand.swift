import AngioPipeline
import ArgumentParser
import Foundation

/// `angio qa PATH... --out DIR`: archive quality control. Per file: readable, DICOM,
/// angiography SOP class and modality, decodable by this build, pixel data consistent with the
/// declared size, frame timing, calibration, burned-in annotation, lossy compression, type 1
/// attributes; across files: duplicate SOP Instance UIDs and series with mixed geometry.
struct QACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa",
        abstract: "Check an archive of angiography DICOM files; writes qa.json and qa.csv.",
        discussion: "Exit status: 0 no error-level finding, 1 some error-level finding, 2 usage error. Finding codes are listed in docs/batch.md.")

    @Argument(help: "DICOM files and/or folders.")
    var paths: [String]

    @Option(name: .long, help: "Folder for qa.json and qa.csv (created if missing).")
    var out: String

    @Flag(name: .long, help: "Decode every frame of every file (slower); decode failures become findings.")
    var decode = false

    @Option(name: .long, help: "Files checked in parallel (default: active cores).")
    var jobs: Int?

    @Flag(name: .long, help: "Do not print the summary.")
    var quiet = false

    func validate() throws {
        if let jobs, !(1...512).contains(jobs) { throw ValidationError("--jobs must be in 1...512, got \(jobs)") }
        if paths.isEmpty { throw ValidationError("give at least one file or folder") }
    }

    func run() throws {
        let report: ArchiveQA.Report
        do {
            report = try ArchiveQA.run(paths: paths, options: ArchiveQA.Options(
                outputDirectory: out, decode: decode, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount))
        } catch {
            if error.isUsageError { throw ValidationError(error.description) }
            FileHandle.standardError.write(Data("angio qa: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        if !quiet {
            print(ArchiveQA.humanSummary(report), terminator: "")
            print("outputs: \(out)/qa.json, \(out)/qa.csv")
        }
        if report.summary.errors > 0 { throw ExitCode(1) }
    }
}
