import XCTest
import AngioDICOM
import QCA
@testable import AngioPipeline

/// Phantoms drawn by a renderer independent of AngioPhantom (a straight tube with a cosine
/// narrowing, written as plain 12-bit XA with Pixel Spacing), the way an outside user or a
/// validation script would make them: a contrast-filled cylinder (Beer–Lambert through the
/// chord), the cylinder in log-encoded intensity (the value falls linearly with the chord),
/// or a tube painted with uniform depth, noise-free or with quantum noise.
final class ForeignPhantomTests: XCTestCase {
    enum Shape { case cylinder, logEncodedCylinder, uniformDepth }

    struct Tube {
        var size = 320
        var angle = 0.45                  // radians from the x axis
        var diameterMm = 2.5
        var percent = 60.0
        var lesionMm = 8.0
        var shape = Shape.cylinder
        var attenuationPerMm = 0.25       // cylinder: transmission exp(-mu * chord); log-encoded: 1 - mu * chord
        var uniformDip = 0.3              // painted tube: transmission 1 - dip inside
        var blurPx = 1.0
        var photons: Double? = nil        // per pixel; nil: noise-free
        var seed: UInt64 = 1
        /// Written with its vessels bright (4095 minus the value) under MONOCHROME2.
        var inverted = false
        static let mmPerPixel = 0.16
    }

    /// Renders `tube` (3x3 supersampling, Gaussian blur of the transmission, Gaussian
    /// approximation of Poisson noise from a fixed-seed generator) and writes it.
    static func write(_ tube: Tube, to path: String) throws -> (x: Double, y: Double, mld: Double) {
        let n = tube.size, ss = 3
        let c = Double(n - 1) / 2
        let dx = cos(tube.angle), dy = sin(tube.angle)
        let radius = tube.diameterMm / Tube.mmPerPixel / 2, length = tube.lesionMm / Tube.mmPerPixel
        func lumenRadius(_ s: Double) -> Double {
            let u = s / length
            return abs(u) < 0.5 ? radius * (1 - tube.percent / 100 * 0.5 * (1 + cos(2 * Double.pi * u))) : radius
        }
        var transmission = [Double](repeating: 1, count: n * n)
        for y in 0..<n {
            for x in 0..<n {
                var sum = 0.0
                for sy in 0..<ss {
                    for sx in 0..<ss {
                        let px = Double(x) + (Double(sx) + 0.5) / Double(ss) - 0.5 - c
                        let py = Double(y) + (Double(sy) + 0.5) / Double(ss) - 0.5 - c
                        let along = px * dx + py * dy, across = -px * dy + py * dx
                        let r = lumenRadius(along)
                        guard abs(across) < r else { sum += 1; continue }
                        switch tube.shape {
                        case .cylinder:
                            let chordMm = 2 * (r * r - across * across).squareRoot() * Tube.mmPerPixel
                            sum += exp(-tube.attenuationPerMm * chordMm)
                        case .logEncodedCylinder:
                            let chordMm = 2 * (r * r - across * across).squareRoot() * Tube.mmPerPixel
                            sum += 1 - tube.attenuationPerMm * chordMm
                        case .uniformDepth:
                            sum += 1 - tube.uniformDip
                        }
                    }
                }
                transmission[y * n + x] = sum / Double(ss * ss)
            }
        }
        // Separable Gaussian blur, edges clamped.
        let reach = Int((4 * tube.blurPx).rounded(.up))
        let kernel = (-reach...reach).map { exp(-0.5 * Double($0 * $0) / (tube.blurPx * tube.blurPx)) }
        let total = kernel.reduce(0, +)
        func blur(_ image: [Double], horizontal: Bool) -> [Double] {
            var out = image
            for y in 0..<n {
                for x in 0..<n {
                    var acc = 0.0
                    for k in -reach...reach {
                        let xx = horizontal ? min(max(x + k, 0), n - 1) : x
                        let yy = horizontal ? y : min(max(y + k, 0), n - 1)
                        acc += kernel[k + reach] * image[yy * n + xx]
                    }
                    out[y * n + x] = acc / total
                }
            }
            return out
        }
        let blurred = blur(blur(transmission, horizontal: true), horizontal: false)
        var state = tube.seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        let pixels: [UInt16] = blurred.map { t in
            var value = t
            if let photons = tube.photons {
                let gaussian = (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
                value += gaussian * (t / photons).squareRoot()
            }
            let stored = UInt16(min(max((value * 3000).rounded(), 0), 4095))
            return tube.inverted ? 4095 - stored : stored
        }
        let request = XAWriteRequest(rows: n, columns: n, bitsStored: 12, frames: [pixels],
                                     attributes: [DICOMAttribute(group: 0x0028, element: 0x0030, vr: "DS", value: "0.16\\0.16")])
        try DICOMWriter.writeXA(request, to: path)
        return (c, c, tube.diameterMm * (1 - tube.percent / 100))
    }

    static func analyze(_ tube: Tube, options: AnalysisOptions = AnalysisOptions(threads: 1)) throws
        -> (record: AnalysisRecord, x: Double, y: Double, mld: Double) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("angio-foreign-\(UUID().uuidString).dcm").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let truth = try write(tube, to: path)
        let record = SingleFileAnalysis.analyze(path: path, options: options).record
        return (record, truth.x, truth.y, truth.mld)
    }

