import Foundation

/// Separable Gaussian smoothing with reflective boundaries.
///
/// Kernel: sampled Gaussian g[k] = exp(-k^2 / (2 sigma^2)), k = -R...R with
/// R = floor(truncate * sigma + 0.5) (truncate = 4, as `scipy.ndimage.gaussian_filter`),
/// normalised so the taps sum to 1 (a constant image stays constant to rounding).
///
/// Boundary: half-sample symmetric reflection ("reflect" in SciPy / scikit-image,
/// `d c b a | a b c d | d c b a`): the edge pixel is repeated, so a constant image and a linear
/// ramp's mean are preserved at the border and no dark/bright frame appears around the image.
///
/// Implementation: a horizontal pass over each row (SIMD8 across x, from a reflected copy of
/// the row) and a vertical pass that accumulates whole rows (SIMD8 across x, cache friendly),
/// both parallel over row bands. Each output sample is computed by the same instruction
/// sequence whatever the band split, so results are bitwise identical for any thread count.
public enum GaussianBlur {
    /// Truncation of the kernel in units of sigma (SciPy's default).
    public static let truncate: Double = 4

    /// One half of a symmetric kernel: `weights[0]` is the centre tap, `weights[k]` the tap at
    /// distance k on either side.
    public struct Kernel: Sendable, Equatable {
        public let radius: Int
        public let weights: [Float]
    }

    /// The sampled, normalised Gaussian for `sigma` (identity kernel when sigma <= 0 or not finite).
    public static func kernel(sigma: Double, truncate: Double = GaussianBlur.truncate) -> Kernel {
        guard sigma.isFinite, sigma > 0 else { return Kernel(radius: 0, weights: [1]) }
        let radius = max(1, Int(truncate * sigma + 0.5))
        var taps = (0...radius).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
        let total = taps[0] + 2 * taps.dropFirst().reduce(0, +)
        taps = taps.map { $0 / total }
        return Kernel(radius: radius, weights: taps.map { Float($0) })
    }

    /// Half-sample symmetric reflection of index `i` into `0..<n` (valid for any i; period 2n).
    @inlinable @inline(__always)
    public static func reflect(_ i: Int, _ n: Int) -> Int {
        if i >= 0 && i < n { return i }
        let period = 2 * n
        var r = i % period
        if r < 0 { r += period }
        return r < n ? r : period - 1 - r
    }

