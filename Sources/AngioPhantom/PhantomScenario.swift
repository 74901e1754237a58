import Foundation
import VesselCore

/// Anatomy template for generated specs.
public enum PhantomAnatomy: String, Codable, Sendable, CaseIterable {
    /// Tortuous coronary-like artery with a guide catheter at its ostium, diaphragm in view.
    case coronary
    /// Straighter, mostly vertical below-the-knee artery between two bone shadows.
    case peripheral
}

/// High-level description of a phantom (what `angio phantom` flags set). The vessel layout is
/// a deterministic function of `seed`, `anatomy`, `size`, `diameterMm` and the lesion's
/// position and length, so changing the stenosis severity, noise, encoding or calibration keeps
/// the same vessels: `--stenosis 70` and `--stenosis 20` with the same seed are a pre/post pair
/// of the same artery.
public struct PhantomScenario: Codable, Sendable, Equatable {
    public var anatomy: PhantomAnatomy = .coronary
    public var size: Int = 512
    public var mmPerPixel: Double = 0.16
    public var diameterMm: Double = 3.0
    public var stenosisPercent: Double = 50
    public var lesionLengthMm: Double = 8
    /// Lesion centre as a fraction of the main vessel's arc length; nil = drawn from the seed.
    public var lesionPosition: Double? = nil
    public var eccentricity: Double = 0
    public var lesionShape: PhantomStenosisShape = .cosine
    public var taperMmPerMm: Double = 0
    public var branches: Int = 1
    public var crossing: Bool = false
    /// Catheter French size; nil = no catheter.
    public var catheterFrench: Double? = 6
    public var noise: PhantomNoise = PhantomNoise()
    public var blurSigmaPx: Double = 1.0
    public var bitsStored: Int = 12
    public var photometric: PhantomPhotometric = .monochrome2
    public var intensityEncoding: PhantomIntensityEncoding = .linear
    public var frames: Int = 1
    public var calibration: PhantomCalibration = .imagerPixelSpacingWithMagnification(1.2)
    public var transferSyntax: String = "explicit"
    public var background: Bool = true

    public init() {}
}

/// Options of `PhantomGenerator.randomSpec`: ranges every phantom draws from.
public struct RandomPhantomOptions: Codable, Sendable, Equatable {
    public var size: Int = 512
    public var mmPerPixel: Double = 0.16
    public var referenceDiameterMm: ClosedRange<Double> = 1.5...3.5
    public var stenosisPercent: ClosedRange<Double> = 0...85
    public var lesionLengthMm: ClosedRange<Double> = 5...15
    public var eccentricity: ClosedRange<Double> = 0...0.5
    public var taperMmPerMm: ClosedRange<Double> = 0...0.015
    public var photonsPerPixel: ClosedRange<Double> = 1500...10000
    public var blurSigmaPx: ClosedRange<Double> = 0.5...1.5
    public var maxBranches: Int = 2
    public var crossingProbability: Double = 0.3
    public var catheterProbability: Double = 0.5
    public var background: Bool = true
    public var anatomies: [PhantomAnatomy] = [.coronary, .peripheral]

    public init() {}
}

extension PhantomGenerator {
    /// A random phantom for accuracy studies: every parameter drawn from `options`' ranges
    /// with the seed's own generator. Always renderable.
    public static func randomSpec(seed: UInt64, options: RandomPhantomOptions = .init()) -> PhantomSpec {
        var rng = PhantomRNG(seed: seed, stream: PhantomStream.randomSpec)
        var scenario = PhantomScenario()
        scenario.anatomy = options.anatomies.isEmpty ? .coronary : options.anatomies[rng.integer(0...(options.anatomies.count - 1))]
        scenario.size = options.size
        scenario.mmPerPixel = options.mmPerPixel
        scenario.diameterMm = rng.uniform(options.referenceDiameterMm)
        scenario.stenosisPercent = rng.uniform(options.stenosisPercent)
        scenario.lesionLengthMm = rng.uniform(options.lesionLengthMm)
        scenario.eccentricity = rng.uniform(options.eccentricity) * (rng.chance(0.5) ? 1 : -1)
        scenario.taperMmPerMm = rng.uniform(options.taperMmPerMm)
        scenario.noise = PhantomNoise(photonsPerPixel: rng.uniform(options.photonsPerPixel))
        scenario.blurSigmaPx = rng.uniform(options.blurSigmaPx)
        scenario.branches = rng.integer(0...max(0, options.maxBranches))
        scenario.crossing = rng.chance(options.crossingProbability)
        scenario.catheterFrench = rng.chance(options.catheterProbability) ? [5.0, 6.0, 7.0][rng.integer(0...2)] : nil
        scenario.background = options.background
        scenario.transferSyntax = "explicit"
        return spec(seed: seed, scenario: scenario)
    }

