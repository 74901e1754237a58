import XCTest
import AngioPhantom
import VesselCore
@testable import QCA

final class DebugDumpTests: XCTestCase {
    func testDump() throws {
        guard let seedText = ProcessInfo.processInfo.environment["QCA_DUMP_SEED"], let seed = UInt64(seedText) else { throw XCTSkip("no seed") }
        var options = RandomPhantomOptions()
        options.size = 320
        if ProcessInfo.processInfo.environment["QCA_NO_BACKGROUND"] != nil { options.background = false }
        let spec = PhantomGenerator.randomSpec(seed: seed, options: options)
        let rendering = try PhantomGenerator.render(spec, threads: 1)
        let truth = rendering.truth
        let main = truth.vessels[0]
        let image = BackgroundNormalization.normalize(PhantomMeasurementTests.image(from: rendering), vesselMask: PhantomMeasurementTests.truthMask(truth))
        let raw = image.pixels.withUnsafeBufferPointer { Data(buffer: $0) }
        try raw.write(to: URL(fileURLWithPath: "/tmp/qca-dump-\(seed)-\(image.width)x\(image.height).f32"))
        let analyzer = VesselAnalyzer(image: image, threads: 1)
        let path = VesselPath(id: 0, points: main.centerline, startKind: .userPoint, endKind: .userPoint)
        let m = try XCTUnwrap(analyzer.measure(path, estimate: nil))
        if let probeText = ProcessInfo.processInfo.environment["QCA_PROBE"], let probe = Int(probeText) {
            let prepared = try XCTUnwrap(analyzer.prepare(path))
            let f = analyzer.fitSample(prepared, index: probe, sigma: m.psfSigma, attenuation: Statistics.median(prepared.blocks.map(\.fit.model.attenuation)))
            print("probe \(probe): \(f)")
            for b in prepared.blocks { print("block \(b.sampleIndex) r \(b.fit.model.radius) A \(b.fit.model.attenuation) s \(b.fit.model.sigma) conv \(b.fit.converged)") }
        }
        print("sigma \(m.psfSigma) spec blur \(spec.focalSpotBlurSigmaPx) count \(m.diameter.count) truth \(main.diameterPx.count) range \(m.measurableRange) vessels \(truth.vessels.map { $0.kind })")
        for i in stride(from: 0, to: m.diameter.count, by: 4) {
            let t = min(i, main.diameterPx.count - 1)
            print(String(format: "%4d s %6.1f raw %6.2f D %6.2f ref %6.2f true %6.2f u %.2f %@ ovl %@ (%.0f,%.0f)", i, m.arcLength[i], m.rawDiameter[i], m.diameter[i], m.referenceDiameter[i], main.diameterPx[t], m.diameterUncertainty[i], m.valid[i] ? "" : "INVALID\(m.rejectionReasons[i])", main.overlapped[t] ? "Y" : "", m.centerline[i].x, m.centerline[i].y))
        }
    }
}
