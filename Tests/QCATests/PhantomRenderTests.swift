import Foundation
import XCTest
import VesselCore
@testable import AngioPhantom

/// Truth consistency, determinism and encoding of the phantom renderer.
final class PhantomRenderTests: XCTestCase {
    /// A straight horizontal vessel on a flat background: no blur, no noise.
    private func straightVesselSpec(diameterMm: Double = 3.0, stenosis: PhantomStenosis? = nil,
                                    size: Int = 96) -> PhantomSpec {
        var spec = PhantomSpec(seed: 7, width: size, height: size)
        spec.background = .flat(attenuation: 1.0)
        spec.noise = .none
        spec.focalSpotBlurSigmaPx = 0
        spec.bitsStored = 16
        let y = Double(size) / 2 + 0.3
        spec.vessels = [PhantomVessel(controlPoints: [Point2D(x: -10, y: y), Point2D(x: Double(size) + 10, y: y)],
                                      referenceDiameterMm: diameterMm, stenosis: stenosis)]
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

    func testStraightVesselAttenuationIntegralEqualsLumenArea() throws {
        let spec = straightVesselSpec()
        let rendering = try PhantomGenerator.render(spec)
        let image = rendering.transmissionFrames[0]
        let background = exp(-1.0)
        // Sum of -ln(T / T_bg) down a column ~ mu * (integral of chord) = mu * pi r^2 (in px^2 * mm/px).
        let radiusPx = 3.0 / spec.mmPerPixel / 2
        let expected = spec.contrastAttenuationPerMm * spec.mmPerPixel * Double.pi * radiusPx * radiusPx
        for x in [20, 48, 70] {
            var integral = 0.0
            for y in 0..<spec.height { integral += -log(Double(image[x: x, y: y]) / background) }
            XCTAssertEqual(integral, expected, accuracy: expected * 0.002, "column \(x)")
        }
    }

    func testRenderTimingProbe() throws {
        var spec = PhantomGenerator.spec(seed: 3, scenario: {
            var s = PhantomScenario(); s.branches = 2; s.crossing = true; return s }())
        spec.frames = 1
        let start = Date()
        let rendering = try PhantomGenerator.render(spec)
        print("render 512x512: \(Date().timeIntervalSince(start)) s")
        dump(rendering, name: "coronary3")
        var p = PhantomScenario(); p.anatomy = .peripheral; p.stenosisPercent = 75; p.branches = 1
        dump(try PhantomGenerator.render(PhantomGenerator.spec(seed: 11, scenario: p)), name: "peripheral11")
    }
}
