import XCTest
import AngioPhantom
import VesselCore
@testable import QCA

/// Vessels by a bone edge: the background divided out under the vessel is wrong there, and
/// the local-contrast rule (`VesselAnalyzer.edgeContrast`) must keep the diameter close to the
/// truth, and must not engage where the background is smooth.
final class BackgroundEdgeTests: XCTestCase {
    /// Vertical vessel of radius `radius` px centred at x = 60 (attenuation 0.03 per px of
    /// chord, Gaussian PSF sigma 1 px), over a smooth background falling slowly along y;
    /// relative noise 1 %.
    static func image(radius: Double, width: Int = 140, height: Int = 120) -> GrayImage {
        let centre = 60.0, attenuation = 0.03, psf = 1.0
        func chord(_ u: Double, _ r: Double) -> Double { u * u < r * r ? 2 * (r * r - u * u).squareRoot() : 0 }
        // Column transmission of the vessel blurred by the PSF (fine numerical convolution).
        var vessel = [Double](repeating: 1, count: width)
        for x in 0..<width {
            var sum = 0.0, weights = 0.0
            for k in -400...400 {
                let t = Double(k) / 80
                let w = exp(-t * t / (2 * psf * psf))
                sum += w * exp(-attenuation * chord(Double(x) + t - centre, radius))
                weights += w
            }
            vessel[x] = sum / weights
        }
        var generator = SplitMix(seed: 7)
        var pixels = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let background = 3000.0 * exp(-0.002 * Double(y))
                let value = background * vessel[x]
                pixels[y * width + x] = Float(value * (1 + 0.01 * generator.gaussian()))
            }
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Median measured diameter (px) along the vessel, with or without the background edge map.
    static func medianDiameter(_ image: GrayImage, radius: Double, useEdgeMap: Bool) throws -> Double {
        var mask = BinaryMask(width: image.width, height: image.height)
        for y in 0..<image.height {
            for x in 0..<image.width where abs(Double(x) - 60) <= radius + 1 { mask[x: x, y: y] = true }
        }
        let normalized = BackgroundNormalization.normalizeWithCurvature(image, vesselMask: mask, threads: 1)
        let analyzer = VesselAnalyzer(image: normalized.image, threads: 1,
                                      backgroundCurvature: useEdgeMap ? normalized.curvature : nil)
        let path = VesselPath(id: 0, points: [Point2D(x: 60, y: 10), Point2D(x: 60, y: 110)],
                              startKind: .userPoint, endKind: .userPoint)
        let measurement = try XCTUnwrap(analyzer.measure(path, estimate: nil))
        let values = measurement.measurableRange.filter { measurement.valid[$0] }.map { measurement.rawDiameter[$0] }
        return try XCTUnwrap(Statistics.median(values))
    }

    /// Random phantom 13 of the accuracy study (384 px): the distal part of the measured
    /// segment runs along a tibia-like bone edge. With one contrast for the whole vessel that
    /// part was measured 1.50 mm where the lumen is 1.71-1.73 mm, and became the segment's
    /// "MLD" instead of the mild (6.5 %) lesion.
    ///
    /// Since session 19 this runs without the one-sided profile fits (`fitOneSidedProfiles`):
    /// with the truth-mask normalisation used here, four profiles along the bone edge that were
    /// rejected as clipped now read 0.1–0.5 px narrower than their neighbours, and the
    /// segment's MLD moves, by a hair of D/R, to the distal stretch beside the edge, which
    /// still reads 1.50 mm for 1.71 mm (MLD −0.17 mm, 8.8 mm from the lesion). The full
    /// pipeline (segmentation mask, hidden-edge modelling) measures this phantom as before
    /// (study seed 13 unchanged, docs/qca.md section 9).
    func testMildLesionNextToBoneEdgeInGeneratedPhantom() throws {
        var options = RandomPhantomOptions()
        options.size = 384
        var parameters = QCAParameters()
        parameters.fitOneSidedProfiles = false
        let withMap = try XCTUnwrap(PhantomMeasurementTests.measureMainVessel(seed: 13, options: options, local: true,
                                                                              backgroundEdgeMap: true, parameters: parameters))
        let withoutMap = try XCTUnwrap(PhantomMeasurementTests.measureMainVessel(seed: 13, options: options, local: true,
                                                                                 backgroundEdgeMap: false, parameters: parameters))
        XCTAssertEqual(withMap.measuredMLDmm, withMap.trueMLDmm, accuracy: 0.05)
        // The 6.5 % narrowing is within the noise here (depth 3.9 % at the base smoothing,
        // scatter 2.2 %): since session 11 its MLD window is that of a narrowing 4 reference
        // diameters long and it reads 2.1 % (MLD +0.04 mm); before, the deepest noise dip of
        // the 4 px smoothing happened to land on the truth.
        XCTAssertEqual(withMap.measuredPercentDS, withMap.truePercentDS, accuracy: 5, "\(withMap)")
        // The rule is what makes the difference (the configuration still fails without it).
        XCTAssertGreaterThan(abs(withoutMap.measuredMLDmm - withoutMap.trueMLDmm), 0.1)
    }

