import Dispatch
import Foundation

enum Parallel {
    /// Runs `body(i)` for i in 0..<count on up to `threads` workers and returns the results in
    /// index order. Each worker writes only its own slots, so the result does not depend on
    /// the thread count.
    static func map<T: Sendable>(count: Int, threads: Int?, _ body: @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, count))
        if workers == 1 { return (0..<count).map(body) }
        let storage = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        storage.initialize(repeating: nil)
        defer { storage.deinitialize(); storage.deallocate() }
        nonisolated(unsafe) let output = storage
        // Interleaved chunks balance uneven work (wide vessels cost more than narrow ones).
        let chunk = max(1, count / (workers * 8))
        let chunks = (count + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for c in stride(from: worker, to: chunks, by: workers) {
                let lower = c * chunk, upper = min(lower + chunk, count)
                for i in lower..<upper { output[i] = body(i) }
            }
        }
        return storage.map { $0! }
    }
}
