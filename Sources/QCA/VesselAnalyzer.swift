import Foundation
import VesselCore

/// Tunable parameters of the measurement. Defaults are the validated configuration.
public struct QCAParameters: Sendable, Equatable {
    /// Profile spacing along the centerline (px of arc length).
    public var sampleSpacing: Double = 0.5
    /// Gaussian smoothing of the skeleton before profiling (px of arc).
    public var centerlineSmoothing: Double = 2.0
    /// Half-length along the vessel of the pixel strip of one profile (px).
    public var stripHalfLength: Double = 0.75
    /// Half-length of the strips used to estimate the PSF and contrast (px).
    public var blockHalfLength: Double = 4.0
    /// Spacing of those estimation blocks (px of arc).
    public var blockSpacing: Double = 6.0
    /// Largest lumen radius considered (px).
    public var maxRadius: Double = 40
    /// PSF sigma (px) to use instead of estimating it from the image.
    public var fixedPSFSigma: Double? = nil
    /// PSF sigma assumed when no wide vessel allows estimating it.
    public var fallbackPSFSigma: Double = 1.0
    /// Automatic mode: smallest %DS reported as a lesion.
    public var minimumStenosisPercent: Double = 20
    /// Automatic mode: the narrowing must exceed this many standard uncertainties.
    public var minimumSignificance: Double = 3
    /// Lesion boundaries: where the smoothed diameter recovers to this fraction of the reference.
    public var lesionBoundaryFraction: Double = 0.95
    /// Automatic mode: a lesion must be at least this long (px of arc) between its boundaries.
    public var minimumLesionLength: Double = 8
    /// Shape of the projected lumen in every fit (`LumenModel.shapeExponent`): 1 the circular
    /// cylinder, 0 uniform depth. `VesselAnalyzer.preferredLumenForm` picks it per image.
    public var lumenShapeExponent: Double = 1
    /// How the dip grows with the path length in every fit (`LumenModel.attenuationLaw`).
    /// `VesselAnalyzer.preferredLumenForm` picks it per image.
    public var lumenAttenuationLaw: LumenModel.AttenuationLaw = .exponential
    /// Floor of a path's typical profile residual (fraction of the background level) in the
    /// rejection of profiles whose residual is over 3x typical. Quantum noise at 30 000
    /// photons/pixel is 0.6 %; the floor only matters on nearly noise-free images.
    public var residualScaleFloor: Double = 0.002
    /// Half-window (px of arc) of the Savitzky–Golay (quadratic) smoothing of the diameter.
    public var diameterSmoothingHalfWindow: Double = 4.0
    /// Background-edge regions (see `VesselAnalyzer.edgeContrast`): relative departure of the
    /// background from a line across a profile above which the contrast is taken locally.
    public var edgeNonlinearityLimit: Double = 0.01
    /// Arc distance (px) of the local contrast median there; nil: one contrast per vessel.
    public var edgeContrastReach: Double? = 20
    /// Lumens at least this many PSF sigmas in radius give the local contrast.
    public var edgeContrastMinimumRadius: Double = 2.5
    /// Fewest wide profiles within the reach for a local contrast (else the vessel's).
    public var edgeContrastMinimumProfiles: Int = 12
    /// Lumen radius (PSF sigmas) over which the local contrast takes over from the vessel's:
    /// vessel's below the lower bound, local above the upper, radius blended in between.
    public var edgeContrastBlend: ClosedRange<Double> = 2.5...4.0
    /// At most about this many blocks over all vessels are fitted everything-free to estimate
    /// the PSF sigma (every k-th block in path and arc order, k = ceil(blocks / budget)); the
    /// others are fitted once sigma is known, with sigma fixed to it. The median over a few
    /// hundred informative blocks is as good as over thousands, and the free fit (sigma, r and A
    /// nearly degenerate on narrow lumens) costs ~3x a sigma-fixed one: on a busy 1024² frame
    /// the free block fits were most of the measure time. Nil: every block free (as before).
    public var sigmaBlockBudget: Int? = 400
    /// Narrow lumens are refitted with their centre fixed to the vessel's smoothed centre track
    /// (see `VesselAnalyzer.centerTrack`): below the lower bound (in PSF sigmas of the free
    /// fit's radius) the fixed-centre radius is used, above the upper the free one, blended in
    /// between. Nil: centres always free (as before).
    public var fixedCenterBlend: ClosedRange<Double>? = 2.0...3.0
    /// Largest increase of the residual sum of squares (in units of the free fit's noise
    /// variance) for which the fixed-centre fit replaces the free one (chi-square with 1 degree
    /// of freedom: 4 is 2 standard deviations; 9 kept more wrong tracks: study %DS 95th
    /// percentile 8.6 against 7.6 points before the edge-region rule).
    public var fixedCenterTestLimit: Double = 4
    /// Automatic mode: a path whose own contrast (median attenuation per px of chord of its
    /// informative blocks) is below this fraction of the image's is not searched for lesions.
    /// One injection fills the whole tree with about the same iodine concentration (in three
    /// study images checked, seeds 4019, 4034 and 4088, every vessel path, crossings drawn at
    /// 0.8 contrast included, was at 0.81 or more of the image's median), while a
    /// segmented background structure, such as the cortex band of a tibia, shows a fraction of
    /// it: 0.17 on study seed 4034, whose noisy diameter there gave a false 40 % lesion ranked
    /// above the true one.
    public var minimumRelativeContrast: Double = 0.4
    /// Half-window (px of arc) of the weighted local-quadratic fit of the lumen centre track.
    public var centerTrackHalfWindow: Double = 12
    /// Look for straight background edges hidden under the vessels (`HiddenEdgeFinder`) and
    /// model them in the background before measuring.
    public var findHiddenEdges: Bool = true
    /// A hidden edge is kept only when modelling it lowers the mean squared residual scale of
    /// the estimation blocks near it to at most this fraction (`VesselAnalyzer.residualRatio`).
    /// Measured on study phantoms: right edges 0.75-0.95 (two at 1.03 and 1.14), wrong ones
    /// (a diaphragm dome, marrow edges, the wrong side of a tibia) 0.99-1.97.
    public var hiddenEdgeMaximumResidualRatio: Double = 0.97
    /// Fit profiles whose window another structure cuts on one side, beyond the wall, with a
    /// flat background (`VesselAnalyzer.fitSample`); false: reject them as clipped.
    public var fitOneSidedProfiles: Bool = true
    /// Subtract from each MLD the widening the blur along the vessel gives a curved minimum
    /// (`LesionFinder.axialBlurExcess`).
    public var correctAxialBlur: Bool = true

    public init() {}
}

/// How a path ends: decides how much of the end is excluded from lesion search.
public enum PathEndKind: Sendable, Equatable {
    /// A bifurcation or crossing: profiles there contain the other vessel.
    case junction
    /// A free vessel end (tip of the segmentation or image border).
    case endpoint
    /// A point placed by the user (segment mode): only a small margin.
    case userPoint
}

/// A centerline to measure.
public struct VesselPath: Sendable {
    public var id: Int
    public var points: [Point2D]
    public var startKind: PathEndKind
    public var endKind: PathEndKind
    /// Junctions the path runs through (a side branch leaving, a crossing vessel): profiles
    /// near them hold the other vessel, so lesions are not searched there.
    public var interiorJunctions: [Point2D]
    /// Routes bridging long gaps of the segmentation (beyond the ordinary gap bridge): only a
    /// tight narrowing there is a lesion (`LesionFinder.longBridgeMinimumPercent`).
    public var longBridges: [[Point2D]]
    public init(id: Int, points: [Point2D], startKind: PathEndKind, endKind: PathEndKind,
                interiorJunctions: [Point2D] = [], longBridges: [[Point2D]] = []) {
        self.id = id
        self.points = points
        self.startKind = startKind
        self.endKind = endKind
        self.interiorJunctions = interiorJunctions
        self.longBridges = longBridges
    }
}

/// PSF and contrast estimated from the wide, healthy-looking parts of the vessels.
public struct ImagingEstimate: Sendable, Equatable {
    /// Gaussian PSF sigma (px), including pixel integration.
    public var psfSigma: Double
    /// Median attenuation per px of chord over the image (used when a path has no wide block).
    public var attenuation: Double?
    /// Number of blocks the estimate rests on.
    public var blockCount: Int
}

/// Model-based lumen measurement on one image (see `LumenModel` and docs/qca.md).
///
/// `image` must be the detected intensity with vessels dark (transmission-like, background > 0),
/// e.g. `AnalysisFrame` pixels. It is used as is: the linear background of the model absorbs
/// the local gain and offset.
public struct VesselAnalyzer: Sendable {
    public let image: GrayImage
    public let parameters: QCAParameters
    public let threads: Int?
    /// Largest |Hessian eigenvalue| of ln(background) per pixel (1/px²), from
    /// `BackgroundNormalization.normalizeWithCurvature`; nil: the background is taken as smooth.
    public let backgroundCurvature: GrayImage?

    public init(image: GrayImage, parameters: QCAParameters = QCAParameters(), threads: Int? = nil,
                backgroundCurvature: GrayImage? = nil) {
        self.image = image
        self.parameters = parameters
        self.threads = threads
        self.backgroundCurvature = backgroundCurvature
    }

    /// How far from linear the background estimate is across a profile (relative intensity):
    /// half the largest background curvature along the profile times the squared half-window.
    /// A bone edge near the vessel gives a few 0.01, smooth soft tissue well below 0.005.
    func backgroundNonlinearity(center: Point2D, normal: Point2D, halfWindow: Double) -> Double {
        guard let curvature = backgroundCurvature, curvature.width == image.width, curvature.height == image.height else { return 0 }
        var largest: Float = 0
        for step in -4...4 {
            let d = halfWindow * Double(step) / 4
            let x = Int((center.x + d * normal.x).rounded()), y = Int((center.y + d * normal.y).rounded())
            guard x >= 0, y >= 0, x < curvature.width, y < curvature.height else { continue }
            largest = max(largest, curvature[x: x, y: y])
        }
        return 0.5 * Double(largest) * halfWindow * halfWindow
    }

