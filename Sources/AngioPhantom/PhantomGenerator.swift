import Dispatch
import Foundation
import VesselCore

/// A spec the generator cannot render, with the field and the reason.
public struct PhantomError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid phantom spec: \(message)" }
}

/// One rendered phantom run.
public struct PhantomRendering: Sendable {
    public var spec: PhantomSpec
    /// Stored pixel values per frame, row-major, already in the spec's photometric sense.
    public var storedFrames: [[UInt16]]
    /// Detected transmission per frame (after blur and noise, before quantisation), 1 = the
    /// unattenuated beam.
    public var transmissionFrames: [GrayImage]
    public var truth: PhantomTruth
    /// 2^bitsStored - 1.
    public var maxStoredValue: Int
}

public enum PhantomGenerator {
    /// Renders every frame of the spec and its truth. Deterministic: the same spec gives
    /// identical values whatever `threads` is (nil = all cores).
    public static func render(_ spec: PhantomSpec, threads: Int? = nil) throws(PhantomError) -> PhantomRendering {
        try validate(spec)
        let scene = try Scene(spec: spec)
        let concentration = contrastConcentration(spec)
        let maxValue = (1 << spec.bitsStored) - 1
        let workers = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)

        // 1. Ideal transmission: exp(-background) * pixel-area mean of exp(-contrast).
        let ideal = scene.renderTransmission(concentration: concentration, workers: workers)

        // 2. White level: stored full scale sits 15 % above the brightest background pixel.
        var brightest = 0.0
        for value in scene.backgroundTransmission { brightest = max(brightest, Double(value)) }
        let whiteLevel = max(brightest * 1.15, 1e-6)

        // Photons per pixel of the unattenuated beam.
        // Mean over the open field (collimated pixels, below 5 % of the brightest, excluded).
        var meanBackground = 0.0, openPixels = 0
        for value in scene.backgroundTransmission where Double(value) >= 0.05 * brightest {
            meanBackground += Double(value)
            openPixels += 1
        }
        meanBackground /= Double(max(1, openPixels))
        let photons: Double? = {
            if let relative = spec.noise.relativeSDAtBackground, relative > 0 {
                return 1 / (relative * relative * meanBackground)
            }
            if let n = spec.noise.photonsPerPixel, n > 0 { return n }
            return nil
        }()

        var stored: [[UInt16]] = []
        var transmissions: [GrayImage] = []
        for frame in 0..<spec.frames {
            var image = ideal[frame]
            if spec.focalSpotBlurSigmaPx >= 0.05 {
                image = gaussianBlur(image, sigma: spec.focalSpotBlurSigmaPx, workers: workers)
            }
            if let photons {
                addQuantumNoise(&image, photons: photons, seed: spec.effectiveNoiseSeed, frame: frame, workers: workers)
            }
            stored.append(quantise(image, spec: spec, whiteLevel: whiteLevel, maxValue: maxValue))
            transmissions.append(image)
        }

