import XCTest
import AngioDICOM
@testable import AngioPipeline

final class QAChecksTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try BatchTestSupport.temporaryDirectory("qa")
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    func attribute(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: String) -> DICOMAttribute {
        DICOMAttribute(group: group, element: element, vr: vr, value: value)
    }

    /// A small XA file; `size` x `size`, `frames` frames, with the given extra attributes.
    func writeXA(_ name: String, size: Int = 32, frames: Int = 3, syntax: WritableTransferSyntax = .explicitVRLittleEndian,
                 bits: Int = 10, attributes: [DICOMAttribute]) throws -> URL {
        let url = root.appendingPathComponent("archive/\(name)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let modulus = 1 << bits
        var pixels: [[UInt16]] = []
        for f in 0..<frames {
            pixels.append((0..<(size * size)).map { (i: Int) -> UInt16 in UInt16((i * 7 + f * 13) % modulus) })
        }
        try DICOMWriter.writeXA(XAWriteRequest(rows: size, columns: size, bitsStored: bits, frames: pixels,
                                               transferSyntax: syntax, attributes: attributes), to: url.path)
        return url
    }

    var calibrated: [DICOMAttribute] {
        [attribute(0x0018, 0x1164, "DS", "0.3\\0.3"), attribute(0x0018, 0x1114, "DS", "1.2"), attribute(0x0018, 0x0060, "DS", "80")]
    }

    func makeArchive() throws {
        let timing = [attribute(0x0018, 0x1063, "DS", "66.7")]
        _ = try writeXA("good.dcm", attributes: calibrated + timing)
        _ = try writeXA("no_timing.dcm", attributes: calibrated)
        _ = try writeXA("short_vector.dcm", attributes: calibrated + [attribute(0x0018, 0x1065, "DS", "0\\66")])
        _ = try writeXA("burned.dcm", attributes: calibrated + timing + [attribute(0x0028, 0x0301, "CS", "YES")])
        _ = try writeXA("bad_geometry.dcm", attributes: timing + [
            attribute(0x0018, 0x1164, "DS", "0.3\\0.3"), attribute(0x0018, 0x1114, "DS", "3.5"),
            attribute(0x0018, 0x1110, "DS", "700"), attribute(0x0018, 0x1111, "DS", "800")])
        _ = try writeXA("uncalibrated.dcm", frames: 1, attributes: [])
        let duplicate = attribute(0x0008, 0x0018, "UI", "1.2.3.4.5.6.7")
        _ = try writeXA("dup_a.dcm", frames: 1, attributes: calibrated + [duplicate])
        _ = try writeXA("dup_b.dcm", frames: 1, attributes: calibrated + [duplicate])
        let series = attribute(0x0020, 0x000E, "UI", "1.2.3.4.99")
        _ = try writeXA("series/one.dcm", size: 32, frames: 1, attributes: calibrated + [series])
        _ = try writeXA("series/two.dcm", size: 48, frames: 1, attributes: calibrated + [series])
        _ = try writeXA("lossy.dcm", frames: 1, syntax: .jpegBaseline, bits: 8, attributes: calibrated)
        _ = try writeXA("ct.dcm", frames: 1, attributes: [attribute(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
                                                          attribute(0x0008, 0x0060, "CS", "CT")])
        // Broken files: a truncated copy, random bytes named .dcm, a text file, and a file
        // declaring 65535 rows while holding 32 rows of pixels.
        let good = try Data(contentsOf: root.appendingPathComponent("archive/good.dcm"))
        try good.prefix(good.count / 2).write(to: root.appendingPathComponent("archive/truncated.dcm"))
        var generator = SystemRandomNumberGenerator()
        try Data((0..<4000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: root.appendingPathComponent("archive/random.dcm"))
        try Data("just notes\n".utf8).write(to: root.appendingPathComponent("archive/notes.txt"))
        var oversized = [UInt8](try Data(contentsOf: root.appendingPathComponent("archive/uncalibrated.dcm")))
        let rowsElement: [UInt8] = [0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00]  // (0028,0010) US, length 2
        let at = try XCTUnwrap((0..<(oversized.count - 10)).first { Array(oversized[$0..<($0 + 8)]) == rowsElement })
        oversized[at + 8] = 0xFF; oversized[at + 9] = 0xFF
        try Data(oversized).write(to: root.appendingPathComponent("archive/oversized.dcm"))
    }

    func codes(_ report: ArchiveQA.Report, _ path: String) -> Set<String> {
        Set(report.files.first { $0.path == path }?.findings.map(\.code.rawValue) ?? ["<missing file>"])
    }

    func testArchiveFindingsHaveSpecificCodes() throws {
        try makeArchive()
        let out = root.appendingPathComponent("qa")
        let report = try ArchiveQA.run(paths: [root.appendingPathComponent("archive").path],
                                       options: .init(outputDirectory: out.path, decode: true, jobs: 2))
        XCTAssertEqual(report.files.count, 16)
        XCTAssertEqual(report.files.first { $0.path == "good.dcm" }?.findings.filter { $0.severity != .info }, [], "a clean file has no warnings")
        XCTAssertTrue(report.files.first { $0.path == "good.dcm" }?.decodable ?? false)
        XCTAssertTrue(codes(report, "no_timing.dcm").isSuperset(of: ["frameIncrementPointerMissing", "frameTimingMissing"]))
        XCTAssertTrue(codes(report, "short_vector.dcm").contains("frameTimeVectorLength"))
        XCTAssertTrue(codes(report, "burned.dcm").contains("burnedInAnnotation"))
        XCTAssertTrue(codes(report, "bad_geometry.dcm").isSuperset(of: ["magnificationImplausible", "sourceDistancesInconsistent", "calibrationMissing"]))
        XCTAssertTrue(codes(report, "uncalibrated.dcm").contains("calibrationMissing"))
        XCTAssertTrue(codes(report, "dup_a.dcm").contains("duplicateSOPInstanceUID"))
        XCTAssertTrue(codes(report, "dup_b.dcm").contains("duplicateSOPInstanceUID"))
        XCTAssertTrue(codes(report, "series/one.dcm").contains("seriesMixedGeometry"))
        XCTAssertTrue(codes(report, "series/two.dcm").contains("seriesMixedGeometry"))
        XCTAssertTrue(codes(report, "lossy.dcm").contains("lossyCompression"))
        XCTAssertTrue(codes(report, "ct.dcm").contains("notAngiographySOPClass"))
        XCTAssertTrue(codes(report, "truncated.dcm").contains("truncated") || codes(report, "truncated.dcm").contains("pixelDataSizeInconsistent"),
                      "\(codes(report, "truncated.dcm"))")
        XCTAssertEqual(codes(report, "random.dcm"), ["notDICOM"])
        XCTAssertEqual(codes(report, "notes.txt"), ["nonDICOMFile"])
        XCTAssertTrue(codes(report, "oversized.dcm").contains("pixelDataSizeInconsistent") || codes(report, "oversized.dcm").contains("imageTooLarge"),
                      "\(codes(report, "oversized.dcm"))")
        for broken in ["truncated.dcm", "random.dcm", "oversized.dcm", "ct.dcm", "dup_a.dcm"] {
            XCTAssertEqual(report.files.first { $0.path == broken }?.worstSeverity, .error, broken)
        }
        XCTAssertFalse(report.files.first { $0.path == "oversized.dcm" }?.decodable ?? true)
        XCTAssertEqual(report.summary.files, 16)

        // Deterministic outputs whatever the job count.
        let json = try Data(contentsOf: out.appendingPathComponent("qa.json"))
        let csv = try Data(contentsOf: out.appendingPathComponent("qa.csv"))
        let out1 = root.appendingPathComponent("qa1")
        _ = try ArchiveQA.run(paths: [root.appendingPathComponent("archive").path], options: .init(outputDirectory: out1.path, decode: true, jobs: 1))
        XCTAssertEqual(try Data(contentsOf: out1.appendingPathComponent("qa.json")), json)
        XCTAssertEqual(try Data(contentsOf: out1.appendingPathComponent("qa.csv")), csv)
        XCTAssertTrue(ArchiveQA.humanSummary(report).contains("error"))
    }

    func testMetadataRulesOnHandBuiltMetadata() {
        var m = DICOMMetadata()
        m.sopClassUID = "1.2.840.10008.5.1.4.1.1.12.1"
        m.modality = "RF"
        m.numberOfFrames = 10
        m.numberOfFramesDeclared = 10
        m.frameIncrementPointer = ["(0018,1063)"]
        m.frameTime = -5
        let codes = Set(QAFileChecker.attributeFindings(m).map(\.code))
        XCTAssertTrue(codes.isSuperset(of: [.modalitySOPClassMismatch, .missingType1Attribute, .frameTimingInconsistent, .calibrationMissing]))
        m.numberOfFramesDeclared = 0
        XCTAssertTrue(QAFileChecker.attributeFindings(m).contains { $0.code == .frameCountInvalid && $0.severity == .error })
        var secondary = DICOMMetadata()
        secondary.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        secondary.modality = "XA"
        let findings = QAFileChecker.attributeFindings(secondary)
        XCTAssertTrue(findings.contains { $0.code == .notAngiographySOPClass && $0.severity == .warning },
                      "an angiogram stored as Secondary Capture is usable: warning, not error")
        XCTAssertFalse(findings.contains { $0.code == .missingType1Attribute && $0.tag == "(0028,1040)" },
                       "X-Ray Image module rules do not apply to Secondary Capture")
    }

    func testQAOnSharedCorpusReportsEveryMalformedFileAndJ2KDecodable() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/dicom")
        guard FileManager.default.fileExists(atPath: corpus.path) else { throw XCTSkip("shared corpus absent: \(corpus.path)") }
        let report = try ArchiveQA.run(paths: [corpus.path], options: .init(outputDirectory: root.appendingPathComponent("qa").path, decode: true, jobs: 2))
        let readability: Set<QACode> = [.unreadable, .notDICOM, .truncated, .malformed, .noPixelData, .unsupportedTransferSyntax,
                                        .pixelDataSizeInconsistent, .imageTooLarge, .decodeFailed]
        // Files both reference decoders fail on (README table) must carry a readability error.
        for file in report.files where file.path.hasPrefix("derived/") || file.path.hasPrefix("malformed/") {
            let decodableByReferences = ["orthanc_Issue140.dcm", "pydicom-data_bad_sequence.dcm", "pydicom_badVR.dcm"]
            if decodableByReferences.contains(where: file.path.hasSuffix) { continue }
            XCTAssertTrue(file.findings.contains { $0.severity == .error && readability.contains($0.code) },
                          "\(file.path): \(file.findings.map(\.code.rawValue))")
            XCTAssertFalse(file.decodable, file.path)
        }
        for name in ["xa/WG04_XA1_J2KR.dcm", "xa/WG04_XA1_J2KI.dcm", "other/orthanc_TS_1.2.840.10008.1.2.4.91_CT_J2K.dcm", "other/pydicom_JPEG2000.dcm"] {
            let file = try XCTUnwrap(report.files.first { $0.path == name }, name)
            XCTAssertTrue(file.decodable && file.decodeChecked, "\(name) decodes: \(file.findings.map(\.message))")
        }
        let cine = try XCTUnwrap(report.files.first { $0.path == "xa/rubo_0002_XA_cine96_JPEGBaseline.dcm" })
        XCTAssertEqual(cine.frames, 96)
        XCTAssertTrue(cine.findings.contains { $0.code == .lossyCompression })
        XCTAssertTrue(cine.findings.contains { $0.code == .calibrationMissing })
        XCTAssertFalse(cine.findings.contains { $0.severity == .error }, "a real XA run has no error-level finding")
        let oob = try XCTUnwrap(report.files.first { $0.path == "malformed/orthanc_2026-05-26-oob-monochrome-65535.dcm" })
        XCTAssertTrue(oob.findings.contains { $0.code == .pixelDataSizeInconsistent || $0.code == .imageTooLarge })
    }
}
