import AngioPipeline
import ArgumentParser
import Foundation

/// `angio summarize DIR... --out D`: merges `angio analyze` output folders (typically the
/// shards of one archive) into one summary.csv and index.html by reading their JSON results.
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Merge 'angio analyze' output folders (e.g. shards) into one summary.csv and index.html.",
        discussion: "Exit status: 0 merged, 1 some result files could not be read, 2 usage error.")

    @Argument(help: "Output folders of 'angio analyze'.")
    var directories: [String]

    @Option(name: .long, help: "Folder for the merged summary.csv and index.html.")
    var out: String

    @Flag(name: .long, help: "Only print problems.")
    var quiet = false

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give at least one 'angio analyze' output folder") }
    }

    func run() throws {
        let result: Summarizer.Result
        do {
            result = try Summarizer.merge(directories, into: out)
        } catch {
            if error.isUsageError { throw ValidationError(error.description) }
            FileHandle.standardError.write(Data("angio summarize: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        for problem in result.unreadable { FileHandle.standardError.write(Data("unreadable: \(problem)\n".utf8)) }
        for duplicate in result.duplicates { FileHandle.standardError.write(Data("duplicate (first kept): \(duplicate)\n".utf8)) }
        if !quiet {
            let ok = result.rows.filter { $0.status == "ok" }.count
            print("\(result.rows.count) results from \(directories.count) folder\(directories.count == 1 ? "" : "s"): \(ok) ok, \(result.rows.count - ok) failed")
            print("outputs: \(out)/summary.csv, \(out)/index.html")
        }
        if !result.unreadable.isEmpty { throw ExitCode(1) }
    }
}
