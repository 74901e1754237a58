import Foundation

/// Which vessels the filter looks for.
public enum Polarity: String, Sendable, Codable {
    /// Contrast-filled vessels darker than their surroundings (angiograms as displayed;
    /// the decoder's `AnalysisFrame` convention). A dark ridge has lambda2 > 0.
    case darkOnBright
    /// Bright vessels on a dark background (e.g. inverted / subtracted display). lambda2 < 0.
    case brightOnDark
}

/// Parameters of the multiscale Frangi vesselness (Frangi et al. 1998, MICCAI, LNCS 1496,
/// pp. 130-137).
///
/// Parameter conventions compared with the two reference implementations:
/// - scikit-image `frangi(image, sigmas, alpha, beta, gamma, black_ridges)`: same `beta`,
///   `gamma` (= Frangi's c), `black_ridges=True` <-> `.darkOnBright`. scikit-image does *not*
///   scale-normalise the Hessian (set `scaleNormalizationExponent = 0` to reproduce it) and
///   computes its automatic gamma from the first sigma only; here the automatic c is half the
///   maximum Frobenius norm over all scales (Frangi's suggestion, sec. 2).
/// - ITK `HessianToObjectnessMeasureImageFilter` (ObjectDimension 1): Alpha is the plate term
///   (unused for a line in 2-D), Beta <-> `beta`, Gamma <-> c; `BrightObject=false` <->
///   `.darkOnBright`; `MultiScaleHessianBasedMeasureImageFilter` normalises across scale
///   (sigma^2) like the default here.
public struct VesselnessParameters: Sendable, Equatable {
    public typealias Polarity = VesselCore.Polarity

    /// Gaussian scales sigma in pixels. Invalid entries (<= 0, not finite) are ignored.
    public var scales: [Double]
    /// Frangi's alpha (R_A, plate vs line). Has no effect in 2-D where R_A is infinite
    /// (eq. 15); kept for parity with scikit-image / ITK.
    public var alpha: Double
    /// Sensitivity to the blobness ratio R_B = lambda1 / lambda2 (eq. 15). Default 0.5.
    public var beta: Double
    /// Sensitivity c to the structureness S (eq. 12-13). nil = automatic: half of the maximum
    /// Frobenius norm of the scale-normalised Hessian over the image and all scales.
    public var gamma: Double?
    public var polarity: Polarity
    /// Lindeberg's gamma-normalisation exponent: derivatives are multiplied by sigma^(2 * this).
    /// 1 (default) makes responses comparable across scales (Frangi eq. 3 with gamma = 1);
    /// 0 reproduces scikit-image's unnormalised Hessian.
    public var scaleNormalizationExponent: Double

    /// Scales suited to coronary / peripheral angiograms at 0.15-0.3 mm per pixel: vessel
    /// radii of about 2-15 px. The best sigma of a tube is ~0.85 r (see `Vesselness`), so
    /// these peak on radii 1.8-7 px; wider vessels still respond (weaker, mostly near their
    /// walls) at sigma 6 and the segmentation recovers their full lumen from the grey levels.
    public static let defaultScales: [Double] = [1.5, 2, 3, 4, 6]

    public init(scales: [Double] = VesselnessParameters.defaultScales, alpha: Double = 0.5,
                beta: Double = 0.5, gamma: Double? = nil, polarity: Polarity = .darkOnBright,
                scaleNormalizationExponent: Double = 1) {
        self.scales = scales
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.polarity = polarity
        self.scaleNormalizationExponent = scaleNormalizationExponent
    }

    /// Throws a descriptive error for parameters the filter would otherwise silently repair.
    public func validate() throws {
        guard scales.contains(where: { $0.isFinite && $0 > 0 }) else {
            throw VesselCoreError(.invalidParameter, "vesselness needs at least one positive finite scale, got \(scales)")
        }
        guard beta.isFinite, beta > 0 else { throw VesselCoreError(.invalidParameter, "beta must be > 0, got \(beta)") }
        if let gamma, !(gamma.isFinite && gamma > 0) {
            throw VesselCoreError(.invalidParameter, "gamma must be > 0 when given, got \(gamma)")
        }
    }
}

/// Output of the multiscale vesselness filter.
public struct VesselnessResult: Sendable, Equatable {
    /// max over scales of V_sigma (eq. 15), in [0, 1).
    public var response: GrayImage
    /// sigma (px) at which the maximum was reached; 0 where the response is 0.
    public var bestScale: GrayImage
    /// The c (gamma) actually used (the automatic value when none was given).
    public var gamma: Double

