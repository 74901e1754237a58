import Foundation
import VesselCore

/// Divides the image by an estimate of the background transmission under the vessels.
///
/// X-ray attenuation is multiplicative (Beer–Lambert): I = B · T_vessel, with B the
/// transmission through everything else (soft tissue, bone, diaphragm, detector gain). B is
/// estimated by normalised convolution (Knutsson & Westin 1993) of the image with the vessels
/// masked out: B = G_s * (I · w) / G_s * w, w = 0 on the dilated vessel mask, 1 elsewhere. It
/// interpolates the background under each vessel from both sides and along the vessel, so a
/// bone edge or the diaphragm crossing a vessel does not look like a change of lumen. Long
/// straight edges (bone cortex, collimator blades), which that kernel would smear, are modelled
/// across their line first (`StraightEdgeBackground`). The profile model keeps a linear
/// background term for what remains.
public enum BackgroundNormalization {
    /// Gaussian sigma (px) of the normalised convolution.
    public static let smoothingSigma = 8.0
    /// Dilation (px) of the vessel mask before excluding it (covers the blurred wall).
    public static let maskDilation = 4.0

    /// I / B, scaled so the background is about 1000 (keeps Float precision comfortable).
    /// Returns the image unchanged when the mask is empty or sizes differ.
    public static func normalize(_ image: GrayImage, vesselMask: BinaryMask, threads: Int? = nil) -> GrayImage {
        normalizeWithCurvature(image, vesselMask: vesselMask, threads: threads).image
    }

    /// `normalize`, plus the largest absolute eigenvalue of the Hessian of ln B per pixel
    /// (1/px²; 0 where the background is linear). Where it is large a background edge (bone,
    /// diaphragm) runs nearby: what the interpolation under the vessel missed there is not
    /// linear across a profile, which the lumen model's linear background cannot absorb
    /// (`VesselAnalyzer` then takes the contrast locally, see `QCAParameters.edgeContrastReach`).
    /// - Parameter straightEdges: model long straight background edges across their line
    ///   (`StraightEdgeBackground`); false: the normalised convolution alone.
    public static func normalizeWithCurvature(_ image: GrayImage, vesselMask: BinaryMask, threads: Int? = nil,
                                              straightEdges: Bool = true) -> (image: GrayImage, curvature: GrayImage?) {
        let result = normalizeWithEdges(image, vesselMask: vesselMask, threads: threads, straightEdges: straightEdges)
        return (result.image, result.curvature)
    }

    /// `normalizeWithCurvature`, with edges hidden under vessels (`HiddenEdgeFinder`) modelled
    /// too, and the visible straight edges found returned (so a hidden edge repeating one of
    /// them is not added twice).
    public static func normalizeWithEdges(_ image: GrayImage, vesselMask: BinaryMask, threads: Int? = nil,
                                          straightEdges: Bool = true, hidden: [HiddenEdge] = [])
        -> (image: GrayImage, curvature: GrayImage?, lines: [StraightEdgeLine]) {
        guard vesselMask.width == image.width, vesselMask.height == image.height, vesselMask.count > 0 else { return (image, nil, []) }
        let excluded = Morphology.disc(vesselMask, radius: maskDilation, grow: true)
        var weighted = GrayImage(width: image.width, height: image.height)
        var weights = GrayImage(width: image.width, height: image.height)
        for i in 0..<image.pixels.count where excluded.bits[i] == 0 && image.pixels[i].isFinite {
            weighted.pixels[i] = image.pixels[i]
            weights.pixels[i] = 1
        }
        var fallback = 0.0, fallbackCount = 0.0
        for i in 0..<image.pixels.count where weights.pixels[i] > 0 { fallback += Double(image.pixels[i]); fallbackCount += 1 }
        let meanBackground = fallbackCount > 0 ? Float(fallback / fallbackCount) : 1
        // A transmission ratio needs a positive background (signed or offset data: leave as is).
        guard meanBackground > 0 else { return (image, nil, []) }
        // Long straight background edges (bone cortex, collimator blades) are modelled across
        // their line instead of being smeared by the kernel (StraightEdgeBackground).
        if straightEdges, let edges = StraightEdgeBackground.logBackground(
            logImage: image.pixels.map { $0.isFinite && $0 > 0 ? log($0) : 0 }, unmasked: weights.pixels,
            width: image.width, height: image.height, smoothingSigma: smoothingSigma, hidden: hidden, threads: threads) {
            var result = image
            for i in 0..<image.pixels.count {
                let background = exp(edges.full[i])
                if background.isFinite && background > 0 { result.pixels[i] = 1000 * image.pixels[i] / background }
            }
            // The curvature map describes what is left for the profile's linear background:
            // the smooth part (the modelled edges are divided out).
            return (result, hessianMagnitude(edges.smooth, width: image.width, height: image.height),
                    edges.lines.map(StraightEdgeLine.init))
        }
        let background = normalizedConvolution(weighted, weights: weights, fallback: meanBackground, threads: threads)
        var result = image
        var logBackground = [Float](repeating: 0, count: image.pixels.count)
        for i in 0..<image.pixels.count {
            result.pixels[i] = 1000 * image.pixels[i] / background[i]
            logBackground[i] = log(background[i])
        }
        return (result, hessianMagnitude(logBackground, width: image.width, height: image.height), [])
    }

    /// Normalised convolution (Knutsson & Westin 1993) with a Gaussian of `sigma`:
    /// G * values / G * weights, `fallback` (> 0) where the weights vanish or the ratio is not
    /// a positive number.
    static func normalizedConvolution(_ values: GrayImage, weights: GrayImage, sigma: Double = smoothingSigma,
                                      fallback: Float, threads: Int?) -> [Float] {
        let numerator = GaussianBlur.blur(values, sigma: sigma, threads: threads)
        let denominator = GaussianBlur.blur(weights, sigma: sigma, threads: threads)
        return (0..<values.pixels.count).map { i in
            let w = denominator.pixels[i]
            let background = w > 1e-3 ? numerator.pixels[i] / w : fallback
            return background.isFinite && background > 0 ? background : fallback
        }
    }

    /// Largest |eigenvalue| of the Hessian by central differences over 2 px (the background is
    /// smooth on the scale of `smoothingSigma`); border rows and columns are 0.
    static func hessianMagnitude(_ values: [Float], width: Int, height: Int) -> GrayImage {
        let h = 2
        var result = GrayImage(width: width, height: height)
        guard width > 2 * h, height > 2 * h else { return result }
        let scale = 1 / Float(h * h)
        for y in h..<(height - h) {
            for x in h..<(width - h) {
                let i = y * width + x
                let centre = values[i]
                let xx = (values[i + h] - 2 * centre + values[i - h]) * scale
                let yy = (values[i + h * width] - 2 * centre + values[i - h * width]) * scale
                let xy = (values[i + h * width + h] - values[i + h * width - h]
                    - values[i - h * width + h] + values[i - h * width - h]) * scale / 4
                let mean = (xx + yy) / 2, spread = (((xx - yy) / 2) * ((xx - yy) / 2) + xy * xy).squareRoot()
                result.pixels[i] = max(abs(mean + spread), abs(mean - spread))
            }
        }
        return result
    }
}

/// A straight background edge modelled by `StraightEdgeBackground` (opaque outside QCA).
public struct StraightEdgeLine: Sendable, Equatable {
    let line: StraightEdgeBackground.Line
    init(_ line: StraightEdgeBackground.Line) { self.line = line }
}