    /// The spec for a scenario. Vessel layout depends on (seed, anatomy, size) only; if the
    /// requested diameters do not fit the layout's bends, the bends are relaxed (still
    /// deterministically).
    public static func spec(seed: UInt64, scenario: PhantomScenario) -> PhantomSpec {
        let size = Double(scenario.size)
        var spec = PhantomSpec(seed: seed, width: scenario.size, height: scenario.size, mmPerPixel: scenario.mmPerPixel)
        spec.noise = scenario.noise
        spec.focalSpotBlurSigmaPx = scenario.blurSigmaPx
        spec.bitsStored = scenario.bitsStored
        spec.photometric = scenario.photometric
        spec.intensityEncoding = scenario.intensityEncoding
        spec.frames = scenario.frames
        spec.calibration = scenario.calibration
        spec.transferSyntax = scenario.transferSyntax
        if !scenario.background {
            spec.background = .flat(attenuation: 1.0)
        } else if scenario.anatomy == .peripheral {
            // Soft tissue of the calf with tibia and fibula shadows, no diaphragm.
            spec.background = PhantomBackground(baseAttenuation: 1.0, gradientAttenuation: 0.2, blobCount: 2,
                                                blobAttenuation: 0.15, textureAttenuation: 0.02, diaphragm: false,
                                                diaphragmAttenuation: 0, boneCount: 2, boneAttenuationPerPx: 0.0025)
        }
        var rng = PhantomRNG(seed: seed, stream: PhantomStream.geometry &+ UInt64(scenario.anatomy == .coronary ? 0 : 1))
        let radiusPx = scenario.diameterMm / scenario.mmPerPixel / 2
        // Layout draws: fixed count and order so they do not depend on the lesion parameters.
        let layout = (0..<32).map { _ in rng.unit() }
        var bendScale = 1.0
        var result = spec
        for _ in 0..<8 {
            result = spec
            result.vessels = []
            let main = mainVessel(scenario: scenario, layout: layout, size: size, bendScale: bendScale)
            result.vessels.append(main)
            let mainCurve = ArcCurve(controlPoints: main.controlPoints)
            if let catheterFrench = scenario.catheterFrench, let start = main.controlPoints.first {
                // Coaxial tip when the bend it needs stays gentle; else a plain curve.
                let coaxial = catheter(french: catheterFrench, ostium: start, vesselStartDirection: mainCurve?.tangent(at: 0),
                                       scenario: scenario, layout: layout, size: size)
                let catheterRadius = catheterFrench / 3 / scenario.mmPerPixel / 2
                if let curve = ArcCurve(controlPoints: coaxial.controlPoints), curve.minimumCurvatureRadius() > 3 * catheterRadius + 4 {
                    result.catheter = coaxial
                } else {
                    let plain = catheter(french: catheterFrench, ostium: start, vesselStartDirection: nil,
                                         scenario: scenario, layout: layout, size: size)
                    let bend = ArcCurve(controlPoints: plain.controlPoints)?.minimumCurvatureRadius() ?? 0
                    result.catheter = bend > 1.5 * catheterRadius + 3 ? plain : nil
                }
            }
            let lesionCentre = main.stenosis?.position ?? 0.5
            let mainLength = mainCurve?.length ?? size
            let lesionHalfFraction = (scenario.lesionLengthMm / scenario.mmPerPixel / 2 + 6 / scenario.mmPerPixel) / mainLength
            for branch in 0..<max(0, min(scenario.branches, 4)) {
                if let curve = mainCurve,
                   let vessel = sideBranch(index: branch, parentCurve: curve, lesionCentre: lesionCentre,
                                           lesionHalfFraction: lesionHalfFraction, scenario: scenario, layout: layout,
                                           size: size, bendScale: bendScale) {
                    result.vessels.append(vessel)
                }
            }
            if scenario.crossing, let curve = mainCurve {
                result.vessels.append(crossingVessel(mainCurve: curve, lesionCentre: lesionCentre,
                                                     scenario: scenario, layout: layout, size: size))
            }
            // Keep the chord model valid: every centreline bend must exceed the lumen radius.
            let fits = result.vessels.enumerated().allSatisfy { index, vessel in
                var points = vessel.controlPoints
                if vessel.kind == .sideBranch, let curve = mainCurve, let f = vessel.branchFraction {
                    points.insert(curve.point(at: f * curve.length), at: 0)
                }
                guard let curve = ArcCurve(controlPoints: points) else { return false }
                return curve.minimumCurvatureRadius() > 3 * max(radiusPx, vessel.referenceDiameterMm / scenario.mmPerPixel / 2) + 4
            }
            if fits {
                if let curve = mainCurve { removeOverlaps(&result, mainCurve: curve, scenario: scenario) }
                break
            }
            bendScale *= 0.6
        }
        return result
    }

    // MARK: - Layout pieces

