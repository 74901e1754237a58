import XCTest
import VesselCore
@testable import QCA

/// Straight background edges hidden under a vessel (`HiddenEdgeFinder`): the square-root edge
/// profile, the edge term of the lumen fit, and a vessel lying on a bone edge over the whole
/// image height found and measured.
final class HiddenEdgeTests: XCTestCase {
    /// Ψ_σ(u) = E[sqrt((u + σ Z)₊)]: checked against a direct sum over the normal density, its
    /// limits (0 far outside, sqrt(u) far inside) and its scaling in sigma.
    func testSquareRootEdgeIsTheBlurredChordProfile() {
        for sigma in [0.7, 1.0, 1.6] {
            for u in stride(from: -4.0, through: 30.0, by: 1.7) {
                var sum = 0.0, weight = 0.0
                for k in -4000...4000 {
                    let z = Double(k) / 500
                    let p = exp(-0.5 * z * z)
                    sum += p * max(u + sigma * z, 0).squareRoot()
                    weight += p
                }
                XCTAssertEqual(SquareRootEdge.value(u, sigma: sigma), sum / weight, accuracy: 2e-4, "u \(u) sigma \(sigma)")
            }
        }
        XCTAssertEqual(SquareRootEdge.value(-20, sigma: 1), 0, accuracy: 1e-12)
        XCTAssertEqual(SquareRootEdge.value(400, sigma: 1), 20, accuracy: 1e-3)
        XCTAssertEqual(SquareRootEdge.value(4, sigma: 2), 2.0.squareRoot() * SquareRootEdge.value(2, sigma: 1), accuracy: 1e-9)
    }

    /// A profile with a bone edge 2 px inside the lumen: the fit with the edge term at the true
    /// position recovers the radius and the edge amplitude; without it the radius is wrong.
    func testEdgeTermRecoversRadiusAndAmplitude() throws {
        let truth = LumenModel(background: 1000, backgroundSlope: 1.5, attenuation: 0.02, center: 0.3, radius: 6, sigma: 1.2)
        let amplitude = 0.055, edge = 2.0
        var samples = ProfileSamples()
        for k in 0...160 {
            let d = -20 + Double(k) * 0.25
            samples.distance.append(d)
            samples.value.append(truth.value(at: d) * exp(-amplitude * SquareRootEdge.value(edge - d, sigma: 1.2)))
        }
        let shape = samples.distance.map { SquareRootEdge.value(edge - $0, sigma: 1.2) }
        var start = truth
        start.radius = 5; start.center = 0; start.attenuation = 0.015; start.backgroundSlope = 0
        let with = try XCTUnwrap(LumenFitter.fit(samples, initial: start, free: [.attenuation, .center, .radius], maxRadius: 40,
                                                 robustRounds: 0, edgeShape: shape, initialEdgeAmplitude: 0.03))
        XCTAssertTrue(with.converged)
        XCTAssertEqual(with.model.radius, 6, accuracy: 0.01)
        XCTAssertEqual(with.edgeAmplitude, amplitude, accuracy: 0.001)
        let without = try XCTUnwrap(LumenFitter.fit(samples, initial: start, free: [.attenuation, .center, .radius], maxRadius: 40,
                                                    robustRounds: 0))
        XCTAssertGreaterThan(abs(without.model.radius - 6), 0.3, "the edge should bias the plain fit")
        XCTAssertGreaterThan(without.sumOfSquares, 100 * max(with.sumOfSquares, 1e-6))
    }

    /// The vessel of `StraightEdgeBackgroundTests.scene` (radius 6 px) hugging the bone's outer
    /// edge, x = 140 + 0.05 (y - 128), within ±3 px over the whole image height: the edge has no
    /// visible pixel, so `findLines` cannot find it.
    static func vesselOnTheEdge(_ y: Double) -> Double { 140 + 0.05 * (y - 128) + 1 + 3 * sin(y / 40) }