    struct BlockFit: Sendable {
        var sampleIndex: Int
        var fit: LumenFit
        var window: Double
    }

    struct PreparedPath: Sendable {
        var path: VesselPath
        var sampled: SampledPath
        var blocks: [BlockFit]
        /// Centres of blocks not fitted yet (see `QCAParameters.sigmaBlockBudget`);
        /// `completeBlocks` fits them with the PSF sigma fixed once it is known.
        var deferredBlocks: [Int] = []
        /// Typical intensity dip of the vessel (median over informative blocks).
        var typicalDepth: Double = 0
        /// Typical lumen radius (px), median over informative blocks.
        var typicalRadius: Double = 0
    }

    struct SampleFit: Sendable {
        var radius: Double
        var center: Double
        var radiusUncertainty: Double
        var residualScale: Double
        var background: Double
        var valid: Bool
        /// Standard uncertainty of the centre (px); infinite when it was fixed.
        var centerUncertainty: Double = .infinity
        /// Unweighted sum of squared residuals of the fit (see `LumenFit.sumOfSquares`).
        var sumOfSquares: Double = .nan
        /// Attenuation per px of chord, fixed or fitted.
        var attenuation: Double = 0
        /// `LumenFit.radiusSensitivity` of the fit.
        var radiusSensitivity: Double = 0
        /// Why the profile was rejected (diagnostics): 0 ok, 1 no block, 2 few pixels,
        /// 3 window clipped, 4 no fit, 5 not converged, 6 off-centre, 7 outside window, 8 residual.
        var reason: Int = 0
    }

    // MARK: public entry points

    /// Measures every path (auto mode). Paths too short to profile are dropped.
    public func measure(_ paths: [VesselPath]) -> (measurements: [VesselMeasurement], estimate: ImagingEstimate) {
        measure(prepareVessels(paths))
    }

    /// Paths sampled with their estimation blocks fitted, and the PSF and contrast they give:
    /// the first half of `measure(_ paths:)`, so the estimate can be used (e.g. by
    /// `hiddenEdges`) before measuring without fitting the blocks twice.
    public struct PreparedVessels: Sendable {
        let prepared: [PreparedPath]
        public let estimate: ImagingEstimate
    }

    /// Whether modelling `edge` made the vessel fits near it better: the summed squared
    /// relative residual scale of the estimation blocks within the edge's extent and within
    /// their window of its line, after (`self`'s blocks, `after`) over before (`before`, from
    /// the analyzer without the edge). Nil when no block is near the edge.
    public static func residualRatio(near edge: HiddenEdge, before: PreparedVessels, after: PreparedVessels) -> Double? {
        func total(_ vessels: PreparedVessels) -> (sum: Double, count: Int) {
            var sum = 0.0, count = 0
            for path in vessels.prepared {
                for block in path.blocks where block.fit.converged && block.fit.model.background > 0 {
                    let p = path.sampled.points[block.sampleIndex]
                    let t = edge.line.position(p.x, p.y)
                    guard t >= edge.line.along.lowerBound, t <= edge.line.along.upperBound,
                          abs(edge.line.distance(p.x, p.y)) <= block.window else { continue }
                    let relative = block.fit.residualScale / block.fit.model.background
                    sum += relative * relative
                    count += 1
                }
            }
            return (sum, count)
        }
        let b = total(before), a = total(after)
        guard b.count > 0, a.count > 0, b.sum > 0 else { return nil }
        return (a.sum / Double(a.count)) / (b.sum / Double(b.count))
    }

    public func prepareVessels(_ paths: [VesselPath]) -> PreparedVessels {
        let prepared = prepareWithinBudget(paths)
        return PreparedVessels(prepared: prepared, estimate: estimateImaging(prepared))
    }

    /// Measures prepared paths (auto mode); `vessels` must come from this analyzer.
    public func measure(_ vessels: PreparedVessels) -> (measurements: [VesselMeasurement], estimate: ImagingEstimate) {
        let completed = completeBlocks(vessels.prepared, sigma: vessels.estimate.psfSigma)
        let faint = faintPaths(completed, estimate: vessels.estimate)
        let pruned = droppingFaintJunctions(completed, faint: faint)
        let touched = markingContacts(pruned, estimate: vessels.estimate, faint: faint)
        return (measureAll(touched, estimate: vessels.estimate), vessels.estimate)
    }

    /// Blocks tried by `preferredLumenForm` (evenly spread over all wide blocks).
    static let shapeTestBlocks = 48
    /// Fewest wide blocks for `preferredLumenForm` to decide.
    static let shapeTestMinimumBlocks = 6
    /// An alternative form (uniform depth, or the linear law) is chosen when its residual sum
    /// of squares is below this fraction of the default's in the median tried block and below
    /// `shapeTestUpperQuartileRatio` in three quarters of them. Linear-law medians measured:
    /// dense log-encoded tubes 0.08–0.09 noise-free, faint ones at 2000 photons 0.98–1.0; the
    /// real XA files 1.000–1.006. Uniform-depth medians measured: painted tubes 0.01 (noise-free) to 0.94 (2000
    /// photons/pixel, 10-bit, 1.7 mm: 85 % of the blocks below 0.99); cylinders 1.00–1.14 on
    /// angio's own phantoms (at most 4 % of the blocks below 0.99), 2.8–4.8 for a cylinder in
    /// log-encoded intensity, 90+ noise-free; the nine real XA files 1.000 (at most 17 % of
    /// the blocks below 0.99). With noise the ratio nears 1 whatever the shape (the sums are
    /// mostly noise), hence a test on how consistently one shape wins.
    static let shapeTestMaximumRatio = 0.97
    static let shapeTestUpperQuartileRatio = 0.99

    /// The lumen form `preferredLumenForm` chose, with the evidence: the wide blocks found and
    /// the median residual ratio (alternative / default form) of each alternative tried.
    public struct LumenFormChoice: Sendable {
        public var shapeExponent: Double
        public var attenuationLaw: LumenModel.AttenuationLaw
        public var blocks: Int
        /// Median residual ratio for uniform depth (shape exponent 0), and for the linear law.
        public var uniformDepthRatio: Double
        public var linearLawRatio: Double
    }

    /// Which lumen form the image's wide vessels follow. The default is the physics of a
    /// contrast-filled vessel on detector-linear intensity: a circular cylinder (shape exponent
    /// 1) with Beer–Lambert attenuation. Two alternatives are tried on the same wide blocks
    /// (radius at least 3 px and 3 PSF sigmas, where the shape across the lumen is resolved),
    /// everything else free:
    /// - a lumen of uniform depth (exponent 0: a tube painted with constant contrast, as some
    ///   phantom generators draw them);
    /// - the cylinder with a dip linear in path length (intensity already log-encoded, or a
    ///   phantom drawn as background minus k times thickness).
    /// An alternative is chosen when it leaves clearly less of a residual sum of squares than
    /// the default in most blocks (`shapeTestMaximumRatio`, `shapeTestUpperQuartileRatio`);
    /// of two such, the lower median wins. The choice matters for narrow lumens, which are
    /// measured from their integrated dip with the contrast fixed: a cylinder's dip grows as
    /// r², a uniform one's as r, so the wrong shape reads an 80 % narrowing of a painted tube
    /// as 62 %; Beer–Lambert fitted to a dense log-encoded vessel overstates its contrast and
    /// reads narrowings up to 7 points too tight.
    public func preferredLumenForm(_ vessels: PreparedVessels) -> LumenFormChoice {
        let sigma = vessels.estimate.psfSigma
        var wide: [(path: Int, block: BlockFit)] = []
        for (p, path) in vessels.prepared.enumerated() {
            for block in path.blocks where isInformative(block) && block.fit.model.radius >= max(3, 3 * sigma)
                && block.fit.sumOfSquares > 0 {
                wide.append((p, block))
            }
        }
        var choice = LumenFormChoice(shapeExponent: parameters.lumenShapeExponent, attenuationLaw: parameters.lumenAttenuationLaw,
                                     blocks: wide.count, uniformDepthRatio: .nan, linearLawRatio: .nan)
        guard wide.count >= Self.shapeTestMinimumBlocks else { return choice }
        let every = max(1, (wide.count + Self.shapeTestBlocks - 1) / Self.shapeTestBlocks)
        let chosen = Swift.stride(from: 0, to: wide.count, by: every).map { wide[$0] }
        let alternatives: [(shape: Double, law: LumenModel.AttenuationLaw)] = [(0, .exponential), (1, .linear)]
        // Ratios per tried block, both alternatives from one gather of the samples.
        let ratios = Parallel.map(count: chosen.count, threads: threads) { k -> [Double] in
            let (p, block) = chosen[k]
            let sampled = vessels.prepared[p].sampled
            var samples = ProfileSamples()
            StripSampler.gather(image: image, center: sampled.points[block.sampleIndex], tangent: sampled.tangents[block.sampleIndex],
                                normal: sampled.normals[block.sampleIndex], alongHalfLength: parameters.blockHalfLength,
                                acrossHalfLength: block.window, into: &samples)
            return alternatives.map { alternative in
                var initial = block.fit.model
                let dip = block.fit.model.centralDip
                initial.shapeExponent = alternative.shape
                initial.attenuationLaw = alternative.law
                // Start from the same central dip.
                initial.attenuation = initial.attenuation(forCentralDip: min(dip, 0.99))
                guard let fit = LumenFitter.fit(samples, initial: initial, free: [.attenuation, .center, .radius, .sigma],
                                                maxRadius: parameters.maxRadius), fit.converged,
                      fit.sumOfSquares.isFinite else { return .infinity }
                return fit.sumOfSquares / block.fit.sumOfSquares
            }
        }
        var best: (index: Int, median: Double)?
        for a in alternatives.indices {
            let column = ratios.map { $0[a] }
            let median = Statistics.median(column) ?? .infinity
            let sorted = column.sorted()
            let upperQuartile = sorted[min(sorted.count - 1, (3 * sorted.count) / 4)]
            if alternatives[a].shape == 0 { choice.uniformDepthRatio = median } else { choice.linearLawRatio = median }
            if median < Self.shapeTestMaximumRatio && upperQuartile < Self.shapeTestUpperQuartileRatio,
               median < (best?.median ?? .infinity) {
                best = (a, median)
            }
        }
        if let best {
            choice.shapeExponent = alternatives[best.index].shape
            choice.attenuationLaw = alternatives[best.index].law
        }
        return choice
    }

