import Foundation
import XCTest
import VesselCore
@testable import AngioPhantom

/// Truth consistency, rendering exactness, determinism and encoding of the phantom generator.
final class PhantomRenderTests: XCTestCase {
    /// A straight horizontal vessel at row `row` on a flat background: no blur, no noise.
    private func straightVesselSpec(diameterMm: Double = 3.0, stenosis: PhantomStenosis? = nil, taper: Double = 0,
                                    size: Int = 96, row: Double = 48.3) -> PhantomSpec {
        var spec = PhantomSpec(seed: 7, width: size, height: size)
        spec.background = .flat(attenuation: 1.0)
        spec.noise = .none
        spec.focalSpotBlurSigmaPx = 0
        spec.bitsStored = 16
        spec.vessels = [PhantomVessel(controlPoints: [Point2D(x: -10, y: row), Point2D(x: Double(size) + 10, y: row)],
                                      referenceDiameterMm: diameterMm, taperMmPerMm: taper, stenosis: stenosis)]
        return spec
    }

    /// Optional debug output: set PHANTOM_DUMP_DIR to get PGM files of rendered phantoms.
    private func dump(_ rendering: PhantomRendering, name: String, frame: Int = 0) {
        guard let directory = ProcessInfo.processInfo.environment["PHANTOM_DUMP_DIR"] else { return }
        let spec = rendering.spec
        var data = Data("P5\n\(spec.width) \(spec.height)\n65535\n".utf8)
        let scale = 65535.0 / Double(rendering.maxStoredValue)
        for value in rendering.storedFrames[frame] {
            let v = UInt16(min(65535, (Double(value) * scale).rounded()))
            data.append(UInt8(v >> 8)); data.append(UInt8(v & 0xFF))
        }
        try? data.write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).pgm"))
    }

    /// -ln(T / T_background) summed down column x: mu * integral of the chord = mu * lumen area.
    private func attenuationIntegral(_ image: GrayImage, column x: Int, background: Double) -> Double {
        var integral = 0.0
        for y in 0..<image.height { integral += -log(Double(image[x: x, y: y]) / background) }
        return integral
    }

    // MARK: - Physics and truth

    func testAttenuationIntegralAcrossProfileEqualsLumenArea() throws {
        let spec = straightVesselSpec()
        let rendering = try PhantomGenerator.render(spec)
        let radiusPx = 3.0 / spec.mmPerPixel / 2
        // Chord in px times mm/px gives mm; per-mm attenuation times mm; summed over unit rows.
        let expected = spec.contrastAttenuationPerMm * spec.mmPerPixel * Double.pi * radiusPx * radiusPx
        for x in [20, 48, 70] {
            XCTAssertEqual(attenuationIntegral(rendering.transmissionFrames[0], column: x, background: exp(-1.0)),
                           expected, accuracy: expected * 0.002, "column \(x)")
        }
    }

    func testCurvedVesselProfilesAlongTruthNormalsHaveTheLumenArea() throws {
        // A tortuous vessel: along the truth normal at any sample, the attenuation integral is
        // mu * pi * r^2 with r from the truth, i.e. truth centreline, normal and diameter agree
        // with what was rendered.
        var spec = PhantomSpec(seed: 5, width: 160, height: 160)
        spec.background = .flat(attenuation: 1.0)
        spec.noise = .none
        spec.focalSpotBlurSigmaPx = 0
        spec.vessels = [PhantomVessel(
            controlPoints: [Point2D(x: -10, y: 30), Point2D(x: 50, y: 35), Point2D(x: 95, y: 75),
                            Point2D(x: 110, y: 125), Point2D(x: 170, y: 150)],
            referenceDiameterMm: 2.4, taperMmPerMm: 0.005)]
        let rendering = try PhantomGenerator.render(spec)
        let image = rendering.transmissionFrames[0]
        let vessel = try XCTUnwrap(rendering.truth.vessels.first)
        func attenuation(_ x: Double, _ y: Double) -> Double {
            // Bilinear interpolation of -ln(T / T_background).
            let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
            let fx = x - Double(x0), fy = y - Double(y0)
            func a(_ i: Int, _ j: Int) -> Double { -log(Double(image[x: i, y: j]) / exp(-1.0)) }
            return (1 - fy) * ((1 - fx) * a(x0, y0) + fx * a(x0 + 1, y0)) + fy * ((1 - fx) * a(x0, y0 + 1) + fx * a(x0 + 1, y0 + 1))
        }
        var checked = 0
        for index in stride(from: 20, to: vessel.centerline.count - 20, by: 25) {
            let c = vessel.centerline[index]
            guard c.x > 15, c.y > 15, c.x < 145, c.y < 145 else { continue }
            let before = vessel.centerline[index - 2], after = vessel.centerline[index + 2]
            let tx = after.x - before.x, ty = after.y - before.y, n = hypot(tx, ty)
            let nx = -ty / n, ny = tx / n
            let r = vessel.diameterPx[index] / 2
            var integral = 0.0
            let step = 0.05
            var u = -(r + 3)
            while u <= r + 3 { integral += attenuation(c.x + u * nx, c.y + u * ny) * step; u += step }
            let expected = spec.contrastAttenuationPerMm * spec.mmPerPixel * Double.pi * r * r
            XCTAssertEqual(integral, expected, accuracy: expected * 0.005, "sample \(index)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 5)
    }

    func testRenderedProfileMatchesAnalyticPixelAverage() throws {
        // Pixel value = mean over the pixel of exp(-mu * 2 sqrt(r^2 - d^2)); integrate that
        // independently at 4000 points per pixel and compare every row of one column.
        let row = 48.3
        let spec = straightVesselSpec(diameterMm: 2.0, row: row)
        let image = try PhantomGenerator.render(spec).transmissionFrames[0]
        let r = 2.0 / spec.mmPerPixel / 2, mu = spec.contrastAttenuationPerMm * spec.mmPerPixel
        var worst = 0.0
        for y in 30...66 {
            var sum = 0.0
            let n = 4000
            for k in 0..<n {
                let d = Double(y) - 0.5 + (Double(k) + 0.5) / Double(n) - row
                let inside = r * r - d * d
                sum += exp(-mu * (inside > 0 ? 2 * inside.squareRoot() : 0))
            }
            let expected = sum / Double(n)
            let rendered = Double(image[x: 40, y: y]) / exp(-1.0)
            worst = max(worst, abs(rendered - expected))
        }
        // 1e-3 of transmission ~ an edge shift of < 0.01 px at this contrast.
        XCTAssertLessThan(worst, 1e-3)
    }

    func testTruthDiametersFollowTheGeometricConstruction() throws {
        let stenosis = PhantomStenosis(percentDiameter: 60, lengthMm: 6, position: 0.5)
        let spec = straightVesselSpec(diameterMm: 3.0, stenosis: stenosis)
        let truth = try PhantomGenerator.render(spec).truth
        let vessel = try XCTUnwrap(truth.vessels.first)
        XCTAssertEqual(vessel.lengthPx, Double(spec.width) + 20, accuracy: 1e-3)
        let centre = vessel.lengthPx * 0.5, halfLength = 6 / spec.mmPerPixel / 2
        for (index, s) in vessel.arcLengthPx.enumerated() {
            let distance = abs(s - centre)
            let weight = distance < halfLength ? 0.5 * (1 + cos(Double.pi * distance / halfLength)) : 0
            let expected = 3.0 * (1 - 0.6 * weight)
            XCTAssertEqual(vessel.diameterMm[index], expected, accuracy: 1e-5, "s = \(s)")
            XCTAssertEqual(vessel.diameterPx[index], expected / spec.mmPerPixel, accuracy: 1e-3)
            XCTAssertEqual(vessel.centerline[index].y, 48.3, accuracy: 1e-3)
            XCTAssertEqual(vessel.centerline[index].x, -10 + s, accuracy: 1e-3)
        }
        let lesion = try XCTUnwrap(vessel.stenosis)
        XCTAssertEqual(lesion.mldMm, 1.2, accuracy: 1e-9)
        XCTAssertEqual(lesion.mldPx, 1.2 / spec.mmPerPixel, accuracy: 1e-9)
        XCTAssertEqual(lesion.referenceDiameterAtMldMm, 3.0, accuracy: 1e-12)
        XCTAssertEqual(lesion.percentDiameterStenosis, 60, accuracy: 1e-9)
        XCTAssertEqual(lesion.percentAreaStenosis, 84, accuracy: 1e-9)
        XCTAssertEqual(lesion.location.x, -10 + centre, accuracy: 1e-3)
        XCTAssertEqual(lesion.lengthMm, 6, accuracy: 1e-9)
        XCTAssertEqual(lesion.wallPoints.count, 2)
        XCTAssertEqual(abs(lesion.wallPoints[0].y - lesion.wallPoints[1].y), lesion.mldPx, accuracy: 1e-6)
        // The rendered lumen area at the MLD column matches the truth MLD.
        let rendering = try PhantomGenerator.render(spec)
        let column = Int(lesion.location.x.rounded())
        let s = Double(column) + 10
        let distance = abs(s - centre)
        let weight = 0.5 * (1 + cos(Double.pi * distance / halfLength))
        let r = 3.0 * (1 - 0.6 * weight) / spec.mmPerPixel / 2
        let expected = spec.contrastAttenuationPerMm * spec.mmPerPixel * Double.pi * r * r
        XCTAssertEqual(attenuationIntegral(rendering.transmissionFrames[0], column: column, background: exp(-1.0)),
                       expected, accuracy: expected * 0.01)
    }

    func testFlatNeckLesionHasAConstantMinimumOverItsMiddleThird() throws {
        let stenosis = PhantomStenosis(percentDiameter: 70, lengthMm: 9, position: 0.5, shape: .flatNeck)
        let spec = straightVesselSpec(diameterMm: 3.0, stenosis: stenosis)
        let vessel = try XCTUnwrap(try PhantomGenerator.render(spec).truth.vessels.first)
        let lesion = try XCTUnwrap(vessel.stenosis)
        XCTAssertEqual(lesion.mldMm, 0.9, accuracy: 1e-9)
        let centre = vessel.lengthPx / 2, neckHalf = 9 / spec.mmPerPixel / 6
        let neck = vessel.arcLengthPx.indices.filter { abs(vessel.arcLengthPx[$0] - centre) < neckHalf - 0.5 }
        XCTAssertGreaterThan(neck.count, 20)
        for index in neck { XCTAssertEqual(vessel.diameterMm[index], 0.9, accuracy: 1e-5) }
        let shoulder = vessel.arcLengthPx.indices.filter { abs(vessel.arcLengthPx[$0] - centre) > neckHalf + 2 && abs(vessel.arcLengthPx[$0] - centre) < 3 * neckHalf - 2 }
        for index in shoulder { XCTAssertGreaterThan(vessel.diameterMm[index], 0.9 + 1e-4) }
        // Every point of the neck is at the MLD: the truth location is the neck's middle, not
        // its proximal end (which the first minimum of a scan would be).
        XCTAssertEqual(lesion.mldArcLengthPx, centre, accuracy: 0.1)
    }

    func testTaperedStenosisTruthIsTheMinimumOfTheRenderedGeometry() throws {
        let stenosis = PhantomStenosis(percentDiameter: 50, lengthMm: 8, position: 0.5)
        let spec = straightVesselSpec(diameterMm: 3.5, stenosis: stenosis, taper: 0.02, size: 128)
        let vessel = try XCTUnwrap(try PhantomGenerator.render(spec).truth.vessels.first)
        let lesion = try XCTUnwrap(vessel.stenosis)
        let sampledMinimum = try XCTUnwrap(vessel.diameterMm.min())
        XCTAssertLessThanOrEqual(lesion.mldMm, sampledMinimum + 1e-6)
        XCTAssertGreaterThan(lesion.mldMm, sampledMinimum - 1e-3)
        // With taper the minimum moves slightly distal of the lesion centre.
        XCTAssertGreaterThan(lesion.mldArcLengthPx, vessel.lengthPx * 0.5)
        let referenceAtMld = 3.5 - 0.02 * lesion.mldArcLengthPx * spec.mmPerPixel
        XCTAssertEqual(lesion.referenceDiameterAtMldMm, referenceAtMld, accuracy: 1e-9)
        XCTAssertEqual(lesion.percentDiameterStenosis, 100 * (1 - lesion.mldMm / referenceAtMld), accuracy: 1e-9)
        XCTAssertEqual(lesion.percentDiameterStenosis, 50, accuracy: 0.5)
    }

    func testEccentricLesionKeepsOneWallOnTheReferenceWall() throws {
        let stenosis = PhantomStenosis(percentDiameter: 50, lengthMm: 8, position: 0.5, eccentricity: 1)
        let spec = straightVesselSpec(diameterMm: 3.0, stenosis: stenosis, row: 48)
        let rendering = try PhantomGenerator.render(spec)
        let lesion = try XCTUnwrap(rendering.truth.vessels.first?.stenosis)
        let referenceRadius = 3.0 / spec.mmPerPixel / 2
        // Normal of a left-to-right vessel is (0, +1): the lumen moves to larger rows and its
        // far wall stays at row 48 + R.
        let far = max(lesion.wallPoints[0].y, lesion.wallPoints[1].y)
        XCTAssertEqual(far, 48 + referenceRadius, accuracy: 1e-6)
        XCTAssertEqual(lesion.location.y, 48 + referenceRadius - lesion.mldPx / 2, accuracy: 1e-6)
        // Area (attenuation integral) is that of the MLD disc whatever the eccentricity.
        let column = Int(lesion.location.x.rounded())
        let r = lesion.mldPx / 2
        let expected = spec.contrastAttenuationPerMm * spec.mmPerPixel * Double.pi * r * r
        XCTAssertEqual(attenuationIntegral(rendering.transmissionFrames[0], column: column, background: exp(-1.0)),
                       expected, accuracy: expected * 0.02)
        // The image is darker below the centreline than above it at the lesion.
        let image = rendering.transmissionFrames[0]
        XCTAssertLessThan(image[x: column, y: 48 + Int(referenceRadius) - 2], image[x: column, y: 48 - Int(referenceRadius) + 2])
    }

    func testCatheterTruthAndAttenuation() throws {
        var spec = PhantomSpec(seed: 3, width: 80, height: 80)
        spec.background = .flat(attenuation: 0.5)
        spec.noise = .none
        spec.focalSpotBlurSigmaPx = 0
        spec.catheter = PhantomCatheter(frenchSize: 6, controlPoints: [Point2D(x: 40.2, y: -10), Point2D(x: 40.2, y: 90)])
        let rendering = try PhantomGenerator.render(spec)
        let catheter = try XCTUnwrap(rendering.truth.catheter)
        XCTAssertEqual(catheter.diameterMm, 2.0, accuracy: 1e-12)
        XCTAssertEqual(catheter.diameterPx, 2.0 / 0.16, accuracy: 1e-9)
        // Row integral = mu_c * (lumen area + wallScale * wall area), areas in px^2 * mm/px.
        let outer = 2.0 / 0.16 / 2, inner = (2.0 - 0.3) / 0.16 / 2
        let mu = spec.contrastAttenuationPerMm * spec.mmPerPixel
        let expected = mu * Double.pi * (inner * inner + 0.8 * (outer * outer - inner * inner))
        let image = rendering.transmissionFrames[0]
        var integral = 0.0
        for x in 0..<80 { integral += -log(Double(image[x: x, y: 40]) / exp(-0.5)) }
        XCTAssertEqual(integral, expected, accuracy: expected * 0.003)
    }

    func testSideBranchStartsOnItsParentAndOverlapIsFlagged() throws {
        var scenario = PhantomScenario()
        scenario.branches = 2
        scenario.crossing = true
        scenario.size = 256
        let spec = PhantomGenerator.spec(seed: 21, scenario: scenario)
        let truth = try PhantomGenerator.render(spec).truth
        let main = truth.vessels[0]
        let branches = truth.vessels.filter { $0.kind == .sideBranch }
        XCTAssertFalse(branches.isEmpty)
        for branch in branches {
            XCTAssertEqual(branch.parentId, 0)
            let fraction = try XCTUnwrap(spec.vessels[branch.id].branchFraction)
            // The main vessel has no lesion offset at the branch origin: centreline = reference line.
            let s = fraction * main.lengthPx
            let index = try XCTUnwrap(main.arcLengthPx.firstIndex { $0 >= s - 0.25 })
            XCTAssertEqual(branch.centerline[0].x, main.centerline[index].x, accuracy: 0.6)
            XCTAssertEqual(branch.centerline[0].y, main.centerline[index].y, accuracy: 0.6)
            XCTAssertTrue(branch.overlapped[0], "a branch origin lies inside its parent")
            XCTAssertTrue(main.overlapped[index], "the parent is overlapped at a branch origin")
        }
        XCTAssertEqual(truth.vessels.filter { $0.kind == .crossing }.count, 1)
        // The lesion itself is clean (branches and the crossing are placed away from it).
        let lesion = try XCTUnwrap(main.stenosis)
        let mldIndex = try XCTUnwrap(main.arcLengthPx.firstIndex { $0 >= lesion.mldArcLengthPx - 0.25 })
        XCTAssertFalse(main.overlapped[mldIndex])
    }

    // MARK: - Determinism and encoding

    func testSameSeedGivesIdenticalOutputForAnyThreadCount() throws {
        var scenario = PhantomScenario()
        scenario.size = 192
        scenario.crossing = true
        let spec = PhantomGenerator.spec(seed: 99, scenario: scenario)
        let one = try PhantomGenerator.render(spec, threads: 1)
        let two = try PhantomGenerator.render(spec, threads: 2)
        let again = try PhantomGenerator.render(spec, threads: 5)
        XCTAssertEqual(one.storedFrames, two.storedFrames)
        XCTAssertEqual(one.storedFrames, again.storedFrames)
        XCTAssertEqual(one.transmissionFrames, two.transmissionFrames)
        XCTAssertEqual(try one.truth.jsonData(), try two.truth.jsonData())
        let other = try PhantomGenerator.render(PhantomGenerator.spec(seed: 100, scenario: scenario))
        XCTAssertNotEqual(one.storedFrames, other.storedFrames)
    }

    func testPrePostPairShareGeometryAndBackground() throws {
        var scenario = PhantomScenario()
        scenario.size = 192
        scenario.stenosisPercent = 75
        let pre = PhantomGenerator.spec(seed: 5, scenario: scenario)
        scenario.stenosisPercent = 20
        let post = PhantomGenerator.spec(seed: 5, scenario: scenario)
        XCTAssertEqual(pre.vessels[0].controlPoints, post.vessels[0].controlPoints)
        XCTAssertEqual(pre.catheter, post.catheter)
        let preTruth = try PhantomGenerator.render(pre).truth, postTruth = try PhantomGenerator.render(post).truth
        XCTAssertEqual(preTruth.vessels[0].stenosis?.percentDiameterStenosis ?? 0, 75, accuracy: 1e-6)
        XCTAssertEqual(postTruth.vessels[0].stenosis?.percentDiameterStenosis ?? 0, 20, accuracy: 1e-6)
        XCTAssertEqual(preTruth.vessels[0].stenosis?.location.x ?? 0, postTruth.vessels[0].stenosis?.location.x ?? 1, accuracy: 1e-6)
    }

    func testMonochrome1IsTheExactInversionOfMonochrome2() throws {
        var spec = PhantomGenerator.spec(seed: 4, scenario: { var s = PhantomScenario(); s.size = 128; return s }())
        for bits in [8, 10, 12, 16] {
            spec.bitsStored = bits
            spec.photometric = .monochrome2
            let m2 = try PhantomGenerator.render(spec)
            spec.photometric = .monochrome1
            let m1 = try PhantomGenerator.render(spec)
            let maxValue = (1 << bits) - 1
            XCTAssertEqual(m1.maxStoredValue, maxValue)
            XCTAssertEqual(m1.storedFrames[0], m2.storedFrames[0].map { UInt16(maxValue) - $0 }, "bits \(bits)")
            let values = m2.storedFrames[0]
            let top = Int(values.max() ?? 0), bottom = Int(values.min() ?? 0)
            XCTAssertLessThanOrEqual(top, maxValue)
            // The image uses a good part of the range: background near the top, vessels darker.
            XCTAssertGreaterThan(top, maxValue / 2, "bits \(bits)")
            XCTAssertLessThan(bottom, top / 2 + top / 4, "bits \(bits)")
        }
    }

    func testVesselsAreDarkInMonochrome2() throws {
        let spec = straightVesselSpec()
        let rendering = try PhantomGenerator.render(spec)
        let frame = rendering.storedFrames[0]
        let onVessel = frame[48 * spec.width + 40], offVessel = frame[10 * spec.width + 40]
        // Centre transmission exp(-0.12 * 3) = 0.70 of the background.
        XCTAssertEqual(Double(onVessel) / Double(offVessel), exp(-0.36), accuracy: 0.01)
    }

    func testCineRunWashInPeaksAtTheMostOpacifiedFrame() throws {
        var spec = straightVesselSpec(size: 64, row: 32)
        spec.frames = 12
        spec.bitsStored = 12
        let rendering = try PhantomGenerator.render(spec)
        let truth = rendering.truth
        XCTAssertEqual(truth.frames, 12)
        XCTAssertEqual(rendering.storedFrames.count, 12)
        XCTAssertEqual(truth.contrastConcentration.count, 12)
        XCTAssertEqual(truth.contrastConcentration[truth.mostOpacifiedFrame], 1, accuracy: 1e-9)
        XCTAssertLessThan(truth.contrastConcentration[0], 0.05)
        XCTAssertGreaterThan(truth.mostOpacifiedFrame, 3)
        XCTAssertLessThan(truth.mostOpacifiedFrame, 11)
        // The vessel centre is darkest at that frame.
        let darkness = rendering.storedFrames.map { Int($0[32 * 64 + 30]) }
        XCTAssertEqual(darkness.firstIndex(of: darkness.min() ?? 0), truth.mostOpacifiedFrame)
        // Frame 0 barely shows the vessel (~2 % contrast).
        XCTAssertGreaterThan(Double(darkness[0]) / Double(rendering.storedFrames[0][5 * 64 + 30]), 0.98)
    }

    func testQuantumNoiseHasTheRequestedStandardDeviation() throws {
        var spec = straightVesselSpec(size: 128)
        spec.vessels = []
        spec.noise = PhantomNoise(photonsPerPixel: nil, relativeSDAtBackground: 0.02)
        let image = try PhantomGenerator.render(spec).transmissionFrames[0]
        let values = image.pixels.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        XCTAssertEqual(mean, exp(-1.0), accuracy: exp(-1.0) * 0.002)
        XCTAssertEqual(sd / mean, 0.02, accuracy: 0.001)
    }

    // MARK: - Specs

    func testCalibrationTagsGiveTheTruePixelSize() throws {
        var spec = PhantomSpec(seed: 1)
        spec.mmPerPixel = 0.16
        for calibration: PhantomCalibration in [.pixelSpacing, .imagerPixelSpacingWithMagnification(1.35),
                                                .imagerPixelSpacingWithDistances(sid: 1100, sod: 780)] {
            spec.calibration = calibration
            let tags = PhantomCalibrationTags(spec: spec)
            XCTAssertEqual(try XCTUnwrap(tags.readerMmPerPixel), 0.16, accuracy: 1e-9, "\(calibration)")
            XCTAssertNotNil(tags.imagerPixelSpacing)
        }
        spec.calibration = .imagerPixelSpacingWithMagnification(1.35)
        XCTAssertEqual(PhantomCalibrationTags(spec: spec).imagerPixelSpacing, "0.216\\0.216")
        XCTAssertEqual(PhantomCalibrationTags(spec: spec).estimatedRadiographicMagnificationFactor, "1.35")
        spec.calibration = .none
        XCTAssertNil(PhantomCalibrationTags(spec: spec).readerMmPerPixel)
        spec.vessels = [PhantomVessel(controlPoints: [Point2D(x: 0, y: 10), Point2D(x: 100, y: 12)], referenceDiameterMm: 2)]
        spec.width = 64; spec.height = 64
        let truth = try PhantomGenerator.render(spec).truth
        XCTAssertNil(truth.mmPerPixel)
        XCTAssertEqual(truth.trueMmPerPixel, 0.16)
    }

    func testSpecJSONRoundTripsAndPartialSpecsGetDefaults() throws {
        let spec = PhantomGenerator.spec(seed: 8, scenario: { var s = PhantomScenario(); s.crossing = true; s.branches = 2; return s }())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let decoded = try JSONDecoder().decode(PhantomSpec.self, from: try encoder.encode(spec))
        XCTAssertEqual(decoded, spec)
        let partial = """
            {"seed": 12, "width": 64, "height": 64, "calibration": {"kind": "none"},
             "vessels": [{"controlPoints": [{"x": 0, "y": 30}, {"x": 64, "y": 34}], "referenceDiameterMm": 2.5,
                          "stenosis": {"percentDiameter": 40}}]}
            """
        let minimal = try JSONDecoder().decode(PhantomSpec.self, from: Data(partial.utf8))
        XCTAssertEqual(minimal.mmPerPixel, 0.16)
        XCTAssertEqual(minimal.bitsStored, 12)
        XCTAssertEqual(minimal.calibration, PhantomCalibration.none)
        XCTAssertEqual(minimal.vessels[0].stenosis?.lengthMm, 8)
        XCTAssertEqual(try PhantomGenerator.render(minimal).truth.vessels[0].stenosis?.percentDiameterStenosis ?? 0, 40, accuracy: 1e-6)
        XCTAssertThrowsError(try JSONDecoder().decode(PhantomSpec.self, from: Data(#"{"calibration": {"kind": "bogus"}}"#.utf8)))
    }

    func testInvalidSpecsAreRejectedWithTheFieldNamed() {
        func message(_ spec: PhantomSpec) -> String {
            do { _ = try PhantomGenerator.render(spec); return "" } catch { return error.description }
        }
        var spec = straightVesselSpec(stenosis: PhantomStenosis(percentDiameter: 99))
        XCTAssertTrue(message(spec).contains("stenosis.percentDiameter"), message(spec))
        spec = straightVesselSpec()
        spec.bitsStored = 20
        XCTAssertTrue(message(spec).contains("bitsStored"), message(spec))
        spec = straightVesselSpec()
        spec.vessels[0].controlPoints = [Point2D(x: 10, y: 10), Point2D(x: 30, y: 10), Point2D(x: 12, y: 12)]
        spec.vessels[0].referenceDiameterMm = 4
        XCTAssertTrue(message(spec).contains("bends"), message(spec))
        spec = straightVesselSpec()
        spec.vessels.append(PhantomVessel(kind: .sideBranch, controlPoints: [Point2D(x: 5, y: 5)], referenceDiameterMm: 1))
        XCTAssertTrue(message(spec).contains("parentIndex"), message(spec))
        spec = straightVesselSpec(taper: 0.5)
        XCTAssertTrue(message(spec).contains("tapers"), message(spec))
        spec = straightVesselSpec()
        spec.width = 100_000
        XCTAssertTrue(message(spec).contains("width"), message(spec))
        spec = straightVesselSpec()
        spec.vessels[0].controlPoints = [Point2D(x: -90_000, y: 0), Point2D(x: 90_000, y: 0)]
        XCTAssertTrue(message(spec).contains("control polygon"), message(spec))
        spec = straightVesselSpec()
        spec.transferSyntax = "jpeg-2000"
        XCTAssertTrue(message(spec).contains("transferSyntax"), message(spec))
    }

    func testRandomSpecsStayInTheirRangesAndRender() throws {
        var options = RandomPhantomOptions()
        options.size = 256
        var percents: [Double] = []
        for seed in UInt64(1)...12 {
            let spec = PhantomGenerator.randomSpec(seed: seed, options: options)
            let main = spec.vessels[0]
            XCTAssertTrue(options.referenceDiameterMm.contains(main.referenceDiameterMm))
            let truth = try PhantomGenerator.render(spec).truth
            if let lesion = truth.vessels[0].stenosis {
                percents.append(lesion.percentDiameterStenosis)
                XCTAssertLessThanOrEqual(lesion.percentDiameterStenosis, 85.5)
                XCTAssertFalse(truth.vessels[0].overlapped[truth.vessels[0].arcLengthPx.firstIndex { $0 >= lesion.mldArcLengthPx - 0.25 } ?? 0],
                               "seed \(seed): the MLD is overlapped")
            }
            XCTAssertEqual(spec, PhantomGenerator.randomSpec(seed: seed, options: options))
        }
        XCTAssertGreaterThan(Set(percents.map { Int($0) }).count, 8)
    }

    func testRenderProducesViewableImages() throws {
        // Debug aid (PHANTOM_DUMP_DIR) plus a sanity check of the full-size coronary scene.
        var scenario = PhantomScenario()
        scenario.branches = 2
        scenario.crossing = true
        let rendering = try PhantomGenerator.render(PhantomGenerator.spec(seed: 3, scenario: scenario))
        XCTAssertEqual(rendering.storedFrames[0].count, 512 * 512)
        dump(rendering, name: "coronary3")
        var peripheral = PhantomScenario()
        peripheral.anatomy = .peripheral
        peripheral.stenosisPercent = 75
        dump(try PhantomGenerator.render(PhantomGenerator.spec(seed: 11, scenario: peripheral)), name: "peripheral11")
    }
}
