import XCTest
import AngioPhantom
@testable import QCA

/// Narrow lumens under noise: a fit free to slide the lumen sideways reads it too wide; the
/// centre fixed to the smoothed centre line removes that bias (`VesselAnalyzer.refitNarrowLumens`).
final class NarrowLumenCentreTests: XCTestCase {
    /// The premise, on the model alone: contrast 0.0192/px (0.12/mm at 0.16 mm/px), PSF sigma
    /// 1.1 px, 41 samples over +-10 px, Gaussian noise 2.4 % of the background.
    func testFreeCentreInflatesANarrowRadiusAndAKnownCentreDoesNot() {
        var rng = SplitMix(seed: 12345)
        let distances = stride(from: -10.0, through: 10.0, by: 0.5).map { $0 }
        let truth = LumenModel(background: 1000, backgroundSlope: 0, attenuation: 0.0192, center: 0.2, radius: 0.8, sigma: 1.1)
        var free: [Double] = [], fixed: [Double] = []
        for _ in 0..<400 {
            let samples = ProfileSamples(distance: distances, value: distances.map { truth.value(at: $0) + 24 * rng.gaussian() })
            var initial = truth
            initial.radius = 1.0
            initial.center = 0
            if let fit = LumenFitter.fit(samples, initial: initial, free: [.center, .radius], maxRadius: 30, centerLimit: 8) {
                free.append(fit.model.radius)
            }
            initial.center = truth.center
            if let fit = LumenFitter.fit(samples, initial: initial, free: [.radius], maxRadius: 30, centerLimit: 8) {
                fixed.append(fit.model.radius)
            }
        }
        XCTAssertGreaterThan(free.count, 390)
        XCTAssertGreaterThan(fixed.count, 390)
        // Root mean square: the smoothing works on D^2, which is about linear in the data here.
        func rms(_ values: [Double]) -> Double { (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot() }
        let freeBias = rms(free) - 0.8, fixedBias = rms(fixed) - 0.8
        print("narrow lumen r = 0.8 px: rms radius bias \(freeBias) px free, \(fixedBias) px with the centre known")
        XCTAssertGreaterThan(freeBias, 0.15, "free centre: radius inflated by noise")
        // What remains with the centre known is the radius clamped at 0 (r^2 cannot go negative).
        XCTAssertLessThan(fixedBias, 0.4 * freeBias, "centre known: most of the bias gone")
    }

    /// Tight lesions (75-85 % of a 1.5-2 mm vessel, MLD 0.2-0.5 mm) at 2000-4000 photons per
    /// pixel (harder than the accuracy study's 1500-10000 over all lesions), measured along the
    /// true centreline: the MLD bias with the refit against without.
    func testTightLesionsUnderNoiseAreNotReadTooWide() throws {
        var options = RandomPhantomOptions()
        options.size = 256
        options.referenceDiameterMm = 1.5...2.0
        options.stenosisPercent = 75...85
        options.photonsPerPixel = 2000...4000
        options.blurSigmaPx = 0.8...1.3
        options.anatomies = [.coronary]
        var withoutRefit = QCAParameters()
        withoutRefit.narrowLumenRefit = nil
        var errors: [Double] = [], oldErrors: [Double] = []
        for seed in UInt64(1)...UInt64(12) {
            guard let new = try PhantomMeasurementTests.measureMainVessel(seed: seed, options: options, local: true),
                  let old = try PhantomMeasurementTests.measureMainVessel(seed: seed, options: options, local: true,
                                                                          parameters: withoutRefit) else { continue }
            errors.append(new.measuredMLDmm - new.trueMLDmm)
            oldErrors.append(old.measuredMLDmm - old.trueMLDmm)
        }
        XCTAssertGreaterThanOrEqual(errors.count, 10)
        let mean = errors.reduce(0, +) / Double(errors.count), oldMean = oldErrors.reduce(0, +) / Double(oldErrors.count)
        print("tight lesions: MLD error \(mean) mm with the refit, \(oldMean) mm without; \(errors)")
        // Measured: +0.069 mm with the refit, +0.119 mm without. What remains is mostly the
        // narrowest lumens (MLD < 0.3 mm, r < sigma), where the fitted radius is clamped at 0.
        XCTAssertLessThanOrEqual(mean, 0.09, "MLD mean error \(mean) mm: \(errors)")
        XCTAssertLessThan(mean, oldMean - 0.03, "the refit must remove most of the upward bias (without: \(oldMean) mm)")
    }

    func testRunningMedianIgnoresIsolatedOutliersAndNaNs() {
        let values: [Double] = [0, 0.1, 0.2, 3.8, 0.3, .nan, 0.4, -2.4, 0.5, 0.6]
        let median = Statistics.runningMedian(values, halfWindow: 2)
        XCTAssertEqual(median.count, values.count)
        XCTAssertEqual(median[0], 0)
        XCTAssertEqual(median[3], 0.25, accuracy: 1e-12)   // {0.1, 0.2, 3.8, 0.3}: NaN ignored
        XCTAssertEqual(median[7], 0.45, accuracy: 1e-12)   // {0.4, -2.4, 0.5, 0.6}
        XCTAssertTrue(median.allSatisfy { $0.isFinite && abs($0) < 1 })
    }
}
