import ArgumentParser

struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "phantom", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'phantom' is not implemented yet") }
}
