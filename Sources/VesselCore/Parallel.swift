import Dispatch
import Foundation

/// Row-band parallelism shared by every VesselCore filter.
///
/// Work is split into contiguous row bands; each band is processed by exactly one worker and
/// writes only its own rows, so the output is the same bit for bit whatever the number of
/// threads (every pixel is computed by the same instruction sequence; no reduction depends on
/// the partition). Reductions (maxima, sums) are done per band and combined afterwards in band
/// order.
public enum RowBands {
    /// Threads to use: `requested` when given (clamped to >= 1), otherwise the number of active
    /// processors.
    public static func threadCount(_ requested: Int?) -> Int {
        if let requested { return max(1, requested) }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Splits `0..<rows` into `min(rows, threads)` contiguous bands of near-equal height.
    public static func bands(rows: Int, threads: Int) -> [Range<Int>] {
        let count = max(1, min(rows, threads))
        guard rows > 0 else { return [] }
        return (0..<count).map { index in (rows * index / count)..<(rows * (index + 1) / count) }
    }

    /// Runs `body(band)` for every band, in parallel when `threads > 1` (serially otherwise).
    /// `body` must only write rows inside its band.
    public static func forEachBand(rows: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = bands(rows: rows, threads: threads)
        if parts.count <= 1 {
            for part in parts { body(part) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts.count) { index in body(parts[index]) }
    }

    /// Like `forEachBand` but each band returns a partial result; results come back in band
    /// order so the caller's reduction is deterministic.
    public static func mapBands<T: Sendable>(rows: Int, threads: Int,
                                             _ body: @Sendable (Range<Int>) -> T) -> [T] {
        let parts = bands(rows: rows, threads: threads)
        if parts.count <= 1 { return parts.map(body) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: parts.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: parts.count) { index in shared[index] = body(parts[index]) }
        return results.compactMap { $0 }
    }
}
