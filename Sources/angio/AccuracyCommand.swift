import ArgumentParser

struct AccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accuracy", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'accuracy' is not implemented yet") }
}
