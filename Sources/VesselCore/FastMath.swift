/// Vectorised elementary functions used in the inner loops of the vesselness filter.
enum FastMath {
    /// e^x for eight lanes, x <= 0 (the only range the Frangi measure needs).
    ///
    /// Cephes `expf` scheme: x = n ln2 + r with n = round(x / ln2) (rounded with the 1.5 * 2^23
    /// "magic number" trick), ln2 split in two parts for an exact reduction, a degree-5
    /// polynomial for e^r on |r| <= ln2/2 (max relative error ~1.2e-7, about 1 ulp), and
    /// 2^n assembled directly in the exponent bits. Inputs below -87 (where the result would be
    /// denormal) return 0. exp(0) is exactly 1, so 1 - exp(-0) is exactly 0 on blank images.
    @inline(__always)
    static func expNonPositive(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = x.replacing(with: -87, where: x .< -87)
        let magic: Float = 12_582_912 // 1.5 * 2^23: adding it rounds to the nearest integer
        let shifted = clamped * 1.442_695_040_888_963_4 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_40e-4
        let r2 = r * r
        // e^r = 1 + r + r^2 q(r), q cubic, fitted for relative error on Chebyshev nodes
        // (max relative error 1.2e-7 in exact arithmetic: below Float's half ulp).
        var p: SIMD8<Float> = SIMD8(repeating: 8.333_837_950e-3)
        p = p * r + 4.189_857_794e-2
        p = p * r + 1.666_688_638e-1
        p = p * r + 4.999_914_257e-1
        p = p * r2 + r + 1
        // Integer n sits in the low mantissa bits of `shifted`: bits(shifted) = 0x4B40_0000 + n.
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (p * scale).replacing(with: 0, where: x .< -87)
    }
}
