import Foundation

/// Removes slowly varying background (illumination fall-off, overlapping soft tissue,
/// the global grey level) so that vessel detection sees only local contrast.
///
/// Model: I(x) = B(x) + s(x) * F(x), with B a smooth background, s(x) a slowly varying
/// contrast scale and F the structures narrower than `radius`. The output is the estimate
/// of F: about 0 on background, negative on dark vessels, in units of the local robust
/// contrast (the spread of the residual around each point).
///
/// Steps:
/// 1. For speed the image is box-averaged by f = max(1, floor(radius / 4)) (the background is
///    smooth at that scale).
/// 2. B is a robust local-quadratic Gaussian-weighted fit (sigma = radius / f on the small
///    image, `LocalLinearFit`: reproduces quadratic trends exactly, also at the border) with weights
///    w = 1 except on outliers |I - B| > 2.5 robust sigma (vessels, catheter, bright lung),
///    re-estimated three times (iteratively reweighted), so vessels do not pull the
///    background towards them.
/// 3. The local contrast s is the normalised-convolution Gaussian (sigma = 2 radius) of the
///    full-resolution |I - B| over inliers (|I - B| <= 2.5 robust sigma), times 1.2810 (the
///    mean of |N(0, s^2)| truncated at 2.5 s is 0.7806 s), floored at 1/4 of its median so
///    flat (collimated, saturated) areas are not amplified.
/// 4. B and s are bilinearly upsampled and F = (I - B) / s.
///
/// Contract: the output is invariant (up to rounding) to I -> a I + b for a > 0, and to adding
/// any background that varies on scales much larger than `radius`. Structures narrower than
/// about `radius` survive; wider ones are partly absorbed into B. Non-finite input samples are
/// treated as outliers.
public enum BackgroundFlattening {
    public static func flatten(_ image: GrayImage, radius: Double) -> GrayImage {
        flatten(image, radius: radius, threads: nil)
    }

    /// `field`: optional exposed-field mask (`ExposureField.detect`); pixels outside it do not
    /// take part in the background and contrast estimates and come out as 0 (background), so
    /// the shutter edge does not look like a vessel.
    public static func flatten(_ image: GrayImage, radius: Double, threads: Int?, field: BinaryMask? = nil) -> GrayImage {
        guard !image.isEmpty else { return image }
        let safeRadius = radius.isFinite ? max(2, radius) : 30
        let factor = max(1, Int(safeRadius / 4))
        let inField: (Int) -> Bool = { index in
            guard let field, field.width == image.width, field.height == image.height else { return true }
            return field.bits[index] != 0
        }
        let cleaned = image.mapped { $0.isFinite ? $0 : 0 }
        let small = cleaned.downsampled(by: factor)
        var validity = GrayImage(width: image.width, height: image.height)
        for i in validity.pixels.indices { validity.pixels[i] = (image.pixels[i].isFinite && inField(i)) ? 1 : 0 }
        let validSmall = validity.downsampled(by: factor).pixels.map { $0 > 0.999 }
        let sigmaSmall = safeRadius / Double(factor)
        let values = small.pixels.map { Double($0) }

        var weights = validSmall.map { $0 ? 1.0 : 0.0 }
        var background = LocalLinearFit(width: small.width, height: small.height, sigma: sigmaSmall)
            .fit(values, weights: weights)
        for _ in 0..<3 {
            let residual = zip(values, background).map { $0 - $1 }
            let spread = robustSigma(residual, weights: weights)
            let limit = 2.5 * max(spread, 1e-12)
            for i in weights.indices { weights[i] = (validSmall[i] && abs(residual[i]) <= limit) ? 1 : 0 }
            background = LocalLinearFit(width: small.width, height: small.height, sigma: sigmaSmall)
                .fit(values, weights: weights)
        }
        // Local contrast at full resolution (noise is averaged away on the small image):
        // mean |I - B| of inliers (|I - B| <= 2.5 robust sigma) per block, then a normalised
        // convolution of the block means weighted by their inlier counts.
        let fullBackground = GrayImage(width: small.width, height: small.height, pixels: background.map { Float($0) })
            .resampledBilinear(width: image.width, height: image.height)
        var residual = [Float](repeating: 0, count: image.count)
        for i in residual.indices { residual[i] = cleaned.pixels[i] - fullBackground.pixels[i] }
        let strideSample = Swift.max(1, residual.count / 262_144)
        var sample = [Double]()
        var index = 0
        while index < residual.count {
            if residual[index].isFinite && inField(index) { sample.append(Double(residual[index])) }
            index += strideSample
        }
        let fullSpread = Swift.max(robustSigma(sample, weights: sample.map { _ in 1 }), 1e-12)
        let limit = Float(2.5 * fullSpread)
        for i in residual.indices where !inField(i) { residual[i] = .infinity } // excluded below
        var blockSums = [Double](repeating: 0, count: small.count), blockCounts = [Double](repeating: 0, count: small.count)
        for y in 0..<image.height {
            let blockRow = (y / factor) * small.width
            for x in 0..<image.width {
                let r = abs(residual[y * image.width + x])
                if r <= limit { blockSums[blockRow + x / factor] += Double(r); blockCounts[blockRow + x / factor] += 1 }
            }
        }
        let blockMeans = (0..<small.count).map { blockCounts[$0] > 0 ? blockSums[$0] / blockCounts[$0] : 0 }
        let blockWeights = (0..<small.count).map { blockCounts[$0] / Double(factor * factor) }
        var contrast = LocalLinearFit(width: small.width, height: small.height, sigma: 2 * sigmaSmall)
            .fit(blockMeans, weights: blockWeights, order: 0)
        let sortedContrast = contrast.filter { $0 > 0 }.sorted()
        let floor = sortedContrast.isEmpty ? 1 : Swift.max(1e-12, sortedContrast[sortedContrast.count / 2] * 0.25)
        // |N(0, s^2)| truncated at 2.5 s has mean 0.7806 s: this factor turns it into s.
        contrast = contrast.map { Swift.max($0, floor) * 1.2810 }
        let fullContrast = GrayImage(width: small.width, height: small.height, pixels: contrast.map { Float($0) })
            .resampledBilinear(width: image.width, height: image.height)
        var out = [Float](repeating: 0, count: image.count)
        for i in out.indices { out[i] = residual[i].isFinite ? residual[i] / fullContrast.pixels[i] : 0 }
        return GrayImage(width: image.width, height: image.height, pixels: out)
    }