    /// Paths whose own contrast (median attenuation of their informative blocks) is below
    /// `QCAParameters.minimumRelativeContrast` of the image's: segmented structures that are
    /// not contrast-filled vessels (they are not searched for lesions either). A path without
    /// informative blocks is not judged faint.
    func faintPaths(_ prepared: [PreparedPath], estimate: ImagingEstimate) -> [Bool] {
        prepared.map { path in
            guard let typical = estimate.attenuation, typical > 0,
                  let own = Statistics.median(path.blocks.filter(isInformative).map(\.fit.model.attenuation)) else { return false }
            return own / typical < parameters.minimumRelativeContrast
        }
    }

    /// Skeleton junction points of a path: those it runs through and its junction ends.
    static func junctionPoints(_ path: VesselPath) -> [Point2D] {
        var points = path.interiorJunctions
        if path.startKind == .junction, let first = path.points.first { points.append(first) }
        if path.endKind == .junction, let last = path.points.last { points.append(last) }
        return points
    }

    /// Removes the interior junctions that only faint paths make: a faint structure joined to
    /// a vessel (a background blob or edge the segmentation attached to it) hardly changes the
    /// vessel's profiles, and its junction zone hid true lesions (study seed 5120: a 63 %
    /// lesion under the zone of a 0.30-contrast "branch" that no vessel of the truth has). A
    /// junction also made by a vessel, or by a skeleton branch too short to be a path, stays.
    func droppingFaintJunctions(_ prepared: [PreparedPath], faint: [Bool]) -> [PreparedPath] {
        guard faint.contains(true) else { return prepared }
        let junctions = prepared.map { Self.junctionPoints($0.path) }
        var result = prepared
        for a in prepared.indices {
            result[a].path.interiorJunctions = prepared[a].path.interiorJunctions.filter { point in
                let makers = prepared.indices.filter { b in
                    b != a && junctions[b].contains { hypot($0.x - point.x, $0.y - point.y) <= 2 }
                }
                return makers.isEmpty || makers.contains { !faint[$0] }
            }
        }
        return result
    }

    /// Two lumens count as touching when their centerlines are within the two typical radii,
    /// 3 PSF sigmas of blur and this margin (px).
    static let contactMargin = 2.0
    /// Spacing (px of arc) of the contact points added to a path's interior junctions.
    static let contactPointSpacing = 2.0

    /// Adds to each path's interior junctions the points where another path's lumen touches
    /// its own, so profiles there (which hold the other vessel) are neither searched for
    /// lesions nor used for the reference, like those at a skeleton junction. The skeleton
    /// marks a junction wherever two lumens merge in the mask; this catches what it misses:
    /// a look-ahead or gap bridge crossing another vessel (study seed 3018: a false 82 %
    /// lesion where a crossing vessel's look-ahead ran over the main one), a crossing vessel
    /// whose skeleton stops at the other's wall (seed 17: a false 40 %), two branches running
    /// side by side until they merge (seed 5029: a false 81 %). Each of these outranked the
    /// true lesion. Radii are the paths' typical radii (median over informative blocks, else
    /// over all blocks); paths without one, and faint structures that are not searched for
    /// lesions either (`QCAParameters.minimumRelativeContrast`: not vessels), are skipped. A
    /// segmented structure with a vessel's contrast still counts: on study seed 4113 a 50 px
    /// piece of a bone edge touches the main vessel 30 px above its lesion and hides it.
    func markingContacts(_ prepared: [PreparedPath], estimate: ImagingEstimate, faint: [Bool]) -> [PreparedPath] {
        let sigma = estimate.psfSigma
        let radii = prepared.indices.map { a -> Double in
            let path = prepared[a]
            if faint[a] { return 0 }
            return path.typicalRadius > 0 ? path.typicalRadius : (Statistics.median(path.blocks.map(\.fit.model.radius)) ?? 0)
        }
        let blur = 3 * (sigma.isFinite ? max(sigma, 0) : 0) + Self.contactMargin
        let largest = radii.max() ?? 0
        guard prepared.count > 1, largest > 0 else { return prepared }
        // Spatial hash of every sampled point, cells as wide as the largest contact distance.
        let cell = max(4, 2 * largest + blur)
        struct Key: Hashable { var x: Int; var y: Int }
        func key(_ p: Point2D) -> Key { Key(x: Int((p.x / cell).rounded(.down)), y: Int((p.y / cell).rounded(.down))) }
        var grid: [Key: [(path: Int, index: Int)]] = [:]
        for (a, path) in prepared.enumerated() where radii[a] > 0 {
            for (i, p) in path.sampled.points.enumerated() { grid[key(p), default: []].append((a, i)) }
        }
        // A path running through a skeleton junction takes no contacts from the path that
        // leaves it there (a branch and its parent): that junction's zone covers it, and a
        // branch leaving at a shallow angle stays within contact distance for several
        // diameters; zones that long hid true lesions beside them on the parent (study seeds
        // 23, 86, 3034, 3073) by taking away the healthy samples that show the diameter
        // recovering. The branch does take contacts from its parent: it runs in the parent's
        // profile window (seed 4019, a normal vessel: a false 22 % on a branch 25 px from
        // its origin).
        let junctions = prepared.map { Self.junctionPoints($0.path) }
        let count = prepared.count
        var runsThroughJunctionWith = [Bool](repeating: false, count: count * count)
        for a in prepared.indices {
            for b in prepared.indices where b != a {
                runsThroughJunctionWith[a * count + b] = prepared[a].path.interiorJunctions.contains { p in
                    junctions[b].contains { hypot($0.x - p.x, $0.y - p.y) <= 2 }
                }
            }
        }
        func joined(_ a: Int, _ b: Int) -> Bool { runsThroughJunctionWith[a * count + b] }
        var result = prepared
        for (a, path) in prepared.enumerated() where radii[a] > 0 {
            var lastArc = -Double.infinity
            for (i, p) in path.sampled.points.enumerated() {
                let arc = path.sampled.arcLength[i]
                guard arc - lastArc >= Self.contactPointSpacing else { continue }
                let k = key(p)
                var touching = false
                search: for dx in -1...1 {
                    for dy in -1...1 {
                        for other in grid[Key(x: k.x + dx, y: k.y + dy)] ?? [] where other.path != a && !joined(a, other.path) {
                            let q = prepared[other.path].sampled.points[other.index]
                            if hypot(q.x - p.x, q.y - p.y) <= radii[a] + radii[other.path] + blur { touching = true; break search }
                        }
                    }
                }
                if touching {
                    result[a].path.interiorJunctions.append(p)
                    lastArc = arc
                }
            }
        }
        return result
    }

    /// Measures the PSF and contrast from a set of paths (e.g. all centerline segments) so a
    /// single user path can then be measured with them.
    public func estimateImaging(from paths: [VesselPath]) -> ImagingEstimate {
        return estimateImaging(prepareWithinBudget(paths))
    }

    /// Measures one path with a given imaging estimate (segment mode, catheter).
    /// - Parameter freeAttenuation: fit the contrast per profile instead of fixing it to the
    ///   path's median (used for the catheter, whose wall and lumen differ from a vessel).
    public func measure(_ path: VesselPath, estimate: ImagingEstimate?, freeAttenuation: Bool = false) -> VesselMeasurement? {
        guard let prepared = prepare(path) else { return nil }
        let own = estimateImaging([prepared])
        let combined = ImagingEstimate(psfSigma: estimate?.psfSigma ?? own.psfSigma,
                                       attenuation: own.attenuation ?? estimate?.attenuation,
                                       blockCount: (estimate?.blockCount ?? 0) + own.blockCount)
        let completed = completeBlocks([prepared], sigma: combined.psfSigma)
        return measureAll(completed, estimate: combined, freeAttenuation: freeAttenuation).first
    }

    /// Straight background edges hidden under `paths` in `rawImage` (the image before
    /// background normalisation, vessels dark), for `BackgroundNormalization.normalizeWithEdges`.
    /// Only blocks where this analyzer's background-edge map shows a nonlinear background are
    /// examined (a hidden edge leaves the interpolated background curved beside the vessel).
    public func hiddenEdges(rawImage: GrayImage, paths: [VesselPath], psfSigma: Double) -> [HiddenEdge] {
        guard parameters.findHiddenEdges else { return [] }
        return HiddenEdgeFinder.find(image: rawImage, paths: paths, sigma: psfSigma, parameters: parameters,
                                     gate: self, threads: threads)
    }

    // MARK: stage 1: sampling and block fits (PSF sigma and contrast free)

    /// Sampled path and its block centres (every `blockSpacing` px of arc).
    func sampleWithBlocks(_ path: VesselPath) -> (sampled: SampledPath, centres: [Int])? {
        guard let sampled = PathSampling.sample(path.points, step: parameters.sampleSpacing,
                                                smoothing: parameters.centerlineSmoothing),
              sampled.count >= 5 else { return nil }
        let stride = max(1, Int((parameters.blockSpacing / parameters.sampleSpacing).rounded()))
        var centres: [Int] = Array(Swift.stride(from: stride / 2, to: sampled.count, by: stride))
        if centres.isEmpty { centres = [sampled.count / 2] }
        return (sampled, centres)
    }

