import Foundation
import XCTest
@testable import AngioDICOM

/// The shared real corpus (../shared/data/dicom, described in its README): every file either
/// reference decoder (DCMTK 3.6.7 tools, pydicom 3 + GDCM) decodes must decode with the right
/// geometry; every other file must fail with its specific error code. Skips when absent.
final class CorpusTests: XCTestCase {
    enum Outcome {
        /// Opens and decodes every frame: columns x rows x frames.
        case decodes(Int, Int, Int)
        /// Opening fails with this code.
        case fails(DICOMError.Code)
        /// Opens (metadata readable) but decoding a frame fails with this code.
        case frameFails(DICOMError.Code)
    }

    /// Every file in the corpus with its expected outcome (the test also fails on unlisted files).
    static let expectations: [String: Outcome] = [
        "derived/DERIVED_WG04_XA1_UNC_truncated_at_1200000B.dcm": .fails(.truncated),
        "derived/DERIVED_rubo_0002_XA_header_only_2000B.dcm": .fails(.truncated),
        "derived/DERIVED_rubo_0002_XA_truncated_at_900000B.dcm": .fails(.truncated),
        "malformed/orthanc_2026-05-26-oob-monochrome-46341.dcm": .fails(.sizeInconsistent),
        "malformed/orthanc_2026-05-26-oob-monochrome-65535.dcm": .fails(.sizeInconsistent),
        "malformed/orthanc_DummyCTInvalidRows.dcm": .fails(.noPixelData),
        "malformed/orthanc_Issue111.dcm": .fails(.noPixelData),
        "malformed/orthanc_Issue140.dcm": .decodes(3, 3, 1),
        "malformed/orthanc_Issue196.dcm": .fails(.noPixelData),
        "malformed/orthanc_Issue22-NoPixelData.dcm": .fails(.noPixelData),
        "malformed/pydicom-data_bad_sequence.dcm": .decodes(512, 512, 1),
        "malformed/pydicom-data_emri_small_jpeg_2k_lossless_too_short.dcm": .fails(.truncated),
        "malformed/pydicom_ExplVR_BigEndNoMeta.dcm": .fails(.noPixelData),
        "malformed/pydicom_ExplVR_LitEndNoMeta.dcm": .fails(.noPixelData),
        "malformed/pydicom_JPEG2000-embedded-sequence-delimiter.dcm": .frameFails(.decodeFailed),
        "malformed/pydicom_MR_truncated.dcm": .fails(.truncated),
        "malformed/pydicom_badVR.dcm": .decodes(10, 10, 1),
        "malformed/pydicom_meta_missing_tsyntax.dcm": .fails(.malformed),
        "malformed/pydicom_no_meta.dcm": .fails(.notDICOM),
        "malformed/pydicom_no_meta_group_length.dcm": .fails(.noPixelData),
        "malformed/pydicom_rtplan_truncated.dcm": .fails(.truncated),
        "other/dicomParser_CT0012.fragmented_no_bot_jpeg_baseline.51.dcm": .decodes(512, 512, 2),
        "other/dicomParser_CT0012.fragmented_no_bot_jpeg_lossless.70.dcm": .decodes(512, 512, 2),
        "other/dicomParser_CT0012.not_fragmented_bot_rle.dcm": .decodes(512, 512, 2),
        "other/dicomParser_CT1_UNC.explicit_big_endian.dcm": .decodes(512, 512, 1),
        "other/dicomParser_IM00001.fragmented_no_bot_jpeg_baseline.50.dcm": .decodes(320, 240, 8),
        "other/orthanc_ColorTestImageJ_cardio_RGB.dcm": .decodes(1000, 1000, 1),
        "other/orthanc_Issue44_CR_Monochrome1_Jpeg.dcm": .decodes(2010, 2446, 1),
        "other/orthanc_LenaTwiceWithFragments_2frameJPEG.dcm": .decodes(512, 512, 2),
        "other/orthanc_TS_1.2.840.10008.1.2.1.99_CT_Deflated.dcm": .decodes(512, 358, 1),
        "other/orthanc_TS_1.2.840.10008.1.2.2_US_RGB_BigEndian.dcm": .decodes(640, 480, 1),
        "other/orthanc_TS_1.2.840.10008.1.2.4.50_US_YBR.dcm": .decodes(640, 480, 1),
        "other/orthanc_TS_1.2.840.10008.1.2.4.70_CT.dcm": .decodes(512, 400, 1),
        "other/orthanc_TS_1.2.840.10008.1.2.4.91_CT_J2K.dcm": .decodes(512, 512, 1),
        "other/orthanc_TS_1.2.840.10008.1.2_MR_ImplicitNoMeta.dcm": .decodes(256, 256, 1),
        "other/pydicom-data_US1_J2KR.dcm": .decodes(640, 480, 1),
        "other/pydicom-data_emri_small_big_endian.dcm": .decodes(64, 64, 10),
        "other/pydicom_CT_small.dcm": .decodes(128, 128, 1),
        "other/pydicom_ExplVR_BigEnd.dcm": .decodes(80, 60, 1),
        "other/pydicom_JPEG-lossy.dcm": .decodes(256, 1024, 1),
        "other/pydicom_JPEG2000.dcm": .decodes(256, 1024, 1),
        "other/pydicom_MR_small.dcm": .decodes(64, 64, 1),
        "other/pydicom_MR_small_RLE.dcm": .decodes(64, 64, 1),
        "other/pydicom_MR_small_bigendian.dcm": .decodes(64, 64, 1),
        "other/pydicom_MR_small_jp2klossless.dcm": .decodes(64, 64, 1),
        "other/pydicom_MR_small_jpeg_ls_lossless.dcm": .decodes(64, 64, 1),
        "other/pydicom_SC_rgb_jpeg_dcmtk.dcm": .decodes(100, 100, 1),
        "other/pydicom_SC_rgb_rle.dcm": .decodes(100, 100, 1),
        "other/pydicom_examples_overlay.dcm": .decodes(484, 300, 1),
        "other/pydicom_examples_palette.dcm": .decodes(800, 350, 1),
        "other/pydicom_examples_ybr_color.dcm": .decodes(320, 240, 30),
        "other/pydicom_image_dfl.dcm": .decodes(512, 512, 1),
        "other/pydicom_rtdose.dcm": .decodes(10, 10, 15),
        "other/pydicom_test-SR.dcm": .fails(.noPixelData),
        "other/pydicom_waveform_ecg.dcm": .fails(.noPixelData),
        "other/rubo_0020_US_PaletteColor_RLE_multiframe.dcm": .decodes(600, 430, 11),
        "rf/orthanc_KarstenHilbertRF.dcm": .decodes(512, 464, 1),
        "rf/rubo_0015_RF_ExplicitLE.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_J2KI.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_J2KR.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_JLSL.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_JLSN.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_JPLL.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_JPLY.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_RLE.dcm": .decodes(1024, 1024, 1),
        "xa/WG04_XA1_UNC.dcm": .decodes(1024, 1024, 1),
        "xa/rubo_0002_XA_cine96_JPEGBaseline.dcm": .decodes(512, 512, 96),
    ]

