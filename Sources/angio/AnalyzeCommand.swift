import ArgumentParser

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analyze", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'analyze' is not implemented yet") }
}
