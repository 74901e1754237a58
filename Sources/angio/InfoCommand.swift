import ArgumentParser

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'info' is not implemented yet") }
}
