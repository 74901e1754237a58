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
/// 2. B is a robust, normalised-convolution Gaussian (sigma = radius / f on the small image):
///    B = G * (w I) / G * w with weights w = 1 except on outliers |I - B| > 2.5 robust sigma
///    (vessels, catheter, bright lung), re-estimated three times (iteratively reweighted),
///    so vessels do not pull the background towards them.
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

        var weights = validSmall.map { Float($0 ? 1 : 0) }
        var background = normalizedConvolution(small, weights: weights, sigma: sigmaSmall, threads: threads)
        for _ in 0..<3 {
            let residual = zip(small.pixels, background.pixels).map { $0 - $1 }
            let spread = robustSigma(residual, weights: weights)
            let limit = 2.5 * max(spread, 1e-12)
            for i in weights.indices { weights[i] = (validSmall[i] && abs(residual[i]) <= limit) ? 1 : 0 }
            background = normalizedConvolution(small, weights: weights, sigma: sigmaSmall, threads: threads)
        }
        let absoluteResidual = GrayImage(width: small.width, height: small.height,
                                         pixels: zip(small.pixels, background.pixels).map { abs($0 - $1) })
        var contrast = normalizedConvolution(absoluteResidual, weights: weights, sigma: 2 * sigmaSmall, threads: threads)
        let sortedContrast = contrast.pixels.filter { $0 > 0 }.sorted()
        let floor = sortedContrast.isEmpty ? 1 : max(1e-12, sortedContrast[sortedContrast.count / 2] * 0.25)
        contrast = contrast.mapped { max($0, floor) * 1.2533 }

        let fullBackground = background.resampledBilinear(width: image.width, height: image.height)
        let fullContrast = contrast.resampledBilinear(width: image.width, height: image.height)
        var out = [Float](repeating: 0, count: image.count)
        for i in out.indices { out[i] = (cleaned.pixels[i] - fullBackground.pixels[i]) / fullContrast.pixels[i] }
        return GrayImage(width: image.width, height: image.height, pixels: out)
    }

    /// G * (w I) / G * w; where the weights vanish over the whole kernel support the plain
    /// Gaussian of I is used.
    static func normalizedConvolution(_ image: GrayImage, weights: [Float], sigma: Double, threads: Int?) -> GrayImage {
        let weighted = GrayImage(width: image.width, height: image.height,
                                 pixels: zip(image.pixels, weights).map { $0 * $1 })
        let numerator = GaussianBlur.blur(weighted, sigma: sigma, threads: threads)
        let denominator = GaussianBlur.blur(GrayImage(width: image.width, height: image.height, pixels: weights),
                                            sigma: sigma, threads: threads)
        let needsFallback = denominator.pixels.contains { $0 <= 1e-4 }
        let plain = needsFallback ? GaussianBlur.blur(image, sigma: sigma, threads: threads) : image
        var out = [Float](repeating: 0, count: image.count)
        for i in out.indices {
            out[i] = denominator.pixels[i] > 1e-4 ? numerator.pixels[i] / denominator.pixels[i] : plain.pixels[i]
        }
        return GrayImage(width: image.width, height: image.height, pixels: out)
    }

    /// 1.4826 x median absolute value of the weighted samples (robust standard deviation).
    static func robustSigma(_ values: [Float], weights: [Float]) -> Float {
        var selected = [Float]()
        selected.reserveCapacity(values.count)
        for i in values.indices where weights[i] > 0 { selected.append(abs(values[i])) }
        if selected.isEmpty { selected = values.map { abs($0) } }
        guard !selected.isEmpty else { return 0 }
        let middle = selected.count / 2
        selected.sort()
        return 1.4826 * selected[middle]
    }
}