    /// 1.4826 x median absolute value of the weighted samples (robust standard deviation).
    static func robustSigma(_ values: [Double], weights: [Double]) -> Double {
        var selected = [Double]()
        selected.reserveCapacity(values.count)
        for i in values.indices where weights[i] > 0 { selected.append(abs(values[i])) }
        if selected.isEmpty { selected = values.map { abs($0) } }
        guard !selected.isEmpty else { return 0 }
        selected.sort()
        return 1.4826 * selected[selected.count / 2]
    }
}

/// Weighted local polynomial regression with a Gaussian window (normalised convolution,
/// Knutsson & Westin 1993; Farneback's polynomial expansion), in Double precision on small
/// images.
///
/// Around every pixel x it fits b(x + u) = sum of c_ab u^a v^b (a + b <= order) by weighted
/// least squares with weights w(x + u) G_sigma(u) and returns c_00. The moments
/// sum w G u^a v^b and sum w f G u^a v^b are separable correlations with the kernels
/// G(u) u^a, so no large-coordinate cancellation occurs. Order 2 (default) reproduces
/// quadratic backgrounds exactly, also at the border where a plain Gaussian is biased; where
/// the window holds too little weight or the normal equations are singular it falls back to
/// order 1, then 0 (the normalised convolution G * (w f) / G * w), then the plain Gaussian of f.
/// Boundary: the window is truncated (no reflection: mirrored data would bend the trend).
struct LocalLinearFit {
    let width: Int
    let height: Int
    let sigma: Double

