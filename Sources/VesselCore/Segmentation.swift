import Foundation

/// Parameters of `VesselSegmentation.segment`.
public struct SegmentationParameters: Sendable, Equatable {
    /// Vesselness settings (default scales 1.5, 2, 3, 4, 6 px: radii ~2-15 px).
    public var vesselness: VesselnessParameters
    /// Background flattening radius in px (`BackgroundFlattening`); nil disables flattening.
    /// Must exceed the widest vessel's radius (default 40 px).
    public var flatteningRadius: Double?
    /// Hysteresis thresholds on the vesselness response, relative to its robust statistics:
    /// threshold = max(floor, median + k x 1.4826 MAD) (see `segment`).
    public var highSigmas: Double
    public var lowSigmas: Double
    public var highFloor: Double
    public var lowFloor: Double
    /// Lumen boundary: a pixel near a detected vessel belongs to the lumen when its darkness
    /// (flattened, polarity-corrected) is at least this fraction of the local core darkness.
    /// 0.22 places the edge at ~0.975 r of a cylindrical vessel (chord profile sqrt(1 - d^2/r^2));
    /// on blurred, noisy phantoms it balances false positives and negatives at the wall.
    public var edgeFraction: Double
    /// Components smaller than this many pixels are removed.
    public var minimumComponentArea: Int
    /// Holes up to this many pixels are filled.
    public var maximumHoleArea: Int
    /// One 3x3 majority pass to smooth the boundary.
    public var smoothBoundary: Bool
    /// Worker threads (nil: all active cores); the result does not depend on it.
    public var threads: Int?
    /// Ridge test (rejects step edges that the Hessian reports as vessels on their dark side):
    /// a detected pixel must be darker than both sides in some direction by this many robust
    /// noise sigmas of the darkness, a hysteresis seed by `seedRidgeContrast`. See `segment`.
    public var minimumRidgeContrast: Double
    public var seedRidgeContrast: Double
    /// Exclude collimator shutters (`ExposureField`).
    public var detectExposureField: Bool

    public init(vesselness: VesselnessParameters = .init(), flatteningRadius: Double? = 40,
                highSigmas: Double = 12, lowSigmas: Double = 4, highFloor: Double = 0.15,
                lowFloor: Double = 0.03, edgeFraction: Double = 0.22, minimumComponentArea: Int = 60,
                maximumHoleArea: Int = 400, smoothBoundary: Bool = true, threads: Int? = nil,
                minimumRidgeContrast: Double = 1.0, seedRidgeContrast: Double = 2.5, detectExposureField: Bool = true) {
        self.minimumRidgeContrast = minimumRidgeContrast
        self.seedRidgeContrast = max(seedRidgeContrast, minimumRidgeContrast)
        self.detectExposureField = detectExposureField
        self.vesselness = vesselness
        self.flatteningRadius = flatteningRadius
        self.highSigmas = highSigmas
        self.lowSigmas = lowSigmas
        self.highFloor = highFloor
        self.lowFloor = lowFloor
        self.edgeFraction = edgeFraction
        self.minimumComponentArea = minimumComponentArea
        self.maximumHoleArea = maximumHoleArea
        self.smoothBoundary = smoothBoundary
        self.threads = threads
    }
}

/// Result of `VesselSegmentation.segment`.
public struct SegmentationResult: Sendable {
    public var mask: BinaryMask
    public var vesselness: VesselnessResult
    /// The background-flattened image the vesselness was computed on (the input itself when
    /// flattening is disabled).
    public var flattened: GrayImage
    /// Hysteresis thresholds actually used (low, high), on the vesselness response.
    public var thresholds: (low: Double, high: Double)
    /// The exposed field (`ExposureField`) when collimator shutters were found; nil when the
    /// whole frame is exposed or detection is off.
    public var exposureField: BinaryMask?

    public init(mask: BinaryMask, vesselness: VesselnessResult, flattened: GrayImage,
                thresholds: (low: Double, high: Double) = (0, 0), exposureField: BinaryMask? = nil) {
        self.mask = mask
        self.vesselness = vesselness
        self.flattened = flattened
        self.thresholds = thresholds
        self.exposureField = exposureField
    }
}

