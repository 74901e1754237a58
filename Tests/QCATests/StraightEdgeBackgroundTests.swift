import XCTest
import VesselCore
@testable import QCA

/// Straight background edges (a long bone's cortex): found where they are, modelled across
/// their line, and a vessel crossing one measured as if the edge were not there.
final class StraightEdgeBackgroundTests: XCTestCase {
    /// A tibia-like cylinder along x = 80 + 0.05 (y - 128) (radius 60 px: its right outer edge
    /// runs along x = 140 + 0.05 (y - 128)), cortex 0.0025 per px of chord, marrow 40 % of it,
    /// as the phantom generator draws bones.
    static func boneAttenuation(_ x: Double, _ y: Double) -> Double {
        let slope = 0.05, radius = 60.0, marrow = 36.0
        let d = (x - (80 + slope * (y - 128))) / (1 + slope * slope).squareRoot()
        let outer = radius * radius - d * d
        guard outer > 0 else { return 0 }
        let inner = marrow * marrow - d * d
        let cortex = 2 * outer.squareRoot() - (inner > 0 ? 2 * inner.squareRoot() : 0)
        return 0.0025 * (cortex + 0.4 * (inner > 0 ? 2 * inner.squareRoot() : 0))
    }

    /// 256 x 256 image: bone, optionally a vessel of radius 6 px (0.0192 per px of chord)
    /// along x = xVessel(y), PSF sigma 1 px, 1 % Gaussian noise. Returns the image and the
    /// vessel mask (true lumen + 1 px).
    static func scene(vessel xVessel: ((Double) -> Double)?, seed: UInt64 = 5) -> (GrayImage, BinaryMask) {
        scene(vesselWhere: xVessel.map { f in { Optional(f($0)) } }, seed: seed)
    }

    /// `scene` with a vessel only in the rows where `xVessel` gives its centre.
    static func scene(vesselWhere xVessel: ((Double) -> Double?)?, seed: UInt64 = 5) -> (GrayImage, BinaryMask) {
        let size = 256, radius = 6.0, attenuation = 0.0192
        var transmission = GrayImage(width: size, height: size)
        var mask = BinaryMask(width: size, height: size)
        for y in 0..<size {
            for x in 0..<size {
                var a = boneAttenuation(Double(x), Double(y))
                if let xVessel, let centre = xVessel(Double(y)) {
                    let u = Double(x) - centre
                    if u * u < radius * radius { a += attenuation * 2 * (radius * radius - u * u).squareRoot() }
                    if abs(u) <= radius + 1 { mask[x: x, y: y] = true }
                }
                transmission.pixels[y * size + x] = Float(3000 * exp(-a))
            }
        }
        var image = GaussianBlur.blur(transmission, sigma: 1, threads: 1)
        var generator = SplitMix(seed: seed)
        for i in image.pixels.indices { image.pixels[i] *= Float(1 + 0.01 * generator.gaussian()) }
        return (image, mask)
    }

    func testFindsTheBoneEdgesWhereTheyAre() {
        let (image, mask) = Self.scene(vessel: nil)
        let logImage = image.pixels.map { log($0) }
        let unmasked = mask.bits.map { _ in Float(1) }
        let lines = StraightEdgeBackground.findLines(logImage: logImage, unmasked: unmasked, width: 256, height: 256, threads: 1)
        // The outer right edge: x = 140 + 0.05 (y - 128), i.e. at (140, 128) with direction (0.05, 1).
        let truthNormal = (x: 1 / (1 + 0.0025).squareRoot(), y: -0.05 / (1 + 0.0025).squareRoot())
        let match = lines.first { line in
            // The steepest gradient of the blurred sqrt-shaped cortex lies ~1 px inside it.
            abs(abs(line.nx * truthNormal.x + line.ny * truthNormal.y) - 1) < 1e-3 && abs(line.distance(140, 128)) < 2
        }
        XCTAssertNotNil(match, "outer edge not found among \(lines)")
        XCTAssertLessThanOrEqual(lines.count, StraightEdgeBackground.maximumLines)
    }

    func testSmoothBackgroundHasNoStraightEdge() {
        var pixels = [Float](repeating: 0, count: 256 * 256)
        for y in 0..<256 {
            for x in 0..<256 {
                let blob = 0.15 * exp(-(pow(Double(x) - 90, 2) + pow(Double(y) - 160, 2)) / (2 * 60 * 60))
                pixels[y * 256 + x] = Float(3000 * exp(-0.0008 * Double(x) - blob))
            }
        }
        let lines = StraightEdgeBackground.findLines(logImage: pixels.map { log($0) }, unmasked: [Float](repeating: 1, count: 256 * 256),
                                                     width: 256, height: 256, threads: 1)
        XCTAssertEqual(lines.count, 0)
    }

