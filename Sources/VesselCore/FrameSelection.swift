import Foundation

/// Picks the frame of a cine run with the most contrast in the vessels.
public enum FrameSelection {
    /// Downsampling factor applied before scoring (cost ~ 1/16 of a full-resolution pass).
    public static let downsampleFactor = 4

    /// Index (0-based) of the frame with maximal vessel opacification.
    ///
    /// Score per frame (on the frame box-averaged by 4): the dark-ridge energy
    /// sum over pixels of max(0, lambda2 - |lambda1|) at sigma = 1 and 2 (i.e. 4 and 8 px at full
    /// resolution, scale-normalised Hessian, see `Vesselness`), divided by the frame's median
    /// grey level when that is positive (so a global gain change from automatic exposure
    /// control does not win). Ridge energy grows with both the number of filled vessels and
    /// their contrast; noise contributes little after the Gaussian smoothing.
    /// Ties go to the earliest frame. Returns 0 when `count <= 1`. Errors thrown by `frame`
    /// are rethrown (the caller decides whether to skip the run).
    /// The caller can override the choice (the pipeline's `AnalysisOptions.frameIndex`).
    public static func mostOpacifiedFrame(count: Int, frame: (Int) throws -> GrayImage) rethrows -> Int {
        guard count > 1 else { return 0 }
        var bestIndex = 0
        var bestScore = -Double.infinity
        for index in 0..<count {
            let score = opacificationScore(try frame(index))
            if score > bestScore { bestScore = score; bestIndex = index }
        }
        return bestIndex
    }

    /// The per-frame score used by `mostOpacifiedFrame` (dark vessels on bright background).
    public static func opacificationScore(_ image: GrayImage, threads: Int? = 1) -> Double {
        guard !image.isEmpty else { return 0 }
        let small = image.mapped { $0.isFinite ? $0 : 0 }.downsampled(by: downsampleFactor)
        var energy = 0.0
        for sigma in [1.0, 2.0] {
            let smooth = GaussianBlur.blur(small, sigma: sigma, threads: threads)
            energy += ridgeEnergy(smooth, normalization: Float(sigma * sigma))
        }
        let sorted = small.pixels.sorted()
        let median = Double(sorted[sorted.count / 2])
        return median > 0 ? energy / median : energy
    }

    static func ridgeEnergy(_ image: GrayImage, normalization: Float) -> Double {
        let width = image.width, height = image.height
        guard width >= 3, height >= 3 else { return 0 }
        var total = 0.0
        for y in 1..<(height - 1) {
            var rowTotal: Float = 0
            for x in 1..<(width - 1) {
                let c = image[x: x, y: y]
                let xx = (image[x: x + 1, y: y] - 2 * c + image[x: x - 1, y: y]) * normalization
                let yy = (image[x: x, y: y + 1] - 2 * c + image[x: x, y: y - 1]) * normalization
                let xy = (image[x: x + 1, y: y + 1] - image[x: x - 1, y: y + 1]
                          - image[x: x + 1, y: y - 1] + image[x: x - 1, y: y - 1]) * 0.25 * normalization
                let mean = (xx + yy) / 2
                let spread = (((xx - yy) / 2) * ((xx - yy) / 2) + xy * xy).squareRoot()
                // For a dark ridge lambda2 = mean + spread > 0 and |lambda1| = |mean - spread| small.
                let ridge = (mean + spread) - abs(mean - spread)
                if mean > 0 && ridge > 0 { rowTotal += ridge }
            }
            total += Double(rowTotal)
        }
        return total
    }
}

/// Digital subtraction angiography helpers (PS3.3 C.7.6.10 Mask Module).
public enum MaskSubtraction {
    /// Log-domain subtraction: log(live) - log(mask), per pixel.
    ///
    /// X-ray transmission is multiplicative (Beer-Lambert), so dividing the live frame by the
    /// mask removes every structure present in both (bone, soft tissue, detector gain) exactly
    /// and leaves log(exp(-mu_contrast t)) for the contrast agent: 0 where nothing changed,
    /// negative where the live frame is darker (vessels stay dark, as `AnalysisFrame`).
    /// Samples are clamped below at a floor of 1e-3 x the larger of the two images' maxima
    /// (and at least 1e-6) so that zero / negative pixels (collimator shutters) give a finite
    /// result. Images of different sizes give an empty image of the live frame's size
    /// (callers check sizes first; the pipeline reports the mismatch).
    ///
    /// Use this only for linear (LIN) pixel data. When the stored values are already
    /// logarithmic (Pixel Intensity Relationship (0028,1040) = LOG), use `subtractLinear`.
    public static func subtractLogDomain(live: GrayImage, mask: GrayImage) -> GrayImage {
        guard live.width == mask.width, live.height == mask.height else {
            return GrayImage(width: live.width, height: live.height)
        }
        let peak = max(live.range.max, mask.range.max)
        let floor = max(1e-6, peak * 1e-3)
        var out = [Float](repeating: 0, count: live.count)
        for i in out.indices {
            let l = live.pixels[i].isFinite ? max(live.pixels[i], floor) : floor
            let m = mask.pixels[i].isFinite ? max(mask.pixels[i], floor) : floor
            out[i] = l == m ? 0 : Float(log(Double(l)) - log(Double(m)))
        }
        return GrayImage(width: live.width, height: live.height, pixels: out)
    }