    public init(response: GrayImage, bestScale: GrayImage, gamma: Double = 1) {
        self.response = response
        self.bestScale = bestScale
        self.gamma = gamma
    }
}

/// Multiscale Hessian vesselness.
///
/// For each scale sigma (Frangi et al. 1998):
/// - the image is smoothed with a Gaussian of standard deviation sigma (reflective boundary,
///   see `GaussianBlur`; built as a cascade, each level from the previous one) and the Hessian H = [[Ixx, Ixy], [Ixy, Iyy]] is taken by central
///   finite differences of the smoothed image (Ixx = L(x+1) - 2L(x) + L(x-1),
///   Ixy = (L(x+1,y+1) - L(x-1,y+1) - L(x+1,y-1) + L(x-1,y-1)) / 4), then scale-normalised by
///   sigma^(2 gamma_n) (eq. 3, gamma_n = `scaleNormalizationExponent`);
/// - eigenvalues in closed form, ordered |lambda1| <= |lambda2| (eq. 2 / Table 1):
///   m = (Ixx + Iyy)/2, d = sqrt(((Ixx - Iyy)/2)^2 + Ixy^2), lambda2 = m + sign(m) d,
///   lambda1 = m - sign(m) d;
/// - R_B = lambda1 / lambda2 (eq. 15 for 2-D), S = ||H||_F = sqrt(lambda1^2 + lambda2^2) (eq. 12);
/// - V_sigma = 0 if lambda2 has the wrong sign for the polarity (lambda2 < 0 for dark
///   vessels, > 0 for bright), else exp(-R_B^2 / (2 beta^2)) (1 - exp(-S^2 / (2 c^2))) (eq. 15).
/// The output is max over sigma of V_sigma (eq. 14) and the arg-max sigma.
///
/// Radius cue: with sigma^2 normalisation the centre response of a bar of half-width r (flat
/// profile) is proportional to (r / sigma) exp(-r^2 / 2 sigma^2), maximal at sigma = r; for a
/// cylinder-projected tube of radius r (chord profile 2 sqrt(r^2 - d^2)) the best sigma is
/// about 0.85 r (measured on r = 2...11 px by `VesselnessTests.testBestScaleTracksRadius`),
/// so r ~ 1.18 x bestScale, within the resolution of the scale grid.
///
/// Numerical contract: the response lies in [0, 1); it is invariant (up to float rounding)
/// to adding a constant to the image (derivatives) and, with the automatic c, to multiplying
/// it by a positive constant; `.brightOnDark` on -I equals `.darkOnBright` on I. Results are
/// bitwise identical for any `threads` value. The exponential is a vectorised polynomial
/// (relative error ~1e-7, `FastMath.expNonPositive`).
public enum Vesselness {
    public static func frangi(_ image: GrayImage, parameters: VesselnessParameters,
                              threads: Int? = nil) -> VesselnessResult {
        let width = image.width, height = image.height
        // Ascending order: the scale space is built as a cascade and ties keep the finest scale.
        let scales = parameters.scales.filter { $0.isFinite && $0 > 0 }.sorted()
        let beta = (parameters.beta.isFinite && parameters.beta > 0) ? parameters.beta : 0.5
        let empty = GrayImage(width: width, height: height)
        guard !image.isEmpty, !scales.isEmpty else {
            return VesselnessResult(response: empty, bestScale: empty, gamma: parameters.gamma ?? 1)
        }
        let threadCount = RowBands.threadCount(threads)
        let pixelCount = image.count
        let smoothed = UnsafeMutableBufferPointer<Float>.allocate(capacity: pixelCount * scales.count)
        let temporary = UnsafeMutableBufferPointer<Float>.allocate(capacity: pixelCount)
        defer { smoothed.deallocate(); temporary.deallocate() }

        // 1. Scale space: one separable Gaussian per scale. Derivatives ignore a constant, so
        //    the centre pixel's value is subtracted first: large baselines (e.g. 16-bit data
        //    around 30000) then cost no Float precision, and I + b gives nearly the same bits.
        //    Cascade (semigroup property of the Gaussian): level k is level k-1 smoothed by
        //    sqrt(sigma_k^2 - sigma_(k-1)^2), so the large scales cost fewer taps (1,2,3,4:
        //    31 instead of 40 taps per pass). Each incremental kernel is truncated at 4 sigma.
        // 2. Automatic c: half the maximum Frobenius norm over all scales. The squared norm of
        //    row y - 1 is taken as soon as the vertical pass has written row y (still in
        //    cache); the first and last row of each band, whose neighbours belong to another
        //    band, are done after the pass. Max is exact, so the band split cannot change it.
        let baseline = image.pixels[pixelCount / 2].isFinite ? image.pixels[pixelCount / 2] : 0
        let sign: Float = parameters.polarity == .darkOnBright ? 1 : -1
        let factors = scales.map { sign * Float(pow($0, 2 * parameters.scaleNormalizationExponent)) }
        let sigmas = scales.map { Float($0) }
        let automaticGamma = !(parameters.gamma.map { $0.isFinite && $0 > 0 } ?? false)
        var maximumSquaredNorm: Float = 0
        nonisolated(unsafe) let tmp = temporary.baseAddress!
        image.pixels.withUnsafeBufferPointer { source in
            for (index, sigma) in scales.enumerated() {
                let previous = index == 0 ? 0 : scales[index - 1]
                nonisolated(unsafe) let input = index == 0 ? source.baseAddress!
                    : UnsafePointer(smoothed.baseAddress! + (index - 1) * pixelCount)
                nonisolated(unsafe) let level = smoothed.baseAddress! + index * pixelCount
                let kernel = GaussianBlur.kernel(sigma: (sigma * sigma - previous * previous).squareRoot())
                let offset: Float = index == 0 ? baseline : 0
                let factor = factors[index]
                guard kernel.radius > 0 else {
                    GaussianBlur.separableBlur(source: input, temporary: tmp, destination: level, width: width,
                                               height: height, kernel: kernel, threads: threadCount, offset: offset)
                    if automaticGamma {
                        maximumSquaredNorm = max(maximumSquaredNorm, HessianRows.maximumSquaredNorm(
                            level: level, factor: factor, width: width, height: height, rows: 0..<height))
                    }
                    continue
                }
                RowBands.forEachBand(rows: height, threads: threadCount) { rows in
                    GaussianBlur.horizontalPass(source: input, destination: tmp, width: width, rows: rows,
                                                kernel: kernel, offset: offset)
                }
                let bandMaxima = RowBands.mapBands(rows: height, threads: threadCount) { rows -> Float in
                    guard automaticGamma else {
                        GaussianBlur.verticalPass(source: tmp, destination: level, width: width, height: height,
                                                  rows: rows, kernel: kernel)
                        return 0
                    }
                    let scratch = HessianRows.Scratch(width: width)
                    defer { scratch.free() }
                    var best: Float = 0
                    GaussianBlur.verticalPass(source: tmp, destination: level, width: width, height: height,
                                              rows: rows, kernel: kernel) { y in
                        let row = y - 1
                        guard row > rows.lowerBound else { return }
                        best = max(best, HessianRows.squaredNormRowMaximum(level: level, factor: factor, width: width,
                                                                           height: height, y: row, scratch: scratch))
                    }
                    return best
                }
                if automaticGamma {
                    maximumSquaredNorm = max(maximumSquaredNorm, bandMaxima.max() ?? 0)
                    let edges = RowBands.bands(rows: height, threads: threadCount).flatMap { [$0.lowerBound, $0.upperBound - 1] }
                    let scratch = HessianRows.Scratch(width: width)
                    for row in Set(edges).sorted() {
                        maximumSquaredNorm = max(maximumSquaredNorm, HessianRows.squaredNormRowMaximum(
                            level: level, factor: factor, width: width, height: height, y: row, scratch: scratch))
                    }
                    scratch.free()
                }
            }
        }
        nonisolated(unsafe) let levels = UnsafePointer(smoothed.baseAddress!)
        let c: Double
        if let given = parameters.gamma, given.isFinite, given > 0 {
            c = given
        } else {
            let maxNorm = Double(maximumSquaredNorm).squareRoot() / 2
            c = maxNorm > 0 && maxNorm.isFinite ? maxNorm : 1
        }

        // 3. Fused Hessian + eigenvalues + V + max over scales, per row band.
        var response = [Float](repeating: 0, count: pixelCount)
        var bestScale = [Float](repeating: 0, count: pixelCount)
        let blobness = Float(-1 / (2 * beta * beta))
        let structureness = Float(-1 / (2 * c * c))
        response.withUnsafeMutableBufferPointer { responseBuffer in
            bestScale.withUnsafeMutableBufferPointer { scaleBuffer in
                nonisolated(unsafe) let responseOut = responseBuffer.baseAddress!
                nonisolated(unsafe) let scaleOut = scaleBuffer.baseAddress!
                RowBands.forEachBand(rows: height, threads: threadCount) { rows in
                    HessianRows.frangiRows(levels: levels, scaleCount: scales.count, factors: factors,
                                           sigmas: sigmas, blobness: blobness, structureness: structureness,
                                           width: width, height: height, rows: rows,
                                           response: responseOut, bestScale: scaleOut)
                }
            }
        }
        return VesselnessResult(response: GrayImage(width: width, height: height, pixels: response),
                                bestScale: GrayImage(width: width, height: height, pixels: bestScale),
                                gamma: c)
    }
}