    /// A vessel (true diameter 12 px) running obliquely across the bone's outer edge: with the
    /// isotropic background alone the diameter where it crosses is off by up to 2 px; with the
    /// edge modelled, by less than half of that.
    func testVesselCrossingTheEdgeKeepsItsDiameter() throws {
        let xVessel: (Double) -> Double = { 110 + 0.3 * ($0 - 20) }
        let (image, mask) = Self.scene(vessel: xVessel)
        func diameters(straightEdges: Bool) throws -> [Double] {
            let normalized = BackgroundNormalization.normalizeWithCurvature(image, vesselMask: mask, threads: 1, straightEdges: straightEdges)
            let analyzer = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
            let path = VesselPath(id: 0, points: [Point2D(x: xVessel(20), y: 20), Point2D(x: xVessel(236), y: 236)],
                                  startKind: .userPoint, endKind: .userPoint)
            let measurement = try XCTUnwrap(analyzer.measure(path, estimate: nil))
            return measurement.measurableRange.filter { measurement.valid[$0] }.map { measurement.diameter[$0] }
        }
        let modelled = try diameters(straightEdges: true), isotropic = try diameters(straightEdges: false)
        let worstModelled = modelled.map { abs($0 - 12) }.max() ?? .infinity
        let worstIsotropic = isotropic.map { abs($0 - 12) }.max() ?? .infinity
        print("vessel across a bone edge: worst diameter error \(worstModelled) px modelled, \(worstIsotropic) px isotropic")
        XCTAssertGreaterThan(modelled.count, 300)
        XCTAssertLessThan(worstModelled, 0.5 * worstIsotropic)
        // Measured: 0.78 px modelled, 1.99 px isotropic.
        XCTAssertLessThan(worstModelled, 1.0)
    }

    /// The bone's broad cortex leaves edge pixels beside the first line's: they must not make
    /// a second line on the same edge (each would take part of the step).
    func testOneEdgeGivesOneLine() {
        let (image, mask) = Self.scene(vessel: nil)
        let lines = StraightEdgeBackground.findLines(logImage: image.pixels.map { log($0) }, unmasked: mask.bits.map { _ in Float(1) },
                                                     width: 256, height: 256, threads: 1)
        for (i, a) in lines.enumerated() {
            for b in lines[(i + 1)...] {
                XCTAssertFalse(StraightEdgeBackground.duplicates(a, b), "two lines on one edge: \(a), \(b)")
            }
        }
        // What `duplicates` tells apart: the same edge 3 px away, and a parallel edge 20 px away.
        let line = StraightEdgeBackground.Line(nx: 1, ny: 0, offset: 100, along: -50...50)
        XCTAssertTrue(StraightEdgeBackground.duplicates(line, .init(nx: -1, ny: 0.01, offset: -103, along: -40...60)))
        XCTAssertFalse(StraightEdgeBackground.duplicates(line, .init(nx: 1, ny: 0, offset: 120, along: -50...50)))
        XCTAssertFalse(StraightEdgeBackground.duplicates(line, .init(nx: 0.9, ny: 0.436, offset: 100, along: -50...50)))
    }

    /// The circular field of an image intensifier (radius 110 px): short stretches of its rim
    /// collect votes, but the rim is curved, and a straight line there would be wrong by its
    /// sagitta. No line is taken.
    func testCircularFieldRimIsNotAStraightEdge() {
        let size = 256
        var transmission = GrayImage(width: size, height: size)
        for y in 0..<size {
            for x in 0..<size {
                let r = hypot(Double(x) - 128, Double(y) - 128)
                transmission.pixels[y * size + x] = Float(3000 * exp(r > 110 ? -0.8 : 0))
            }
        }
        let image = GaussianBlur.blur(transmission, sigma: 1, threads: 1)
        let lines = StraightEdgeBackground.findLines(logImage: image.pixels.map { log($0) }, unmasked: [Float](repeating: 1, count: size * size),
                                                     width: size, height: size, threads: 1)
        XCTAssertEqual(lines, [])
        // The parabola test itself: a straight row of points, and an arc of radius 110 over 80 px
        // (sagitta 80^2 / (8 * 110) = 7.3 px).
        let positions = stride(from: -40.0, through: 40, by: 1).map { $0 }
        XCTAssertLessThan(StraightEdgeBackground.sagitta(positions: positions, distances: positions.map { 0.02 * $0 + 1 }), 1e-9)
        let arc = positions.map { 110 - (110 * 110 - $0 * $0).squareRoot() }
        XCTAssertEqual(StraightEdgeBackground.sagitta(positions: positions, distances: arc), 7.3, accuracy: 0.2)
    }

