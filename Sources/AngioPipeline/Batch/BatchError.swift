import Foundation

/// Errors of the batch driver itself (not of one input file, which become error records).
public struct BatchError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        /// A command-line value is invalid (exit 2).
        case invalidOption
        /// An input path does not exist or cannot be listed (exit 2: nothing was run).
        case inputNotFound
        /// Two inputs would write the same outputs.
        case outputCollision
        /// The output folder cannot be created or written.
        case outputNotWritable
        /// A file could not be written atomically.
        case writeFailed
        /// A file that should hold an analysis result could not be read or parsed.
        case unreadableResult
    }

    public var code: Code
    public var path: String?
    public var message: String

    public init(code: Code, path: String? = nil, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    static func invalidOption(_ option: String, _ message: String) -> BatchError {
        BatchError(code: .invalidOption, message: "\(option): \(message)")
    }

    /// True when the problem is with how the command was called (exit code 2).
    public var isUsageError: Bool { code == .invalidOption || code == .inputNotFound || code == .outputCollision }

    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}
