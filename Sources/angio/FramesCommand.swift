import ArgumentParser

struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frames", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("'frames' is not implemented yet") }
}