    func fit(_ values: [Double], weights: [Double], order: Int = 2) -> [Double] {
        let n = width * height
        let radius = max(1, Int(3 * sigma + 0.5))
        let maxPower = 2 * max(0, min(order, 2))
        // kernels[a][u + radius] = G(u) u^a
        let gaussian = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let kernels = (0...maxPower).map { a in (-radius...radius).enumerated().map { gaussian[$0.offset] * pow(Double($0.element), Double(a)) } }
        let weighted = (0..<n).map { weights[$0] * values[$0] }
        // Exponent pairs of the basis, in order of increasing degree.
        let basis: [(Int, Int)] = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
        var weightMoments = [[[Double]]](repeating: [[Double]](repeating: [], count: maxPower + 1), count: maxPower + 1)
        for a in 0...maxPower { for b in 0...(maxPower - a) {
            weightMoments[a][b] = correlate(weights, kernelX: kernels[a], kernelY: kernels[b], radius: radius)
        } }
        let dataDegree = maxPower / 2
        var dataMoments = [[[Double]]](repeating: [[Double]](repeating: [], count: dataDegree + 1), count: dataDegree + 1)
        for a in 0...dataDegree { for b in 0...(dataDegree - a) {
            dataMoments[a][b] = correlate(weighted, kernelX: kernels[a], kernelY: kernels[b], radius: radius)
        } }
        let plainSum = correlate(values, kernelX: kernels[0], kernelY: kernels[0], radius: radius)
        let mass = correlate([Double](repeating: 1, count: n), kernelX: kernels[0], kernelY: kernels[0], radius: radius)
        let plain = (0..<n).map { plainSum[$0] / max(mass[$0], 1e-300) }
        let total = gaussian.reduce(0, +) * gaussian.reduce(0, +)
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let w = weightMoments[0][0][i]
            guard w > 1e-4 * total else { out[i] = plain[i]; continue }
            var solved: Double?
            for degree in stride(from: dataDegree, through: 1, by: -1) {
                let terms = degree == 2 ? 6 : 3
                if w < Double(terms) * 0.5 * total / Double(2 * radius + 1) { continue } // too little support
                var matrix = [Double](repeating: 0, count: terms * terms)
                var rhs = [Double](repeating: 0, count: terms)
                for r in 0..<terms {
                    rhs[r] = dataMoments[basis[r].0][basis[r].1][i]
                    for c in 0..<terms {
                        matrix[r * terms + c] = weightMoments[basis[r].0 + basis[c].0][basis[r].1 + basis[c].1][i]
                    }
                }
                if let value = Self.solveFirst(&matrix, &rhs, size: terms) { solved = value; break }
            }
            out[i] = solved ?? dataMoments[0][0][i] / w
        }
        return out
    }

    /// Gaussian elimination with partial pivoting; returns the first unknown, nil if singular.
    static func solveFirst(_ matrix: inout [Double], _ rhs: inout [Double], size: Int) -> Double? {
        let scale = (0..<size).map { abs(matrix[$0 * size + $0]) }.max() ?? 0
        guard scale > 0 else { return nil }
        for column in 0..<size {
            var pivot = column
            for row in (column + 1)..<size where abs(matrix[row * size + column]) > abs(matrix[pivot * size + column]) { pivot = row }
            guard abs(matrix[pivot * size + column]) > 1e-10 * scale else { return nil }
            if pivot != column {
                for c in 0..<size { matrix.swapAt(pivot * size + c, column * size + c) }
                rhs.swapAt(pivot, column)
            }
            for row in (column + 1)..<size {
                let factor = matrix[row * size + column] / matrix[column * size + column]
                if factor == 0 { continue }
                for c in column..<size { matrix[row * size + c] -= factor * matrix[column * size + c] }
                rhs[row] -= factor * rhs[column]
            }
        }
        var solution = [Double](repeating: 0, count: size)
        for row in stride(from: size - 1, through: 0, by: -1) {
            var acc = rhs[row]
            for c in (row + 1)..<size { acc -= matrix[row * size + c] * solution[c] }
            solution[row] = acc / matrix[row * size + row]
        }
        return solution[0].isFinite ? solution[0] : nil
    }

    /// out(x, y) = sum_u sum_v kx(u) ky(v) f(x + u, y + v) over the image only (the window is
    /// truncated at the border: samples outside carry zero weight, which is what makes the
    /// polynomial fit unbiased there).
    func correlate(_ values: [Double], kernelX: [Double], kernelY: [Double], radius: Int) -> [Double] {
        var temporary = [Double](repeating: 0, count: values.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = 0.0
                for u in max(-radius, -x)...min(radius, width - 1 - x) { acc += kernelX[u + radius] * values[y * width + x + u] }
                temporary[y * width + x] = acc
            }
        }
        var out = [Double](repeating: 0, count: values.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = 0.0
                for v in max(-radius, -y)...min(radius, height - 1 - y) { acc += kernelY[v + radius] * temporary[(y + v) * width + x] }
                out[y * width + x] = acc
            }
        }
        return out
    }
}
