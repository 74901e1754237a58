import AngioPipeline
import ArgumentParser
import Foundation
import VesselCore

/// `angio analyze PATH... --out DIR`: the batch job. Every DICOM file under the given files
/// and folders is analysed (in parallel across files), and the outputs mirror the input tree:
/// `DIR/<relative path without extension>.json` and `.png` (+ `.thumb.png`), then
/// `DIR/summary.csv` and `DIR/index.html`. See docs/batch.md.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Analyse DICOM files and folders: per-file JSON + annotated PNG, summary.csv, index.html.",
        discussion: """
        Folders are walked recursively; DICOM is recognised by content, not extension, and other \
        files are skipped and counted. A DICOMDIR marks an exported media folder: its folder is \
        walked. Exit status: 0 all inputs analysed, 1 some failed, 2 usage error.
        """)

    @Argument(help: "DICOM files and/or folders.")
    var paths: [String]

    @Option(name: .long, help: "Output folder (created if missing).")
    var out: String

    @Option(name: .long, help: "Files analysed in parallel (default: active cores).")
    var jobs: Int?

    @Flag(name: .long, help: "No progress line on stderr and no final summary.")
    var quiet = false

    @Flag(name: .long, help: "Skip inputs whose outputs are complete and current (same file, same options).")
    var resume = false

    @Option(name: .long, help: "Process only shard K of N (K = 1...N) by a stable hash of the relative path; merge with 'angio summarize'.")
    var shard: String?

    @Flag(name: .long, help: "Include patient name, ID and birth date in the JSON (off by default).")
    var includePhi = false

    @Flag(name: .long, help: "Do not write annotated PNGs and thumbnails.")
    var noImages = false

    @Option(name: .long, help: "0-based frame to analyse in every file (default: the most opacified frame).")
    var frame: Int?

    @Option(name: .long, help: "Measure the vessel between two points X0,Y0,X1,Y1 (pixels).")
    var segment: String?

    @Option(name: .long, help: "Calibrate on a catheter: two points along it and its French size, X0,Y0,X1,Y1:F.")
    var catheter: String?

    @Option(name: .long, help: "Calibration override in mm per pixel.")
    var mmPerPixel: Double?

    @Option(name: .long, help: "Lesions reported per file (1...50).")
    var maxLesions = 5

    @Option(name: .long, help: "Vessels darker than the background (dark), brighter (bright: frames are inverted, e.g. a run exported inverted), or detected per file (auto).")
    var vesselPolarity: VesselPolarityOption = .auto

    func validate() throws {
        if let jobs, !(1...512).contains(jobs) { throw ValidationError("--jobs must be in 1...512, got \(jobs)") }
        if let frame, frame < 0 { throw ValidationError("--frame must be 0 or more (frames are numbered from 0), got \(frame)") }
        if let mmPerPixel, !(mmPerPixel.isFinite && mmPerPixel > 0 && mmPerPixel <= 10) {
            throw ValidationError("--mm-per-pixel must be a positive number of mm per pixel (at most 10), got \(mmPerPixel)")
        }
        if !(1...50).contains(maxLesions) { throw ValidationError("--max-lesions must be in 1...50, got \(maxLesions)") }
        if paths.isEmpty { throw ValidationError("give at least one DICOM file or folder") }
    }

    func run() throws {
        var analysis = AnalysisOptions(frameIndex: frame, mmPerPixelOverride: mmPerPixel, maxLesions: maxLesions,
                                       includePHI: includePhi, vesselPolarity: vesselPolarity)
        do {
            if let segment { analysis.segment = try SegmentSpec.parse(segment).points }
            if let catheter { analysis.catheter = try CatheterSpec.parse(catheter) }
        } catch {
            throw ValidationError(error.description)
        }
        var shardSelector: ShardSelector? = nil
        if let shard {
            do { shardSelector = try ShardSelector.parse(shard) } catch { throw ValidationError(error.description) }
        }
        let options = BatchOptions(analysis: analysis, outputDirectory: out,
                                   jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, resume: resume,
                                   shard: shardSelector, writeImages: !noImages, showProgress: !quiet)
        let summary: BatchRunSummary
        do {
            summary = try BatchRunner(options: options).run(paths: paths)
        } catch {
            if error.isUsageError { throw ValidationError(error.description) }
            FileHandle.standardError.write(Data("angio analyze: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        report(summary)
        if summary.items.isEmpty && summary.otherShards == 0 {
            FileHandle.standardError.write(Data("angio analyze: no DICOM files found in \(paths.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
        if summary.failedCount > 0 { throw ExitCode(1) }
    }

    private func report(_ summary: BatchRunSummary) {
        // Failures always go to stderr (even with --quiet): a batch must not fail silently.
        let failures = summary.items.filter { $0.status != "ok" }
        for item in failures.prefix(20) {
            let cause = [item.errorCode, item.errorMessage].compactMap { $0 }.joined(separator: ": ")
            FileHandle.standardError.write(Data("failed: \(item.input.relativePath): \(cause)\n".utf8))
        }
        if failures.count > 20 {
            FileHandle.standardError.write(Data("... and \(failures.count - 20) more failures (see summary.csv)\n".utf8))
        }
        guard !quiet else { return }
        var line = "\(summary.items.count) input\(summary.items.count == 1 ? "" : "s"): \(summary.okCount) ok, \(summary.failedCount) failed"
        if summary.resumedCount > 0 { line += " (\(summary.resumedCount) already done, resumed)" }
        if !summary.skippedNonDICOM.isEmpty { line += "; skipped \(summary.skippedNonDICOM.count) non-DICOM file\(summary.skippedNonDICOM.count == 1 ? "" : "s")" }
        if !summary.dicomdirs.isEmpty { line += "; \(summary.dicomdirs.count) DICOMDIR" }
        if let shard = shardDescription(summary) { line += "; \(shard)" }
        line += String(format: "; %.1f s with %d job%@", summary.wallSeconds, summary.jobs, summary.jobs == 1 ? "" : "s")
        print(line)
        print("outputs: \(out)/summary.csv, \(out)/index.html")
    }

    private func shardDescription(_ summary: BatchRunSummary) -> String? {
        guard let shard else { return nil }
        return "shard \(shard), \(summary.otherShards) input\(summary.otherShards == 1 ? "" : "s") left to other shards"
    }
}