/// Row-wise Hessian kernels shared by the vesselness passes.
enum HessianRows {
    /// Scratch rows for one worker: Ixx, Ixy, Iyy padded to a multiple of 8 lanes.
    struct Scratch {
        let paddedWidth: Int
        let xx: UnsafeMutablePointer<Float>
        let xy: UnsafeMutablePointer<Float>
        let yy: UnsafeMutablePointer<Float>
        init(width: Int) {
            paddedWidth = (width + 7) / 8 * 8
            xx = .allocate(capacity: paddedWidth); xx.initialize(repeating: 0, count: paddedWidth)
            xy = .allocate(capacity: paddedWidth); xy.initialize(repeating: 0, count: paddedWidth)
            yy = .allocate(capacity: paddedWidth); yy.initialize(repeating: 0, count: paddedWidth)
        }
        func free() { xx.deallocate(); xy.deallocate(); yy.deallocate() }
    }

    /// Finite-difference Hessian of row `y` of the smoothed image `level` (reflective
    /// boundary: the sample beyond the edge repeats the edge sample), times `factor`.
    @inline(__always)
    static func hessianRow(level: UnsafePointer<Float>, width: Int, height: Int, y: Int,
                           factor: Float, scratch: Scratch) {
        let centre = level + y * width
        let up = level + (y > 0 ? y - 1 : 0) * width
        let down = level + (y + 1 < height ? y + 1 : height - 1) * width
        // Edges (x = 0 and x = width - 1) and any tail are handled by the scalar form.
        @inline(__always) func scalar(_ x: Int) {
            let left = x > 0 ? x - 1 : 0, right = x + 1 < width ? x + 1 : width - 1
            let c = centre[x]
            scratch.xx[x] = (centre[right] - 2 * c + centre[left]) * factor
            scratch.yy[x] = (down[x] - 2 * c + up[x]) * factor
            scratch.xy[x] = ((down[right] - down[left]) - (up[right] - up[left])) * 0.25 * factor
        }
        scalar(0)
        var x = 1
        while x + 9 <= width {
            let c = UnsafeRawPointer(centre + x).loadUnaligned(as: SIMD8<Float>.self)
            let l = UnsafeRawPointer(centre + x - 1).loadUnaligned(as: SIMD8<Float>.self)
            let r = UnsafeRawPointer(centre + x + 1).loadUnaligned(as: SIMD8<Float>.self)
            let u = UnsafeRawPointer(up + x).loadUnaligned(as: SIMD8<Float>.self)
            let d = UnsafeRawPointer(down + x).loadUnaligned(as: SIMD8<Float>.self)
            let ul = UnsafeRawPointer(up + x - 1).loadUnaligned(as: SIMD8<Float>.self)
            let ur = UnsafeRawPointer(up + x + 1).loadUnaligned(as: SIMD8<Float>.self)
            let dl = UnsafeRawPointer(down + x - 1).loadUnaligned(as: SIMD8<Float>.self)
            let dr = UnsafeRawPointer(down + x + 1).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scratch.xx + x).storeBytes(of: (r - 2 * c + l) * factor, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scratch.yy + x).storeBytes(of: (d - 2 * c + u) * factor, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(scratch.xy + x).storeBytes(of: ((dr - dl) - (ur - ul)) * 0.25 * factor,
                                                               as: SIMD8<Float>.self)
            x += 8
        }
        while x < width { scalar(x); x += 1 }
    }