    func testSmoothBackgroundIsUnaffectedByTheEdgeMap() throws {
        let image = Self.image(radius: 5)
        let withMap = try Self.medianDiameter(image, radius: 5, useEdgeMap: true)
        let withoutMap = try Self.medianDiameter(image, radius: 5, useEdgeMap: false)
        XCTAssertEqual(withMap, withoutMap, "no background edge: the rule must not engage")
        XCTAssertEqual(withMap, 10, accuracy: 0.2)
    }
}

/// One-sided profile fits (`VesselAnalyzer.fitSample`, docs/qca.md section 3) assume a flat
/// background on the cut side. Where an edge the background normalisation did not model runs
/// a few px beyond the wall, that does not hold: such fits read the lumen far too narrow (a
/// 14 px vessel beside an unmodelled slab border read 10 px along its whole length before the
/// cut side's consistency test). They must be rejected, as the clipped profiles were.
final class OneSidedProfileTests: XCTestCase {
    /// Vertical vessel (x = 60, radius 7 px, 50 % cosine narrowing over 40 px at y = 60) with
    /// the border of a dense slab (thickness growing as the square root of the distance)
    /// parallel to it, `gap` px beyond the reference wall; PSF sigma 1 px, noise 0.3 %.
    static func image(gap: Double) -> GrayImage {
        let width = 140, height = 120, reference = 7.0, attenuation = 0.03
        var pixels = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            let u = (Double(y) - 60) / 40
            let radius = reference * (1 - (abs(u) < 0.5 ? 0.5 * (1 + cos(2 * Double.pi * u)) / 2 : 0))
            for x in 0..<width {
                var total = 0.0
                for sx in 0..<4 {  // 4x supersampling of the chord across the vessel
                    let px = Double(x) + (Double(sx) + 0.5) / 4 - 0.5 - 60
                    let chord = px * px < radius * radius ? 2 * (radius * radius - px * px).squareRoot() : 0
                    let slab = max(Double(x) - 60 - reference - gap, 0)
                    total += exp(-attenuation * chord - 0.01 * 2 * (60 * slab).squareRoot())
                }
                pixels[y * width + x] = Float(3000 * total / 4)
            }
        }
        var blurred = GaussianBlur.blur(GrayImage(width: width, height: height, pixels: pixels), sigma: 1)
        var generator = SplitMix(seed: 11)
        for i in blurred.pixels.indices { blurred.pixels[i] *= Float(1 + 0.003 * generator.gaussian()) }
        return blurred
    }

    /// Valid raw diameters (px) over the healthy stretches (more than 25 px from the lesion),
    /// with the slab border left in the normalised image (no straight-edge modelling).
    static func healthyDiameters(oneSided: Bool) throws -> [Double] {
        let image = Self.image(gap: 3)
        var mask = BinaryMask(width: image.width, height: image.height)
        for y in 0..<image.height { for x in 52...68 { mask[x: x, y: y] = true } }
        let normalized = BackgroundNormalization.normalizeWithCurvature(image, vesselMask: mask, threads: 1, straightEdges: false)
        var parameters = QCAParameters()
        parameters.fitOneSidedProfiles = oneSided
        let analyzer = VesselAnalyzer(image: normalized.image, parameters: parameters, threads: 1,
                                      backgroundCurvature: normalized.curvature)
        let path = VesselPath(id: 0, points: [Point2D(x: 60, y: 10), Point2D(x: 60, y: 110)], startKind: .userPoint, endKind: .userPoint)
        let m = try XCTUnwrap(analyzer.measure(path, estimate: nil))
        return m.diameter.indices.filter { m.valid[$0] && abs(m.centerline[$0].y - 60) > 25 }.map { m.rawDiameter[$0] }
    }

    func testOneSidedFitsDoNotReadAnUnmodelledEdgeAsLumen() throws {
        let clippedRejected = try Self.healthyDiameters(oneSided: false)
        let oneSided = try Self.healthyDiameters(oneSided: true)
        for d in clippedRejected + oneSided { XCTAssertEqual(d, 14, accuracy: 1.0) }
        XCTAssertEqual(oneSided.count, clippedRejected.count, "no one-sided fit kept beside the unmodelled edge")
    }
}