    /// `prepare` for many paths, with at most ~`sigmaBlockBudget` sigma-free block fits: block
    /// number g (counted over all paths in order) is fitted free when g % k == 0. The choice
    /// depends only on the paths, never on the thread count.
    func prepareWithinBudget(_ paths: [VesselPath]) -> [PreparedPath] {
        let sampled = Parallel.map(count: paths.count, threads: threads) { index in sampleWithBlocks(paths[index]) }
        let total = sampled.reduce(0) { $0 + ($1?.centres.count ?? 0) }
        let every = parameters.sigmaBlockBudget.map { max(1, (total + max($0, 1) - 1) / max($0, 1)) } ?? 1
        var firstOrdinal = [Int](repeating: 0, count: paths.count)
        var running = 0
        for index in paths.indices {
            firstOrdinal[index] = running
            running += sampled[index]?.centres.count ?? 0
        }
        let ordinals = firstOrdinal
        return Parallel.map(count: paths.count, threads: threads) { index -> PreparedPath? in
            guard let (path, centres) = sampled[index] else { return nil }
            return prepare(paths[index], sampled: path, centres: centres) { (ordinals[index] + $0) % every == 0 }
        }.compactMap { $0 }
    }

    /// Samples the path and fits its blocks with everything free (see `prepareWithinBudget`
    /// for the many-path case).
    func prepare(_ path: VesselPath) -> PreparedPath? {
        guard let (sampled, centres) = sampleWithBlocks(path) else { return nil }
        return prepare(path, sampled: sampled, centres: centres) { _ in true }
    }

    /// Fits the blocks at `centres` whose position in the list passes `sigmaFree` with
    /// everything free; the others are left for `completeBlocks`.
    func prepare(_ path: VesselPath, sampled: SampledPath, centres: [Int], sigmaFree: (Int) -> Bool) -> PreparedPath {
        var blocks: [BlockFit] = []
        var deferred: [Int] = []
        var samples = ProfileSamples()
        for (position, index) in centres.enumerated() {
            guard sigmaFree(position) else { deferred.append(index); continue }
            if let block = fitBlock(sampled, index: index, samples: &samples, fixedSigma: parameters.fixedPSFSigma) {
                blocks.append(block)
            }
        }
        var prepared = PreparedPath(path: path, sampled: sampled, blocks: blocks)
        prepared.deferredBlocks = deferred
        summarizeBlocks(&prepared)
        return prepared
    }

    /// Typical dip and radius of a vessel from its informative blocks.
    private func summarizeBlocks(_ prepared: inout PreparedPath) {
        let informative = prepared.blocks.filter(isInformative)
        prepared.typicalDepth = Statistics.median(informative.map {
            $0.fit.model.background * $0.fit.model.centralDip
        }) ?? 0
        prepared.typicalRadius = Statistics.median(informative.map(\.fit.model.radius)) ?? 0
    }

    /// Fits the deferred narrow blocks of every path with the PSF sigma fixed (one path per
    /// parallel job, blocks in arc order, so the result does not depend on the thread count).
    func completeBlocks(_ prepared: [PreparedPath], sigma: Double) -> [PreparedPath] {
        guard prepared.contains(where: { !$0.deferredBlocks.isEmpty }) else { return prepared }
        return Parallel.map(count: prepared.count, threads: threads) { p -> PreparedPath in
            var path = prepared[p]
            guard !path.deferredBlocks.isEmpty else { return path }
            var samples = ProfileSamples()
            for index in path.deferredBlocks {
                if let block = fitBlock(path.sampled, index: index, samples: &samples, fixedSigma: sigma) {
                    path.blocks.append(block)
                }
            }
            path.blocks.sort { $0.sampleIndex < $1.sampleIndex }
            path.deferredBlocks = []
            summarizeBlocks(&path)
            return path
        }
    }

    /// Fits one estimation block (window grown up to twice until it holds the blurred lumen and
    /// background). `fixedSigma` nil: the PSF sigma is free.
    func fitBlock(_ sampled: SampledPath, index: Int, samples: inout ProfileSamples,
                          fixedSigma: Double?) -> BlockFit? {
        var window = 14.0
        var result: BlockFit?
        for _ in 0..<3 {
            StripSampler.gather(image: image, center: sampled.points[index], tangent: sampled.tangents[index],
                                normal: sampled.normals[index], alongHalfLength: parameters.blockHalfLength,
                                acrossHalfLength: window, into: &samples)
            let initial: LumenModel
            if let previous = result?.fit.model { initial = previous } else {
                guard let guess = ProfileInitialGuess.estimate(samples, window: window,
                                                               sigma: fixedSigma ?? parameters.fallbackPSFSigma,
                                                               shapeExponent: parameters.lumenShapeExponent,
                                                               attenuationLaw: parameters.lumenAttenuationLaw) else { return nil }
                initial = guess
            }
            var free: LumenFitter.Free = [.attenuation, .center, .radius, .sigma]
            if fixedSigma != nil { free.remove(.sigma) }
            guard let fit = LumenFitter.fit(samples, initial: initial, free: free, maxRadius: parameters.maxRadius) else { return nil }
            result = BlockFit(sampleIndex: index, fit: fit, window: window)
            let needed = profileWindow(radius: fit.model.radius, sigma: fit.model.sigma)
            if needed <= window * 1.05 || !fit.converged { break }
            window = needed
        }
        guard let block = result, block.fit.converged, abs(block.fit.model.center) < block.window * 0.6 else { return nil }
        return block
    }

    /// Half-width of the profile window: the lumen, the blur tails and enough background.
    func profileWindow(radius: Double, sigma: Double) -> Double {
        let margin: Double = max(4, 0.6 * radius)
        let wanted: Double = radius + 3 * sigma + margin
        return min(max(wanted, 6), parameters.maxRadius * 1.6)
    }

    /// A block informs the PSF and contrast when the lumen is wide compared with the blur,
    /// so radius, contrast and sigma are separable.
    func isInformative(_ block: BlockFit) -> Bool {
        let m = block.fit.model
        return block.fit.converged && m.radius >= max(2.0, 1.5 * m.sigma) && m.attenuation > 0
    }

    func estimateImaging(_ prepared: [PreparedPath]) -> ImagingEstimate {
        var sigmas: [Double] = [], attenuations: [Double] = []
        for path in prepared {
            for block in path.blocks where isInformative(block) {
                sigmas.append(block.fit.model.sigma)
                attenuations.append(block.fit.model.attenuation)
            }
        }
        let sigma = parameters.fixedPSFSigma ?? (Statistics.median(sigmas) ?? parameters.fallbackPSFSigma)
        return ImagingEstimate(psfSigma: sigma, attenuation: Statistics.median(attenuations), blockCount: sigmas.count)
    }

    // MARK: stage 2: one fit per profile, PSF sigma (and contrast) fixed

    func measureAll(_ prepared: [PreparedPath], estimate: ImagingEstimate, freeAttenuation: Bool = false) -> [VesselMeasurement] {
        struct Job: Sendable { var path: Int; var sample: Int }
        var jobs: [Job] = []
        var pathAttenuation: [Double?] = []
        /// Each path's own contrast: the median attenuation of its informative blocks.
        var ownAttenuation: [Double?] = []
        for (p, path) in prepared.enumerated() {
            for s in 0..<path.sampled.count { jobs.append(Job(path: p, sample: s)) }
            let own = Statistics.median(path.blocks.filter(isInformative).map(\.fit.model.attenuation))
            ownAttenuation.append(own)
            pathAttenuation.append(own ?? estimate.attenuation ?? Statistics.median(path.blocks.map(\.fit.model.attenuation)))
        }
        let sigma = estimate.psfSigma
        let allJobs = jobs, attenuationOfPath = pathAttenuation
        let localContrast = freeAttenuation ? jobs.map { _ in nil }
            : edgeContrast(prepared, jobs: jobs.map { ($0.path, $0.sample) }, sigma: sigma)
        var fits = Parallel.map(count: jobs.count, threads: threads) { j -> SampleFit in
            let job = allJobs[j]
            return fitSample(prepared[job.path], index: job.sample, sigma: sigma,
                             attenuation: freeAttenuation ? nil : attenuationOfPath[job.path],
                             wideLumenAttenuation: localContrast[j])
        }
        if let blend = parameters.fixedCenterBlend, !freeAttenuation {
            refitNarrowLumens(prepared, jobs: jobs.map { ($0.path, $0.sample) }, fits: &fits, sigma: sigma, blend: blend,
                              attenuationOfPath: attenuationOfPath, localContrast: localContrast)
        }
        var measurements: [VesselMeasurement] = []
        var offset = 0
        for (p, path) in prepared.enumerated() {
            let count = path.sampled.count
            let pathFits = Array(fits[offset..<(offset + count)])
            offset += count
            var measurement = assemble(path, fits: pathFits, sigma: sigma)
            if let own = ownAttenuation[p], let typical = estimate.attenuation, typical > 0 {
                measurement.relativeContrast = own / typical
            }
            measurements.append(measurement)
        }
        return measurements
    }

    /// Profiles whose window is cut on one side (`fitSample`) are fitted with a flat background
    /// when the cut leaves at least this many PSF sigmas beyond the (block's) wall.
    static let oneSidedWallMargin = 1.0
    /// One-sided fits are kept only for lumens at least this many PSF sigmas in radius, where
    /// the wall, not the depth, fixes the radius.
    static let oneSidedMinimumRadius = 2.0
    /// Largest mean residual (in standard errors) of the cut side's background samples for a
    /// one-sided fit.
    static let oneSidedConsistencyLimit = 3.0

    /// A narrow free fit counts as off the lumen when its centre is further from the centre
    /// track than its radius plus this many PSF sigmas (`refitNarrowLumens`).
    static let offTrackSigmas = 2.0