    /// Largest squared Frobenius norm Ixx^2 + 2 Ixy^2 + Iyy^2 of row `y` of one level.
    static func squaredNormRowMaximum(level: UnsafePointer<Float>, factor: Float, width: Int, height: Int,
                                      y: Int, scratch: Scratch) -> Float {
        hessianRow(level: level, width: width, height: height, y: y, factor: factor, scratch: scratch)
        var best = SIMD8<Float>(repeating: 0)
        var x = 0
        while x < scratch.paddedWidth {
            let a = UnsafeRawPointer(scratch.xx + x).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(scratch.xy + x).loadUnaligned(as: SIMD8<Float>.self)
            let c = UnsafeRawPointer(scratch.yy + x).loadUnaligned(as: SIMD8<Float>.self)
            let norm = a * a + 2 * b * b + c * c
            best = best.replacing(with: norm, where: norm .> best)
            x += 8
        }
        return best.max()
    }

    /// Largest squared Frobenius norm over rows `rows` of one level.
    static func maximumSquaredNorm(level: UnsafePointer<Float>, factor: Float, width: Int, height: Int,
                                   rows: Range<Int>) -> Float {
        let scratch = Scratch(width: width)
        defer { scratch.free() }
        var best: Float = 0
        for y in rows {
            best = max(best, squaredNormRowMaximum(level: level, factor: factor, width: width, height: height,
                                                   y: y, scratch: scratch))
        }
        return best
    }