    func assertRankOne(_ tube: Tube, within points: Double, options: AnalysisOptions = AnalysisOptions(threads: 1),
                       file: StaticString = #filePath, line: UInt = #line) throws -> AnalysisRecord {
        let result = try Self.analyze(tube, options: options)
        let top = try XCTUnwrap(result.record.lesions.first, "no lesion reported", file: file, line: line)
        let distanceMm = hypot(top.location.x - result.x, top.location.y - result.y) * Tube.mmPerPixel
        XCTAssertLessThanOrEqual(distanceMm, 2, file: file, line: line)
        XCTAssertEqual(top.percentDiameterStenosis, tube.percent, accuracy: points, file: file, line: line)
        return result.record
    }

    /// Noise-free, uniform background, dense contrast: the vessel's dark core was taken for a
    /// collimator shutter (`ExposureField`) and the vessel left out of the field: no lesion.
    /// The lesion's flanks (radius changing along the 8 px strip) also leave residuals many
    /// times the path's typical one, which is almost nothing without noise: without the
    /// residual floor (`QCAParameters.residualScaleFloor`) a 59 % lesion of the same kind on a
    /// 512 px frame lost 77 of its 126 profiles and was dropped as a false dip.
    func testNoiseFreeCylinderLesionIsReported() throws {
        var tube = Tube()
        tube.diameterMm = 3.4
        tube.percent = 59
        tube.lesionMm = 11
        tube.blurPx = 1.2
        let record = try assertRankOne(tube, within: 2)
        XCTAssertFalse(record.warnings.contains { $0.contains("uniform depth") })
        XCTAssertFalse(record.warnings.contains { $0.contains("linear attenuation law") })
    }

    /// A dense cylinder in log-encoded intensity (the dip linear in the chord, not
    /// Beer–Lambert): measured with Beer–Lambert, its contrast is overstated and this 57 %
    /// lesion read 6 points tight (an independent set: 14 of 16 such tubes +1 to +7 points).
    /// The wide blocks fit the linear law better and the image is measured with it.
    func testLogEncodedTubeIsMeasuredWithTheLinearLaw() throws {
        var tube = Tube()
        tube.shape = .logEncodedCylinder
        tube.diameterMm = 2.7
        tube.percent = 57
        tube.lesionMm = 6.4
        tube.attenuationPerMm = 0.3
        tube.photons = 8000
        let record = try assertRankOne(tube, within: 2)
        XCTAssertTrue(record.warnings.contains { $0.contains("linear attenuation law") }, "\(record.warnings)")
        XCTAssertFalse(record.warnings.contains { $0.contains("uniform depth") }, "\(record.warnings)")
    }

