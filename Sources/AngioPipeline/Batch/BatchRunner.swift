import AngioReport
import Foundation
import QCA
import VesselCore

/// Settings of one batch run.
public struct BatchOptions: Sendable {
    public var analysis: AnalysisOptions
    public var outputDirectory: String
    /// Files analysed at the same time (default: active cores).
    public var jobs: Int
    public var resume: Bool
    public var shard: ShardSelector?
    /// Write the annotated PNG and its thumbnail for each analysed input.
    public var writeImages: Bool
    /// Progress line on stderr (only drawn when stderr is a terminal).
    public var showProgress: Bool

    public init(analysis: AnalysisOptions = AnalysisOptions(), outputDirectory: String,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount, resume: Bool = false,
                shard: ShardSelector? = nil, writeImages: Bool = true, showProgress: Bool = true) {
        self.analysis = analysis
        self.outputDirectory = outputDirectory
        self.jobs = jobs
        self.resume = resume
        self.shard = shard
        self.writeImages = writeImages
        self.showProgress = showProgress
    }
}

/// The outcome of one input in a batch run.
public struct BatchItemResult: Sendable {
    public var input: BatchInput
    /// "ok" or "error".
    public var status: String
    public var errorCode: String?
    public var errorMessage: String?
    /// True when `--resume` found complete, current outputs and skipped the input.
    public var resumed: Bool
    public var timings: StageTimings
    /// Rendering the annotated image and encoding the PNGs (seconds).
    public var reportSeconds: Double
    /// Writing JSON and the resume record (seconds).
    public var writeSeconds: Double
    public var row: SummaryRow
}

/// Totals of a batch run.
public struct BatchRunSummary: Sendable {
    /// One per selected input, sorted by relative path.
    public var items: [BatchItemResult]
    public var skippedNonDICOM: [String]
    public var dicomdirs: [String]
    /// Inputs left to other shards.
    public var otherShards: Int
    public var temporariesRemoved: Int
    public var wallSeconds: Double
    public var jobs: Int

    public var okCount: Int { items.filter { $0.status == "ok" }.count }
    public var failedCount: Int { items.count - okCount }
    public var resumedCount: Int { items.filter(\.resumed).count }
    public var analysedCount: Int { items.count - resumedCount }

    /// Summed stage seconds over the analysed (not resumed) inputs.
    public var stageTotals: [(stage: String, seconds: Double)] {
        let analysed = items.filter { !$0.resumed }
        func sum(_ value: (BatchItemResult) -> Double) -> Double { analysed.reduce(0) { $0 + value($1) } }
        return [("decode", sum { $0.timings.decode }), ("select", sum { $0.timings.select }),
                ("vesselness", sum { $0.timings.vesselness }), ("measure", sum { $0.timings.measure }),
                ("report", sum { $0.reportSeconds }), ("write", sum { $0.writeSeconds })]
    }
}

/// The batch driver: discovers inputs, analyses them in parallel, writes every output
/// atomically, and finishes with `summary.csv` and `index.html`.
///
/// Parallelism is across files: `jobs` worker threads pull the next input from a shared
/// counter (so one slow file does not hold up a fixed slice). With more than one job each
/// analysis runs single-threaded (`AnalysisOptions.threads = 1`) so the machine is not
/// oversubscribed; with one job the analysis gets every core. Results do not depend on either
/// (each file's JSON is a pure function of the file and the options, and rows are sorted by
/// path), so `--jobs 1` and `--jobs 8` write byte-identical JSON and CSV.
public final class BatchRunner: Sendable {
    public typealias Analyzer = @Sendable (_ path: String, _ options: AnalysisOptions) -> AnalysisOutcome

    public let options: BatchOptions
    let analyzer: Analyzer
    let renderer = AnnotatedImageRenderer()
    /// Worker thread stack: image code may recurse (flood fills, graph walks) deeper than the
    /// 512 KiB default of secondary threads.
    static let workerStackSize = 16 << 20
    /// Error codes that say nothing about the file's content (I/O trouble, missing DCMTK
    /// dictionary): `--resume` analyses such inputs again.
    static let transientErrorCodes: Set<String> = ["ioError", "dictionaryMissing", "writeFailed"]

    public init(options: BatchOptions, analyzer: @escaping Analyzer = { SingleFileAnalysis.analyze(path: $0, options: $1) }) {
        self.options = options
        self.analyzer = analyzer
    }