    /// A shutter blade covering the right half of rows 80...175 (a step of 0.5 in ln I along a
    /// straight edge that ends inside the image). Away from the blade (40 px and more) the
    /// background estimate must stay within 1 % of the truth: the modelled step must not reach
    /// beyond the blade's ends across the image (as a step faded along the line did, in bands
    /// through the open field level with the blade's ends).
    func testEdgeEndingInsideTheImageStaysLocal() {
        let size = 256
        func inBlade(_ x: Double, _ y: Double) -> Bool { x >= 128 && y >= 80 && y < 176 }
        var truth = GrayImage(width: size, height: size)
        for y in 0..<size {
            for x in 0..<size {
                let smooth = 0.0008 * Double(x) + 0.0005 * Double(y)
                truth.pixels[y * size + x] = Float(3000 * exp(-smooth - (inBlade(Double(x), Double(y)) ? 0.5 : 0)))
            }
        }
        let blurred = GaussianBlur.blur(truth, sigma: 1, threads: 1)
        var image = blurred
        var generator = SplitMix(seed: 11)
        for i in image.pixels.indices { image.pixels[i] *= Float(1 + 0.01 * generator.gaussian()) }
        // A short vessel mask far from the blade (normalisation needs one).
        var mask = BinaryMask(width: size, height: size)
        for y in 200..<240 { for x in 40..<46 { mask[x: x, y: y] = true } }
        let lines = StraightEdgeBackground.findLines(logImage: image.pixels.map { log($0) }, unmasked: [Float](repeating: 1, count: size * size),
                                                     width: size, height: size, threads: 1)
        XCTAssertFalse(lines.isEmpty, "the blade's edges are straight and long enough to be found")
        let normalized = BackgroundNormalization.normalizeWithCurvature(image, vesselMask: mask, threads: 1).image
        var worst = 0.0, worstAt = (0, 0)
        for y in 8..<(size - 8) {
            for x in 8..<(size - 8) {
                let nearBlade = (x >= 88 && y >= 40 && y < 216)
                guard !nearBlade else { continue }
                let i = y * size + x
                let estimate = Double(1000 * image.pixels[i] / normalized.pixels[i])
                let error = abs(estimate / Double(blurred.pixels[i]) - 1)
                if error > worst { worst = error; worstAt = (x, y) }
            }
        }
        print("shutter blade: worst background error 40 px or more from it \(worst * 100) % at \(worstAt)")
        XCTAssertLessThan(worst, 0.015)
        // Measured: 0.97 %.
    }

    /// A line's profile varies only within one kernel sigma of its steepest point: a step at
    /// bin 40 (s = -4 px) with a bump 5-15 px beside it keeps the step and loses the bump.
    func testProfileIsFlatBeyondItsCore() {
        let bins = 97
        let profile = (0..<bins).map { b -> Double in
            let s = Double(b) * StraightEdgeBackground.binWidth - StraightEdgeBackground.profileHalfWidth
            let step = 0.25 / (1 + exp(-(s + 4) / 0.5))
            let bump = abs(s - 6) < 5 ? 0.04 * cos(Double.pi * (s - 6) / 10) : 0
            return step + bump
        }
        let flat = StraightEdgeBackground.flattenedOutsideCore(profile, coreHalfWidth: 8)
        // Steepest at bin 40; the core is bins 24...56 (8 px each side).
        for b in 24...56 { XCTAssertEqual(flat[b], profile[b], accuracy: 1e-12) }
        for b in 0..<24 { XCTAssertEqual(flat[b], profile[24], accuracy: 1e-12) }
        for b in 57..<bins { XCTAssertEqual(flat[b], profile[56], accuracy: 1e-12) }
        // The bump's far side (s > 4 px) is gone; the step is kept.
        XCTAssertLessThan(abs(flat[bins - 1] - flat[0] - 0.25), 0.04)
        XCTAssertGreaterThan(abs(profile[64] - profile[76]), 0.02, "the bump beyond the core")
        XCTAssertEqual(flat[64], flat[76], accuracy: 1e-12)
        // Too short or not finite: unchanged.
        XCTAssertEqual(StraightEdgeBackground.flattenedOutsideCore([1, 2], coreHalfWidth: 8), [1, 2])
    }
}