    /// V per scale and max over scales for rows `rows` (see `Vesselness` for the formulas).
    static func frangiRows(levels: UnsafePointer<Float>, scaleCount: Int, factors: [Float], sigmas: [Float],
                           blobness: Float, structureness: Float, width: Int, height: Int, rows: Range<Int>,
                           response: UnsafeMutablePointer<Float>, bestScale: UnsafeMutablePointer<Float>) {
        let scratch = Scratch(width: width)
        let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: scratch.paddedWidth)
        let rowScale = UnsafeMutablePointer<Float>.allocate(capacity: scratch.paddedWidth)
        defer { scratch.free(); rowMax.deallocate(); rowScale.deallocate() }
        for y in rows {
            rowMax.initialize(repeating: 0, count: scratch.paddedWidth)
            rowScale.initialize(repeating: 0, count: scratch.paddedWidth)
            for s in 0..<scaleCount {
                hessianRow(level: levels + s * width * height, width: width, height: height, y: y,
                           factor: factors[s], scratch: scratch)
                let sigma = SIMD8<Float>(repeating: sigmas[s])
                var x = 0
                while x < scratch.paddedWidth {
                    let a = UnsafeRawPointer(scratch.xx + x).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(scratch.xy + x).loadUnaligned(as: SIMD8<Float>.self)
                    let c = UnsafeRawPointer(scratch.yy + x).loadUnaligned(as: SIMD8<Float>.self)
                    let v = frangiMeasure(xx: a, xy: b, yy: c, blobness: blobness, structureness: structureness)
                    let current = UnsafeRawPointer(rowMax + x).loadUnaligned(as: SIMD8<Float>.self)
                    let better = v .> current
                    UnsafeMutableRawPointer(rowMax + x).storeBytes(of: current.replacing(with: v, where: better),
                                                                    as: SIMD8<Float>.self)
                    let scale = UnsafeRawPointer(rowScale + x).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(rowScale + x).storeBytes(of: scale.replacing(with: sigma, where: better),
                                                                      as: SIMD8<Float>.self)
                    x += 8
                }
            }
            (response + y * width).update(from: rowMax, count: width)
            (bestScale + y * width).update(from: rowScale, count: width)
        }
    }

    /// Frangi's 2-D measure (eq. 15) for eight pixels, dark-ridge convention (lambda2 > 0).
    /// `blobness` = -1/(2 beta^2), `structureness` = -1/(2 c^2).
    @inline(__always)
    static func frangiMeasure(xx: SIMD8<Float>, xy: SIMD8<Float>, yy: SIMD8<Float>,
                              blobness: Float, structureness: Float) -> SIMD8<Float> {
        let mean = (xx + yy) * 0.5
        // mean > 0 <=> the eigenvalue of largest magnitude is lambda2 = mean + spread > 0.
        let valid = mean .> 0
        let half = (xx - yy) * 0.5
        let spread = (half * half + xy * xy).squareRoot()
        let lambda2 = mean + spread
        let lambda1 = mean - spread
        let safeLambda2 = lambda2.replacing(with: 1, where: .!valid)
        let ratio = lambda1 / safeLambda2                     // R_B
        let normSquared = xx * xx + 2 * xy * xy + yy * yy     // S^2
        let blob = FastMath.expNonPositive(ratio * ratio * blobness)
        let structure = 1 - FastMath.expNonPositive(normSquared * structureness)
        return (blob * structure).replacing(with: 0, where: .!valid)
    }
}