    /// Samples of a curve every `step` px of arc length.
    private static func samples(_ curve: ArcCurve, step: Double = 1) -> [(s: Double, p: Point2D)] {
        stride(from: 0.0, through: curve.length, by: step).map { ($0, curve.point(at: $0)) }
    }

    private static func distance(_ p: Point2D, to points: [(s: Double, p: Point2D)]) -> Double {
        points.reduce(Double.infinity) { min($0, hypot($1.p.x - p.x, $1.p.y - p.y)) }
    }

    /// Drops side branches that run alongside the main vessel beyond their origin, and any
    /// vessel or catheter passing within 3 px of the lesion (+-2 mm), so the truth lesion is a
    /// clean profile. Depends on the lesion's position and length but not on its severity, so
    /// pre/post pairs keep the same layout.
    private static func removeOverlaps(_ spec: inout PhantomSpec, mainCurve: ArcCurve, scenario: PhantomScenario) {
        let mm = scenario.mmPerPixel
        let mainRadius = scenario.diameterMm / mm / 2
        let mainSamples = samples(mainCurve)
        var lesionSamples: [(s: Double, p: Point2D)] = []
        if let lesion = spec.vessels.first?.stenosis {
            let centre = lesion.position * mainCurve.length, half = (lesion.lengthMm / 2 + 2) / mm
            lesionSamples = mainSamples.filter { abs($0.s - centre) <= half }
        }
        var kept: [PhantomVessel] = [spec.vessels[0]]
        for vessel in spec.vessels.dropFirst() {
            var points = vessel.controlPoints
            if vessel.kind == .sideBranch, let f = vessel.branchFraction {
                points.insert(mainCurve.point(at: f * mainCurve.length), at: 0)
            }
            guard let curve = ArcCurve(controlPoints: points) else { continue }
            let radius = vessel.referenceDiameterMm / mm / 2
            let clearance = mainRadius + radius + 3
            let own = samples(curve)
            if lesionSamples.contains(where: { distance($0.p, to: own) < clearance }) { continue }
            if vessel.kind == .sideBranch {
                // Past its origin (3 combined radii + 10 px) a branch must leave the parent.
                let origin = 3 * (mainRadius + radius) + 10
                if own.contains(where: { $0.s > origin && distance($0.p, to: mainSamples) < clearance }) { continue }
            }
            kept.append(vessel)
        }
        spec.vessels = kept
        if let catheter = spec.catheter, let curve = ArcCurve(controlPoints: catheter.controlPoints) {
            let clearance = mainRadius + catheter.outerDiameterMm / mm / 2 + 3
            let own = samples(curve)
            if lesionSamples.contains(where: { distance($0.p, to: own) < clearance }) { spec.catheter = nil }
        }
    }

    private static func mainVessel(scenario: PhantomScenario, layout: [Double], size: Double, bendScale: Double) -> PhantomVessel {
        var points: [Point2D] = []
        switch scenario.anatomy {
        case .coronary:
            // Ostium in the upper left quadrant; the artery sweeps down and right out of view.
            let start = Point2D(x: size * (0.12 + 0.12 * layout[0]), y: scenario.catheterFrench == nil ? -0.05 * size : size * (0.10 + 0.08 * layout[1]))
            let end = Point2D(x: size * (0.70 + 0.35 * layout[2]), y: size * 1.06)
            let count = 6
            for i in 0..<count {
                let t = Double(i) / Double(count - 1)
                var x = start.x + (end.x - start.x) * t, y = start.y + (end.y - start.y) * t
                if i > 0 && i < count - 1 {
                    let dx = end.x - start.x, dy = end.y - start.y, n = hypot(dx, dy)
                    let lateral = (layout[2 + i] - 0.5) * 0.22 * size * bendScale
                    x += -dy / n * lateral; y += dx / n * lateral
                }
                points.append(Point2D(x: x, y: y))
            }
        case .peripheral:
            // Nearly vertical, gently undulating, slightly oblique.
            let x0 = size * (0.38 + 0.24 * layout[0]), x1 = x0 + size * (layout[1] - 0.5) * 0.25
            let count = 6
            for i in 0..<count {
                let t = Double(i) / Double(count - 1)
                let lateral = (i > 0 && i < count - 1) ? (layout[2 + i] - 0.5) * 0.08 * size * bendScale : 0
                points.append(Point2D(x: x0 + (x1 - x0) * t + lateral, y: -0.06 * size + 1.12 * size * t))
            }
        }
        let position = scenario.lesionPosition ?? (0.38 + 0.24 * layout[9])
        let stenosis = scenario.stenosisPercent > 0
            ? PhantomStenosis(percentDiameter: scenario.stenosisPercent, lengthMm: scenario.lesionLengthMm,
                              position: position, eccentricity: scenario.eccentricity, shape: scenario.lesionShape)
            : nil
        return PhantomVessel(kind: .main, controlPoints: points, referenceDiameterMm: scenario.diameterMm,
                             taperMmPerMm: scenario.taperMmPerMm, stenosis: stenosis)
    }

