import Foundation

/// "done/total, rate, ETA" on stderr, rewritten in place with a carriage return. Only when
/// stderr is a terminal (isatty), so logs and pipes never receive progress noise; at most
/// four updates per second.
final class BatchProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let enabled: Bool
    private let start = Date()
    private var done = 0
    private var failed = 0
    private var lastDraw = Date.distantPast
    private var drewSomething = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func tick(failed didFail: Bool) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        if didFail { failed += 1 }
        guard enabled else { return }
        let now = Date()
        if done < total && now.timeIntervalSince(lastDraw) < 0.25 { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        var line = "\r\(done)/\(total) files"
        line += String(format: ", %.2f files/s", rate)
        line += ", ETA " + Self.clock(remaining)
        if failed > 0 { line += ", \(failed) failed" }
        FileHandle.standardError.write(Data((line + "   ").utf8))
        drewSomething = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if enabled && drewSomething { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let whole = Int(seconds.rounded())
        if whole >= 3600 { return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60) }
        return String(format: "%02d:%02d", whole / 60, whole % 60)
    }
}
