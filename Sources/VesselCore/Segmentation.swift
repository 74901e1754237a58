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

    public init(vesselness: VesselnessParameters = .init(), flatteningRadius: Double? = 40,
                highSigmas: Double = 12, lowSigmas: Double = 4, highFloor: Double = 0.15,
                lowFloor: Double = 0.05, edgeFraction: Double = 0.22, minimumComponentArea: Int = 60,
                maximumHoleArea: Int = 400, smoothBoundary: Bool = true, threads: Int? = nil) {
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

    public init(mask: BinaryMask, vesselness: VesselnessResult, flattened: GrayImage,
                thresholds: (low: Double, high: Double) = (0, 0)) {
        self.mask = mask
        self.vesselness = vesselness
        self.flattened = flattened
        self.thresholds = thresholds
    }
}

/// Binary vessel (and catheter) mask from a grey frame.
public enum VesselSegmentation {
    /// Steps:
    /// 1. background flattening (`BackgroundFlattening.flatten`, radius `flatteningRadius`);
    /// 2. Frangi vesselness on the flattened frame;
    /// 3. detection by hysteresis: seeds V >= high, grown through 8-connected V >= low, with
    ///    high = max(highFloor, median(V) + highSigmas x 1.4826 MAD(V)) and
    ///    low = max(lowFloor, median(V) + lowSigmas x 1.4826 MAD(V)), low <= high;
    ///    detected components under `minimumComponentArea` px are dropped;
    /// 4. lumen boundary: within 2 x (largest scale) px of a detection, pixels whose darkness is
    ///    >= `edgeFraction` x the local core darkness (max darkness of detected pixels within
    ///    1.5 x largest scale) and positive; only lumen components touching a detection are kept;
    /// 5. holes up to `maximumHoleArea` px filled, one 3x3 majority pass, small components removed.
    /// Both contrast-filled vessels and the catheter are dark tubes and are kept.
    public static func segment(_ image: GrayImage, parameters: SegmentationParameters = .init()) -> SegmentationResult {
        let width = image.width, height = image.height
        guard !image.isEmpty else {
            let empty = GrayImage(width: width, height: height)
            return SegmentationResult(mask: BinaryMask(width: width, height: height),
                                      vesselness: VesselnessResult(response: empty, bestScale: empty, gamma: 1),
                                      flattened: image)
        }
        let flattened = parameters.flatteningRadius.map {
            BackgroundFlattening.flatten(image, radius: $0, threads: parameters.threads)
        } ?? image.mapped { $0.isFinite ? $0 : 0 }
        let vesselness = Vesselness.frangi(flattened, parameters: parameters.vesselness, threads: parameters.threads)
        let response = vesselness.response.pixels

        // 3. Hysteresis on robust statistics of the response.
        let (median, spread) = robustStatistics(response)
        let high = max(parameters.highFloor, median + parameters.highSigmas * spread)
        let low = min(high, max(parameters.lowFloor, median + parameters.lowSigmas * spread))
        var detection = hysteresis(response, width: width, height: height, low: Float(low), high: Float(high))
        detection = Morphology.removeSmallComponents(detection, minimumArea: parameters.minimumComponentArea)

        // 4. Lumen boundary from the flattened grey levels.
        let largestScale = parameters.vesselness.scales.filter { $0.isFinite && $0 > 0 }.max() ?? 3
        let sign: Float = parameters.vesselness.polarity == .darkOnBright ? -1 : 1
        let darkness = flattened.pixels.map { $0 * sign }
        var detectedDarkness = GrayImage(width: width, height: height, fill: 0)
        for i in darkness.indices where detection.bits[i] != 0 { detectedDarkness.pixels[i] = max(0, darkness[i]) }
        let core = Morphology.squareExtremum(detectedDarkness, radius: Int((1.5 * largestScale).rounded(.up)),
                                             isMaximum: true)
        let neighbourhood = Morphology.disc(detection, radius: 2 * largestScale, grow: true)
        var lumen = BinaryMask(width: width, height: height)
        let fraction = Float(parameters.edgeFraction)
        for i in darkness.indices where neighbourhood.bits[i] != 0 {
            let depth = core.pixels[i]
            if depth > 0 && darkness[i] > 0 && darkness[i] >= fraction * depth { lumen.bits[i] = 1 }
        }
        lumen = keepComponentsTouching(lumen, seeds: detection)

        // 5. Clean-up.
        lumen = Morphology.fillHoles(lumen, maximumArea: parameters.maximumHoleArea)
        if parameters.smoothBoundary { lumen = majority3x3(lumen) }
        lumen = Morphology.removeSmallComponents(lumen, minimumArea: parameters.minimumComponentArea)
        return SegmentationResult(mask: lumen, vesselness: vesselness, flattened: flattened, thresholds: (low, high))
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