/// Binary vessel (and catheter) mask from a grey frame.
public enum VesselSegmentation {
    /// Steps:
    /// 1. collimator shutters are found (`ExposureField`) and excluded (no detection within
    ///    2 x the largest scale of a shutter);
    /// 2. background flattening (`BackgroundFlattening.flatten`, black top-hat of radius
    ///    `flatteningRadius`, output in units of the local noise) and Frangi vesselness on it;
    /// 3. detection by hysteresis: seeds V >= high, grown through 8-connected V >= low, with
    ///    high = max(highFloor, median(V) + highSigmas x 1.4826 MAD(V)) and
    ///    low = max(lowFloor, median(V) + lowSigmas x 1.4826 MAD(V)), low <= high; only ridge
    ///    pixels take part (`ridgeContrast` >= minimumRidgeContrast x robust noise of the
    ///    darkness; seeds >= seedRidgeContrast x noise), which drops the false "vessels"
    ///    Frangi reports along step edges (shutters, wedge filters, heart and diaphragm
    ///    borders); detected components under `minimumComponentArea` px are dropped;
    /// 4. lumen boundary: within 2 x (largest scale) px of a detection, pixels whose darkness
    ///    relative to the local surrounding background is >= `edgeFraction` x the local core
    ///    darkness (max relative darkness of detected pixels within 1.5 x largest scale) and
    ///    positive; only lumen components touching a detection are kept;
    /// 5. holes up to `maximumHoleArea` px filled, one 3x3 majority pass, small components removed.
    /// Both contrast-filled vessels and the catheter are dark tubes and are kept. The result
    /// does not depend on `threads`.
    public static func segment(_ image: GrayImage, parameters: SegmentationParameters = .init()) -> SegmentationResult {
        let width = image.width, height = image.height
        guard !image.isEmpty else {
            let empty = GrayImage(width: width, height: height)
            return SegmentationResult(mask: BinaryMask(width: width, height: height),
                                      vesselness: VesselnessResult(response: empty, bestScale: empty, gamma: 1),
                                      flattened: image)
        }
        let field = parameters.detectExposureField ? ExposureField.detect(image) : nil
        var flattened = parameters.flatteningRadius.map {
            BackgroundFlattening.flatten(image, radius: $0, threads: parameters.threads, field: field,
                                         polarity: parameters.vesselness.polarity)
        } ?? image.mapped { $0.isFinite ? $0 : 0 }
        if parameters.flatteningRadius == nil, let field, field.count < field.bits.count {
            // Without flattening, fill the shutters with the field's median so their edge vanishes.
            let inside = flattened.pixels.indices.filter { field.bits[$0] != 0 }.map { flattened.pixels[$0] }.sorted()
            let fill = inside.isEmpty ? 0 : inside[inside.count / 2]
            for i in flattened.pixels.indices where field.bits[i] == 0 { flattened.pixels[i] = fill }
        }
        let vesselness = Vesselness.frangi(flattened, parameters: parameters.vesselness, threads: parameters.threads)
        var response = vesselness.response.pixels
        if let field, field.count < field.bits.count {
            // No detection within 2 x the largest scale of a shutter: the blade's penumbra and
            // the field rim (often a bright band then a dark line) respond like vessels.
            let reach = 2 * (parameters.vesselness.scales.filter { $0.isFinite && $0 > 0 }.max() ?? 3)
            let core = Morphology.disc(field, radius: reach, grow: false)
            for i in response.indices where core.bits[i] == 0 { response[i] = 0 }
        }

        // 3. Hysteresis on robust statistics of the response, restricted to ridge pixels.
        let sign: Float = parameters.vesselness.polarity == .darkOnBright ? -1 : 1
        let darkness = flattened.pixels.map { $0 * sign }
        let (median, spread) = robustStatistics(response)
        let high = max(parameters.highFloor, median + parameters.highSigmas * spread)
        let low = min(high, max(parameters.lowFloor, median + parameters.lowSigmas * spread))
        let ridge = ridgeContrast(darkness: GrayImage(width: width, height: height, pixels: darkness),
                                  bestScale: vesselness.bestScale, where: { response[$0] >= Float(low) },
                                  threads: parameters.threads)
        let noise = Float(max(robustStatistics(darkness).sigma, 1e-12))
        let ridgeLimit = Float(parameters.minimumRidgeContrast) * noise
        let seedLimit = Float(max(parameters.seedRidgeContrast, parameters.minimumRidgeContrast)) * noise
        var gated = response
        for i in gated.indices where gated[i] >= Float(low) {
            if ridge[i] < ridgeLimit { gated[i] = 0 } else if ridge[i] < seedLimit { gated[i] = min(gated[i], Float(high) * 0.999) }
        }
        var detection = hysteresis(gated, width: width, height: height, low: Float(low), high: Float(high))
        detection = Morphology.removeSmallComponents(detection, minimumArea: parameters.minimumComponentArea)

        // 4. Lumen boundary from the flattened grey levels.
        //    Darkness is taken relative to the local background around the vessels: the
        //    normalised convolution (Gaussian, sigma = 2 x largest scale) of the darkness over
        //    pixels that are neither detected nor within 2 px of a detection, nor shutters.
        let largestScale = parameters.vesselness.scales.filter { $0.isFinite && $0 > 0 }.max() ?? 3
        let surroundWeights = Morphology.disc(detection, radius: 2, grow: true).bits.enumerated().map { index, bit in
            Float(bit == 0 && (field?.bits[index] ?? 1) != 0 ? 1 : 0)
        }
        let surroundSigma = 2 * largestScale
        let weightedSum = GaussianBlur.blur(GrayImage(width: width, height: height,
                                                      pixels: zip(darkness, surroundWeights).map { $0 * $1 }),
                                            sigma: surroundSigma, threads: parameters.threads)
        let weightSum = GaussianBlur.blur(GrayImage(width: width, height: height, pixels: surroundWeights),
                                          sigma: surroundSigma, threads: parameters.threads)
        var relative = darkness
        for i in relative.indices where weightSum.pixels[i] > 0.05 { relative[i] -= weightedSum.pixels[i] / weightSum.pixels[i] }
        var detectedDarkness = GrayImage(width: width, height: height, fill: 0)
        for i in relative.indices where detection.bits[i] != 0 { detectedDarkness.pixels[i] = max(0, relative[i]) }
        let core = Morphology.squareExtremum(detectedDarkness, radius: Int((1.5 * largestScale).rounded(.up)),
                                             isMaximum: true)
        let neighbourhood = Morphology.disc(detection, radius: 2 * largestScale, grow: true)
        var lumen = BinaryMask(width: width, height: height)
        let fraction = Float(parameters.edgeFraction)
        for i in darkness.indices where neighbourhood.bits[i] != 0 && (field?.bits[i] ?? 1) != 0 {
            let depth = core.pixels[i]
            if depth > 0 && relative[i] > 0 && relative[i] >= fraction * depth { lumen.bits[i] = 1 }
        }
        lumen = keepComponentsTouching(lumen, seeds: detection)

        // 5. Clean-up.
        lumen = Morphology.fillHoles(lumen, maximumArea: parameters.maximumHoleArea)
        if parameters.smoothBoundary { lumen = majority3x3(lumen) }
        lumen = Morphology.removeSmallComponents(lumen, minimumArea: parameters.minimumComponentArea)
        return SegmentationResult(mask: lumen, vesselness: vesselness, flattened: flattened, thresholds: (low, high),
                                  exposureField: field.flatMap { $0.count < $0.bits.count ? $0 : nil })
    }

