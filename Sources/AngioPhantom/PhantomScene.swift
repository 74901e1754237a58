import Dispatch
import Foundation
import VesselCore

/// The resolved geometry of a spec: centreline curves, lumen profiles, render tubes and the
/// background field.
struct Scene: Sendable {
    let spec: PhantomSpec
    let curves: [ArcCurve]
    let profiles: [LumenProfile]
    /// Render tubes: one per vessel (same order), then the catheter if any.
    let tubes: [RenderTube]
    let catheterCurve: ArcCurve?
    let background: BackgroundField
    /// exp(-background attenuation) at each pixel centre, row-major.
    let backgroundTransmission: [Float]

    init(spec: PhantomSpec) throws(PhantomError) {
        self.spec = spec
        var curves: [ArcCurve] = []
        var profiles: [LumenProfile] = []
        var tubes: [RenderTube] = []
        for (index, vessel) in spec.vessels.enumerated() {
            var points = vessel.controlPoints
            if vessel.kind == .sideBranch, let parent = vessel.parentIndex, let fraction = vessel.branchFraction {
                let parentCurve = curves[parent]
                points.insert(parentCurve.point(at: fraction * parentCurve.length), at: 0)
            }
            guard let curve = ArcCurve(controlPoints: points) else {
                throw PhantomError("vessels[\(index)] needs at least two distinct control points")
            }
            let profile = LumenProfile(vessel: vessel, lengthPx: curve.length, mmPerPixel: spec.mmPerPixel)
            let endDiameter = profile.referenceDiameterMm(at: curve.length)
            if endDiameter < 0.2 {
                throw PhantomError(String(format: "vessels[%d] tapers to %.3f mm at its end (%.1f mm long); reduce taperMmPerMm",
                                          index, endDiameter, curve.length * spec.mmPerPixel))
            }
            if let stenosis = vessel.stenosis, stenosis.lengthMm / spec.mmPerPixel > curve.length {
                throw PhantomError(String(format: "vessels[%d] stenosis is %.1f mm long but the vessel only %.1f mm",
                                          index, stenosis.lengthMm, curve.length * spec.mmPerPixel))
            }
            let tube = RenderTube(curve: curve, profile: profile, innerDiameterMm: nil,
                                  lumenAttenuationPerMm: spec.contrastAttenuationPerMm * vessel.contrastScale,
                                  wallAttenuationPerMm: 0, sharesMainDepthPlane: vessel.kind != .crossing,
                                  width: spec.width, height: spec.height)
            // The chord model needs a unique foot point on the centreline for every lumen point
            // (bend radius > lumen reach); the renderer's local search also assumes the foot
            // moves < 2.5 px across a pixel, which 1.5 x reach + 2 px guarantees.
            let bend = curve.minimumCurvatureRadius()
            if bend < 1.5 * tube.reach + 2 {
                throw PhantomError(String(format: "vessels[%d] bends with a %.1f px radius; its %.1f px lumen radius needs at least %.1f px (1.5 x radius + 2); smooth its control points",
                                          index, bend, tube.reach, 1.5 * tube.reach + 2))
            }
            curves.append(curve); profiles.append(profile); tubes.append(tube)
        }
        if let catheter = spec.catheter {
            guard let curve = ArcCurve(controlPoints: catheter.controlPoints) else {
                throw PhantomError("catheter needs at least two distinct control points")
            }
            let profile = LumenProfile(constantDiameterMm: catheter.outerDiameterMm, mmPerPixel: spec.mmPerPixel)
            let tube = RenderTube(curve: curve, profile: profile,
                                  innerDiameterMm: catheter.outerDiameterMm - 2 * catheter.wallThicknessMm,
                                  lumenAttenuationPerMm: spec.contrastAttenuationPerMm,
                                  wallAttenuationPerMm: spec.contrastAttenuationPerMm * catheter.wallAttenuationScale,
                                  sharesMainDepthPlane: true, width: spec.width, height: spec.height)
            let bend = curve.minimumCurvatureRadius()
            if bend < 1.5 * tube.reach + 2 {
                throw PhantomError(String(format: "catheter bends with a %.1f px radius; its %.1f px radius needs at least %.1f px (1.5 x radius + 2)",
                                          bend, tube.reach, 1.5 * tube.reach + 2))
            }
            tubes.append(tube)
            catheterCurve = curve
        } else {
            catheterCurve = nil
        }
        self.curves = curves
        self.profiles = profiles
        self.tubes = tubes
        let field = BackgroundField(spec: spec)
        background = field
        var transmission = [Float](repeating: 0, count: spec.width * spec.height)
        let width = spec.width
        transmission.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let out = buffer
            PhantomGenerator.forEachRowBand(height: spec.height, workers: ProcessInfo.processInfo.activeProcessorCount) { rows in
                for y in rows {
                    for x in 0..<width {
                        out[y * width + x] = Float(exp(-field.attenuation(x: Double(x), y: Double(y))))
                    }
                }
            }
        }
        backgroundTransmission = transmission
    }

    /// Noise-free, blur-free transmission of every frame. Each pixel is the mean of
    /// exp(-attenuation) over an n x n grid of sub-pixel samples (the detector integrates
    /// intensity over the pixel area); pixels within 1 px of any lumen wall use a 4n x 4n grid.
    func renderTransmission(concentration: [Double], workers: Int) -> [GrayImage] {
        let width = spec.width, height = spec.height, frames = concentration.count
        var output = [Float](repeating: 0, count: width * height * frames)
        let tubes = self.tubes
        let base = backgroundTransmission
        let coarse = spec.supersampling, fine = 4 * spec.supersampling
        let mmPerPixel = spec.mmPerPixel
        let window = Int((2.0 / RenderTube.vertexSpacing).rounded(.up)) + 2
        output.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let out = buffer
            PhantomGenerator.forEachRowBand(height: height, workers: workers) { rows in
                var hints = [Int](repeating: -1, count: tubes.count)
                // Per sub-sample: longest lumen attenuation among tubes of the main depth plane,
                // summed lumen attenuation of tubes at other depths, and catheter wall attenuation.
                var lumen = [Double](repeating: 0, count: fine * fine)
                var crossing = [Double](repeating: 0, count: fine * fine)
                var wall = [Double](repeating: 0, count: fine * fine)
                for y in rows {
                    for x in 0..<width {
                        let index = y * width + x
                        let px = Double(x), py = Double(y)
                        var anyTube = false, refine = false
                        for t in 0..<tubes.count {
                            hints[t] = -1
                            guard let hint = tubes[t].nearestSegment(pixelX: x, pixelY: y, px: px, py: py) else { continue }
                            hints[t] = hint
                            anyTube = true
                            if !refine, let l = tubes[t].local(px, py, hint: hint, window: window) {
                                if tubes[t].innerRadius != nil {
                                    if abs(abs(l.u) - l.radius) < 1.0 || abs(abs(l.u) - l.inner) < 1.0 { refine = true }
                                } else if abs(abs(l.u - l.offset) - l.radius) < 1.0 {
                                    refine = true
                                }
                            } else if !refine {
                                refine = true // near a cut end of the tube
                            }
                        }
                        let background = Double(base[index])
                        guard anyTube else {
                            for f in 0..<frames { out[f * width * height + index] = Float(background) }
                            continue
                        }
                        let n = refine ? fine : coarse
                        let count = n * n
                        for k in 0..<count { lumen[k] = 0; crossing[k] = 0; wall[k] = 0 }
                        for t in 0..<tubes.count where hints[t] >= 0 {
                            let tube = tubes[t]
                            let lumenScale = tube.lumenAttenuationPerMm * mmPerPixel
                            let wallScale = tube.wallAttenuationPerMm * mmPerPixel
                            for sy in 0..<n {
                                let qy = py + (Double(sy) + 0.5) / Double(n) - 0.5
                                for sx in 0..<n {
                                    let qx = px + (Double(sx) + 0.5) / Double(n) - 0.5
                                    let c = tube.chords(qx, qy, hint: hints[t], window: window)
                                    let k = sy * n + sx
                                    if tube.sharesMainDepthPlane {
                                        lumen[k] = max(lumen[k], c.lumen * lumenScale)
                                    } else {
                                        crossing[k] += c.lumen * lumenScale
                                    }
                                    wall[k] += c.wall * wallScale
                                }
                            }
                        }
                        for f in 0..<frames {
                            let c = concentration[f]
                            var sum = 0.0
                            for k in 0..<count { sum += exp(-(c * (lumen[k] + crossing[k]) + wall[k])) }
                            out[f * width * height + index] = Float(background * sum / Double(count))
                        }
                    }
                }
            }
        }
        return (0..<frames).map { f in
            GrayImage(width: width, height: height,
                      pixels: Array(output[(f * width * height)..<((f + 1) * width * height)]))
        }
    }

    // MARK: - Truth

    private static func rounded(_ value: Double, _ scale: Double = 10_000) -> Double {
        (value * scale).rounded() / scale
    }

    func truth(concentration: [Double], mostOpacifiedFrame: Int, backgroundStored: Double, noiseSD: Double,
               whiteLevel: Double) -> PhantomTruth {
        let mm = spec.mmPerPixel
        var vessels: [PhantomVesselTruth] = []
        for (index, vessel) in spec.vessels.enumerated() {
            let curve = curves[index], profile = profiles[index]
            let others = tubes.indices.filter { $0 != index }.map { tubes[$0] }
            var centerline: [Point2D] = [], arcs: [Double] = [], diameterPx: [Double] = []
            var diameterMm: [Double] = [], referenceMm: [Double] = [], overlapped: [Bool] = []
            for s in Self.samplePositions(length: curve.length, spacing: spec.truthSampleSpacingPx) {
                let c = curve.point(at: s), n = curve.normal(at: s)
                let o = profile.offsetPx(at: s), r = profile.radiusPx(at: s)
                let centre = Point2D(x: c.x + o * n.x, y: c.y + o * n.y)
                centerline.append(Point2D(x: Self.rounded(centre.x, 1000), y: Self.rounded(centre.y, 1000)))
                arcs.append(Self.rounded(s, 1000))
                diameterPx.append(Self.rounded(2 * r))
                diameterMm.append(Self.rounded(profile.diameterMm(at: s), 1e5))
                referenceMm.append(Self.rounded(profile.referenceDiameterMm(at: s), 1e5))
                // Overlap: any other lumen within 1 px of this cross-section (walls included).
                var hit = false
                var k = -(r + 1)
                while k <= r + 1 && !hit {
                    let qx = centre.x + k * n.x, qy = centre.y + k * n.y
                    for tube in others where tube.wallDistance(qx, qy) <= 1.0 { hit = true; break }
                    k += 0.5
                }
                overlapped.append(hit)
            }
            var stenosisTruth: PhantomStenosisTruth?
            if let stenosis = vessel.stenosis {
                let s = profile.minimalDiameterArcLength(curveLength: curve.length)
                let mld = profile.diameterMm(at: s), reference = profile.referenceDiameterMm(at: s)
                let c = curve.point(at: s), n = curve.normal(at: s)
                let o = profile.offsetPx(at: s), r = profile.radiusPx(at: s)
                let centre = Point2D(x: c.x + o * n.x, y: c.y + o * n.y)
                let half = stenosis.lengthMm / mm / 2
                let start = max(0, profile.lesionCentrePx - half), end = min(curve.length, profile.lesionCentrePx + half)
                let ratio = mld / reference
                stenosisTruth = PhantomStenosisTruth(
                    mldMm: mld, mldPx: mld / mm, referenceDiameterAtMldMm: reference,
                    percentDiameterStenosis: 100 * (1 - ratio), percentAreaStenosis: 100 * (1 - ratio * ratio),
                    location: centre, mldArcLengthPx: s, startArcLengthPx: start, endArcLengthPx: end,
                    lengthMm: (end - start) * mm,
                    wallPoints: [Point2D(x: centre.x - r * n.x, y: centre.y - r * n.y),
                                 Point2D(x: centre.x + r * n.x, y: centre.y + r * n.y)])
            }
            vessels.append(PhantomVesselTruth(
                id: index, kind: vessel.kind, parentId: vessel.kind == .sideBranch ? vessel.parentIndex : nil,
                lengthPx: curve.length, lengthMm: curve.length * mm, centerline: centerline, arcLengthPx: arcs,
                diameterPx: diameterPx, diameterMm: diameterMm, referenceDiameterMm: referenceMm,
                overlapped: overlapped, referenceDiameterStartMm: vessel.referenceDiameterMm,
                taperMmPerMm: vessel.taperMmPerMm, stenosis: stenosisTruth))
        }
        var catheterTruth: PhantomCatheterTruth?
        if let catheter = spec.catheter, let curve = catheterCurve {
            let path = Self.samplePositions(length: curve.length, spacing: spec.truthSampleSpacingPx).map {
                let p = curve.point(at: $0)
                return Point2D(x: Self.rounded(p.x, 1000), y: Self.rounded(p.y, 1000))
            }
            catheterTruth = PhantomCatheterTruth(frenchSize: catheter.frenchSize, diameterMm: catheter.outerDiameterMm,
                                                 diameterPx: catheter.outerDiameterMm / mm, path: path)
        }
        return PhantomTruth(
            truthVersion: 1, mmPerPixel: PhantomCalibrationTags.readableMmPerPixel(spec), trueMmPerPixel: mm,
            width: spec.width, height: spec.height, frames: spec.frames, mostOpacifiedFrame: mostOpacifiedFrame,
            contrastConcentration: concentration.map { Self.rounded($0, 1e6) }, vessels: vessels,
            catheter: catheterTruth, seed: spec.seed, whiteLevelTransmission: whiteLevel,
            backgroundMeanStoredValue: Self.rounded(backgroundStored, 1000), noiseSDStoredValue: Self.rounded(noiseSD, 1000),
            spec: spec)
    }

    /// 0, h, 2h, ... and the end point.
    static func samplePositions(length: Double, spacing: Double) -> [Double] {
        var positions: [Double] = []
        let count = Int((length / spacing).rounded(.down))
        for i in 0...count { positions.append(Double(i) * spacing) }
        if length - (positions.last ?? 0) > spacing * 1e-3 { positions.append(length) }
        return positions
    }
}
