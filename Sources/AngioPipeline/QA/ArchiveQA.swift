import AngioReport
import Foundation

/// `angio qa`: checks every file under the given paths, then the archive as a whole
/// (duplicate SOP Instance UIDs, series with mixed geometry), and writes `qa.json` and
/// `qa.csv` (deterministic: files sorted by path, findings by severity, code, tag, message).
public enum ArchiveQA {
    public struct Options: Sendable {
        public var outputDirectory: String
        public var decode: Bool
        public var jobs: Int
        public init(outputDirectory: String, decode: Bool = false, jobs: Int = ProcessInfo.processInfo.activeProcessorCount) {
            self.outputDirectory = outputDirectory
            self.decode = decode
            self.jobs = jobs
        }
    }

    public struct Summary: Sendable, Codable, Equatable {
        public var files: Int
        public var filesWithErrors: Int
        public var filesWithWarnings: Int
        public var decodableFiles: Int
        public var errors: Int
        public var warnings: Int
        public var infos: Int
        /// Findings per code.
        public var codes: [String: Int]
    }

    public struct Report: Sendable, Codable, Equatable {
        public var schemaVersion = 1
        public var decodeChecked: Bool
        public var summary: Summary
        public var files: [QAFileReport]
    }

    public static func run(paths: [String], options: Options) throws(BatchError) -> Report {
        guard options.jobs >= 1 else { throw BatchError.invalidOption("--jobs", "must be at least 1, got \(options.jobs)") }
        do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw BatchError(code: .outputNotWritable, path: options.outputDirectory, message: "cannot create the output folder: \(AtomicFile.describe(error))")
        }
        let discovery = try InputDiscovery.discover(paths, excluding: options.outputDirectory, includeNonDICOM: true)
        var inputs = discovery.inputs.map { ($0.path, $0.relativePath) }
        inputs += discovery.dicomdirs.map { ($0, relativeName(of: $0, roots: paths)) }
        let all = inputs.sorted { $0.1.unicodeScalars.lexicographicallyPrecedes($1.1.unicodeScalars) }