    /// Noise-free, a steep 64 % narrowing of a 3.5 mm tube over 3.5 mm: the flanks' radius
    /// changes by up to ±0.7 px over a profile's strip, leaving residuals many times the
    /// residual floor; they were rejected as undescribed and the lesion dropped as a false dip
    /// (17 of 48 such noise-free tubes, 3 to 3.5 mm, 55–75 % over 3.5–4.9 mm, lost their
    /// lesion). The taper's own share of the residual is now allowed
    /// (`VesselAnalyzer.taperResiduals`).
    func testSteepNoiseFreeNarrowingKeepsItsFlanks() throws {
        for shape in [Shape.cylinder, .logEncodedCylinder] {
            var tube = Tube()
            tube.shape = shape
            tube.diameterMm = 3.5
            tube.percent = 64
            tube.lesionMm = 3.5
            tube.blurPx = 0.84
            _ = try assertRankOne(tube, within: 3)
        }
    }

    /// A tube painted with uniform depth: measured as a cylinder its narrowing's integrated
    /// dip (linear in the width, quadratic for a cylinder) read an 80 % lesion as 62 %.
    /// The image's wide blocks fit uniform depth better and the whole image is measured so.
    func testPaintedTubeIsMeasuredWithUniformDepth() throws {
        let record = try assertRankOne(Self.tightNoisyTube(.uniformDepth), within: 3)
        XCTAssertTrue(record.warnings.contains { $0.contains("uniform depth") }, "\(record.warnings)")
    }

    /// The same tube with a cylinder's profile and the same noise keeps the cylinder model.
    func testNoisyCylinderKeepsTheCylinderModel() throws {
        let record = try assertRankOne(Self.tightNoisyTube(.cylinder), within: 4)
        XCTAssertFalse(record.warnings.contains { $0.contains("uniform depth") }, "\(record.warnings)")
    }

    /// Vessels brighter than the background under MONOCHROME2 (an inverted export): nothing
    /// was found before. The top-hat evidence (`PolarityDetection`) says bright, the frame is
    /// inverted and measured like the original; `--vessel-polarity dark` keeps it as stored.
    func testInvertedTubeIsDetectedAndMeasured() throws {
        var tube = Self.tightNoisyTube(.cylinder)
        tube.percent = 60
        tube.inverted = true
        let record = try assertRankOne(tube, within: 4)
        XCTAssertEqual(record.frame?.vesselPolarity, "bright")
        XCTAssertTrue(record.warnings.contains { $0.contains("brighter than their background") }, "\(record.warnings)")
        XCTAssertEqual(record.options.vesselPolarity, "auto")

        let kept = try Self.analyze(tube, options: AnalysisOptions(threads: 1, vesselPolarity: .dark)).record
        XCTAssertEqual(kept.frame?.vesselPolarity, "dark")
        XCTAssertFalse(kept.warnings.contains { $0.contains("brighter than their background") })
        XCTAssertFalse(kept.lesions.contains { abs($0.percentDiameterStenosis - 60) < 4 }, "\(kept.lesions)")

        // Forcing "bright" on it gives the automatic result; on the normal tube auto says dark.
        let forced = try Self.analyze(tube, options: AnalysisOptions(threads: 1, vesselPolarity: .bright)).record
        XCTAssertEqual(forced.lesions, record.lesions)
        tube.inverted = false
        let normal = try Self.analyze(tube).record
        XCTAssertEqual(normal.frame?.vesselPolarity, "dark")
        XCTAssertEqual(normal.lesions.first?.percentDiameterStenosis, record.lesions.first?.percentDiameterStenosis)
    }

    /// An 80 % lesion over 6.3 mm of a 2.1 mm tube at 8000 photons/pixel.
    static func tightNoisyTube(_ shape: Shape) -> Tube {
        var tube = Tube()
        tube.shape = shape
        tube.diameterMm = 2.1
        tube.percent = 80
        tube.lesionMm = 6.3
        tube.photons = 8000
        return tube
    }
}
