import Foundation

// Deterministic randomness for the phantom. Never SystemRandomNumberGenerator: every value is a
// pure function of (seed, stream, index), so output is identical on every run, platform and
// thread count.

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit mixer, used both as a generator and as a hash.
@usableFromInline
struct SplitMix64: RandomNumberGenerator {
    @usableFromInline var state: UInt64

    @inlinable init(seed: UInt64) { state = seed }

    @inlinable static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021),
/// seeded through SplitMix64 as its authors recommend. Used for sequential draws (spec building,
/// background layout).
public struct PhantomRNG: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator for one named stream of a seed; different streams are independent.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(seed: SplitMix64.mix(seed) ^ SplitMix64.mix(stream &* 0xD1B5_4A32_D192_ED03))
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in the closed range (a degenerate range returns its bound).
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// Uniform integer in the range.
    public mutating func integer(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % span)
    }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Double {
        let u1 = max(unit(), 0x1.0p-60), u2 = unit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    public mutating func chance(_ probability: Double) -> Bool { unit() < probability }
}

/// Named random streams so that, for example, the background does not change when a vessel's
/// stenosis changes (pre/post pairs share everything but the lesion).
enum PhantomStream {
    static let background: UInt64 = 0xB0
    static let noise: UInt64 = 0x40
    static let geometry: UInt64 = 0x6E
    static let randomSpec: UInt64 = 0x5EC
}

/// Counter-based noise: the standard normal / uniform draws for pixel `index` of `frame` depend
/// only on (seed, frame, index), never on which thread renders the row.
@inlinable
func counterUniformPair(seed: UInt64, frame: Int, index: Int) -> (Double, Double) {
    let key = SplitMix64.mix(seed ^ 0x4E01_5E00) ^ SplitMix64.mix(UInt64(truncatingIfNeeded: frame) &+ 0x1234_5678)
    let a = SplitMix64.mix(key ^ UInt64(truncatingIfNeeded: index) &* 2)
    let b = SplitMix64.mix(a ^ 0xA5A5_A5A5_A5A5_A5A5)
    return (Double(a >> 11) * 0x1.0p-53, Double(b >> 11) * 0x1.0p-53)
}