    /// Gaussian-smoothed copy of `image`.
    public static func blur(_ image: GrayImage, sigma: Double, threads: Int? = nil) -> GrayImage {
        guard !image.isEmpty else { return image }
        let width = image.width, height = image.height
        let kernel = self.kernel(sigma: sigma)
        if kernel.radius == 0 { return image }
        var out = [Float](repeating: 0, count: image.count)
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: image.count)
        defer { scratch.deallocate() }
        let threadCount = RowBands.threadCount(threads)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                separableBlur(source: source.baseAddress!, temporary: scratch.baseAddress!,
                              destination: destination.baseAddress!, width: width, height: height,
                              kernel: kernel, threads: threadCount)
            }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// Horizontal then vertical pass; `temporary` and `destination` hold width*height floats.
    /// `source` may alias `destination` (the source is fully consumed by the first pass).
    /// `offset` is subtracted from every sample first (keeps Float precision for data with a
    /// large baseline; the caller adds it back if needed).
    static func separableBlur(source: UnsafePointer<Float>, temporary: UnsafeMutablePointer<Float>,
                              destination: UnsafeMutablePointer<Float>, width: Int, height: Int,
                              kernel: Kernel, threads: Int, offset: Float = 0) {
        nonisolated(unsafe) let src = source
        nonisolated(unsafe) let tmp = temporary
        nonisolated(unsafe) let dst = destination
        guard kernel.radius > 0 else { // identity kernel: copy (minus the offset)
            RowBands.forEachBand(rows: height, threads: threads) { rows in
                for i in (rows.lowerBound * width)..<(rows.upperBound * width) {
                    dst[i] = src[i].isFinite ? src[i] - offset : 0
                }
            }
            return
        }
        RowBands.forEachBand(rows: height, threads: threads) { rows in
            horizontalPass(source: src, destination: tmp, width: width, rows: rows, kernel: kernel, offset: offset)
        }
        RowBands.forEachBand(rows: height, threads: threads) { rows in
            verticalPass(source: UnsafePointer(tmp), destination: dst, width: width, height: height,
                         rows: rows, kernel: kernel)
        }
    }

    /// Convolves rows `rows` of `source` minus `offset` along x into `destination`.
    static func horizontalPass(source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>,
                               width: Int, rows: Range<Int>, kernel: Kernel, offset: Float = 0) {
        let radius = kernel.radius
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: width + 2 * radius + 8)
        defer { padded.deallocate() }
        kernel.weights.withUnsafeBufferPointer { weights in
            let w = weights.baseAddress!
            for y in rows {
                let row = source + y * width
                // Non-finite samples (NaN / inf from a damaged frame) count as the offset so they cannot
                // spread over the whole image.
                for i in 0..<width {
                    let sample = row[i]
                    padded[radius + i] = sample.isFinite ? sample - offset : 0
                }
                for k in 1...radius {
                    padded[radius - k] = padded[radius + reflect(-k, width)]
                    padded[radius + width - 1 + k] = padded[radius + reflect(width - 1 + k, width)]
                }
                let out = destination + y * width
                var x = 0
                // Four independent accumulators (32 px) hide the add latency of the tap chain;
                // every pixel still sees the same operations in the same order.
                while x + 32 <= width {
                    let centre = UnsafeRawPointer(padded + radius + x)
                    var acc0 = centre.loadUnaligned(as: SIMD8<Float>.self) * w[0]
                    var acc1 = centre.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) * w[0]
                    var acc2 = centre.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self) * w[0]
                    var acc3 = centre.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self) * w[0]
                    var k = 1
                    while k <= radius {
                        let weight = w[k]
                        acc0 += (centre.loadUnaligned(fromByteOffset: -4 * k, as: SIMD8<Float>.self)
                                 + centre.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)) * weight
                        acc1 += (centre.loadUnaligned(fromByteOffset: 32 - 4 * k, as: SIMD8<Float>.self)
                                 + centre.loadUnaligned(fromByteOffset: 32 + 4 * k, as: SIMD8<Float>.self)) * weight
                        acc2 += (centre.loadUnaligned(fromByteOffset: 64 - 4 * k, as: SIMD8<Float>.self)
                                 + centre.loadUnaligned(fromByteOffset: 64 + 4 * k, as: SIMD8<Float>.self)) * weight
                        acc3 += (centre.loadUnaligned(fromByteOffset: 96 - 4 * k, as: SIMD8<Float>.self)
                                 + centre.loadUnaligned(fromByteOffset: 96 + 4 * k, as: SIMD8<Float>.self)) * weight
                        k += 1
                    }
                    let target = UnsafeMutableRawPointer(out + x)
                    target.storeBytes(of: acc0, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc1, toByteOffset: 32, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc2, toByteOffset: 64, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc3, toByteOffset: 96, as: SIMD8<Float>.self)
                    x += 32
                }
                while x + 8 <= width {
                    let centre = UnsafeRawPointer(padded + radius + x)
                    var acc = centre.loadUnaligned(as: SIMD8<Float>.self) * w[0]
                    var k = 1
                    while k <= radius {
                        let left = centre.loadUnaligned(fromByteOffset: -4 * k, as: SIMD8<Float>.self)
                        let right = centre.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)
                        acc += (left + right) * w[k]
                        k += 1
                    }
                    UnsafeMutableRawPointer(out + x).storeBytes(of: acc, as: SIMD8<Float>.self)
                    x += 8
                }
                while x < width {
                    let centre = padded + radius + x
                    var acc = centre[0] * w[0]
                    var k = 1
                    while k <= radius { acc += (centre[-k] + centre[k]) * w[k]; k += 1 }
                    out[x] = acc
                    x += 1
                }
            }
        }
    }

    /// Convolves along y, writing rows `rows` of `destination` from all rows of `source`.
    /// `afterRow(y)` runs once row y of `destination` is complete (lets a caller consume
    /// fresh rows while they are still in cache).
    static func verticalPass(source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>,
                             width: Int, height: Int, rows: Range<Int>, kernel: Kernel,
                             afterRow: ((Int) -> Void)? = nil) {
        let radius = kernel.radius
        let above = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: radius + 1)
        let below = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: radius + 1)
        defer { above.deallocate(); below.deallocate() }
        kernel.weights.withUnsafeBufferPointer { weights in
            let w = weights.baseAddress!
            for y in rows {
                for k in 0...radius {
                    above[k] = source + reflect(y - k, height) * width
                    below[k] = source + reflect(y + k, height) * width
                }
                let out = destination + y * width
                var x = 0
                while x + 32 <= width {
                    let centre = UnsafeRawPointer(above[0] + x)
                    var acc0 = centre.loadUnaligned(as: SIMD8<Float>.self) * w[0]
                    var acc1 = centre.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) * w[0]
                    var acc2 = centre.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self) * w[0]
                    var acc3 = centre.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self) * w[0]
                    var k = 1
                    while k <= radius {
                        let weight = w[k]
                        let up = UnsafeRawPointer(above[k] + x), down = UnsafeRawPointer(below[k] + x)
                        acc0 += (up.loadUnaligned(as: SIMD8<Float>.self) + down.loadUnaligned(as: SIMD8<Float>.self)) * weight
                        acc1 += (up.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                 + down.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)) * weight
                        acc2 += (up.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                 + down.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)) * weight
                        acc3 += (up.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                 + down.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)) * weight
                        k += 1
                    }
                    let target = UnsafeMutableRawPointer(out + x)
                    target.storeBytes(of: acc0, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc1, toByteOffset: 32, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc2, toByteOffset: 64, as: SIMD8<Float>.self)
                    target.storeBytes(of: acc3, toByteOffset: 96, as: SIMD8<Float>.self)
                    x += 32
                }
                while x + 8 <= width {
                    var acc = UnsafeRawPointer(above[0] + x).loadUnaligned(as: SIMD8<Float>.self) * w[0]
                    var k = 1
                    while k <= radius {
                        let up = UnsafeRawPointer(above[k] + x).loadUnaligned(as: SIMD8<Float>.self)
                        let down = UnsafeRawPointer(below[k] + x).loadUnaligned(as: SIMD8<Float>.self)
                        acc += (up + down) * w[k]
                        k += 1
                    }
                    UnsafeMutableRawPointer(out + x).storeBytes(of: acc, as: SIMD8<Float>.self)
                    x += 8
                }
                while x < width {
                    var acc = above[0][x] * w[0]
                    var k = 1
                    while k <= radius { acc += (above[k][x] + below[k][x]) * w[k]; k += 1 }
                    out[x] = acc
                    x += 1
                }
                afterRow?(y)
            }
        }
    }
}
