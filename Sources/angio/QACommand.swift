import ArgumentParser

struct QACommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "qa", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'qa' is not implemented yet") }
}
