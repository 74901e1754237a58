import AngioDICOM
import AngioPhantom
import Foundation
import VesselCore
import XCTest
@testable import AngioPipeline

/// The phantom written through the DCMTK shim decodes back to the rendered values and carries
/// the calibration, timing and identity attributes its spec asks for.
final class PhantomWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("angio-phantom-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func smallSpec(seed: UInt64 = 11, size: Int = 96) -> PhantomSpec {
        var scenario = PhantomScenario()
        scenario.size = size
        scenario.mmPerPixel = 0.3
        scenario.diameterMm = 3
        scenario.stenosisPercent = 50
        scenario.lesionLengthMm = 6
        return PhantomGenerator.spec(seed: seed, scenario: scenario)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func storedValues(_ file: AngiogramFile, frame: Int) throws -> [UInt16] {
        try file.storedFrame(frame).values.map { UInt16(clamping: $0) }
    }

    func testLosslessSyntaxesDecodeToTheRenderedValues() throws {
        for (syntax, bits) in [("explicit", 12), ("implicit", 16), ("rle", 8), ("rle", 12),
                               ("jpeg-lossless", 10), ("jpeg-lossless", 16), ("jpeg-ls", 12), ("jpeg-ls", 8)] {
            var spec = smallSpec()
            spec.bitsStored = bits
            spec.transferSyntax = syntax
            let rendering = try PhantomGenerator.render(spec)
            let file = path("lossless-\(syntax)-\(bits).dcm")
            try PhantomWriter.write(rendering, to: file)
            let decoded = try AngiogramFile(path: file)
            XCTAssertEqual(decoded.metadata.transferSyntaxUID, PhantomWriter.transferSyntax(named: syntax)?.uid, syntax)
            XCTAssertEqual(decoded.bitsStored, bits)
            XCTAssertEqual(decoded.rows, spec.height)
            XCTAssertEqual(decoded.columns, spec.width)
            XCTAssertEqual(try storedValues(decoded, frame: 0), rendering.storedFrames[0], "\(syntax) \(bits)-bit")
        }
    }

    func testCineRunKeepsEveryFrameAndItsTiming() throws {
        var spec = smallSpec(size: 64)
        spec.frames = 5
        spec.frameTimeMs = 33.3
        spec.photometric = .monochrome1
        spec.transferSyntax = "rle"
        let rendering = try PhantomGenerator.render(spec)
        let file = path("cine.dcm")
        try PhantomWriter.write(rendering, to: file)
        let decoded = try AngiogramFile(path: file)
        XCTAssertEqual(decoded.frameCount, 5)
        XCTAssertEqual(decoded.photometricInterpretation, "MONOCHROME1")
        for frame in 0..<5 {
            XCTAssertEqual(try storedValues(decoded, frame: frame), rendering.storedFrames[frame], "frame \(frame)")
        }
        XCTAssertEqual(try XCTUnwrap(decoded.metadata.frameTime), 33.3, accuracy: 1e-9)
        XCTAssertEqual(decoded.metadata.frameIncrementPointer?.first?.uppercased().contains("0018,1063"), true,
                       "\(decoded.metadata.frameIncrementPointer ?? [])")
    }

    func testMonochrome1AndMonochrome2FilesGiveTheSameAnalysisFrame() throws {
        // The analysis frame has vessels dark whatever the photometric interpretation, so a
        // MONOCHROME1 phantom (stored values maxValue - v) must analyse like its MONOCHROME2 twin.
        var spec = smallSpec(size: 64)
        spec.bitsStored = 12
        try PhantomWriter.write(try PhantomGenerator.render(spec), to: path("m2.dcm"))
        spec.photometric = .monochrome1
        try PhantomWriter.write(try PhantomGenerator.render(spec), to: path("m1.dcm"))
        let m2 = try AngiogramFile(path: path("m2.dcm")).analysisFrame(0).pixels
        let m1 = try AngiogramFile(path: path("m1.dcm")).analysisFrame(0).pixels
        XCTAssertEqual(m1.count, m2.count)
        // Allow an affine difference (display scaling) but nothing else.
        let n = Double(m1.count)
        let mean1 = m1.reduce(0) { $0 + Double($1) } / n, mean2 = m2.reduce(0) { $0 + Double($1) } / n
        var covariance = 0.0, variance1 = 0.0, variance2 = 0.0
        for i in 0..<m1.count {
            let a = Double(m1[i]) - mean1, b = Double(m2[i]) - mean2
            covariance += a * b; variance1 += a * a; variance2 += b * b
        }
        XCTAssertGreaterThan(covariance / (variance1 * variance2).squareRoot(), 0.99999)
    }

    func testLossySyntaxesStayCloseToTheRenderedValues() throws {
        for (syntax, bits) in [("jpeg-ls-near", 12), ("jpeg-baseline", 8), ("jpeg-extended", 12)] {
            var spec = smallSpec()
            spec.bitsStored = bits
            spec.transferSyntax = syntax
            let rendering = try PhantomGenerator.render(spec)
            let file = path("lossy-\(syntax).dcm")
            try PhantomWriter.write(rendering, to: file)
            let decodedFile = try AngiogramFile(path: file)
            // Lossy encoding must keep the stored-value scale (no display rendering).
            XCTAssertNotEqual(decodedFile.metadata.pixelIntensityRelationship, "DISP", syntax)
            let decoded = try storedValues(decodedFile, frame: 0)
            let original = rendering.storedFrames[0]
            let differences = zip(decoded, original).map { Double($0) - Double($1) }
            let count = Double(original.count)
            let bias = differences.reduce(0, +) / count
            let meanAbsoluteError = differences.map(abs).reduce(0, +) / count
            let range = Double(1 << bits)
            // No shift: a rescaling or offset bug moves the mean by tens of levels.
            XCTAssertLessThan(abs(bias), range * 0.005, "\(syntax) bias")
            // Quality-90 JPEG on a noisy 8-bit phantom loses ~1 % of the range per pixel
            // (dcmcjpeg +sr measures the same); JPEG-LS NEAR and 12-bit JPEG far less.
            XCTAssertLessThan(meanAbsoluteError, range * 0.015, "\(syntax) mean absolute error")
            XCTAssertNotEqual(decoded, [UInt16](repeating: 0, count: decoded.count))
        }
    }

    func testCalibrationTagsFollowTheSpec() throws {
        let cases: [(PhantomCalibration, String)] = [
            (.pixelSpacing, "ps"), (.imagerPixelSpacingWithMagnification(1.25), "mag"),
            (.imagerPixelSpacingWithDistances(sid: 1100, sod: 800), "dist"), (.none, "none"),
        ]
        for (calibration, name) in cases {
            var spec = smallSpec(size: 48)
            spec.vessels = []
            spec.catheter = nil
            spec.calibration = calibration
            let rendering = try PhantomGenerator.render(spec)
            let file = path("calibration-\(name).dcm")
            try PhantomWriter.write(rendering, to: file)
            let metadata = try AngiogramFile(path: file).metadata
            let mm = spec.mmPerPixel
            switch calibration {
            case .pixelSpacing:
                XCTAssertEqual(metadata.pixelSpacing, [mm, mm])
                XCTAssertEqual(metadata.pixelSpacingCalibrationType, "GEOMETRY")
                XCTAssertEqual(try XCTUnwrap(metadata.imagerPixelSpacing?.first), mm * 1.2, accuracy: 1e-9)
            case .imagerPixelSpacingWithMagnification(let m):
                XCTAssertNil(metadata.pixelSpacing)
                XCTAssertEqual(try XCTUnwrap(metadata.imagerPixelSpacing?.first), mm * m, accuracy: 1e-9)
                XCTAssertEqual(metadata.estimatedRadiographicMagnificationFactor, m)
                XCTAssertNil(metadata.distanceSourceToDetector)
            case .imagerPixelSpacingWithDistances(let sid, let sod):
                XCTAssertNil(metadata.pixelSpacing)
                XCTAssertNil(metadata.estimatedRadiographicMagnificationFactor)
                XCTAssertEqual(metadata.distanceSourceToDetector, sid)
                XCTAssertEqual(metadata.distanceSourceToPatient, sod)
                let imager = try XCTUnwrap(metadata.imagerPixelSpacing?.first)
                XCTAssertEqual(imager * sod / sid, mm, accuracy: 1e-9)
            case .none:
                XCTAssertNil(metadata.pixelSpacing)
                XCTAssertNil(metadata.imagerPixelSpacing)
                XCTAssertNil(metadata.estimatedRadiographicMagnificationFactor)
                XCTAssertNil(rendering.truth.mmPerPixel)
            }
            if let readable = rendering.truth.mmPerPixel { XCTAssertEqual(readable, mm, accuracy: 1e-9) }
        }
    }

    func testIdentityIsPresentDeterministicAndSharedByAPrePostPair() throws {
        var pre = smallSpec(seed: 31)
        pre.vessels[0].stenosis?.percentDiameter = 75
        var post = pre
        post.vessels[0].stenosis?.percentDiameter = 20
        post.studySeed = pre.effectiveStudySeed
        post.noiseSeed = pre.effectiveNoiseSeed &+ 1
        post.seriesNumber = 2
        let preFile = path("pre.dcm"), postFile = path("post.dcm"), again = path("pre-again.dcm")
        try PhantomWriter.write(try PhantomGenerator.render(pre), to: preFile, truthPath: path("pre.json"))
        try PhantomWriter.write(try PhantomGenerator.render(pre), to: again, truthPath: path("pre-again.json"))
        try PhantomWriter.write(try PhantomGenerator.render(post), to: postFile)
        let a = try AngiogramFile(path: preFile).metadata, b = try AngiogramFile(path: postFile).metadata
        // PHI is in the file so later stages can prove they strip it.
        XCTAssertEqual(a.patient?.name, "PHANTOM^31")
        XCTAssertEqual(a.patient?.id, "PHANTOM-31")
        XCTAssertEqual(a.modality, "XA")
        XCTAssertEqual(a.patient, b.patient)
        XCTAssertEqual(a.studyInstanceUID, b.studyInstanceUID)
        XCTAssertNotEqual(a.seriesInstanceUID, b.seriesInstanceUID)
        XCTAssertNotEqual(a.sopInstanceUID, b.sopInstanceUID)
        XCTAssertEqual(b.seriesNumber, 2)
        XCTAssertTrue(a.sopInstanceUID?.hasPrefix("2.25.") ?? false)
        XCTAssertEqual(try XCTUnwrap(a.positionerPrimaryAngle), pre.positionerPrimaryAngle, accuracy: 1e-9)
        // Same spec -> byte-identical DICOM and truth.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: preFile)), try Data(contentsOf: URL(fileURLWithPath: again)))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("pre.json"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("pre-again.json"))))
    }

    func testTruthJSONRoundTripsWithExplicitNulls() throws {
        var spec = smallSpec(size: 64)
        spec.calibration = .none
        spec.catheter = nil
        let rendering = try PhantomGenerator.render(spec)
        try PhantomWriter.write(rendering, to: path("t.dcm"), truthPath: path("t.json"))
        let data = try Data(contentsOf: URL(fileURLWithPath: path("t.json")))
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains(#""mmPerPixel":null"#), "uncalibrated truth states mmPerPixel null")
        XCTAssertTrue(text.contains(#""catheter":null"#))
        let decoded = try JSONDecoder().decode(PhantomTruth.self, from: data)
        XCTAssertEqual(decoded, rendering.truth)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["trueMmPerPixel"] as? Double, spec.mmPerPixel)
    }

    func testWriteFailuresNameTheFile() throws {
        let rendering = try PhantomGenerator.render(smallSpec(size: 32))
        let missing = directory.appendingPathComponent("no/such/dir/x.dcm").path
        XCTAssertThrowsError(try PhantomWriter.write(rendering, to: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
        var spec = rendering.spec
        spec.transferSyntax = "jpeg-2000"
        XCTAssertThrowsError(try PhantomWriter.write(rendering, spec: spec, to: path("bad.dcm"))) { error in
            XCTAssertTrue("\(error)".contains("jpeg-2000"), "\(error)")
        }
    }
}