    /// A fingerprint of everything that changes an input's outputs: the options echoed in the
    /// record, the schema and software versions, and whether images are written.
    public var optionsFingerprint: String {
        let echo = AnalysisJSON.encode(AnalysisRecord.OptionsEcho(options.analysis))
        var hasher = FNV1a64()
        hasher.combine(echo)
        hasher.combine("schema=\(AnalysisRecord.currentSchemaVersion);software=\(AngioVersion.current);images=\(options.writeImages)".utf8)
        return FNV1a64.hex(hasher.value)
    }

    public func run(paths: [String]) throws(BatchError) -> BatchRunSummary {
        let started = Date()
        let outputDirectory = options.outputDirectory
        guard options.jobs >= 1 else { throw BatchError.invalidOption("--jobs", "must be at least 1, got \(options.jobs)") }
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw BatchError(code: .outputNotWritable, path: outputDirectory, message: "cannot create the output folder: \(AtomicFile.describe(error))")
        }
        guard access(outputDirectory, W_OK) == 0 else {
            throw BatchError(code: .outputNotWritable, path: outputDirectory, message: "the output folder is not writable")
        }
        let discovery = try InputDiscovery.discover(paths, excluding: outputDirectory)
        var selected = discovery.inputs
        if let shard = options.shard { selected = selected.filter { shard.contains(relativePath: $0.relativePath) } }
        let removed = AtomicFile.sweepTemporaries(under: outputDirectory)

        let fingerprint = optionsFingerprint
        var items = [BatchItemResult?](repeating: nil, count: selected.count)
        var pending: [Int] = []
        for (index, input) in selected.enumerated() {
            let layout = OutputLayout(outputDirectory: outputDirectory, stem: input.outputStem)
            if options.resume, CompletionRecord.isComplete(input: input.path, layout: layout, optionsFingerprint: fingerprint),
               let record = ResultReader.record(atPath: layout.jsonPath) {
                items[index] = resumedItem(input: input, record: record, layout: layout)
            } else {
                pending.append(index)
            }
        }

        let workers = max(1, min(options.jobs, pending.count))
        var perFileOptions = options.analysis
        perFileOptions.threads = workers > 1 ? 1 : nil
        let analysisOptions = perFileOptions
        let progress = BatchProgress(total: pending.count, enabled: options.showProgress)
        let store = ResultStore<BatchItemResult>(count: selected.count)
        let queue = WorkQueue(pending)
        let group = DispatchGroup()
        let inputs = selected
        for _ in 0..<workers {
            group.enter()
            let thread = Thread { [self] in
                while let index = queue.next() {
                    let item = process(inputs[index], options: analysisOptions, fingerprint: fingerprint)
                    store.set(index, item)
                    progress.tick(failed: item.status != "ok")
                }
                group.leave()
            }
            thread.stackSize = Self.workerStackSize
            thread.start()
        }
        group.wait()
        progress.finish()
        for index in pending { items[index] = store.get(index) }

