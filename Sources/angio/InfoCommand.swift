import AngioDICOM
import ArgumentParser
import Foundation

/// `angio info FILE...`: metadata as JSON (an object for one file, an array for several).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print DICOM metadata as JSON (one object per file; an array for several files).",
        discussion: """
            Keys are sorted and the output is deterministic. Patient name, ID and birth date are \
            omitted unless --include-phi is given. A file that cannot be read as an image gets an \
            entry with "status": "error", an error code and message (also printed on stderr); \
            the exit status is then 1.
            """)

    // Defaulted so that an unknown option is reported as such (exit 2) before a missing file.
    @Argument(help: "DICOM files to describe.")
    var files: [String] = []

    @Flag(name: .customLong("include-phi"), help: "Include patient name, ID and birth date (protected health information).")
    var includePHI = false

    func run() throws {
        // Checked here, not in validate(), so that a mistyped option is what gets reported.
        if files.isEmpty { throw ValidationError("give at least one DICOM file") }
        var entries: [InfoEntry] = []
        var failed = false
        for path in files {
            do {
                let file = try AngiogramFile(path: path)
                let metadata = includePHI ? file.metadata : file.metadata.withoutPHI
                entries.append(InfoEntry(file: path, metadata: metadata, warnings: file.warnings, error: nil))
            } catch {
                failed = true
                FileHandle.standardError.write(Data("angio info: \(error.message)\n".utf8))
                entries.append(InfoEntry(file: path, metadata: nil, warnings: [], error: error))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = entries.count == 1 ? try encoder.encode(entries[0]) : try encoder.encode(entries)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
        if failed { throw ExitCode(1) }
    }
}

/// One file's entry: the metadata keys at top level plus `file`, `status` and, when relevant,
/// `warnings` or `error` + `message`.
struct InfoEntry: Encodable {
    var file: String
    var metadata: DICOMMetadata?
    var warnings: [String]
    var error: DICOMError?

    private enum Keys: String, CodingKey { case file, status, warnings, error, message }

    func encode(to encoder: Encoder) throws {
        if let metadata { try metadata.encode(to: encoder) }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(file, forKey: .file)
        if let error {
            try container.encode("error", forKey: .status)
            try container.encode(error.code.rawValue, forKey: .error)
            try container.encode(error.message, forKey: .message)
        } else {
            try container.encode("ok", forKey: .status)
            if !warnings.isEmpty { try container.encode(warnings, forKey: .warnings) }
        }
    }
}
