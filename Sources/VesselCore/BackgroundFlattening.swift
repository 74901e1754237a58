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
/// 2. B is a robust local-linear Gaussian-weighted fit (sigma = radius / f on the small image,
///    `LocalLinearFit`: reproduces linear trends exactly, also at the border) with weights
///    w = 1 except on outliers |I - B| > 2.5 robust sigma (vessels, catheter, bright lung),
///    re-estimated three times (iteratively reweighted), so vessels do not pull the
///    background towards them.
/// 3. The local contrast s is the normalised-convolution Gaussian (sigma = 2 radius) of
///    |I - B| over inliers, times 1.2533 (|N(0, s^2)| has mean s sqrt(2/pi)), floored at
///    1/4 of its median so flat (collimated, saturated) areas are not amplified.
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

    public static func flatten(_ image: GrayImage, radius: Double, threads: Int?) -> GrayImage {
        guard !image.isEmpty else { return image }
        let safeRadius = radius.isFinite ? max(2, radius) : 30
        let factor = max(1, Int(safeRadius / 4))
        let cleaned = image.mapped { $0.isFinite ? $0 : 0 }
        let small = cleaned.downsampled(by: factor)
        let validSmall = image.mapped { $0.isFinite ? 1 : 0 }.downsampled(by: factor).pixels.map { $0 > 0.999 }
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
        // Local contrast: mean |residual| of inliers (local constant fit = normalised convolution).
        let absoluteResidual = zip(values, background).map { abs($0 - $1) }
        var contrast = LocalLinearFit(width: small.width, height: small.height, sigma: 2 * sigmaSmall)
            .fit(absoluteResidual, weights: weights, order: 0)
        let sortedContrast = contrast.filter { $0 > 0 }.sorted()
        let floor = sortedContrast.isEmpty ? 1 : max(1e-12, sortedContrast[sortedContrast.count / 2] * 0.25)
        // |N(0, s^2)| has mean s sqrt(2/pi): 1.2533 turns the mean absolute residual into s.
        contrast = contrast.map { max($0, floor) * 1.2533 }

        let fullBackground = GrayImage(width: small.width, height: small.height, pixels: background.map { Float($0) })
            .resampledBilinear(width: image.width, height: image.height)
        let fullContrast = GrayImage(width: small.width, height: small.height, pixels: contrast.map { Float($0) })
            .resampledBilinear(width: image.width, height: image.height)
        var out = [Float](repeating: 0, count: image.count)
        for i in out.indices { out[i] = (cleaned.pixels[i] - fullBackground.pixels[i]) / fullContrast.pixels[i] }
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
/// Knutsson & Westin 1993), in Double precision on small images.
///
/// Order 1 fits b(x) = a0 + a1 (x' - x) + a2 (y' - y) around every pixel by weighted least
/// squares with weights w(x') G_sigma(x' - x); a linear trend is reproduced exactly, also at the
/// image border where a plain Gaussian would be biased. Order 0 is the normalised
/// convolution G * (w f) / G * w. Where the window holds too little weight (or the 3x3 system
/// is singular) it falls back to order 0, then to the plain Gaussian of f.
struct LocalLinearFit {
    let width: Int
    let height: Int
    let sigma: Double

    func fit(_ values: [Double], weights: [Double], order: Int = 1) -> [Double] {
        let n = width * height
        let xs = (0..<n).map { Double($0 % width) }, ys = (0..<n).map { Double($0 / width) }
        func g(_ f: (Int) -> Double) -> [Double] { blur((0..<n).map(f)) }
        let s0 = g { weights[$0] }
        let sf = g { weights[$0] * values[$0] }
        let plain = blur(values)
        guard order >= 1 else {
            return (0..<n).map { s0[$0] > 1e-4 ? sf[$0] / s0[$0] : plain[$0] }
        }
        let sx = g { weights[$0] * xs[$0] }, sy = g { weights[$0] * ys[$0] }
        let sxx = g { weights[$0] * xs[$0] * xs[$0] }, sxy = g { weights[$0] * xs[$0] * ys[$0] }
        let syy = g { weights[$0] * ys[$0] * ys[$0] }
        let sxf = g { weights[$0] * xs[$0] * values[$0] }, syf = g { weights[$0] * ys[$0] * values[$0] }
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            guard s0[i] > 1e-4 else { out[i] = plain[i]; continue }
            // Moments about the pixel itself (x' - x), from the global ones.
            let x = xs[i], y = ys[i], w = s0[i]
            let mx = sx[i] - x * w, my = sy[i] - y * w
            let mxx = sxx[i] - 2 * x * sx[i] + x * x * w
            let mxy = sxy[i] - x * sy[i] - y * sx[i] + x * y * w
            let myy = syy[i] - 2 * y * sy[i] + y * y * w
            let bf = sf[i], bx = sxf[i] - x * sf[i], by = syf[i] - y * sf[i]
            // Solve [[w, mx, my], [mx, mxx, mxy], [my, mxy, myy]] a = [bf, bx, by] for a0 (Cramer).
            let det = w * (mxx * myy - mxy * mxy) - mx * (mx * myy - mxy * my) + my * (mx * mxy - mxx * my)
            let scale = w * mxx * myy
            if abs(det) > 1e-9 * max(abs(scale), 1e-300) {
                let detA0 = bf * (mxx * myy - mxy * mxy) - mx * (bx * myy - mxy * by) + my * (bx * mxy - mxx * by)
                out[i] = detA0 / det
            } else {
                out[i] = bf / w
            }
        }
        return out
    }

    /// Separable Gaussian, truncated at 3 sigma, half-sample symmetric boundary, Double.
    func blur(_ values: [Double]) -> [Double] {
        let radius = max(1, Int(3 * sigma + 0.5))
        var taps = (0...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = taps[0] + 2 * taps.dropFirst().reduce(0, +)
        taps = taps.map { $0 / total }
        var temporary = [Double](repeating: 0, count: values.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = values[y * width + x] * taps[0]
                for k in 1...radius {
                    acc += (values[y * width + GaussianBlur.reflect(x - k, width)]
                            + values[y * width + GaussianBlur.reflect(x + k, width)]) * taps[k]
                }
                temporary[y * width + x] = acc
            }
        }
        var out = [Double](repeating: 0, count: values.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = temporary[y * width + x] * taps[0]
                for k in 1...radius {
                    acc += (temporary[GaussianBlur.reflect(y - k, height) * width + x]
                            + temporary[GaussianBlur.reflect(y + k, height) * width + x]) * taps[k]
                }
                out[y * width + x] = acc
            }
        }
        return out
    }
}
