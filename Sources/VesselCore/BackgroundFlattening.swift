import Foundation

/// Removes slowly varying background (illumination fall-off, overlapping soft tissue,
/// the global grey level) so that vessel detection sees only local contrast.
///
/// Model: I(x) = B(x) + s(x) * F(x), with B the background, s(x) a slowly varying noise /
/// contrast scale and F the structures narrower than `radius` (vessels, catheter). The output
/// is the estimate of F: about 0 on background, negative on dark vessels, in units of the local
/// robust noise spread.
///
/// Steps:
/// 1. B by the chosen `Method` (default: black top-hat, i.e. a grey-level closing that removes
///    dark structures narrower than 2 radius + 1 px and keeps steps; or a robust smooth fit).
/// 2. s: local robust spread of I - B (`localNoiseScale`, Gaussian window sigma = 2 radius,
///    computed on blocks of f = max(1, floor(radius / 4)) px).
/// 3. F = (I - B) / s, minus its median over the field (top-hat: removes the closing's noise
///    envelope offset).
///
/// Contract: the output is invariant (up to rounding) to I -> a I + b for a > 0 (a closing and a
/// median commute with increasing affine maps), and to adding background that varies on scales
/// much larger than `radius`. Structures narrower than about 2 `radius` survive. Non-finite
/// input samples and pixels outside `field` give 0.
public enum BackgroundFlattening {
    /// How the background B is estimated.
    public enum Method: String, Sendable, Codable {
        /// Black top-hat (default): B is the grey-level closing (max then min filter over a
        /// (2 radius + 1)^2 square, van Herk / Gil-Werman) of the image smoothed with a
        /// Gaussian of sigma 1 (so noise peaks do not lift it), plus a robust quadratic fit of
        /// the remaining smooth trend (the closing overshoots in background valleys).
        /// A closing removes exactly the dark structures narrower than the square and keeps
        /// steps (wedge filters, heart and diaphragm borders) as they are, so steps do not turn
        /// into dark bands in the output.
        case blackTopHat
        /// Robust local-quadratic Gaussian-weighted fit (sigma = radius), iteratively
        /// reweighted to ignore vessels (`LocalLinearFit`). Smooth, but a step becomes a
        /// bipolar band about `radius` wide.
        case robustQuadratic
    }

    public static func flatten(_ image: GrayImage, radius: Double) -> GrayImage {
        flatten(image, radius: radius, threads: nil)
    }

    /// `field`: optional exposed-field mask (`ExposureField.detect`); pixels outside it do not
    /// take part in the background and contrast estimates and come out as 0 (background), so
    /// the shutter edge does not look like a vessel. `polarity`: which structures are the
    /// foreground (the top-hat is taken on -I for bright vessels); the output keeps the input's
    /// polarity (dark vessels negative).
    public static func flatten(_ image: GrayImage, radius: Double, threads: Int?, field: BinaryMask? = nil,
                               polarity: Polarity = .darkOnBright, method: Method = .blackTopHat) -> GrayImage {
        guard !image.isEmpty else { return image }
        let safeRadius = radius.isFinite ? max(2, radius) : 30
        let factor = max(1, Int(safeRadius / 4))
        let validField = field.flatMap { $0.width == image.width && $0.height == image.height ? $0 : nil }
        @inline(__always) func inField(_ index: Int) -> Bool { validField.map { $0.bits[index] != 0 } ?? true }
        let cleaned = image.mapped { $0.isFinite ? $0 : 0 }
        var residual: [Float]
        switch method {
        case .blackTopHat:
            residual = topHatResidual(cleaned, radius: Int(safeRadius.rounded()), polarity: polarity,
                                      inField: inField, threads: threads)
        case .robustQuadratic:
            residual = quadraticResidual(cleaned, factor: factor, radius: safeRadius,
                                         valid: { image.pixels[$0].isFinite && inField($0) }, threads: threads)
        }
        for i in residual.indices where !image.pixels[i].isFinite || !inField(i) { residual[i] = .infinity }
        let scale = localNoiseScale(residual, width: image.width, height: image.height, factor: factor,
                                    sigma: 2 * safeRadius)
        var out = [Float](repeating: 0, count: image.count)
        for i in out.indices { out[i] = residual[i].isFinite ? residual[i] / scale[i] : 0 }
        if method == .blackTopHat {
            // The closing sits on the upper envelope of the (smoothed) noise: remove that
            // offset with the robust mode proxy (median of the field's output).
            var sample = [Float]()
            let step = max(1, out.count / 65_536)
            var index = 0
            while index < out.count { if residual[index].isFinite { sample.append(out[index]) }; index += step }
            sample.sort()
            let offset = sample.isEmpty ? 0 : sample[sample.count / 2]
            for i in out.indices where residual[i].isFinite { out[i] -= offset }
        }
        return GrayImage(width: image.width, height: image.height, pixels: out)
    }