    /// Narrow lumens: refit with the centre fixed to the vessel's centre track.
    ///
    /// With the centre free, a profile whose dip is not far above the noise (a tight lesion,
    /// r ~ sigma) is fitted where the noise deepens it most: the fitted dip, hence the radius, is
    /// biased upward (the amplitude bias of any fit that also searches for the position), and
    /// the centres jump by pixels from one profile to the next. On 80 standard phantoms with a
    /// 70 or 85 % lesion (1.5 and 2.5 mm, 4000 photons/pixel, `scripts/tight-lesion-sweep.sh`)
    /// the 85 % MLDs were +0.081 mm too large on average with noise and +0.014 mm without. The
    /// lumen centre moves smoothly along a vessel (an eccentric lesion shifts it over the
    /// lesion's length, millimetres), so it is taken from the neighbouring profiles instead: a
    /// local quadratic through the fitted lumen centres weighted by their precision
    /// (`centerTrack`), and the narrow profiles are refitted with the centre fixed there. The
    /// radius is blended from the fixed-centre fit (free radius below `blend.lowerBound` sigmas)
    /// to the free one (above `blend.upperBound`), so D(s) has no step. The fixed fit is not
    /// used where a likelihood-ratio test says the track misses the dip
    /// (`fixedCenterTestLimit`), nor in background-edge regions, unless the free fit is off the
    /// track (`offTrackSigmas`). Measured: 85 % lesions
    /// +0.081 → +0.043 mm (35 instead of 26 of 38 within 6 %DS points), 70 % +0.024 → +0.013.
    /// Still weak: where the skeleton runs 2-3 px off a tight lesion's centre the track follows
    /// it only partly (a standard phantom, coronary seed 8, 1.5 mm, 70 %, reads 0.12 mm narrow).
    func refitNarrowLumens(_ prepared: [PreparedPath], jobs: [(path: Int, sample: Int)], fits: inout [SampleFit],
                           sigma: Double, blend: ClosedRange<Double>, attenuationOfPath: [Double?],
                           localContrast: [Double?]) {
        var tracks: [[Double]] = []
        var offset = 0
        for path in prepared {
            let count = path.sampled.count
            tracks.append(centerTrack(path.sampled, fits: Array(fits[offset..<(offset + count)])))
            offset += count
        }
        let lower = blend.lowerBound * sigma, upper = blend.upperBound * sigma
        // Background-edge regions (section 2 of docs/qca.md): there the lumen model's linear
        // background is wrong under the vessel, and a free centre is what lets the fit follow
        // the dip the edge displaces (seed 104 of the study: MLD −0.16 mm with the centre
        // free, −0.31 mm fixed). Only a narrow fit that slid off the track altogether
        // (`offTrack`) is refitted there, as everywhere.
        var inEdgeRegion = [Bool](repeating: false, count: fits.count)
        func offTrack(_ j: Int) -> Bool {
            let fit = fits[j], track = tracks[jobs[j].path][jobs[j].sample]
            return fit.valid && abs(fit.center - track) > fit.radius + Self.offTrackSigmas * sigma
        }
        // Refit: narrow free fits, and profiles whose free fit failed or slid off the lumen.
        let refit = fits.indices.filter { j in
            let fit = fits[j]
            guard tracks[jobs[j].path][jobs[j].sample].isFinite else { return false }
            guard fit.valid ? fit.radius < upper : (4...7).contains(fit.reason) else { return false }
            let path = prepared[jobs[j].path]
            if backgroundCurvature != nil, let block = nearestBlock(path, index: jobs[j].sample) {
                let window = profileWindow(radius: block.fit.model.radius, sigma: sigma)
                if backgroundNonlinearity(center: path.sampled.points[jobs[j].sample], normal: path.sampled.normals[jobs[j].sample],
                                          halfWindow: window) > parameters.edgeNonlinearityLimit {
                    inEdgeRegion[j] = true
                    return offTrack(j)
                }
            }
            return true
        }
        let allJobs = jobs, centres = tracks, first = fits
        let refitted = Parallel.map(count: refit.count, threads: threads) { k -> SampleFit in
            let j = refit[k], job = allJobs[j]
            return fitSample(prepared[job.path], index: job.sample, sigma: sigma, attenuation: attenuationOfPath[job.path],
                             wideLumenAttenuation: localContrast[j], fixedCenter: centres[job.path][job.sample])
        }
        for (k, j) in refit.enumerated() {
            let fixed = refitted[k]
            // Off the track (`offTrackSigmas`): the free fit took something beside the lumen (a
            // bone edge's shadow, a noise blob) for it, and the likelihood-ratio test below would
            // prefer that; the fixed-centre fit replaces it when it converges on a narrow lumen.
            // Study seed 1041 (82 % on a bone edge): free fits 7 px off read a 3.4 px lumen,
            // segment mode 73.4 % → 76.9 %. Rejecting the off-track fit when the fixed one fails
            // was worse (a tight lesion's scattered centres pull the track: study seed 2090
            // lost its 84 % lesion).
            if inEdgeRegion[j] || offTrack(j) {
                if fixed.valid && fixed.radius < upper { fits[j] = fixed }
                continue
            }
            guard fixed.valid else { continue }
            let free = first[j]
            // A failed free fit is replaced only by a narrow lumen: elsewhere the failure has
            // its own cause (a crossing, a branch, a structure beside the wall).
            guard free.valid else { if fixed.radius < upper { fits[j] = fixed }; continue }
            // Likelihood-ratio test of the fixed centre against the free one (one parameter
            // less): a track off the lumen (a skeleton far from the centre of a tight lesion,
            // a structure pulling the track) fits clearly worse; keep the free fit there.
            let noise = free.residualScale
            if noise > 0, (fixed.sumOfSquares - free.sumOfSquares) / (noise * noise) > parameters.fixedCenterTestLimit { continue }
            let weight = min(max((free.radius - lower) / max(upper - lower, 1e-9), 0), 1)
            var blended = fixed
            blended.radius = weight * free.radius + (1 - weight) * fixed.radius
            blended.center = weight * free.center + (1 - weight) * fixed.center
            blended.radiusUncertainty = weight * free.radiusUncertainty + (1 - weight) * fixed.radiusUncertainty
            blended.residualScale = weight * free.residualScale + (1 - weight) * fixed.residualScale
            fits[j] = blended
        }
    }

    /// The lumen centre track of a path (offset along each sample's normal, px; NaN where no
    /// fitted centre is near): at each sample, a weighted local quadratic (in arc length, within
    /// `centerTrackHalfWindow`) through the fitted lumen centres in image coordinates, weights
    /// 1 / (centre variance + 0.05²), then one Tukey reweighting round on the normalised
    /// residuals (a centre that jumped to a noise dip or a neighbouring structure).
    func centerTrack(_ sampled: SampledPath, fits: [SampleFit]) -> [Double] {
        let count = sampled.count
        var track = [Double](repeating: .nan, count: count)
        var points: [(arc: Double, x: Double, y: Double, weight: Double)] = []
        for i in 0..<count where fits[i].valid && fits[i].centerUncertainty.isFinite {
            let p = sampled.points[i], n = sampled.normals[i], c = fits[i].center
            let u = fits[i].centerUncertainty
            points.append((sampled.arcLength[i], p.x + c * n.x, p.y + c * n.y, 1 / (u * u + 0.0025)))
        }
        guard points.count >= 5 else { return track }
        let half = parameters.centerTrackHalfWindow
        // Local weighted quadratic in (s - s0) for x and y; returns nil when too few points or
        // ill-conditioned (then linear, then the weighted mean).
        func localFit(at s0: Double, robust: [Double]?) -> (x: Double, y: Double)? {
            // Points are in arc order: binary search the window.
            var lo = 0, hi = points.count
            while lo < hi { let mid = (lo + hi) / 2; if points[mid].arc < s0 - half { lo = mid + 1 } else { hi = mid } }
            let lowIndex = lo
            hi = points.count
            while lo < hi { let mid = (lo + hi) / 2; if points[mid].arc <= s0 + half { lo = mid + 1 } else { hi = mid } }
            let highIndex = lo
            guard highIndex - lowIndex >= 3 else { return nil }
            for degree in stride(from: 2, through: 0, by: -1) {
                let size = degree + 1
                var normal = [Double](repeating: 0, count: size * size)
                var bx = [Double](repeating: 0, count: size), by = [Double](repeating: 0, count: size)
                var total = 0.0
                for k in lowIndex..<highIndex {
                    let w = points[k].weight * (robust?[k] ?? 1)
                    guard w > 0 else { continue }
                    total += w
                    let t = (points[k].arc - s0) / half
                    var basis = [1.0, t, t * t]
                    basis.removeLast(2 - degree)
                    for a in 0..<size {
                        bx[a] += w * basis[a] * points[k].x
                        by[a] += w * basis[a] * points[k].y
                        for b in 0..<size { normal[a * size + b] += w * basis[a] * basis[b] }
                    }
                }
                guard total > 0 else { return nil }
                // Conditioning: the determinant relative to the diagonal product.
                if degree > 0 {
                    var diagonal = 1.0
                    for a in 0..<size { diagonal *= normal[a * size + a] }
                    let determinant = degree == 1 ? normal[0] * normal[3] - normal[1] * normal[2]
                        : normal[0] * (normal[4] * normal[8] - normal[5] * normal[7])
                        - normal[1] * (normal[3] * normal[8] - normal[5] * normal[6])
                        + normal[2] * (normal[3] * normal[7] - normal[4] * normal[6])
                    if !(determinant > 1e-4 * diagonal) { continue }
                }
                guard let cx = LumenFitter.solveSymmetric(normal, bx, size: size),
                      let cy = LumenFitter.solveSymmetric(normal, by, size: size) else { continue }
                return (cx[0], cy[0])
            }
            return nil
        }
        // First pass at the points themselves, for the robust weights.
        var normalised = [Double](repeating: 0, count: points.count)
        for k in points.indices {
            guard let fit = localFit(at: points[k].arc, robust: nil) else { continue }
            let distance = hypot(points[k].x - fit.x, points[k].y - fit.y)
            normalised[k] = distance * points[k].weight.squareRoot()
        }
        let scale = max(1, 1.4826 * (Statistics.median(normalised) ?? 1))
        let robust = normalised.map { value -> Double in
            let u = value / (4.685 * scale)
            return u < 1 ? (1 - u * u) * (1 - u * u) : 0
        }
        for i in 0..<count {
            guard let fit = localFit(at: sampled.arcLength[i], robust: robust) else { continue }
            let p = sampled.points[i], n = sampled.normals[i]
            track[i] = (fit.x - p.x) * n.x + (fit.y - p.y) * n.y
        }
        return track
    }