    /// live - mask, for pixel data that are already logarithmic (Pixel Intensity Relationship
    /// LOG, PS3.3 C.7.6.10); same size rule as `subtractLogDomain`.
    public static func subtractLinear(live: GrayImage, mask: GrayImage) -> GrayImage {
        guard live.width == mask.width, live.height == mask.height else {
            return GrayImage(width: live.width, height: live.height)
        }
        return GrayImage(width: live.width, height: live.height,
                         pixels: zip(live.pixels, mask.pixels).map { $0 - $1 })
    }

    /// Pixel-wise mean of equally sized frames (AVG_SUB masks, PS3.3 C.7.6.10.1.1), summed in
    /// Double in the given order; nil when the list is empty or sizes differ.
    public static func averageFrames(_ frames: [GrayImage]) -> GrayImage? {
        guard let first = frames.first,
              frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else { return nil }
        var sums = [Double](repeating: 0, count: first.count)
        for frame in frames { for i in sums.indices { sums[i] += Double(frame.pixels[i]) } }
        let n = Double(frames.count)
        return GrayImage(width: first.width, height: first.height, pixels: sums.map { Float($0 / n) })
    }
}

/// Whether and how to subtract a mask, from the file's own attributes (PS3.3 C.7.6.10).
public struct SubtractionPlan: Sendable, Equatable {
    public enum Mode: String, Sendable, Codable {
        /// No subtraction (NAT viewing, Mask Operation NONE, or nothing asked).
        case none
        /// Subtract the average of the listed mask frames (AVG_SUB, or SUB without a mask
        /// sequence, which uses the first frame).
        case averageMasks
        /// Time interval differencing (TID): the mask for live frame k is frame k - offset.
        case timeIntervalDifferencing
    }

    public var mode: Mode
    /// 0-based mask frame indices (DICOM Mask Frame Numbers (0028,6110) are 1-based).
    public var maskFrameIndices: [Int]
    /// TID Offset (0028,6120) in frames, for `.timeIntervalDifferencing`.
    public var tidOffset: Int
    /// Human-readable reason for the decision (for the analysis record).
    public var reason: String

    public var shouldSubtract: Bool { mode != .none }

    public init(mode: Mode, maskFrameIndices: [Int] = [], tidOffset: Int = 1, reason: String) {
        self.mode = mode
        self.maskFrameIndices = maskFrameIndices
        self.tidOffset = tidOffset
        self.reason = reason
    }

    /// Decides from Recommended Viewing Mode (0028,1090) and the items of the Mask Subtraction
    /// Sequence (0028,6100): Mask Operation (0028,6101) and Mask Frame Numbers (0028,6110).
    ///
    /// Rules: the first sequence item whose operation is AVG_SUB or TID decides (its mask
    /// frames, converted to 0-based and range-free here; the caller drops out-of-range
    /// frames). If the sequence only has NONE items, no subtraction ("NONE means no
    /// subtraction", even with SUB). If there is no sequence and the viewing mode is SUB, the
    /// first frame is the mask. Anything else (NAT, empty, unknown operations): none.
    /// Values are compared trimmed and case-insensitively.
    public static func decide(recommendedViewingMode: String?, maskOperations: [String],
                              maskFrameNumbers: [[Int]], tidOffsets: [Int?] = []) -> SubtractionPlan {
        let viewing = recommendedViewingMode?.trimmingCharacters(in: .whitespaces).uppercased() ?? ""
        let operations = maskOperations.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        for (item, operation) in operations.enumerated() where operation == "AVG_SUB" || operation == "TID" {
            let numbers = item < maskFrameNumbers.count ? maskFrameNumbers[item] : []
            let indices = numbers.filter { $0 >= 1 }.map { $0 - 1 }
            if operation == "AVG_SUB" {
                let masks = indices.isEmpty ? [0] : indices
                return SubtractionPlan(mode: .averageMasks, maskFrameIndices: masks,
                                       reason: "Mask Subtraction Sequence item \(item + 1): AVG_SUB of frame(s) \(masks.map { $0 + 1 })")
            }
            let offset = (item < tidOffsets.count ? tidOffsets[item] : nil) ?? 1
            return SubtractionPlan(mode: .timeIntervalDifferencing, maskFrameIndices: indices, tidOffset: offset,
                                   reason: "Mask Subtraction Sequence item \(item + 1): TID with offset \(offset)")
        }
        if !operations.isEmpty {
            return SubtractionPlan(mode: .none, reason: "Mask Operation \(operations.joined(separator: ",")): no subtraction")
        }
        if viewing == "SUB" {
            return SubtractionPlan(mode: .averageMasks, maskFrameIndices: [0],
                                   reason: "Recommended Viewing Mode SUB without Mask Subtraction Sequence: first frame is the mask")
        }
        return SubtractionPlan(mode: .none, reason: viewing.isEmpty ? "no subtraction requested" : "Recommended Viewing Mode \(viewing)")
    }

    /// Mask frame indices for live frame `live` in a run of `frameCount` frames (valid indices
    /// only, never the live frame itself); empty when there is nothing to subtract.
    public func maskFrames(forLiveFrame live: Int, frameCount: Int) -> [Int] {
        switch mode {
        case .none: return []
        case .averageMasks:
            return maskFrameIndices.filter { $0 >= 0 && $0 < frameCount && $0 != live }
        case .timeIntervalDifferencing:
            let mask = live - tidOffset
            return (mask >= 0 && mask < frameCount && mask != live) ? [mask] : []
        }
    }
}
