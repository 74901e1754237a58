import Foundation

/// Where the outputs of one input go, relative to the output folder:
/// `<stem>.json`, `<stem>.png`, `<stem>.thumb.png`, and the resume record
/// `.angio-state/<stem>.done` (hidden, so the result tree only holds results).
public struct OutputLayout: Sendable, Equatable {
    public static let stateFolder = ".angio-state"
    public static let summaryName = "summary.csv"
    public static let indexName = "index.html"

    public var outputDirectory: String
    public var stem: String

    public init(outputDirectory: String, stem: String) {
        self.outputDirectory = outputDirectory
        self.stem = stem
    }

    public var jsonRelative: String { stem + ".json" }
    public var pngRelative: String { stem + ".png" }
    public var thumbnailRelative: String { stem + ".thumb.png" }

    public var jsonPath: String { absolute(jsonRelative) }
    public var pngPath: String { absolute(pngRelative) }
    public var thumbnailPath: String { absolute(thumbnailRelative) }
    public var donePath: String { absolute(Self.stateFolder + "/" + stem + ".done") }

    func absolute(_ relative: String) -> String {
        (outputDirectory as NSString).appendingPathComponent(relative)
    }
}

/// The resume record written after all of an input's outputs are in place. `--resume` skips
/// an input only when its record matches the input file (size and modification time), the
/// options fingerprint, and the JSON actually on disk (size and FNV-1a hash) — so a JSON
/// rewritten by hand, an input replaced, or options changed all cause a re-analysis. The record
/// lives beside, not inside, the JSON so the JSON stays a pure function of input and options.
public struct CompletionRecord: Codable, Sendable, Equatable {
    public var inputSize: Int64
    /// Modification time, nanoseconds since the epoch.
    public var inputModified: Int64
    public var optionsFingerprint: String
    public var jsonBytes: Int
    public var jsonFNV1a: String
    /// True when the annotated PNG (and thumbnail) were written.
    public var hasImage: Bool

    public init(inputSize: Int64, inputModified: Int64, optionsFingerprint: String, jsonBytes: Int, jsonFNV1a: String, hasImage: Bool) {
        self.inputSize = inputSize
        self.inputModified = inputModified
        self.optionsFingerprint = optionsFingerprint
        self.jsonBytes = jsonBytes
        self.jsonFNV1a = jsonFNV1a
        self.hasImage = hasImage
    }

    /// Size and mtime of a file, or nil when it cannot be stat'ed.
    public static func fileIdentity(_ path: String) -> (size: Int64, modified: Int64)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let nanoseconds = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        return (Int64(status.st_size), nanoseconds)
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// True when the outputs recorded for `input` are complete and current.
    static func isComplete(input: String, layout: OutputLayout, optionsFingerprint: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: layout.donePath),
              let record = try? JSONDecoder().decode(CompletionRecord.self, from: data),
              record.optionsFingerprint == optionsFingerprint,
              let identity = fileIdentity(input), identity.size == record.inputSize, identity.modified == record.inputModified,
              let json = FileManager.default.contents(atPath: layout.jsonPath),
              json.count == record.jsonBytes, FNV1a64.hex(FNV1a64.hash(bytes: json)) == record.jsonFNV1a
        else { return false }
        if record.hasImage {
            return FileManager.default.fileExists(atPath: layout.pngPath) && FileManager.default.fileExists(atPath: layout.thumbnailPath)
        }
        return true
    }
}