    func testEveryCorpusFileHasItsExpectedOutcome() throws {
        guard let corpus = Fixture.corpus else { throw XCTSkip("shared DICOM corpus not present") }
        var seen: Set<String> = []
        for folder in ["derived", "malformed", "other", "rf", "xa"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path)
            for name in names where name.hasSuffix(".dcm") { seen.insert("\(folder)/\(name)") }
        }
        XCTAssertEqual(seen, Set(Self.expectations.keys), "corpus and expectation table differ")

        for (relative, outcome) in Self.expectations.sorted(by: { $0.key < $1.key }) {
            let path = corpus.appendingPathComponent(relative).path
            let name = (relative as NSString).lastPathComponent
            switch outcome {
            case let .decodes(columns, rows, frames):
                do {
                    let file = try AngiogramFile(path: path)
                    XCTAssertEqual(file.columns, columns, relative)
                    XCTAssertEqual(file.rows, rows, relative)
                    XCTAssertEqual(file.frameCount, frames, relative)
                    XCTAssertEqual(file.metadata.rows, rows, relative)
                    XCTAssertEqual(file.metadata.columns, columns, relative)
                    for index in 0..<frames {
                        let frame = try file.storedFrame(index)
                        XCTAssertEqual(frame.values.count, columns * rows * file.samplesPerPixel, relative)
                        let analysis = try file.analysisFrame(index)
                        XCTAssertEqual(analysis.pixels.count, columns * rows, relative)
                        XCTAssertTrue(analysis.pixels.allSatisfy(\.isFinite), relative)
                        // A decoded image is not blank.
                        let range = frame.valueRange
                        XCTAssertLessThan(range.min, range.max, "\(relative) frame \(index) is constant")
                    }
                    if file.samplesPerPixel == 3 || file.photometricInterpretation == "PALETTE COLOR" {
                        XCTAssertTrue(file.warnings.contains { $0.contains("luminance") }, "\(relative): colour warning")
                    }
                } catch {
                    XCTFail("\(relative) should decode: \(error)")
                }
            case let .fails(code):
                XCTAssertThrowsError(try AngiogramFile(path: path), relative) { error in
                    guard let error = error as? DICOMError else { return XCTFail("\(relative): \(error)") }
                    XCTAssertEqual(error.code, code, "\(relative): \(error.message)")
                    XCTAssertTrue(error.message.hasPrefix("\(name): "), error.message)
                    XCTAssertGreaterThan(error.message.count, name.count + 10, "message states a cause")
                    XCTAssertEqual(error.path, path)
                }
            case let .frameFails(code):
                do {
                    let file = try AngiogramFile(path: path)
                    XCTAssertThrowsError(try file.storedFrame(0), relative) { error in
                        XCTAssertEqual((error as? DICOMError)?.code, code, "\(relative): \(error)")
                    }
                } catch {
                    XCTFail("\(relative) should open: \(error)")
                }
            }
        }
    }

    private func wg04(_ variant: String) throws -> [Int32] {
        let file = try AngiogramFile(path: try Fixture.corpusFile("xa/WG04_XA1_\(variant).dcm"))
        XCTAssertEqual(file.bitsStored, 10)
        return try file.storedFrame(0).values
    }

    func testLosslessWG04VariantsArePixelIdenticalToUncompressed() throws {
        let reference = try wg04("UNC")
        XCTAssertEqual(reference.count, 1024 * 1024)
        XCTAssertEqual(reference.max(), 504)
        for variant in ["RLE", "JPLL", "JLSL", "J2KR"] {
            XCTAssertEqual(try wg04(variant), reference, "\(variant) differs from UNC")
        }
    }

    func testNearLosslessAndLossyWG04VariantsAreClose() throws {
        let reference = try wg04("UNC")
        // JPEG-LS near-lossless: |error| <= NEAR, read from the scan header (ITU T.87 C.2.3).
        let jlsn = try Data(contentsOf: URL(fileURLWithPath: try Fixture.corpusFile("xa/WG04_XA1_JLSN.dcm")))
        let bytes = [UInt8](jlsn)
        guard let sos = (0..<(bytes.count - 8)).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA }) else {
            return XCTFail("no JPEG-LS scan header")
        }
        let components = Int(bytes[sos + 4])
        let near = Int(bytes[sos + 5 + 2 * components])
        XCTAssertGreaterThan(near, 0)
        let nearDecoded = try wg04("JLSN")
        let worst = zip(nearDecoded, reference).map { abs(Int($0) - Int($1)) }.max() ?? -1
        XCTAssertLessThanOrEqual(worst, near)
        XCTAssertGreaterThan(worst, 0, "near-lossless should differ somewhere")

        for variant in ["J2KI", "JPLY"] {
            let decoded = try wg04(variant)
            let errors = zip(decoded, reference).map { Double(abs(Int($0) - Int($1))) }
            let rms = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
            XCTAssertLessThan(rms, 4.0, "\(variant) RMS error vs UNC (10-bit data)")
            XCTAssertGreaterThan(rms, 0, "\(variant) is lossy")
        }
    }

    /// Our per-frame JPEG decode equals DCMTK's whole-file decompression (dcmdjpeg) for the
    /// 96-frame cine run, and colour JPEG equals dcmj2pnm's RGB output.
    func testJPEGFramesMatchDCMTKTools() throws {
        let cine = try Fixture.corpusFile("xa/rubo_0002_XA_cine96_JPEGBaseline.dcm")
        guard let dcmdjpeg = Self.tool("dcmdjpeg"), let dcmj2pnm = Self.tool("dcmj2pnm") else {
            throw XCTSkip("DCMTK command line tools not installed")
        }
        let directory = try Fixture.temporaryDirectory("dcmtk")
        defer { try? FileManager.default.removeItem(at: directory) }
        let decompressed = directory.appendingPathComponent("cine.dcm").path
        try Self.run(dcmdjpeg, [cine, decompressed])
        let ours = try AngiogramFile(path: cine)
        let theirs = try AngiogramFile(path: decompressed)
        XCTAssertEqual(theirs.frameCount, 96)
        for index in [0, 1, 47, 95] {
            XCTAssertEqual(try ours.storedFrame(index).values, try theirs.storedFrame(index).values, "frame \(index)")
        }

        let colour = try Fixture.corpusFile("other/orthanc_TS_1.2.840.10008.1.2.4.50_US_YBR.dcm")
        let ppm = directory.appendingPathComponent("us.ppm").path
        try Self.run(dcmj2pnm, [colour, ppm])
        let reference = try Self.readPNM(ppm)
        let frame = try AngiogramFile(path: colour).storedFrame(0)
        XCTAssertEqual(frame.colorModel, "RGB")
        XCTAssertEqual(reference.width, frame.width)
        XCTAssertEqual(reference.samples, frame.values.map { Int($0) })
    }

    /// Rewrites the meta header's Transfer Syntax UID (0002,0010) of a corpus file, fixing the
    /// group length (0002,0000).
    private func relabel(_ relative: String, as uid: String, in directory: URL) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Fixture.corpusFile(relative))))
        func find(_ pattern: [UInt8]) -> Int? {
            (0..<(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
        }
        guard let syntax = find([0x02, 0x00, 0x10, 0x00, 0x55, 0x49]),
              let group = find([0x02, 0x00, 0x00, 0x00, 0x55, 0x4C]) else { throw XCTSkip("no meta header") }
        let oldLength = Int(bytes[syntax + 6]) | Int(bytes[syntax + 7]) << 8
        var value = Array(uid.utf8)
        if value.count % 2 == 1 { value.append(0) }
        bytes.replaceSubrange((syntax + 6)..<(syntax + 8 + oldLength), with: [UInt8(value.count), 0] + value)
        let groupLength = Int(bytes[group + 8]) | Int(bytes[group + 9]) << 8 + value.count - oldLength
        bytes[group + 8] = UInt8(groupLength & 0xFF)
        bytes[group + 9] = UInt8(groupLength >> 8)
        let path = directory.appendingPathComponent("relabelled-\(uid).dcm").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Transfer syntaxes DCMTK 3.6.7 does not know: HTJ2K goes to OpenJPEG, others are refused by name.
    func testTransferSyntaxesUnknownToDCMTK() throws {
        let directory = try Fixture.temporaryDirectory("relabel")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = try wg04("UNC")
        let htj2k = try relabel("xa/WG04_XA1_J2KR.dcm", as: "1.2.840.10008.1.2.4.201", in: directory)
        let file = try AngiogramFile(path: htj2k)
        XCTAssertEqual(file.metadata.transferSyntaxUID, "1.2.840.10008.1.2.4.201")
        XCTAssertEqual(file.metadata.transferSyntaxName?.hasPrefix("High-Throughput JPEG 2000"), true)
        XCTAssertEqual(try file.storedFrame(0).values, reference)

        let mpeg = try relabel("xa/WG04_XA1_J2KR.dcm", as: "1.2.840.10008.1.2.4.102", in: directory)
        XCTAssertThrowsError(try AngiogramFile(path: mpeg)) { error in
            let error = error as? DICOMError
            XCTAssertEqual(error?.code, .unsupportedTransferSyntax)
            XCTAssertTrue(error?.message.contains("1.2.840.10008.1.2.4.102") ?? false, error?.message ?? "")
            XCTAssertTrue(error?.message.contains("MPEG-4") ?? false, error?.message ?? "")
        }
    }

    func testMetadataOfTheCineRun() throws {
        let file = try AngiogramFile(path: try Fixture.corpusFile("xa/rubo_0002_XA_cine96_JPEGBaseline.dcm"))
        let m = file.metadata
        XCTAssertEqual(m.modality, "XA")
        XCTAssertEqual(m.sopClassUID, "1.2.840.10008.5.1.4.1.1.12.1")
        XCTAssertEqual(m.transferSyntaxUID, "1.2.840.10008.1.2.4.50")
        XCTAssertEqual(m.transferSyntaxName, "JPEG Baseline")
        XCTAssertEqual(m.numberOfFrames, 96)
        XCTAssertEqual(m.frameTime, 33)
        XCTAssertEqual(m.positionerPrimaryAngle, -32)
        XCTAssertEqual(m.positionerSecondaryAngle, 2)
        XCTAssertEqual(m.frameIncrementPointer, ["(0018,1063)"])
        XCTAssertNotNil(m.maskSubtraction)
        XCTAssertEqual(m.maskSubtraction?.first?.operation, "NONE")
        XCTAssertNil(m.imagerPixelSpacing, "uncalibrated run")
        XCTAssertNil(m.estimatedRadiographicMagnificationFactor)
        XCTAssertEqual(file.warnings, [])
        // Metadata-only reading agrees and works on files without pixel data.
        XCTAssertEqual(try AngiogramFile.readMetadata(path: file.path), m)
        let sr = try AngiogramFile.readMetadata(path: try Fixture.corpusFile("other/pydicom_test-SR.dcm"))
        XCTAssertEqual(sr.modality, "SR")
        XCTAssertNil(sr.rows)
    }

    func testOversizedDeclarationsFailBeforeAllocating() throws {
        for name in ["orthanc_2026-05-26-oob-monochrome-46341.dcm", "orthanc_2026-05-26-oob-monochrome-65535.dcm"] {
            let path = try Fixture.corpusFile("malformed/\(name)")
            let before = Self.residentBytes()
            XCTAssertThrowsError(try AngiogramFile(path: path)) { error in
                XCTAssertEqual((error as? DICOMError)?.code, .sizeInconsistent)
                XCTAssertTrue((error as? DICOMError)?.message.contains("larger than the Pixel Data present") ?? false)
            }
            // Metadata stays readable (QA tools list such files).
            let metadata = try AngiogramFile.readMetadata(path: path)
            XCTAssertGreaterThan(metadata.rows ?? 0, 46000)
            XCTAssertLessThan(Self.residentBytes() - before, 64 << 20, "no large allocation while refusing \(name)")
        }
    }

    func testSizeCapRefusesLargeButConsistentImages() throws {
        let path = try Fixture.corpusFile("xa/WG04_XA1_UNC.dcm")
        XCTAssertThrowsError(try AngiogramFile(path: path, options: DecodeOptions(maxPixelBytes: 1 << 20))) { error in
            XCTAssertEqual((error as? DICOMError)?.code, .imageTooLarge)
        }
        let j2k = try Fixture.corpusFile("xa/WG04_XA1_J2KR.dcm")
        XCTAssertThrowsError(try AngiogramFile(path: j2k, options: DecodeOptions(maxPixelBytes: 1 << 20))) { error in
            XCTAssertEqual((error as? DICOMError)?.code, .imageTooLarge)
        }
        XCTAssertNoThrow(try AngiogramFile(path: path, options: DecodeOptions(maxPixelBytes: 2 << 20)))
    }

    func testParallelFrameDecodingMatchesSerial() throws {
        let file = try AngiogramFile(path: try Fixture.corpusFile("xa/rubo_0002_XA_cine96_JPEGBaseline.dcm"))
        let indices = Array(0..<24)
        let serial = try indices.map { try file.storedFrame($0).values }
        nonisolated(unsafe) var parallel = [[Int32]](repeating: [], count: indices.count)
        nonisolated(unsafe) var failures = 0
        let lock = NSLock()
        parallel.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            DispatchQueue.concurrentPerform(iterations: indices.count) { index in
                do {
                    output[index] = try file.storedFrame(indices[index]).values
                } catch {
                    lock.lock(); failures += 1; lock.unlock()
                }
            }
        }
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(parallel, serial)
    }

    // MARK: helpers

    static func tool(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments)")
    }

    /// Minimal binary PNM (P5/P6, maxval < 256) reader.
    static func readPNM(_ path: String) throws -> (width: Int, height: Int, samples: [Int]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var position = 0
        func token() -> String {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D { position += 1 }
            var text = ""
            while position < bytes.count, !(bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D) {
                text.append(Character(UnicodeScalar(bytes[position])))
                position += 1
            }
            return text
        }
        _ = token()
        let width = Int(token()) ?? 0, height = Int(token()) ?? 0
        _ = token()
        position += 1
        return (width, height, bytes[position...].map { Int($0) })
    }

    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = status.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
