import XCTest
@testable import VesselCore

/// `PolarityDetection`: dark vessels against bright ones, noise and edges that must not decide.
final class PolarityDetectionTests: XCTestCase {
    /// Two dark tubes (radii 5 and 3 px) on a sloping background with noise. They do not
    /// cross: the bright gaps between crossing or crowded vessels are bright thin structures
    /// too (a dense network reads 0.6–1.5, see `PolarityDetection`).
    static func vessels(noise: Double = 8) -> GrayImage {
        let a = Tube.curve(point: { t in Point2D(x: 20 + 280 * t, y: 30 + 150 * t + 20 * sin(6 * t)) }, radius: { _ in 5 })
        let b = Tube.curve(point: { t in Point2D(x: 20 + 280 * t, y: 270 + 10 * sin(4 * t)) }, radius: { _ in 3 })
        let phantom = Phantom(width: 320, height: 300, tubes: [a, b], background: { x, y in 1000 + 0.5 * x - 0.3 * y },
                              blurSigma: 1, noiseSigma: noise, seed: 3)
        return phantom.render()
    }

    func testDarkVesselsAreDarkAndTheirNegativeIsBright() {
        let image = Self.vessels()
        let dark = PolarityDetection.evidence(image)
        XCTAssertLessThan(dark.brightToDarkRatio, 0.5, "\(dark)")
        XCTAssertFalse(dark.vesselsAreBright)
        let negative = PolarityDetection.evidence(image.mapped { 4095 - $0 })
        XCTAssertGreaterThan(negative.brightToDarkRatio, 2 * PolarityDetection.invertedRatio, "\(negative)")
        XCTAssertTrue(negative.vesselsAreBright)
        // Swapping the polarity swaps the energies (min and max filters are duals; 4095 - x
        // rounds in Float).
        XCTAssertEqual(negative.darkEnergy, dark.brightEnergy, accuracy: 1e-4 * dark.brightEnergy + 1e-6)
        XCTAssertEqual(negative.brightEnergy, dark.darkEnergy, accuracy: 1e-4 * dark.darkEnergy)
    }

    /// Noise alone and a step edge (a bone border, a shutter) carry no polarity either way.
    func testNoiseAndStepEdgesAreUndecided() {
        let noise = Phantom(width: 256, height: 256, tubes: [], noiseSigma: 10, seed: 5).render()
        var edge = Phantom(width: 256, height: 256, tubes: [], noiseSigma: 10, seed: 6)
        edge.background = { x, _ in x < 100 ? 600 : 1200 }
        for image in [noise, edge.render()] {
            XCTAssertFalse(PolarityDetection.evidence(image).vesselsAreBright)
            XCTAssertFalse(PolarityDetection.evidence(image.mapped { -$0 }).vesselsAreBright)
        }
        // Noise stays under the floor: almost no energy either way, against the tubes'.
        let tubes = PolarityDetection.evidence(Self.vessels())
        XCTAssertLessThan(PolarityDetection.evidence(noise).totalEnergy, 0.01 * tubes.totalEnergy)
    }

    /// Large frames are box-averaged to the working size first: a 1200 px frame of the same
    /// scene decides the same way.
    func testLargeFramesAreReducedFirst() {
        let small = Self.vessels(noise: 0)
        var large = GrayImage(width: 4 * small.width, height: 4 * small.height)
        for y in 0..<large.height { for x in 0..<large.width { large.pixels[y * large.width + x] = small[x: x / 4, y: y / 4] } }
        XCTAssertLessThan(PolarityDetection.evidence(large).brightToDarkRatio, 0.5)
        XCTAssertTrue(PolarityDetection.evidence(large.mapped { -$0 }).vesselsAreBright)
    }

    /// A run decides on its most structured frame: an empty mask frame does not outvote it.
    func testDecisiveFrameIsTheMostStructured() {
        let opacified = PolarityDetection.evidence(Self.vessels().mapped { 4095 - $0 })
        let mask = PolarityDetection.evidence(Phantom(width: 320, height: 300, tubes: [], noiseSigma: 8, seed: 9).render())
        XCTAssertEqual(PolarityDetection.decisive([mask, opacified, mask]), opacified)
        XCTAssertNil(PolarityDetection.decisive([]))
    }
}