    /// I - B with B the smoothed closing of the sigma-1 smoothed image (dark foreground; for
    /// bright foreground the same on -I, then negated back).
    static func topHatResidual(_ image: GrayImage, radius: Int, polarity: Polarity, inField: (Int) -> Bool,
                               threads: Int?) -> [Float] {
        let sign: Float = polarity == .darkOnBright ? 1 : -1
        var signed = image.mapped { $0 * sign }
        // Shutters: fill with the field's median so the closing does not see their edge.
        let inside = signed.pixels.indices.filter { inField($0) }
        if inside.count < signed.count, !inside.isEmpty {
            let step = max(1, inside.count / 65_536)
            var sample = [Float]()
            var k = 0
            while k < inside.count { sample.append(signed.pixels[inside[k]]); k += step }
            sample.sort()
            let fill = sample[sample.count / 2]
            for i in signed.pixels.indices where !inField(i) { signed.pixels[i] = fill }
        }
        let smoothed = GaussianBlur.blur(signed, sigma: 1, threads: threads)
        let closed = Morphology.closing(smoothed, radius: radius)
        // The closing overshoots in smooth background valleys (by ~ curvature x radius^2):
        // a robust quadratic fit of what is left takes that smooth trend out. Steps are
        // already gone, so the fit sees no edge.
        let topHat = GrayImage(width: image.width, height: image.height,
                               pixels: (0..<image.count).map { signed.pixels[$0] - closed.pixels[$0] })
        let detrended = quadraticResidual(topHat, factor: max(1, radius / 4), radius: Double(radius),
                                          valid: inField, threads: threads)
        return detrended.map { $0 * sign }
    }

    /// I - B with B the robust local-quadratic fit on the image box-averaged by `factor`.
    static func quadraticResidual(_ cleaned: GrayImage, factor: Int, radius: Double, valid: (Int) -> Bool,
                                  threads: Int?) -> [Float] {
        let small = cleaned.downsampled(by: factor)
        var validity = GrayImage(width: cleaned.width, height: cleaned.height)
        for i in validity.pixels.indices { validity.pixels[i] = valid(i) ? 1 : 0 }
        let validSmall = validity.downsampled(by: factor).pixels.map { $0 > 0.999 }
        let sigmaSmall = radius / Double(factor)
        let values = small.pixels.map { Double($0) }
        var weights = validSmall.map { $0 ? 1.0 : 0.0 }
        let fit = LocalLinearFit(width: small.width, height: small.height, sigma: sigmaSmall)
        var background = fit.fit(values, weights: weights)
        for _ in 0..<3 {
            let residual = zip(values, background).map { $0 - $1 }
            let spread = robustSigma(residual, weights: weights)
            let limit = 2.5 * max(spread, 1e-12)
            for i in weights.indices { weights[i] = (validSmall[i] && abs(residual[i]) <= limit) ? 1 : 0 }
            background = fit.fit(values, weights: weights)
        }
        let fullBackground = GrayImage(width: small.width, height: small.height, pixels: background.map { Float($0) })
            .resampledBilinear(width: cleaned.width, height: cleaned.height)
        return (0..<cleaned.count).map { cleaned.pixels[$0] - fullBackground.pixels[$0] }
    }

    /// Local robust noise scale of a residual (non-finite entries are excluded): the spread is
    /// measured at full resolution as the mean |r| of inliers (|r - median| <= 2.5 robust sigma)
    /// per factor x factor block, then a normalised convolution of the block means (Gaussian
    /// `sigma` px, weighted by inlier counts), times 1.2810 (the mean of |N(0, s^2)| truncated at
    /// 2.5 s is 0.7806 s), floored at 1/4 of its median so flat (collimated, saturated) areas
    /// are not amplified. Returned at full resolution (bilinear).
    static func localNoiseScale(_ residual: [Float], width: Int, height: Int, factor: Int, sigma: Double) -> [Float] {
        let smallWidth = (width + factor - 1) / factor, smallHeight = (height + factor - 1) / factor
        let step = Swift.max(1, residual.count / 65_536)
        var sample = [Double]()
        var index = 0
        while index < residual.count {
            if residual[index].isFinite { sample.append(Double(residual[index])) }
            index += step
        }
        sample.sort()
        let centre = sample.isEmpty ? 0 : sample[sample.count / 2]
        let deviations = sample.map { $0 - centre }
        let spread = Swift.max(robustSigma(deviations, weights: deviations.map { _ in 1 }), 1e-12)
        let limit = Float(2.5 * spread), middle = Float(centre)
        var blockSums = [Double](repeating: 0, count: smallWidth * smallHeight)
        var blockCounts = [Double](repeating: 0, count: smallWidth * smallHeight)
        for y in 0..<height {
            let blockRow = (y / factor) * smallWidth
            for x in 0..<width {
                let r = residual[y * width + x]
                guard r.isFinite else { continue }
                let deviation = abs(r - middle)
                if deviation <= limit { blockSums[blockRow + x / factor] += Double(deviation); blockCounts[blockRow + x / factor] += 1 }
            }
        }
        let blockMeans = (0..<blockSums.count).map { blockCounts[$0] > 0 ? blockSums[$0] / blockCounts[$0] : 0 }
        let blockWeights = (0..<blockSums.count).map { blockCounts[$0] / Double(factor * factor) }
        var contrast = LocalLinearFit(width: smallWidth, height: smallHeight, sigma: sigma / Double(factor))
            .fit(blockMeans, weights: blockWeights, order: 0)
        let sortedContrast = contrast.filter { $0 > 0 }.sorted()
        let floor = sortedContrast.isEmpty ? 1 : Swift.max(1e-12, sortedContrast[sortedContrast.count / 2] * 0.25)
        contrast = contrast.map { Swift.max($0, floor) * 1.2810 }
        return GrayImage(width: smallWidth, height: smallHeight, pixels: contrast.map { Float($0) })
            .resampledBilinear(width: width, height: height).pixels
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