    /// Local contrast for wide lumens in background-edge regions (nil elsewhere). Where the
    /// background is not linear across the profile (a bone edge along or across the vessel,
    /// `backgroundNonlinearity` above `edgeNonlinearityLimit`) the background divided out
    /// under the vessel is wrong, and a contrast fixed to the vessel's median makes the fit
    /// turn that error into a wrong radius. There the contrast is fitted freely on the wide
    /// profiles (radius >= `edgeContrastMinimumRadius` sigmas: the edges fix the radius and
    /// the contrast absorbs the background error), and the local median of those (within
    /// `edgeContrastReach` px of arc, at least `edgeContrastMinimumProfiles`) is returned.
    /// Narrow lumens keep the vessel's contrast: at r ~ sigma the radius rests on the
    /// integrated attenuation, and a contrast taken from a biased background does not
    /// correct it (tried: tight lesions by bone edges moved by up to 0.2 mm).
    func edgeContrast(_ prepared: [PreparedPath], jobs: [(path: Int, sample: Int)], sigma: Double) -> [Double?] {
        var result: [Double?] = jobs.map { _ in nil }
        guard backgroundCurvature != nil, let reach = parameters.edgeContrastReach else { return result }
        let affected = jobs.map { job -> Bool in
            let path = prepared[job.path]
            guard let block = nearestBlock(path, index: job.sample) else { return false }
            // Only wide lumens use the local contrast or feed it (80 %: the block is 8 px long).
            guard block.fit.model.radius >= 0.8 * parameters.edgeContrastMinimumRadius * sigma else { return false }
            let window = profileWindow(radius: block.fit.model.radius, sigma: sigma)
            return backgroundNonlinearity(center: path.sampled.points[job.sample], normal: path.sampled.normals[job.sample],
                                          halfWindow: window) > parameters.edgeNonlinearityLimit
        }
        let candidates = jobs.indices.filter { affected[$0] }
        guard !candidates.isEmpty else { return result }
        let allJobs = jobs
        let free = Parallel.map(count: candidates.count, threads: threads) { k -> SampleFit in
            let job = allJobs[candidates[k]]
            return fitSample(prepared[job.path], index: job.sample, sigma: sigma, attenuation: nil)
        }
        var wideByPath: [Int: [(arc: Double, attenuation: Double)]] = [:]
        for (k, j) in candidates.enumerated() {
            let fit = free[k]
            guard fit.valid, fit.attenuation > 0, fit.radius >= parameters.edgeContrastMinimumRadius * sigma else { continue }
            let job = jobs[j]
            wideByPath[job.path, default: []].append((prepared[job.path].sampled.arcLength[job.sample], fit.attenuation))
        }
        // Jobs run along each path in order, so each path's wide profiles are sorted by arc:
        // the ones within +-reach are a contiguous run, found by binary search.
        func firstIndex(_ wide: [(arc: Double, attenuation: Double)], notBelow arc: Double) -> Int {
            var low = 0, high = wide.count
            while low < high {
                let mid = (low + high) / 2
                if wide[mid].arc < arc { low = mid + 1 } else { high = mid }
            }
            return low
        }
        for j in candidates {
            let job = jobs[j]
            guard let wide = wideByPath[job.path] else { continue }
            let arc = prepared[job.path].sampled.arcLength[job.sample]
            let from = firstIndex(wide, notBelow: arc - reach)
            var to = from
            while to < wide.count && wide[to].arc <= arc + reach { to += 1 }
            if to - from >= parameters.edgeContrastMinimumProfiles {
                result[j] = Statistics.median(wide[from..<to].map(\.attenuation))
            }
        }
        return result
    }

    private func nearestBlock(_ path: PreparedPath, index: Int) -> BlockFit? {
        var best: BlockFit?
        var bestDistance = Int.max
        for block in path.blocks where block.fit.converged {
            let distance = abs(block.sampleIndex - index)
            if distance < bestDistance { best = block; bestDistance = distance }
        }
        return best
    }

    func fitSample(_ path: PreparedPath, index: Int, sigma: Double, attenuation: Double?,
                   wideLumenAttenuation: Double? = nil, fixedCenter: Double? = nil) -> SampleFit {
        let invalid = SampleFit(radius: 0, center: 0, radiusUncertainty: .infinity, residualScale: .infinity, background: 0, valid: false)
        func rejected(_ reason: Int) -> SampleFit { var r = invalid; r.reason = reason; return r }
        guard let block = nearestBlock(path, index: index) else { return rejected(1) }
        let sampled = path.sampled
        let window = profileWindow(radius: block.fit.model.radius, sigma: sigma)
        var samples = ProfileSamples()
        StripSampler.gather(image: image, center: sampled.points[index], tangent: sampled.tangents[index],
                            normal: sampled.normals[index], alongHalfLength: parameters.stripHalfLength,
                            acrossHalfLength: window, into: &samples)
        guard samples.count >= 12 else { return rejected(2) }
        // Another vessel running alongside (a branch just after its origin, a parallel vessel)
        // would be taken for background and shrink the lumen: cut the window before it.
        let blockModel = block.fit.model
        let limits = ProfileWindowLimits.find(samples, window: window, center: blockModel.center,
                                              radius: blockModel.radius, sigma: sigma,
                                              depth: max(path.typicalDepth, blockModel.background * blockModel.centralDip),
                                              pixelNoise: block.fit.residualScale, pixelsPerUnitLength: 2 * parameters.stripHalfLength)
        let innerReach = blockModel.radius + 2 * sigma + 1.5
        // A profile cut by the image border (or by a neighbour hugging the wall) has no
        // background on one side. Cut on both sides, the lumen cannot be measured there. Cut on
        // one side only, but beyond the wall (a background edge a few px from the lumen: a
        // bone slab's border the vessel runs along), it is fitted with the background level
        // from the open side and no background slope: the image is divided by its background
        // (`BackgroundNormalization`), so what remains of it is flat on the scale of a profile.
        let lowerClipped = limits.lower > blockModel.center - innerReach
        let upperClipped = limits.upper < blockModel.center + innerReach
        guard !(lowerClipped && upperClipped) else { return rejected(3) }
        let oneSided = lowerClipped || upperClipped
        if oneSided {
            guard parameters.fitOneSidedProfiles,
                  limits.lower <= blockModel.center - blockModel.radius - Self.oneSidedWallMargin * sigma,
                  limits.upper >= blockModel.center + blockModel.radius + Self.oneSidedWallMargin * sigma else { return rejected(3) }
            // The cut side's consistency (tested on the fit below) checked first on the block's
            // lumen, before any fit: most one-sided windows of a dense network fail it, and
            // fitting them first cost 10 % of a busy 1024² frame's time.
            let near = blockModel.radius + 2 * sigma
            var cutSum = 0.0, cutCount = 0.0, openSum = 0.0, openCount = 0.0
            for i in 0..<samples.count {
                let d = samples.distance[i], u = d - blockModel.center
                guard d >= limits.lower, d <= limits.upper, abs(u) > near else { continue }
                if (u < 0) == lowerClipped { cutSum += samples.value[i]; cutCount += 1 } else { openSum += samples.value[i]; openCount += 1 }
            }
            guard cutCount >= 4, openCount >= 4 else { return rejected(3) }
            let spread = block.fit.residualScale * (1 / cutCount + 1 / openCount).squareRoot()
            guard abs(cutSum / cutCount - openSum / openCount) <= Self.oneSidedConsistencyLimit * max(spread, 1e-9) else { return rejected(3) }
        }
        if limits.lower > -window || limits.upper < window {
            var kept = ProfileSamples()
            for i in 0..<samples.count where samples.distance[i] >= limits.lower && samples.distance[i] <= limits.upper {
                kept.distance.append(samples.distance[i])
                kept.value.append(samples.value[i])
            }
            samples = kept
        }
        var free: LumenFitter.Free = fixedCenter == nil ? [.center, .radius] : [.radius]
        if attenuation == nil { free.insert(.attenuation) }
        let line = ProfileInitialGuess.backgroundLine(samples, lower: limits.lower, upper: limits.upper)
        // The lumen centre must stay inside the lumen's window (else the fit can slide away to
        // where the lumen term vanishes).
        let centerLimit = max(min(-limits.lower, limits.upper) - 1, 1)
        func attempt(radius: Double, center: Double) -> LumenFit? {
            var initial = blockModel
            initial.sigma = sigma
            initial.radius = radius
            initial.center = min(max(center, -centerLimit), centerLimit)
            if let attenuation { initial.attenuation = attenuation }
            // The block's background was fitted a few px away; start from this strip's own ends.
            if let line {
                initial.background = line.intercept
                initial.backgroundSlope = line.slope
            }
            if oneSided { initial.backgroundSlope = 0 }
            return LumenFitter.fit(samples, initial: initial, free: free, maxRadius: parameters.maxRadius,
                                   centerLimit: centerLimit, fixedBackgroundSlope: oneSided)
        }
        func acceptable(_ fit: LumenFit?) -> Bool {
            guard let fit else { return false }
            return fit.converged && fit.radiusUncertainty.isFinite && fit.model.radius + abs(fit.model.center) < window
        }
        // Start from the nearest block; in a tight lesion the block (8 px long) may be off, so
        // retry from a small and a half-reference lumen and keep the best acceptable fit.
        var fit = attempt(radius: max(blockModel.radius, 0.8), center: fixedCenter ?? blockModel.center)
        if !acceptable(fit) {
            let typical = max(path.typicalRadius, 1.6)
            for (radius, center) in [(typical / 2, fixedCenter ?? 0.0), (0.8, fixedCenter ?? 0.0), (typical, fixedCenter ?? 0.0)] {
                let candidate = attempt(radius: radius, center: center)
                if acceptable(candidate), let c = candidate,
                   !acceptable(fit) || c.residualScale < (fit?.residualScale ?? .infinity) {
                    fit = candidate
                }
            }
        }
        guard var result = fit else { return rejected(4) }
        // A narrow lumen's radius rests on its depth below the background, which one side
        // cannot pin down (study seed 3076: an 83 % neck read 1.2 px instead of 2.0 px).
        if oneSided && result.model.radius < Self.oneSidedMinimumRadius * sigma { return rejected(3) }
        // The flat background must hold on the cut side too: between the wall's blur and the
        // cut, the image must sit at the level fitted from the open side. A background edge
        // the normalisation left there (or a contrast taken too high from blocks the edge
        // darkened) shows as samples below the model; such a fit reads the lumen too narrow
        // (a slab border 3 px beside a 14 px vessel, not modelled: 10 px), so it is rejected.
        if oneSided {
            let m = result.model
            let near = m.radius + 2 * sigma
            var sum = 0.0, count = 0.0
            for i in 0..<samples.count {
                let u = samples.distance[i] - m.center
                guard lowerClipped ? u < -near : u > near else { continue }
                sum += samples.value[i] - m.value(at: samples.distance[i])
                count += 1
            }
            guard count >= 4 else { return rejected(3) }
            let noise = result.residualScale / count.squareRoot()
            if abs(sum / count) > Self.oneSidedConsistencyLimit * max(noise, 1e-9) { return rejected(3) }
        }
        // Background-edge region (`edgeContrast`): wide lumens are refitted with the local
        // contrast, blended linearly over `edgeContrastBlend` (in PSF sigmas) so the diameter
        // function has no step where a narrowing crosses it.
        if let local = wideLumenAttenuation, acceptable(result),
           result.model.radius > parameters.edgeContrastBlend.lowerBound * sigma {
            var initial = result.model
            initial.attenuation = local
            if let wide = LumenFitter.fit(samples, initial: initial, free: free, maxRadius: parameters.maxRadius,
                                          centerLimit: centerLimit, fixedBackgroundSlope: oneSided), acceptable(wide) {
                let from = parameters.edgeContrastBlend.lowerBound * sigma, to = parameters.edgeContrastBlend.upperBound * sigma
                let weight = min(max((result.model.radius - from) / max(to - from, 1e-9), 0), 1)
                var blended = wide
                blended.model.radius = weight * wide.model.radius + (1 - weight) * result.model.radius
                blended.model.center = weight * wide.model.center + (1 - weight) * result.model.center
                blended.radiusUncertainty = weight * wide.radiusUncertainty + (1 - weight) * result.radiusUncertainty
                blended.residualScale = weight * wide.residualScale + (1 - weight) * result.residualScale
                result = blended
            }
        }
        let m = result.model
        let centred = abs(m.center) <= max(block.fit.model.radius, m.radius) + 3
        let inside = m.radius + abs(m.center) < window
        let reason = !(result.converged && result.radiusUncertainty.isFinite) ? 5 : (!centred ? 6 : (!inside ? 7 : 0))
        return SampleFit(radius: m.radius, center: m.center, radiusUncertainty: result.radiusUncertainty,
                         residualScale: result.residualScale, background: m.background,
                         valid: reason == 0, centerUncertainty: result.centerUncertainty,
                         sumOfSquares: result.sumOfSquares, attenuation: m.attenuation,
                         radiusSensitivity: result.radiusSensitivity, reason: reason)
    }

