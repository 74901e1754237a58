import ArgumentParser

struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summarize", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'summarize' is not implemented yet") }
}