        let results = items.compactMap { $0 }
        try writeSummaries(results.map(\.row))
        return BatchRunSummary(items: results, skippedNonDICOM: discovery.skippedNonDICOM, dicomdirs: discovery.dicomdirs,
                               otherShards: discovery.inputs.count - selected.count, temporariesRemoved: removed,
                               wallSeconds: Date().timeIntervalSince(started), jobs: workers)
    }

    /// Writes `summary.csv` and `index.html` for these rows into the output folder.
    public func writeSummaries(_ rows: [SummaryRow]) throws(BatchError) {
        try BatchSummaryWriter.write(rows: rows, to: options.outputDirectory)
    }

    private func resumedItem(input: BatchInput, record: AnalysisRecord, layout: OutputLayout) -> BatchItemResult {
        let size = ResultReader.pngSize(atPath: layout.thumbnailPath)
        let row = SummaryRow(record: record, inputRelativePath: ResultReader.inputRelativePath(record: record, jsonRelative: layout.jsonRelative),
                             stem: input.outputStem, thumbnailSize: size)
        return BatchItemResult(input: input, status: record.status, errorCode: record.error?.code, errorMessage: record.error?.message,
                               resumed: true, timings: StageTimings(), reportSeconds: 0, writeSeconds: 0, row: row)
    }

    /// Analyses one input and writes its outputs: PNG and thumbnail first, then the JSON, then
    /// the resume record — so a complete resume record implies complete outputs.
    func process(_ input: BatchInput, options analysisOptions: AnalysisOptions, fingerprint: String) -> BatchItemResult {
        let layout = OutputLayout(outputDirectory: options.outputDirectory, stem: input.outputStem)
        let identityBefore = CompletionRecord.fileIdentity(input.path)
        let outcome = analyzer(input.path, analysisOptions)
        var record = outcome.record
        var writeProblem: BatchError? = nil
        var thumbnailSize: (width: Int, height: Int)? = nil

        let reportStart = Date()
        if options.writeImages, let visual = outcome.visual {
            let scene = ReportSceneBuilder.scene(visual: visual, record: record, title: input.relativePath)
            let canvas = renderer.render(scene)
            let thumbnail = renderer.thumbnail(of: canvas, layout: renderer.layout(for: scene))
            do {
                try FileManager.default.createDirectory(atPath: (layout.pngPath as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try PNGFile.writeRGB8(path: layout.pngPath, width: canvas.width, height: canvas.height, pixels: canvas.pixels)
                try PNGFile.writeRGB8(path: layout.thumbnailPath, width: thumbnail.width, height: thumbnail.height, pixels: thumbnail.pixels)
                thumbnailSize = (thumbnail.width, thumbnail.height)
            } catch let error as PNGError {
                writeProblem = BatchError(code: .writeFailed, path: error.path, message: error.message)
            } catch {
                writeProblem = BatchError(code: .writeFailed, path: layout.pngPath, message: AtomicFile.describe(error))
            }
        } else {
            // A failed or image-less analysis must not leave an older run's picture behind.
            try? FileManager.default.removeItem(atPath: layout.pngPath)
            try? FileManager.default.removeItem(atPath: layout.thumbnailPath)
        }
        let reportSeconds = Date().timeIntervalSince(reportStart)

        let writeStart = Date()
        let json = record.jsonData()
        do {
            try AtomicFile.write(json, to: layout.jsonPath)
            // A failure caused by the file itself (truncated, not angiography, ...) is final for
            // this file and these options; environment failures are retried by --resume.
            let transient = record.error.map { Self.transientErrorCodes.contains($0.code) } ?? false
            if writeProblem == nil, !transient, let identity = identityBefore {
                let completion = CompletionRecord(inputSize: identity.size, inputModified: identity.modified,
                                                  optionsFingerprint: fingerprint, jsonBytes: json.count,
                                                  jsonFNV1a: FNV1a64.hex(FNV1a64.hash(bytes: json)), hasImage: thumbnailSize != nil)
                try AtomicFile.write(completion.encoded(), to: layout.donePath)
            } else {
                try? FileManager.default.removeItem(atPath: layout.donePath)
            }
        } catch {
            writeProblem = writeProblem ?? error
        }
        let writeSeconds = Date().timeIntervalSince(writeStart)

        var row = SummaryRow(record: record, inputRelativePath: ResultReader.inputRelativePath(record: record, jsonRelative: layout.jsonRelative),
                             stem: input.outputStem, thumbnailSize: thumbnailSize)
        if let writeProblem {
            record.status = "error"
            row.status = "error"
            row.errorCode = "writeFailed"
            row.errorMessage = writeProblem.description
        }
        return BatchItemResult(input: input, status: row.status, errorCode: row.errorCode, errorMessage: row.errorMessage,
                               resumed: false, timings: outcome.timings, reportSeconds: reportSeconds,
                               writeSeconds: writeSeconds, row: row)
    }
}

/// Writes the run-level `summary.csv` and `index.html`.
public enum BatchSummaryWriter {
    public static func write(rows: [SummaryRow], to directory: String, title: String = "angio batch report") throws(BatchError) {
        try AtomicFile.write(SummaryTable.csv(rows), to: (directory as NSString).appendingPathComponent(OutputLayout.summaryName))
        try AtomicFile.write(HTMLIndex.document(rows: rows, title: title, generator: "angio \(AngioVersion.current)"),
                             to: (directory as NSString).appendingPathComponent(OutputLayout.indexName))
    }
}

/// Hands out pending indices to worker threads in order.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: ArraySlice<Int>
    init(_ indices: [Int]) { remaining = indices[...] }
    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        return remaining.popFirst()
    }
}

/// Per-index result slots filled by the workers (each index written once).
final class ResultStore<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }
    func get(_ index: Int) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        return slots[index]
    }
}