    // MARK: stage 3: diameter function

    /// Share of each profile's residual the lumen's own taper explains. A profile's strip is
    /// 2 × `stripHalfLength` long, over which the radius of a narrowing's flank changes by
    /// ±g h (g = dr/ds, h the half-length): fitting one radius leaves residuals of about
    /// g h / √3 (the RMS of a uniform spread) times the model's radius sensitivity. On a
    /// noise-free image with dense contrast this is many times the typical residual (a
    /// 64 % narrowing over 4.9 mm: flanks at 6× a 0.2 % floor, 23 of 63 profiles rejected
    /// and the lesion dropped as a false dip). The robust (median-based) residual scale of
    /// such flanks measured 0.4–0.9 of that RMS, hence `taperResidualShare` = 0.5. The
    /// slope is taken from the Savitzky–Golay-smoothed fitted radius of the valid profiles,
    /// so a single stray fit does not make its own allowance.
    func taperResiduals(_ fits: [SampleFit], valid: [Bool]) -> [Double] {
        let count = fits.count
        guard count >= 3 else { return [Double](repeating: 0, count: count) }
        let radii = Statistics.fillGaps((0..<count).map { valid[$0] ? fits[$0].radius : .nan })
        let halfWindow = max(1, Int((parameters.diameterSmoothingHalfWindow / parameters.sampleSpacing).rounded()))
        let smoothed = Statistics.savitzkyGolayQuadratic(radii, halfWindow: halfWindow)
        return (0..<count).map { i in
            let lower = max(i - 1, 0), upper = min(i + 1, count - 1)
            let slope = (smoothed[upper] - smoothed[lower]) / (Double(upper - lower) * parameters.sampleSpacing)
            guard slope.isFinite else { return 0 }
            return Self.taperResidualShare * abs(slope) * parameters.stripHalfLength / 3.0.squareRoot() * fits[i].radiusSensitivity
        }
    }
    /// Robust residual scale of a tapering flank / RMS of the taper mismatch (measured 0.4–0.9).
    static let taperResidualShare = 0.5

    func assemble(_ path: PreparedPath, fits: [SampleFit], sigma: Double) -> VesselMeasurement {
        let sampled = path.sampled
        let count = sampled.count
        var valid = fits.map(\.valid)
        var reasons = fits.map(\.reason)
        // Profiles whose residual is far above the path's typical residual contain something
        // the model does not describe (a branch, an overlapping vessel, the catheter).
        // The typical residual has a floor of `residualScaleFloor` of the background: on a
        // noise-free or nearly noise-free image it is the model's own small mismatch, and a
        // lesion's flank (the radius changing along the strip) leaves several times that
        // (noise-free tube: flanks 0.2–0.4 % of the background against 0.045 % typical,
        // which rejected 77 of 126 profiles and dropped a 59 % lesion as a false dip).
        let scales = zip(fits, valid).filter { $0.1 }.map { $0.0.residualScale }
        let backgroundLevel = Statistics.median(zip(fits, valid).filter { $0.1 }.map { $0.0.background }) ?? 0
        if let median = Statistics.median(scales), median > 0 {
            let typical = max(median, parameters.residualScaleFloor * abs(backgroundLevel))
            let taper = taperResiduals(fits, valid: valid)
            for i in 0..<count where valid[i] {
                let allowed = 3 * (typical * typical + taper[i] * taper[i]).squareRoot()
                if fits[i].residualScale > allowed { valid[i] = false; reasons[i] = 8 }
            }
        }
        var raw = [Double](repeating: .nan, count: count)
        var rawUncertainty = [Double](repeating: .nan, count: count)
        for i in 0..<count where valid[i] {
            raw[i] = 2 * fits[i].radius
            rawUncertainty[i] = 2 * fits[i].radiusUncertainty
        }
        let filled = Statistics.fillGaps(raw)
        let halfWindow = max(1, Int((parameters.diameterSmoothingHalfWindow / parameters.sampleSpacing).rounded()))
        let diameter = Statistics.savitzkyGolayQuadratic(filled, halfWindow: halfWindow)
        // Uncertainty of the smoothed diameter: the per-profile fit SD reduced by the number of
        // (roughly independent: strips overlap by half) profiles in the window, combined with the
        // local scatter of the raw diameters about the smoothed curve.
        let effective = max(1.0, Double(2 * halfWindow + 1) * parameters.sampleSpacing / (2 * parameters.stripHalfLength))
        let filledUncertainty = Statistics.fillGaps(rawUncertainty)
        var uncertainty = [Double](repeating: 0, count: count)
        let scatterReach = 10
        for i in 0..<count {
            var sum = 0.0, n = 0.0
            for k in max(0, i - scatterReach)...min(count - 1, i + scatterReach) where valid[k] {
                let e = raw[k] - diameter[k]
                sum += e * e; n += 1
            }
            let scatter = n > 2 ? (sum / (n - 1)).squareRoot() / effective.squareRoot() : 0
            let fitPart = (filledUncertainty[i].isFinite ? filledUncertainty[i] : 0) / effective.squareRoot()
            uncertainty[i] = (scatter * scatter + fitPart * fitPart).squareRoot()
        }

        var centerline = sampled.points, left = sampled.points, right = sampled.points
        let centres = Statistics.fillGaps(fits.enumerated().map { valid[$0.offset] ? $0.element.center : .nan })
        for i in 0..<count {
            let n = sampled.normals[i], p = sampled.points[i]
            let c = centres[i].isFinite ? centres[i] : 0
            let r = diameter[i].isFinite ? diameter[i] / 2 : 0
            centerline[i] = Point2D(x: p.x + c * n.x, y: p.y + c * n.y)
            left[i] = Point2D(x: p.x + (c - r) * n.x, y: p.y + (c - r) * n.y)
            right[i] = Point2D(x: p.x + (c + r) * n.x, y: p.y + (c + r) * n.y)
        }

        let range = measurableRange(path, diameter: diameter, valid: valid)
        // Junction zones: within 1.5 diameters + 3 px of a junction the path runs through.
        var junctionZone = [Bool](repeating: false, count: count)
        if !path.path.interiorJunctions.isEmpty {
            let typical = Statistics.median(zip(diameter, valid).filter { $0.1 && $0.0.isFinite }.map(\.0)) ?? 0
            let reach = 1.5 * typical + 3
            for i in 0..<count {
                let p = sampled.points[i]
                junctionZone[i] = path.path.interiorJunctions.contains { hypot($0.x - p.x, $0.y - p.y) < reach }
            }
        }
        // Long-gap bridge zones: samples within 2 px of a long bridge's route.
        var longBridgeZone = [Bool](repeating: false, count: count)
        if !path.path.longBridges.isEmpty {
            for i in 0..<count {
                let p = sampled.points[i]
                longBridgeZone[i] = path.path.longBridges.contains { bridge in bridge.contains { hypot($0.x - p.x, $0.y - p.y) < 2 } }
            }
        }
        let usable = zip(valid, junctionZone).map { $0 && !$1 }
        let reference = ReferenceDiameter.fit(arcLength: sampled.arcLength, diameter: diameter, valid: usable, range: range)
        var measurement = VesselMeasurement(segmentId: path.path.id, centerline: centerline, arcLength: sampled.arcLength,
                                 normals: sampled.normals, leftEdge: left, rightEdge: right,
                                 diameter: diameter.map { $0.isFinite ? $0 : 0 },
                                 rawDiameter: raw.map { $0.isFinite ? $0 : 0 },
                                 referenceDiameter: reference.values, diameterUncertainty: uncertainty,
                                 valid: valid, measurableRange: range, psfSigma: sigma)
        measurement.referenceUncertainty = reference.uncertainty
        measurement.profilePath = sampled.points
        measurement.rejectionReasons = reasons
        measurement.junctionZone = junctionZone
        measurement.longBridgeZone = longBridgeZone
        return measurement
    }

