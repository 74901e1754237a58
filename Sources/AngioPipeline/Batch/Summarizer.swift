import AngioReport
import Foundation

/// `angio summarize`: merges the results of several output folders (e.g. the shards of one
/// archive) into one `summary.csv` and `index.html`, reading only their JSON files. The merged
/// CSV equals the one an unsharded run would have written; the index links to the PNGs where
/// they are (relative links from the merged folder).
public enum Summarizer {
    public struct Result: Sendable {
        public var rows: [SummaryRow]
        /// JSON files that are not analysis records or cannot be read (named, with the cause).
        public var unreadable: [String]
        /// Inputs found in more than one folder; the first folder given wins.
        public var duplicates: [String]
    }

    /// Files in an output folder that are never analysis results.
    static let reservedNames: Set<String> = ["qa.json"]

    public static func merge(_ directories: [String], into outputDirectory: String) throws(BatchError) -> Result {
        var rowsByPath: [String: SummaryRow] = [:]
        var unreadable: [String] = []
        var duplicates: [String] = []
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw BatchError(code: .outputNotWritable, path: outputDirectory, message: "cannot create the output folder: \(AtomicFile.describe(error))")
        }
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw BatchError(code: .inputNotFound, path: directory, message: "no such folder (expected an 'angio analyze --out' folder)")
            }
            let prefix = relativeLink(from: outputDirectory, to: directory)
            for jsonRelative in jsonFiles(under: directory) {
                let path = (directory as NSString).appendingPathComponent(jsonRelative)
                guard let record = ResultReader.record(atPath: path) else {
                    unreadable.append("\(path): not an angio analysis record (unreadable or not schemaVersion 1 JSON)")
                    continue
                }
                let stem = String(jsonRelative.dropLast(".json".count))
                let thumbnail = (directory as NSString).appendingPathComponent(stem + ".thumb.png")
                let size = FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(stem + ".png"))
                    ? ResultReader.pngSize(atPath: thumbnail) : nil
                let relative = ResultReader.inputRelativePath(record: record, jsonRelative: jsonRelative)
                let row = SummaryRow(record: record, inputRelativePath: relative, stem: stem, linkPrefix: prefix, thumbnailSize: size)
                if rowsByPath[relative] != nil {
                    duplicates.append("\(relative) (also in \(directory))")
                    continue
                }
                rowsByPath[relative] = row
            }
        }
        let rows = SummaryTable.sorted(Array(rowsByPath.values))
        try BatchSummaryWriter.write(rows: rows, to: outputDirectory)
        return Result(rows: rows, unreadable: unreadable.sorted(), duplicates: duplicates)
    }

    /// Analysis JSON files under an output folder, relative, sorted; skips hidden folders (the
    /// resume state), temporaries and reserved names.
    static func jsonFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var result: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") {
                if enumerator.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { enumerator.skipDescendants() }
                continue
            }
            guard name.hasSuffix(".json"), !reservedNames.contains(name), !AtomicFile.isTemporaryName(name) else { continue }
            result.append(relative)
        }
        return result.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Relative link (ending in "/" unless empty) from folder `from` to folder `to`.
    public static func relativeLink(from: String, to: String) -> String {
        let a = InputDiscovery.canonical(from).split(separator: "/").map(String.init)
        let b = InputDiscovery.canonical(to).split(separator: "/").map(String.init)
        var common = 0
        while common < a.count, common < b.count, a[common] == b[common] { common += 1 }
        let parts = Array(repeating: "..", count: a.count - common) + b[common...]
        return parts.isEmpty ? "" : parts.joined(separator: "/") + "/"
    }
}
