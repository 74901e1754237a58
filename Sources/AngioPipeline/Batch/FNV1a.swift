import Foundation

/// 64-bit FNV-1a (Fowler–Noll–Vo), used wherever a hash must be stable across runs, machines and
/// Swift versions (Swift's `Hasher` is randomly seeded per process, so it cannot pick shards or
/// fingerprint options).
public struct FNV1a64: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64 = offsetBasis

    public init() {}

    public mutating func combine<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* Self.prime
        }
    }

    public static func hash(_ text: String) -> UInt64 {
        var hasher = FNV1a64()
        hasher.combine(text.utf8)
        return hasher.value
    }

    public static func hash<S: Sequence>(bytes: S) -> UInt64 where S.Element == UInt8 {
        var hasher = FNV1a64()
        hasher.combine(bytes)
        return hasher.value
    }

    /// 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// `--shard K/N`: this process handles the inputs whose FNV-1a 64 hash of the relative input
/// path (UTF-8, `/`-separated) is congruent to K-1 modulo N. K is 1-based (1...N), matching
/// Slurm's `--array=1-N`; a Kubernetes indexed job passes `$((JOB_COMPLETION_INDEX + 1))/N`.
/// The union of shards 1...N is exactly the unsharded input set, and an input's shard depends
/// only on its relative path, never on the machine, the other files or the run order.
public struct ShardSelector: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws(BatchError) {
        guard count >= 1 else { throw BatchError.invalidOption("--shard", "shard count must be at least 1, got \(count)") }
        guard (1...count).contains(index) else {
            throw BatchError.invalidOption("--shard", "shard index must be in 1...\(count) (shards are numbered from 1), got \(index)")
        }
        self.index = index
        self.count = count
    }

    /// Parses "K/N", e.g. "2/8".
    public static func parse(_ text: String) throws(BatchError) -> ShardSelector {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw BatchError.invalidOption("--shard", "expected K/N with whole numbers, e.g. 1/4 (shards are numbered from 1), got '\(text)'")
        }
        return try ShardSelector(index: k, count: n)
    }

    public func contains(relativePath: String) -> Bool {
        FNV1a64.hash(relativePath) % UInt64(count) == UInt64(index - 1)
    }

    public var description: String { "\(index)/\(count)" }
}