        let store = ResultStore<(QAFileReport, QAFileChecker.Geometry?)>(count: all.count)
        let queue = WorkQueue(Array(all.indices))
        let group = DispatchGroup()
        for _ in 0..<max(1, min(options.jobs, all.count)) {
            group.enter()
            let thread = Thread {
                while let index = queue.next() {
                    store.set(index, QAFileChecker.check(path: all[index].0, relativePath: all[index].1, decode: options.decode))
                }
                group.leave()
            }
            thread.stackSize = BatchRunner.workerStackSize
            thread.start()
        }
        group.wait()
        var results = all.indices.compactMap { store.get($0) }
        archiveFindings(&results)
        let files = results.map { result -> QAFileReport in
            var report = result.0
            report.findings.sort(by: QAFinding.ordered)
            return report
        }
        let report = Report(decodeChecked: options.decode, summary: summarize(files), files: files)
        try write(report, to: options.outputDirectory)
        return report
    }

    /// Cross-file checks: a SOP Instance UID must identify one instance (PS3.3 C.12.1.1.1,
    /// PS3.5 section 9); all images of a series should share rows, columns and spacing,
    /// otherwise measurements across the series are not comparable.
    static func archiveFindings(_ results: inout [(QAFileReport, QAFileChecker.Geometry?)]) {
        var byInstance: [String: [Int]] = [:]
        var bySeries: [String: [Int]] = [:]
        for (index, result) in results.enumerated() {
            if let uid = result.0.sopInstanceUID { byInstance[uid, default: []].append(index) }
            if let series = result.0.seriesInstanceUID, result.1 != nil { bySeries[series, default: []].append(index) }
        }
        for (uid, indices) in byInstance where indices.count > 1 {
            for index in indices {
                let others = indices.filter { $0 != index }.map { results[$0].0.path }
                results[index].0.findings.append(QAFinding(.error, .duplicateSOPInstanceUID, tag: "(0008,0018)",
                    "SOP Instance UID \(uid) is also used by \(others.joined(separator: ", "))"))
            }
        }
        for (series, indices) in bySeries where indices.count > 1 {
            let geometries = Set(indices.compactMap { results[$0].1 })
            guard geometries.count > 1 else { continue }
            let variants = geometries.map(\.description).sorted().joined(separator: "; ")
            for index in indices {
                results[index].0.findings.append(QAFinding(.warning, .seriesMixedGeometry, tag: "(0020,000E)",
                    "series \(series) mixes \(geometries.count) geometries across \(indices.count) files: \(variants)"))
            }
        }
    }

    static func summarize(_ files: [QAFileReport]) -> Summary {
        var codes: [String: Int] = [:]
        var counts: [QASeverity: Int] = [:]
        for file in files {
            for finding in file.findings {
                codes[finding.code.rawValue, default: 0] += 1
                counts[finding.severity, default: 0] += 1
            }
        }
        return Summary(files: files.count, filesWithErrors: files.filter { $0.worstSeverity == .error }.count,
                       filesWithWarnings: files.filter { $0.findings.contains { $0.severity == .warning } }.count,
                       decodableFiles: files.filter(\.decodable).count,
                       errors: counts[.error] ?? 0, warnings: counts[.warning] ?? 0, infos: counts[.info] ?? 0, codes: codes)
    }

    static func write(_ report: Report, to directory: String) throws(BatchError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var json = (try? encoder.encode(report)) ?? Data()
        json.append(0x0A)
        try AtomicFile.write(json, to: (directory as NSString).appendingPathComponent("qa.json"))
        try AtomicFile.write(csv(report), to: (directory as NSString).appendingPathComponent("qa.csv"))
    }

    /// One record per finding; a file without findings gets one "ok" record so every file is listed.
    public static func csv(_ report: Report) -> String {
        var rows: [[String]] = []
        for file in report.files {
            let common = [file.path, file.decodable ? "yes" : "no", file.sopClassUID ?? "", file.modality ?? "", file.transferSyntaxUID ?? ""]
            if file.findings.isEmpty { rows.append(common + ["ok", "", "", ""]) }
            for finding in file.findings {
                rows.append(common + [finding.severity.rawValue, finding.code.rawValue, finding.tag ?? "", finding.message])
            }
        }
        return CSVWriter.document(header: ["path", "decodable", "sop_class_uid", "modality", "transfer_syntax_uid",
                                           "severity", "code", "tag", "message"], rows: rows)
    }

    /// A short human summary: counts per severity and the most frequent codes.
    public static func humanSummary(_ report: Report) -> String {
        let s = report.summary
        var text = "\(s.files) file\(s.files == 1 ? "" : "s") checked\(report.decodeChecked ? " (every frame decoded)" : " (metadata)"): "
        text += "\(s.errors) error\(s.errors == 1 ? "" : "s") in \(s.filesWithErrors) file\(s.filesWithErrors == 1 ? "" : "s"), "
        text += "\(s.warnings) warning\(s.warnings == 1 ? "" : "s"), \(s.infos) info; \(s.decodableFiles) decodable\n"
        for severity in QASeverity.allCases {
            var perCode: [String: Int] = [:]
            for file in report.files { for f in file.findings where f.severity == severity { perCode[f.code.rawValue, default: 0] += 1 } }
            guard !perCode.isEmpty else { continue }
            let top = perCode.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(6)
            text += "  \(severity.rawValue): " + top.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        return text
    }

    /// Relative name of a DICOMDIR found by the walk, for the report.
    static func relativeName(of path: String, roots: [String]) -> String {
        let canonicalPath = InputDiscovery.canonical(path)
        for root in roots {
            let canonicalRoot = InputDiscovery.canonical(root)
            if canonicalPath.hasPrefix(canonicalRoot + "/") {
                let relative = String(canonicalPath.dropFirst(canonicalRoot.count + 1))
                return roots.count > 1 ? InputDiscovery.rootName(root) + "/" + relative : relative
            }
        }
        return (path as NSString).lastPathComponent
    }
}