    /// Excludes the ends: near a junction the profile holds the other vessel; at a free end
    /// the lumen tip is partial; at a user point only the smoothing margin is lost.
    func measurableRange(_ path: PreparedPath, diameter: [Double], valid: [Bool]) -> Range<Int> {
        let count = diameter.count
        let typical = Statistics.median(zip(diameter, valid).filter { $0.1 && $0.0.isFinite }.map(\.0)) ?? 0
        func exclusion(_ kind: PathEndKind) -> Double {
            switch kind {
            case .junction: return 1.0 * typical + 3
            case .endpoint: return 1.0 * typical + 3
            case .userPoint: return parameters.diameterSmoothingHalfWindow
            }
        }
        let arc = path.sampled.arcLength
        let total = arc.last ?? 0
        let startArc = exclusion(path.path.startKind), endArc = total - exclusion(path.path.endKind)
        var lower = 0
        while lower < count && arc[lower] < startArc { lower += 1 }
        var upper = count
        while upper > lower && arc[upper - 1] > endArc { upper -= 1 }
        return lower..<upper
    }
}

/// Initial values for the profile fit from the binned profile: background line from the
/// window ends, lumen centre and half width at half maximum of the attenuation dip.
enum ProfileInitialGuess {
    static func backgroundLine(_ samples: ProfileSamples, window: Double) -> (intercept: Double, slope: Double)? {
        backgroundLine(samples, lower: -window, upper: window)
    }

    /// Least-squares line through the samples within 3 px of either window end.
    static func backgroundLine(_ samples: ProfileSamples, lower: Double, upper: Double) -> (intercept: Double, slope: Double)? {
        let margin = min(3.0, (upper - lower) * 0.15)
        var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0, n = 0.0
        var leftCount = 0, rightCount = 0
        for i in 0..<samples.count where samples.distance[i] <= lower + margin || samples.distance[i] >= upper - margin {
            let x = samples.distance[i], y = samples.value[i]
            sx += x; sy += y; sxx += x * x; sxy += x * y; n += 1
            if x < 0 { leftCount += 1 } else { rightCount += 1 }
        }
        guard n >= 2 else { return nil }
        let denominator = n * sxx - sx * sx
        if leftCount == 0 || rightCount == 0 || abs(denominator) < 1e-9 { return (sy / n, 0) }
        let slope = (n * sxy - sx * sy) / denominator
        return ((sy - slope * sx) / n, slope)
    }

    static func estimate(_ samples: ProfileSamples, window: Double, sigma: Double, shapeExponent: Double = 1,
                         attenuationLaw: LumenModel.AttenuationLaw = .exponential) -> LumenModel? {
        guard samples.count >= 8, let line = backgroundLine(samples, window: window), line.intercept != 0 else { return nil }
        let binWidth = 0.5
        let bins = Int((2 * window / binWidth).rounded(.up)) + 1
        var sums = [Double](repeating: 0, count: bins), counts = [Double](repeating: 0, count: bins)
        for i in 0..<samples.count {
            let b = Int(((samples.distance[i] + window) / binWidth).rounded())
            guard b >= 0 && b < bins else { continue }
            let base = line.intercept + line.slope * samples.distance[i]
            guard base != 0 else { continue }
            sums[b] += 1 - samples.value[i] / base
            counts[b] += 1
        }
        var deficit = (0..<bins).map { counts[$0] > 0 ? sums[$0] / counts[$0] : Double.nan }
        deficit = Statistics.fillGaps(deficit).map { $0.isFinite ? $0 : 0 }
        // 3-bin running mean against noise.
        var smoothed = [Double](repeating: 0, count: bins)
        for b in 0..<bins {
            let total: Double = deficit[max(b - 1, 0)] + deficit[b] + deficit[min(b + 1, bins - 1)]
            smoothed[b] = total / 3
        }
        let centreBin = bins / 2
        let reach = max(1, Int((window * 0.6) / binWidth))
        var peak = centreBin
        for b in max(0, centreBin - reach)...min(bins - 1, centreBin + reach) where smoothed[b] > smoothed[peak] { peak = b }
        let height = smoothed[peak]
        guard height > 0 else { return nil }
        var lo = peak, hi = peak
        while lo > 0 && smoothed[lo] > height / 2 { lo -= 1 }
        while hi < bins - 1 && smoothed[hi] > height / 2 { hi += 1 }
        func crossing(_ a: Int, _ b: Int) -> Double {
            let va = smoothed[a], vb = smoothed[b]
            let t = vb != va ? (height / 2 - va) / (vb - va) : 0.5
            return (Double(a) + min(max(t, 0), 1) * Double(b - a)) * binWidth - window
        }
        let left = crossing(lo, min(lo + 1, bins - 1)), right = crossing(hi, max(hi - 1, 0))
        let halfWidth = max((right - left) / 2, 0.5)
        let radius = max(halfWidth * 1.1, 0.8)
        let shaped = LumenModel(background: 0, backgroundSlope: 0, attenuation: 0, center: 0, radius: radius, sigma: sigma,
                                shapeExponent: shapeExponent, attenuationLaw: attenuationLaw)
        let attenuation = shaped.attenuation(forCentralDip: min(height, 0.95))
        return LumenModel(background: line.intercept, backgroundSlope: line.slope, attenuation: max(attenuation, 1e-3),
                          center: (left + right) / 2, radius: radius, sigma: sigma, shapeExponent: shapeExponent,
                          attenuationLaw: attenuationLaw)
    }
}


/// Where the background on each side of a lumen ends: walking outward from the wall, the
/// binned intensity is followed; once it drops clearly below the brightest level seen so far,
/// another dark structure begins and the window is cut at that brightest point.
enum ProfileWindowLimits {
    static func find(_ samples: ProfileSamples, window: Double, center: Double, radius: Double,
                     sigma: Double, depth: Double, pixelNoise: Double, pixelsPerUnitLength: Double) -> (lower: Double, upper: Double) {
        let binWidth = 0.5
        let bins = Int((2 * window / binWidth).rounded(.up)) + 1
        var sums = [Double](repeating: 0, count: bins), counts = [Double](repeating: 0, count: bins)
        var lowest = Double.infinity, highest = -Double.infinity
        for i in 0..<samples.count {
            let b = Int(((samples.distance[i] + window) / binWidth).rounded())
            guard b >= 0 && b < bins else { continue }
            sums[b] += samples.value[i]
            counts[b] += 1
            lowest = min(lowest, samples.distance[i]); highest = max(highest, samples.distance[i])
        }
        guard lowest.isFinite, highest.isFinite else { return (-window, window) }
        let binned = Statistics.fillGaps((0..<bins).map { counts[$0] > 0 ? sums[$0] / counts[$0] : Double.nan })
        // 5-bin (2.5 px) running mean.
        let halfSpan = 2
        var smoothed = binned
        for b in 0..<bins {
            var total = 0.0, n = 0.0
            for k in max(0, b - halfSpan)...min(bins - 1, b + halfSpan) { total += binned[k]; n += 1 }
            smoothed[b] = total / n
        }
        let pixelsPerSmoothedBin = max(1, Double(2 * halfSpan + 1) * binWidth * pixelsPerUnitLength)
        let noise = pixelNoise.isFinite ? pixelNoise / pixelsPerSmoothedBin.squareRoot() : 0
        // The running maximum of noisy bins sits ~2 SD above the mean: demand a clear drop that
        // lasts 1.5 px (a neighbouring vessel is wider than that).
        let threshold = max(0.3 * abs(depth), 6 * noise)
        let persistence = 3
        func walk(from start: Double, direction: Double) -> Double {
            let end = direction > 0 ? min(window, highest) : max(-window, lowest)
            var brightestValue = -Double.infinity, brightestPosition = start
            var below = 0
            var position = start
            while direction > 0 ? position <= end : position >= end {
                let b = Int(((position + window) / binWidth).rounded())
                if b >= 0 && b < bins {
                    let v = smoothed[b]
                    if v > brightestValue { brightestValue = v; brightestPosition = position; below = 0 }
                    else if brightestValue - v > threshold {
                        below += 1
                        if below >= persistence { return brightestPosition }
                    } else {
                        below = 0
                    }
                }
                position += direction * binWidth
            }
            return end
        }
        let reach = radius + 1.5 * sigma + 1
        return (walk(from: center - reach, direction: -1), walk(from: center + reach, direction: 1))
    }
}