    func testFindsTheEdgeHiddenUnderAVessel() throws {
        let (image, mask) = StraightEdgeBackgroundTests.scene(vessel: Self.vesselOnTheEdge)
        let normalized = BackgroundNormalization.normalizeWithEdges(image, vesselMask: mask, threads: 1)
        let truthNormal = (x: 1 / (1 + 0.0025).squareRoot(), y: -0.05 / (1 + 0.0025).squareRoot())
        XCTAssertFalse(normalized.lines.contains { abs($0.line.distance(140, 128)) < 4
            && abs(abs($0.line.nx * truthNormal.x + $0.line.ny * truthNormal.y) - 1) < 2e-3 }, "the edge is visible after all")
        let analyzer = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
        let path = VesselPath(id: 0, points: stride(from: 4.0, through: 252, by: 4).map { Point2D(x: Self.vesselOnTheEdge($0), y: $0) },
                              startKind: .userPoint, endKind: .userPoint)
        let hidden = analyzer.hiddenEdges(rawImage: image, paths: [path], psfSigma: 1.05)
        XCTAssertEqual(hidden.count, 1)
        let edge = try XCTUnwrap(hidden.first)
        // Dense side (the bone) towards smaller x: the normal points to -x.
        XCTAssertEqual(edge.line.nx * truthNormal.x + edge.line.ny * truthNormal.y, -1, accuracy: 2e-3)
        XCTAssertLessThan(abs(edge.line.distance(140, 128)), 1.5)
        XCTAssertLessThan(abs(edge.line.distance(140 + 0.05 * 100, 228)), 1.5)
        // Cortex 0.0025 per px of chord through a 60 px cylinder: k = 0.0025 * 2 sqrt(2 * 60).
        XCTAssertEqual(edge.amplitude, 0.0025 * 2 * 120.0.squareRoot(), accuracy: 0.012)
        XCTAssertGreaterThan(edge.line.along.upperBound - edge.line.along.lowerBound, 150)
    }

    /// The same vessel measured: with the hidden edge modelled the diameter is right along the
    /// vessel; with the isotropic interpolation alone it is off by pixels.
    func testVesselOnAHiddenEdgeKeepsItsDiameter() throws {
        let (image, mask) = StraightEdgeBackgroundTests.scene(vessel: Self.vesselOnTheEdge)
        let path = VesselPath(id: 0, points: stride(from: 20.0, through: 236, by: 4).map { Point2D(x: Self.vesselOnTheEdge($0), y: $0) },
                              startKind: .userPoint, endKind: .userPoint)
        func diameters(hidden: Bool) throws -> [Double] {
            var normalized = BackgroundNormalization.normalizeWithEdges(image, vesselMask: mask, threads: 1)
            if hidden {
                let analyzer = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
                let edges = analyzer.hiddenEdges(rawImage: image, paths: [path], psfSigma: 1.05)
                XCTAssertEqual(edges.count, 1)
                let before = analyzer.prepareVessels([path])
                normalized = BackgroundNormalization.normalizeWithEdges(image, vesselMask: mask, threads: 1, hidden: edges)
                // The check the pipeline applies before keeping the edge: the fits near it improve.
                let after = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
                    .prepareVessels([path])
                let ratio = try XCTUnwrap(edges.first.flatMap { VesselAnalyzer.residualRatio(near: $0, before: before, after: after) })
                print("vessel on a hidden bone edge: block residual ratio \(ratio)")
                XCTAssertLessThanOrEqual(ratio, QCAParameters().hiddenEdgeMaximumResidualRatio)
            }
            let analyzer = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
            let measurement = try XCTUnwrap(analyzer.measure(path, estimate: nil))
            return measurement.measurableRange.filter { measurement.valid[$0] }.map { measurement.diameter[$0] }
        }
        let modelled = try diameters(hidden: true), isotropic = try diameters(hidden: false)
        func meanAbsoluteError(_ d: [Double]) -> Double { d.map { abs($0 - 12) }.reduce(0, +) / Double(max(d.count, 1)) }
        print("vessel on a hidden bone edge: mean |diameter error| \(meanAbsoluteError(modelled)) px modelled, "
              + "\(meanAbsoluteError(isotropic)) px isotropic; worst \(modelled.map { abs($0 - 12) }.max() ?? .nan) px modelled")
        XCTAssertGreaterThan(modelled.count, 300)
        XCTAssertLessThan(meanAbsoluteError(modelled), 0.25)
        XCTAssertGreaterThan(meanAbsoluteError(isotropic), 2 * meanAbsoluteError(modelled))
    }