        let peak = mostOpacified(concentration)
        let backgroundStored = storedValue(meanBackground, spec: spec, whiteLevel: whiteLevel, maxValue: maxValue)
        let noiseSD: Double = {
            guard let photons else { return 0 }
            let sdT = (meanBackground / photons).squareRoot()
            switch spec.intensityEncoding {
            case .linear: return Double(maxValue) * sdT / whiteLevel
            case .logarithmic: return Double(maxValue) * (sdT / meanBackground) / 4
            }
        }()
        let truth = scene.truth(concentration: concentration, mostOpacifiedFrame: peak,
                                backgroundStored: backgroundStored, noiseSD: noiseSD,
                                whiteLevel: whiteLevel)
        return PhantomRendering(spec: spec, storedFrames: stored, transmissionFrames: transmissions,
                                truth: truth, maxStoredValue: maxValue)
    }

    /// Contrast concentration per frame (gamma-variate bolus; 1 for a single frame).
    public static func contrastConcentration(_ spec: PhantomSpec) -> [Double] {
        guard spec.frames > 1 else { return [1] }
        let timing = spec.contrastTiming
        let last = Double(spec.frames - 1)
        // An integer peak frame, so that frame has concentration exactly 1.
        let peak = min(max((timing.peakFraction * last).rounded(), 1), last)
        let a = max(0.5, timing.sharpness)
        let floor = min(max(timing.baseline, 0), 1)
        return (0..<spec.frames).map { frame in
            let t = Double(frame) / peak
            let bolus = t <= 0 ? 0 : pow(t, a) * exp(a * (1 - t))
            return floor + (1 - floor) * bolus
        }
    }

    static func mostOpacified(_ concentration: [Double]) -> Int {
        var best = 0
        for (index, value) in concentration.enumerated() where value > concentration[best] { best = index }
        return best
    }

    // MARK: - Validation

    /// Transfer syntax names accepted in `PhantomSpec.transferSyntax`.
    public static let transferSyntaxNames = [
        "explicit", "implicit", "rle", "jpeg-lossless", "jpeg-ls", "jpeg-ls-near", "jpeg-baseline", "jpeg-extended",
    ]

    /// Bounds the spline tables (bounded memory): no centreline may be longer than this.
    static let maximumPathLengthPx = 20_000.0

    static func polygonLength(_ points: [Point2D]) -> Double {
        zip(points, points.dropFirst()).reduce(0) { $0 + hypot($1.1.x - $1.0.x, $1.1.y - $1.0.y) }
    }

    public static func validate(_ spec: PhantomSpec) throws(PhantomError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(PhantomError) {
            if !condition { throw PhantomError(message()) }
        }
        try require((16...4096).contains(spec.width) && (16...4096).contains(spec.height),
                    "width and height must be 16...4096 pixels (got \(spec.width)x\(spec.height))")
        try require((1...1000).contains(spec.frames), "frames must be 1...1000 (got \(spec.frames))")
        // Bounded memory: float transmission + UInt16 stored values for every frame.
        try require(spec.width * spec.height * spec.frames <= 64 << 20,
                    "width x height x frames = \(spec.width * spec.height * spec.frames) exceeds 67108864 pixels")
        try require(spec.mmPerPixel.isFinite && spec.mmPerPixel >= 0.01 && spec.mmPerPixel <= 5,
                    "mmPerPixel must be 0.01...5 (got \(spec.mmPerPixel))")
        try require((8...16).contains(spec.bitsStored), "bitsStored must be 8...16 (got \(spec.bitsStored))")
        try require((1...8).contains(spec.supersampling), "supersampling must be 1...8 (got \(spec.supersampling))")
        try require(spec.truthSampleSpacingPx.isFinite && spec.truthSampleSpacingPx >= 0.05 && spec.truthSampleSpacingPx <= 10,
                    "truthSampleSpacingPx must be 0.05...10 (got \(spec.truthSampleSpacingPx))")
        try require(spec.focalSpotBlurSigmaPx.isFinite && (0...20).contains(spec.focalSpotBlurSigmaPx),
                    "focalSpotBlurSigmaPx must be 0...20 (got \(spec.focalSpotBlurSigmaPx))")
        try require(spec.contrastAttenuationPerMm.isFinite && (0...10).contains(spec.contrastAttenuationPerMm),
                    "contrastAttenuationPerMm must be 0...10 (got \(spec.contrastAttenuationPerMm))")
        try require(spec.frameTimeMs.isFinite && spec.frameTimeMs > 0 && spec.frameTimeMs <= 10_000,
                    "frameTimeMs must be > 0 and <= 10000 (got \(spec.frameTimeMs))")
        try require((0...1).contains(spec.contrastTiming.peakFraction) && (0...1).contains(spec.contrastTiming.baseline)
                    && spec.contrastTiming.sharpness.isFinite && spec.contrastTiming.sharpness > 0,
                    "contrastTiming needs peakFraction and baseline in 0...1 and sharpness > 0")
        if let n = spec.noise.photonsPerPixel {
            try require(n.isFinite && n >= 0 && n <= 1e9, "noise.photonsPerPixel must be 0...1e9 (got \(n))")
        }
        if let sd = spec.noise.relativeSDAtBackground {
            try require(sd.isFinite && (0...0.5).contains(sd), "noise.relativeSDAtBackground must be 0...0.5 (got \(sd))")
        }
        let bg = spec.background
        for (name, value) in [("baseAttenuation", bg.baseAttenuation), ("gradientAttenuation", bg.gradientAttenuation),
                              ("blobAttenuation", bg.blobAttenuation), ("textureAttenuation", bg.textureAttenuation),
                              ("diaphragmAttenuation", bg.diaphragmAttenuation)] {
            try require(value.isFinite && abs(value) <= 10, "background.\(name) must be within -10...10 (got \(value))")
        }
        try require((0...50).contains(bg.blobCount), "background.blobCount must be 0...50 (got \(bg.blobCount))")
        try require((0...4).contains(bg.boneCount), "background.boneCount must be 0...4 (got \(bg.boneCount))")
        try require(bg.boneAttenuationPerPx.isFinite && (0...1).contains(bg.boneAttenuationPerPx),
                    "background.boneAttenuationPerPx must be 0...1 (got \(bg.boneAttenuationPerPx))")
        switch spec.calibration {
        case .imagerPixelSpacingWithMagnification(let m):
            try require(m.isFinite && m >= 1 && m <= 5, "calibration magnification must be 1...5 (got \(m))")
        case .imagerPixelSpacingWithDistances(let sid, let sod):
            try require(sid.isFinite && sod.isFinite && sod > 0 && sid >= sod && sid <= 5000,
                        "calibration distances need 0 < sod <= sid <= 5000 mm (got sid \(sid), sod \(sod))")
        case .pixelSpacing, .none: break
        }
        try require(transferSyntaxNames.contains(spec.transferSyntax),
                    "transferSyntax '\(spec.transferSyntax)' is not one of \(transferSyntaxNames.joined(separator: ", "))")
        if spec.transferSyntax == "jpeg-baseline" {
            try require(spec.bitsStored == 8, "jpeg-baseline stores 8 bits only (bitsStored is \(spec.bitsStored))")
        }
        if spec.transferSyntax == "jpeg-extended" {
            try require(spec.bitsStored <= 12, "jpeg-extended stores at most 12 bits (bitsStored is \(spec.bitsStored))")
        }
        try require(spec.vessels.count <= 64, "at most 64 vessels (got \(spec.vessels.count))")
        for (index, vessel) in spec.vessels.enumerated() {
            let name = "vessels[\(index)]"
            try require(vessel.controlPoints.count <= 1000, "\(name) has more than 1000 control points")
            try require(vessel.controlPoints.allSatisfy { $0.x.isFinite && $0.y.isFinite && abs($0.x) < 1e5 && abs($0.y) < 1e5 },
                        "\(name) has a non-finite or far-away control point")
            try require(polygonLength(vessel.controlPoints) <= maximumPathLengthPx,
                        "\(name) control polygon is longer than \(Int(maximumPathLengthPx)) px")
            try require(vessel.referenceDiameterMm.isFinite && (0.2...20).contains(vessel.referenceDiameterMm),
                        "\(name).referenceDiameterMm must be 0.2...20 (got \(vessel.referenceDiameterMm))")
            try require(vessel.taperMmPerMm.isFinite && (0...1).contains(vessel.taperMmPerMm),
                        "\(name).taperMmPerMm must be 0...1 (got \(vessel.taperMmPerMm))")
            try require(vessel.contrastScale.isFinite && (0...10).contains(vessel.contrastScale),
                        "\(name).contrastScale must be 0...10 (got \(vessel.contrastScale))")
            if let s = vessel.stenosis {
                try require(s.percentDiameter.isFinite && (0...95).contains(s.percentDiameter),
                            "\(name).stenosis.percentDiameter must be 0...95 (got \(s.percentDiameter))")
                try require(s.lengthMm.isFinite && s.lengthMm > 0 && s.lengthMm <= 200,
                            "\(name).stenosis.lengthMm must be > 0 and <= 200 (got \(s.lengthMm))")
                try require(s.position.isFinite && (0...1).contains(s.position),
                            "\(name).stenosis.position must be 0...1 (got \(s.position))")
                try require(s.eccentricity.isFinite && (-1...1).contains(s.eccentricity),
                            "\(name).stenosis.eccentricity must be -1...1 (got \(s.eccentricity))")
            }
            switch vessel.kind {
            case .sideBranch:
                guard let parent = vessel.parentIndex, parent >= 0, parent < index else {
                    throw PhantomError("\(name) is a side branch and needs parentIndex of an earlier vessel")
                }
                guard let f = vessel.branchFraction, f.isFinite, (0...1).contains(f) else {
                    throw PhantomError("\(name) is a side branch and needs branchFraction in 0...1")
                }
                try require(!vessel.controlPoints.isEmpty, "\(name) needs at least one control point after its origin")
            case .main, .crossing:
                try require(vessel.controlPoints.count >= 2, "\(name) needs at least two control points")
            }
        }
        if let catheter = spec.catheter {
            try require(catheter.frenchSize.isFinite && (3...12).contains(catheter.frenchSize),
                        "catheter.frenchSize must be 3...12 (got \(catheter.frenchSize))")
            try require(catheter.controlPoints.count >= 2
                        && catheter.controlPoints.allSatisfy { $0.x.isFinite && $0.y.isFinite && abs($0.x) < 1e5 && abs($0.y) < 1e5 },
                        "catheter needs at least two finite control points")
            try require(polygonLength(catheter.controlPoints) <= maximumPathLengthPx,
                        "catheter control polygon is longer than \(Int(maximumPathLengthPx)) px")
            try require(catheter.wallThicknessMm.isFinite && catheter.wallThicknessMm >= 0
                        && catheter.wallThicknessMm < catheter.outerDiameterMm / 2,
                        "catheter.wallThicknessMm must be 0 ... outer radius (got \(catheter.wallThicknessMm))")
            try require(catheter.wallAttenuationScale.isFinite && (0...10).contains(catheter.wallAttenuationScale),
                        "catheter.wallAttenuationScale must be 0...10")
        }
    }

    // MARK: - Image stages

    /// Runs `body(rowRange)` over disjoint row bands in parallel.
    static func forEachRowBand(height: Int, workers: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let bands = min(height, max(1, workers * 8))
        if workers <= 1 || bands <= 1 {
            body(0..<height)
            return
        }
        DispatchQueue.concurrentPerform(iterations: bands) { band in
            let lo = band * height / bands, hi = (band + 1) * height / bands
            if hi > lo { body(lo..<hi) }
        }
    }

    /// Mirrored index (d c b | a b c d | c b a ...) for borders.
    @inline(__always)
    static func mirror(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j - 1 : 2 * n - j - 1 }
        return j
    }

    /// Separable Gaussian blur with mirrored borders (kernel to 4 sigma, normalised).
    static func gaussianBlur(_ image: GrayImage, sigma: Double, workers: Int) -> GrayImage {
        let radius = max(1, Int((4 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let sum = kernel.reduce(0, +)
        kernel = kernel.map { $0 / sum }
        let width = image.width, height = image.height
        var horizontal = [Float](repeating: 0, count: width * height)
        var output = [Float](repeating: 0, count: width * height)
        let source = image.pixels
        let taps = kernel
        horizontal.withUnsafeMutableBufferPointer { hBuffer in
            nonisolated(unsafe) let h = hBuffer
            forEachRowBand(height: height, workers: workers) { rows in
                for y in rows {
                    let row = y * width
                    for x in 0..<width {
                        var acc = 0.0
                        for k in 0..<taps.count { acc += taps[k] * Double(source[row + mirror(x + k - radius, width)]) }
                        h[row + x] = Float(acc)
                    }
                }
            }
        }
        let blurredRows = horizontal
        output.withUnsafeMutableBufferPointer { oBuffer in
            nonisolated(unsafe) let o = oBuffer
            forEachRowBand(height: height, workers: workers) { rows in
                for y in rows {
                    for x in 0..<width {
                        var acc = 0.0
                        for k in 0..<taps.count {
                            acc += taps[k] * Double(blurredRows[mirror(y + k - radius, height) * width + x])
                        }
                        o[y * width + x] = Float(acc)
                    }
                }
            }
        }
        return GrayImage(width: width, height: height, pixels: output)
    }

    /// Quantum noise: counts ~ Poisson(N0 * T), reported as counts / N0. Exact Poisson sampling
    /// (inversion) below 64 expected photons, the normal approximation above.
    static func addQuantumNoise(_ image: inout GrayImage, photons: Double, seed: UInt64, frame: Int, workers: Int) {
        let width = image.width, height = image.height
        image.pixels.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let p = buffer
            forEachRowBand(height: height, workers: workers) { rows in
                for y in rows {
                    for x in 0..<width {
                        let index = y * width + x
                        let lambda = max(0, Double(p[index])) * photons
                        let (u1, u2) = counterUniformPair(seed: seed, frame: frame, index: index)
                        let counts: Double
                        if lambda < 64 {
                            // Inversion of the Poisson CDF with the first uniform.
                            var k = 0.0, probability = exp(-lambda), cumulative = probability
                            while u1 > cumulative && k < 1000 {
                                k += 1
                                probability *= lambda / k
                                cumulative += probability
                            }
                            counts = k
                        } else {
                            let z = (-2 * log(max(u1, 0x1.0p-60))).squareRoot() * cos(2 * Double.pi * u2)
                            counts = max(0, lambda + lambda.squareRoot() * z)
                        }
                        p[index] = Float(counts / photons)
                    }
                }
            }
        }
    }

    static func storedValue(_ transmission: Double, spec: PhantomSpec, whiteLevel: Double, maxValue: Int) -> Double {
        let m = Double(maxValue)
        var value: Double
        switch spec.intensityEncoding {
        case .linear: value = m * transmission / whiteLevel
        case .logarithmic: value = m * (1 + log(max(transmission, 1e-30) / whiteLevel) / 4)
        }
        // Defensive: a non-finite value (impossible for validated specs) maps to black, never traps.
        value = value.isFinite ? min(max(value, 0), m) : 0
        return spec.photometric == .monochrome1 ? m - value : value
    }

    /// Rounds in the MONOCHROME2 sense first, so MONOCHROME1 output is exactly maxValue - v.
    static func quantise(_ image: GrayImage, spec: PhantomSpec, whiteLevel: Double, maxValue: Int) -> [UInt16] {
        var monochrome2 = spec
        monochrome2.photometric = .monochrome2
        let invert = spec.photometric == .monochrome1
        return image.pixels.map {
            let v = Int(storedValue(Double($0), spec: monochrome2, whiteLevel: whiteLevel, maxValue: maxValue).rounded())
            return UInt16(invert ? maxValue - v : v)
        }
    }
}
