import XCTest
import AngioPhantom
import VesselCore
@testable import QCA

/// QCA on rendered phantoms, measured along the true centreline (segment mode), so the
/// measurement stage is validated independently of segmentation.
final class PhantomMeasurementTests: XCTestCase {
    struct Outcome {
        var trueMLDmm: Double
        var measuredMLDmm: Double
        var truePercentDS: Double
        var measuredPercentDS: Double
        var localisationErrorMm: Double
    }

    static func image(from rendering: PhantomRendering) -> GrayImage {
        let spec = rendering.spec
        let frame = rendering.truth.mostOpacifiedFrame
        let maxValue = Float(rendering.maxStoredValue)
        let values = rendering.storedFrames[frame].map { value -> Float in
            spec.photometric == .monochrome1 ? maxValue - Float(value) : Float(value)
        }
        return GrayImage(width: spec.width, height: spec.height, pixels: values)
    }

    static func measureMainVessel(seed: UInt64, options: RandomPhantomOptions) throws -> Outcome? {
        let spec = PhantomGenerator.randomSpec(seed: seed, options: options)
        let rendering = try PhantomGenerator.render(spec, threads: 1)
        let truth = rendering.truth
        guard let main = truth.vessels.first, let stenosis = main.stenosis else { return nil }
        let image = image(from: rendering)
        let analyzer = VesselAnalyzer(image: image, threads: 1)
        let path = VesselPath(id: 0, points: main.centerline, startKind: .userPoint, endKind: .userPoint)
        guard let measurement = analyzer.measure(path, estimate: nil) else { return nil }
        guard let lesion = LesionFinder.segmentLesions(measurement).first else { return nil }
        let mm = truth.trueMmPerPixel
        let dx = lesion.mldPosition.x - stenosis.location.x, dy = lesion.mldPosition.y - stenosis.location.y
        return Outcome(trueMLDmm: stenosis.mldMm, measuredMLDmm: lesion.minimalLumenDiameter * mm,
                       truePercentDS: stenosis.percentDiameterStenosis, measuredPercentDS: lesion.percentDiameterStenosis,
                       localisationErrorMm: (dx * dx + dy * dy).squareRoot() * mm)
    }

    func testPrintAccuracyOnRandomPhantoms() throws {
        var options = RandomPhantomOptions()
        options.size = 320
        if ProcessInfo.processInfo.environment["QCA_NO_BACKGROUND"] != nil { options.background = false }
        var errors: [Double] = []
        for seed in UInt64(1)...UInt64(16) {
            guard let o = try Self.measureMainVessel(seed: seed, options: options) else { print("seed \(seed): none"); continue }
            print(String(format: "seed %2d MLD true %.3f meas %.3f err %+.3f | DS true %5.1f meas %5.1f | loc %.2f mm",
                         Int(seed), o.trueMLDmm, o.measuredMLDmm, o.measuredMLDmm - o.trueMLDmm, o.truePercentDS, o.measuredPercentDS, o.localisationErrorMm))
            if o.trueMLDmm >= 0.5 { errors.append(o.measuredMLDmm - o.trueMLDmm) }
        }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let sd = (errors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(errors.count - 1, 1))).squareRoot()
        print(String(format: "MLD error %.3f +- %.3f mm (n=%d)", mean, sd, errors.count))
    }
}