    /// The vessel on the bone edge over the lower 60 % of the image only: the edge is visible
    /// above it, so `findLines` models it with its backfitted profile, flattened beyond one
    /// kernel sigma. The vessel's blocks find it again; along them the square-root profile takes
    /// over, and the diameter is better than with the visible line's profile alone.
    func testHiddenEdgeTakesOverAVisibleLineAlongTheVessel() throws {
        let top = 100
        let vessel: (Double) -> Double? = { $0 >= Double(top) ? Self.vesselOnTheEdge($0) : nil }
        let (image, mask) = StraightEdgeBackgroundTests.scene(vesselWhere: vessel)
        let path = VesselPath(id: 0, points: stride(from: Double(top) + 24, through: 236, by: 4).map { Point2D(x: Self.vesselOnTheEdge($0), y: $0) },
                              startKind: .userPoint, endKind: .userPoint)
        let visible = BackgroundNormalization.normalizeWithEdges(image, vesselMask: mask, threads: 1)
        let analyzer = VesselAnalyzer(image: visible.image, threads: 1, backgroundCurvature: visible.curvature)
        let edges = analyzer.hiddenEdges(rawImage: image, paths: [path], psfSigma: 1.05)
        XCTAssertEqual(edges.count, 1)
        let edge = try XCTUnwrap(edges.first)
        XCTAssertTrue(visible.lines.contains { edge.repeats($0) }, "the edge should be visible above the vessel: \(visible.lines)")
        let modelled = BackgroundNormalization.normalizeWithEdges(image, vesselMask: mask, threads: 1, hidden: edges)
        func diameters(_ normalized: (image: GrayImage, curvature: GrayImage?, lines: [StraightEdgeLine])) throws -> [Double] {
            let analyzer = VesselAnalyzer(image: normalized.image, threads: 1, backgroundCurvature: normalized.curvature)
            let measurement = try XCTUnwrap(analyzer.measure(path, estimate: nil))
            return measurement.measurableRange.filter { measurement.valid[$0] }.map { measurement.diameter[$0] }
        }
        func meanAbsoluteError(_ d: [Double]) -> Double { d.map { abs($0 - 12) }.reduce(0, +) / Double(max(d.count, 1)) }
        let taken = try diameters(modelled), kept = try diameters(visible)
        print("vessel on a partly visible bone edge: mean |diameter error| \(meanAbsoluteError(taken)) px taken over, "
              + "\(meanAbsoluteError(kept)) px visible profile")
        XCTAssertGreaterThan(taken.count, 150)
        XCTAssertLessThan(meanAbsoluteError(taken), 0.25)
        XCTAssertLessThan(meanAbsoluteError(taken), 0.7 * meanAbsoluteError(kept))
    }

    /// No bone: the same vessel on a smooth background has no hidden edge.
    func testNoHiddenEdgeWithoutABone() {
        let size = 256
        var transmission = GrayImage(width: size, height: size)
        var mask = BinaryMask(width: size, height: size)
        for y in 0..<size {
            for x in 0..<size {
                let u = Double(x) - Self.vesselOnTheEdge(Double(y))
                var a = 0.0006 * Double(x) + 0.1 * exp(-(pow(Double(x) - 90, 2) + pow(Double(y) - 160, 2)) / (2 * 50 * 50))
                if u * u < 36 { a += 0.0192 * 2 * (36 - u * u).squareRoot() }
                if abs(u) <= 7 { mask[x: x, y: y] = true }
                transmission.pixels[y * size + x] = Float(3000 * exp(-a))
            }
        }
        var image = GaussianBlur.blur(transmission, sigma: 1, threads: 1)
        var generator = SplitMix(seed: 9)
        for i in image.pixels.indices { image.pixels[i] *= Float(1 + 0.01 * generator.gaussian()) }
        let path = VesselPath(id: 0, points: stride(from: 4.0, through: 252, by: 4).map { Point2D(x: Self.vesselOnTheEdge($0), y: $0) },
                              startKind: .userPoint, endKind: .userPoint)
        // Gate off, so every block is examined.
        let edges = HiddenEdgeFinder.find(image: image, paths: [path], sigma: 1.05, parameters: QCAParameters(),
                                          gate: nil, threads: 1)
        XCTAssertEqual(edges.count, 0)
        // Positive control under the same conditions (gate off): the bone scene's edge is found.
        let (boneImage, _) = StraightEdgeBackgroundTests.scene(vessel: Self.vesselOnTheEdge)
        XCTAssertEqual(HiddenEdgeFinder.find(image: boneImage, paths: [path], sigma: 1.05, parameters: QCAParameters(),
                                             gate: nil, threads: 1).count, 1)
    }
}