    /// Ridge contrast: max over the four directions u in {0, 45, 90, 135 degrees} of
    /// D(p) - max(D(p + d u), D(p - d u)) on the lightly smoothed darkness D (Gaussian sigma 1),
    /// with d = 2 x bestScale(p) + 1 px (beyond the wall of a tube of radius ~1.2 sigma). A
    /// vessel is darker than both sides across it (contrast ~ its depth); the dark side of a
    /// step edge is not (contrast <= 0). Computed only where `where` holds, else 0; a side
    /// outside the image does not count.
    static func ridgeContrast(darkness: GrayImage, bestScale: GrayImage, where include: (Int) -> Bool,
                              threads: Int?) -> [Float] {
        let width = darkness.width, height = darkness.height
        let smooth = GaussianBlur.blur(darkness, sigma: 1, threads: threads)
        var out = [Float](repeating: 0, count: width * height)
        let directions: [(Double, Double)] = [(1, 0), (0, 1), (0.7071, 0.7071), (0.7071, -0.7071)]
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                guard include(p) else { continue }
                let d = min(30, 2 * Double(bestScale.pixels[p]) + 1)
                var best = -Float.infinity
                for (ux, uy) in directions {
                    let ax = x + Int((d * ux).rounded()), ay = y + Int((d * uy).rounded())
                    let bx = x - Int((d * ux).rounded()), by = y - Int((d * uy).rounded())
                    guard ax >= 0, ax < width, ay >= 0, ay < height, bx >= 0, bx < width, by >= 0, by < height else { continue }
                    let sides = max(smooth.pixels[ay * width + ax], smooth.pixels[by * width + bx])
                    best = max(best, smooth.pixels[p] - sides)
                }
                out[p] = best.isFinite ? best : 0
            }
        }
        return out
    }

    /// Median and 1.4826 x median absolute deviation.
    static func robustStatistics(_ values: [Float]) -> (median: Double, sigma: Double) {
        guard !values.isEmpty else { return (0, 0) }
        // A 1-in-k subsample keeps this O(n) cheap on large frames; deterministic stride.
        let stride = max(1, values.count / 65_536)
        var sample = [Float]()
        sample.reserveCapacity(values.count / stride + 1)
        var i = 0
        while i < values.count { sample.append(values[i]); i += stride }
        sample.sort()
        let median = sample[sample.count / 2]
        var deviations = sample.map { abs($0 - median) }
        deviations.sort()
        return (Double(median), 1.4826 * Double(deviations[deviations.count / 2]))
    }

    /// Pixels >= low that are 8-connected to a pixel >= high.
    public static func hysteresis(_ values: [Float], width: Int, height: Int, low: Float, high: Float) -> BinaryMask {
        var mask = BinaryMask(width: width, height: height)
        var stack = [Int]()
        for i in values.indices where values[i] >= high && mask.bits[i] == 0 {
            mask.bits[i] = 1
            stack.append(i)
            while let p = stack.popLast() {
                let px = p % width, py = p / width
                for dy in -1...1 {
                    let ny = py + dy
                    if ny < 0 || ny >= height { continue }
                    for dx in -1...1 {
                        let nx = px + dx
                        if nx < 0 || nx >= width || (dx == 0 && dy == 0) { continue }
                        let q = ny * width + nx
                        if mask.bits[q] == 0 && values[q] >= low { mask.bits[q] = 1; stack.append(q) }
                    }
                }
            }
        }
        return mask
    }

    /// 8-connected components of `mask` that contain at least one seed pixel.
    static func keepComponentsTouching(_ mask: BinaryMask, seeds: BinaryMask) -> BinaryMask {
        let (labels, sizes) = Morphology.connectedComponents(mask)
        var keep = [Bool](repeating: false, count: sizes.count)
        for i in labels.indices where seeds.bits[i] != 0 && labels[i] != 0 { keep[Int(labels[i])] = true }
        var out = mask
        for i in out.bits.indices where labels[i] != 0 && !keep[Int(labels[i])] { out.bits[i] = 0 }
        return out
    }

    /// 3x3 majority vote (>= 5 of 9, outside pixels count as background).
    static func majority3x3(_ mask: BinaryMask) -> BinaryMask {
        let width = mask.width, height = mask.height
        var out = mask
        for y in 0..<height {
            for x in 0..<width {
                var count = 0
                for dy in -1...1 {
                    let ny = y + dy
                    if ny < 0 || ny >= height { continue }
                    for dx in -1...1 {
                        let nx = x + dx
                        if nx >= 0 && nx < width { count += Int(mask.bits[ny * width + nx]) }
                    }
                }
                out.bits[y * width + x] = count >= 5 ? 1 : 0
            }
        }
        return out
    }
}