    private static func catheter(french: Double, ostium: Point2D, vesselStartDirection: Point2D?,
                                 scenario: PhantomScenario, layout: [Double], size: Double) -> PhantomCatheter {
        // Enters from the top edge and curves down into the ostium, its tip coaxial with the
        // first centimetre of the artery (an engaged guide catheter).
        let entry = Point2D(x: ostium.x + size * (0.18 + 0.15 * layout[10]), y: -0.05 * size)
        let bend = Point2D(x: ostium.x + size * (0.10 + 0.05 * layout[11]), y: ostium.y * 0.45)
        var points = [entry, bend]
        if let vesselStart = vesselStartDirection {
            let back = 6 / scenario.mmPerPixel
            points.append(Point2D(x: ostium.x - vesselStart.x * back, y: ostium.y - vesselStart.y * back))
        }
        points.append(ostium)
        return PhantomCatheter(frenchSize: french, controlPoints: points)
    }

    private static func sideBranch(index: Int, parentCurve: ArcCurve, lesionCentre: Double, lesionHalfFraction: Double,
                                   scenario: PhantomScenario, layout: [Double], size: Double,
                                   bendScale: Double) -> PhantomVessel? {
        // Candidate origins spread along the parent, skipping the lesion and its shoulders.
        let candidates = [0.22, 0.78, 0.12, 0.88].map { $0 + (layout[12 + index] - 0.5) * 0.06 }
        var chosen: Double?
        var skipped = 0
        for candidate in candidates where abs(candidate - lesionCentre) > lesionHalfFraction + 0.02 {
            if skipped == index { chosen = candidate; break }
            skipped += 1
        }
        guard let fraction = chosen else { return nil }
        let s = fraction * parentCurve.length
        let origin = parentCurve.point(at: s), tangent = parentCurve.tangent(at: s)
        let side: Double = layout[16 + index] < 0.5 ? -1 : 1
        let angle = side * (0.6 + 0.4 * layout[20 + index]) // 34-57 degrees off the parent
        let c = cos(angle), sn = sin(angle)
        let direction = Point2D(x: tangent.x * c - tangent.y * sn, y: tangent.x * sn + tangent.y * c)
        let length = size * (0.25 + 0.15 * layout[24 + index])
        // The branch turns gradually (by `curl` radians per third of its length) back towards
        // the parent's direction, like an epicardial branch following the heart's surface.
        let curl = -side * 0.10 * bendScale
        var points: [Point2D] = []
        var position = origin
        for third in 1...3 {
            let turn = Double(third) * curl
            let d = Point2D(x: direction.x * cos(turn) - direction.y * sin(turn),
                            y: direction.x * sin(turn) + direction.y * cos(turn))
            position = Point2D(x: position.x + d.x * length / 3, y: position.y + d.y * length / 3)
            points.append(position)
        }
        let diameter = max(1.0, scenario.diameterMm * (0.55 + 0.15 * layout[28 + index]))
        // Branches taper to ~70 % of their origin diameter over their length.
        let taper = 0.3 * diameter / (length * scenario.mmPerPixel)
        return PhantomVessel(kind: .sideBranch, controlPoints: points, referenceDiameterMm: diameter,
                             taperMmPerMm: taper, parentIndex: 0, branchFraction: fraction)
    }

    private static func crossingVessel(mainCurve: ArcCurve, lesionCentre: Double, scenario: PhantomScenario,
                                       layout: [Double], size: Double) -> PhantomVessel {
        // Crosses the main vessel well away from the lesion, at 50-90 degrees.
        let fraction = lesionCentre < 0.5 ? 0.70 : 0.30
        let s = fraction * mainCurve.length
        let centre = mainCurve.point(at: s), tangent = mainCurve.tangent(at: s)
        let angle = (layout[30] < 0.5 ? -1.0 : 1.0) * (0.87 + 0.7 * layout[31])
        let direction = Point2D(x: tangent.x * cos(angle) - tangent.y * sin(angle),
                                y: tangent.x * sin(angle) + tangent.y * cos(angle))
        let half = size * 0.45
        let a = Point2D(x: centre.x - direction.x * half, y: centre.y - direction.y * half)
        let b = Point2D(x: centre.x + direction.x * half, y: centre.y + direction.y * half)
        let bow = Point2D(x: centre.x - direction.y * size * 0.03, y: centre.y + direction.x * size * 0.03)
        return PhantomVessel(kind: .crossing, controlPoints: [a, bow, b],
                             referenceDiameterMm: min(2.5, max(1.2, scenario.diameterMm * 0.7)), contrastScale: 0.8)
    }
}
