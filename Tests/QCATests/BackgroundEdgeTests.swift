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
    func testMildLesionNextToBoneEdgeInGeneratedPhantom() throws {
        var options = RandomPhantomOptions()
        options.size = 384
        let withMap = try XCTUnwrap(PhantomMeasurementTests.measureMainVessel(seed: 13, options: options, local: true,
                                                                              backgroundEdgeMap: true))
        let withoutMap = try XCTUnwrap(PhantomMeasurementTests.measureMainVessel(seed: 13, options: options, local: true,
                                                                                 backgroundEdgeMap: false))
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
