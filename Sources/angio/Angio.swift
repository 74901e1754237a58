import AngioPipeline
import ArgumentParser
import Foundation

/// Exit codes: 0 success, 1 some input failed, 2 usage error (ArgumentParser's 64 is mapped to 2).
@main
struct Angio: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "angio",
        abstract: "Quantitative angiography (QCA) from X-ray angiography DICOM files.",
        version: "0.1.0",
        subcommands: [
            InfoCommand.self, FramesCommand.self,
            PhantomCommand.self, AnalyzeCommand.self, CompareCommand.self, AccuracyCommand.self,
            QACommand.self, SummarizeCommand.self,
        ]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

extension VesselPolarityOption: ExpressibleByArgument {}
