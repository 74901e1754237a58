import Foundation
import XCTest
@testable import AngioDICOM

/// Fixtures written through DICOMWriter in every transfer syntax it encodes, read back through
/// AngiogramFile: lossless syntaxes must return exactly the written values.
final class WriterRoundTripTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("roundtrip")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let width = 67, height = 45  // odd, non-square: catches row/column and padding mix-ups

    private func write(syntax: WritableTransferSyntax, bits: Int, photometric: String, frames: [[UInt16]],
                       attributes: [DICOMAttribute] = [], near: Int = 2, quality: Int = 90) throws -> String {
        let path = directory.appendingPathComponent("\(syntax.rawValue)-\(bits)-\(photometric).dcm").path
        let request = XAWriteRequest(rows: height, columns: width, bitsStored: bits, photometric: photometric,
                                     frames: frames, transferSyntax: syntax, attributes: attributes,
                                     jpegQuality: quality, jpegLSNear: near)
        try DICOMWriter.writeXA(request, to: path)
        return path
    }

    func testLosslessSyntaxesReturnExactValues() throws {
        let lossless = WritableTransferSyntax.allCases.filter(\.isLossless)
        XCTAssertEqual(Set(lossless), [.explicitVRLittleEndian, .implicitVRLittleEndian, .rleLossless,
                                       .jpegLosslessSV1, .jpegLSLossless])
        for syntax in lossless {
            for bits in [8, 10, 12, 16] {
                for photometric in ["MONOCHROME2", "MONOCHROME1"] {
                    let frames = [
                        Fixture.noise(count: width * height, bits: bits, seed: UInt64(bits)),
                        Fixture.smooth(width: width, height: height, bits: bits, phase: 0),
                        Fixture.smooth(width: width, height: height, bits: bits, phase: 1.3),
                    ]
                    let path = try write(syntax: syntax, bits: bits, photometric: photometric, frames: frames)
                    let file = try AngiogramFile(path: path)
                    let context = "\(syntax) \(bits)-bit \(photometric)"
                    XCTAssertEqual(file.frameCount, 3, context)
                    XCTAssertEqual(file.rows, height, context)
                    XCTAssertEqual(file.columns, width, context)
                    XCTAssertEqual(file.bitsStored, bits, context)
                    XCTAssertEqual(file.metadata.transferSyntaxUID, syntax.uid, context)
                    XCTAssertEqual(file.metadata.bitsAllocated, bits <= 8 ? 8 : 16, context)
                    XCTAssertEqual(file.metadata.photometricInterpretation, photometric, context)
                    // Decode in reverse order: frames must not depend on earlier decodes.
                    for index in (0..<3).reversed() {
                        let frame = try file.storedFrame(index)
                        XCTAssertEqual(frame.values, frames[index].map { Int32($0) }, "\(context) frame \(index)")
                    }
                }
            }
        }
    }

    func testMonochrome1IsInvertedForAnalysis() throws {
        let values = Fixture.smooth(width: width, height: height, bits: 12, phase: 0)
        let path = try write(syntax: .explicitVRLittleEndian, bits: 12, photometric: "MONOCHROME1", frames: [values])
        let file = try AngiogramFile(path: path)
        let analysis = try file.analysisFrame(0)
        XCTAssertEqual(analysis.pixels, values.map { Float(4095 - Int($0)) })

        let path2 = try write(syntax: .explicitVRLittleEndian, bits: 12, photometric: "MONOCHROME2", frames: [values])
        XCTAssertEqual(try AngiogramFile(path: path2).analysisFrame(0).pixels, values.map { Float($0) })
    }

    func testJPEGLSNearLosslessStaysWithinNEAR() throws {
        for bits in [8, 10, 16] {
            for near in [1, 3] {
                let frames = [Fixture.noise(count: width * height, bits: bits, seed: 7),
                              Fixture.smooth(width: width, height: height, bits: bits, phase: 0.4)]
                let path = try write(syntax: .jpegLSNearLossless, bits: bits, photometric: "MONOCHROME2",
                                     frames: frames, near: near)
                let file = try AngiogramFile(path: path)
                XCTAssertEqual(file.metadata.lossyImageCompression, "01")
                for index in frames.indices {
                    let decoded = try file.storedFrame(index).values
                    let worst = zip(decoded, frames[index]).map { abs(Int($0) - Int($1)) }.max() ?? -1
                    XCTAssertLessThanOrEqual(worst, near, "\(bits)-bit NEAR=\(near) frame \(index)")
                }
            }
        }
    }

    func testLossyJPEGIsClose() throws {
        for (syntax, bits) in [(WritableTransferSyntax.jpegBaseline, 8), (.jpegExtended, 12)] {
            let frames = [Fixture.smooth(width: width, height: height, bits: bits, phase: 0),
                          Fixture.smooth(width: width, height: height, bits: bits, phase: 2)]
            let path = try write(syntax: syntax, bits: bits, photometric: "MONOCHROME2", frames: frames, quality: 95)
            let file = try AngiogramFile(path: path)
            XCTAssertEqual(file.metadata.lossyImageCompression, "01")
            let top = Double((1 << bits) - 1)
            for index in frames.indices {
                let decoded = try file.storedFrame(index).values
                let errors = zip(decoded, frames[index]).map { abs(Double($0) - Double($1)) / top }
                let mean = errors.reduce(0, +) / Double(errors.count)
                XCTAssertLessThan(mean, 0.01, "\(syntax) \(bits)-bit mean error")
                XCTAssertLessThan(errors.max() ?? 1, 0.12, "\(syntax) \(bits)-bit max error")
            }
        }
    }

    func testAttributesAndMetadataRoundTrip() throws {
        let sop = DICOMWriter.deterministicUID(seed: "phantom-1/sop")
        let attributes = [
            DICOMAttribute(group: 0x0008, element: 0x0018, vr: "UI", value: sop),
            DICOMAttribute(group: 0x0028, element: 0x0030, vr: "DS", value: "0.2\\0.25"),
            DICOMAttribute(group: 0x0028, element: 0x0A02, vr: "CS", value: "GEOMETRY"),
            DICOMAttribute(group: 0x0018, element: 0x1164, vr: "DS", value: "0.3\\0.3"),
            DICOMAttribute(group: 0x0018, element: 0x1114, vr: "DS", value: "1.5"),
            DICOMAttribute(group: 0x0018, element: 0x1110, vr: "DS", value: "1000"),
            DICOMAttribute(group: 0x0018, element: 0x1111, vr: "DS", value: "750"),
            DICOMAttribute(group: 0x0018, element: 0x1063, vr: "DS", value: "66.7"),
            DICOMAttribute(group: 0x0018, element: 0x1510, vr: "DS", value: "-30"),
            DICOMAttribute(group: 0x0018, element: 0x1511, vr: "DS", value: "20.5"),
            DICOMAttribute(group: 0x0010, element: 0x0010, vr: "PN", value: "Doe^Jane"),
            DICOMAttribute(group: 0x0010, element: 0x0020, vr: "LO", value: "ID-42"),
            DICOMAttribute(group: 0x0028, element: 0x1050, vr: "DS", value: "2048"),
            DICOMAttribute(group: 0x0028, element: 0x1051, vr: "DS", value: "4096"),
        ]
        let frames = [Fixture.smooth(width: width, height: height, bits: 12, phase: 0),
                      Fixture.smooth(width: width, height: height, bits: 12, phase: 1)]
        let path = try write(syntax: .rleLossless, bits: 12, photometric: "MONOCHROME2", frames: frames,
                             attributes: attributes)
        let m = try AngiogramFile(path: path).metadata
        XCTAssertEqual(m.sopClassUID, "1.2.840.10008.5.1.4.1.1.12.1")
        XCTAssertEqual(m.sopInstanceUID, sop)
        XCTAssertEqual(m.modality, "XA")
        XCTAssertNotNil(m.studyInstanceUID)
        XCTAssertNotNil(m.seriesInstanceUID)
        XCTAssertEqual(m.pixelSpacing, [0.2, 0.25])
        XCTAssertEqual(m.pixelSpacingCalibrationType, "GEOMETRY")
        XCTAssertEqual(m.imagerPixelSpacing, [0.3, 0.3])
        XCTAssertEqual(m.estimatedRadiographicMagnificationFactor, 1.5)
        XCTAssertEqual(m.distanceSourceToDetector, 1000)
        XCTAssertEqual(m.distanceSourceToPatient, 750)
        XCTAssertEqual(m.frameTime, 66.7)
        XCTAssertEqual(m.frameIncrementPointer, ["(0018,1063)"])
        XCTAssertEqual(m.positionerPrimaryAngle, -30)
        XCTAssertEqual(m.positionerSecondaryAngle, 20.5)
        XCTAssertEqual(m.numberOfFrames, 2)
        XCTAssertEqual(m.numberOfFramesDeclared, 2)
        XCTAssertEqual(m.pixelIntensityRelationship, "LIN")
        XCTAssertEqual(m.windowCenter, [2048])
        XCTAssertEqual(m.patient, PatientIdentity(name: "Doe^Jane", id: "ID-42", birthDate: nil))
        XCTAssertNil(m.withoutPHI.patient)
        XCTAssertNil(m.cineRate)
        XCTAssertNil(m.maskSubtraction)
        // Deterministic UIDs: same seed, same UID; valid 2.25 form within 64 characters.
        XCTAssertEqual(sop, DICOMWriter.deterministicUID(seed: "phantom-1/sop"))
        XCTAssertNotEqual(sop, DICOMWriter.deterministicUID(seed: "phantom-2/sop"))
        XCTAssertTrue(sop.hasPrefix("2.25."))
        XCTAssertLessThanOrEqual(sop.count, 64)
        XCTAssertFalse(sop.dropFirst(5).hasPrefix("0"))
    }

    func testWriterRejectsBadRequests() throws {
        let path = directory.appendingPathComponent("bad.dcm").path
        let good = [UInt16](repeating: 1, count: width * height)
        let cases: [XAWriteRequest] = [
            XAWriteRequest(rows: height, columns: width, bitsStored: 8, frames: [good, [1, 2]]),
            XAWriteRequest(rows: height, columns: width, bitsStored: 8, frames: [[UInt16](repeating: 300, count: width * height)]),
            XAWriteRequest(rows: height, columns: width, bitsStored: 12, frames: [good], transferSyntax: .jpegBaseline),
            XAWriteRequest(rows: height, columns: width, bitsStored: 10, frames: [good], transferSyntax: .jpegExtended),
            XAWriteRequest(rows: height, columns: width, bitsStored: 8, photometric: "RGB", frames: [good]),
            XAWriteRequest(rows: height, columns: width, bitsStored: 17, frames: [good]),
            XAWriteRequest(rows: height, columns: width, bitsStored: 8, frames: []),
            XAWriteRequest(rows: height, columns: width, bitsStored: 8, frames: [good],
                           attributes: [DICOMAttribute(group: 0x0028, element: 0x0010, vr: "US", value: "3")]),
        ]
        for request in cases {
            XCTAssertThrowsError(try DICOMWriter.writeXA(request, to: path)) { error in
                guard let error = error as? DICOMError else { return XCTFail("wrong error type \(error)") }
                XCTAssertEqual(error.code, .writeFailed)
                XCTAssertTrue(error.message.hasPrefix("bad.dcm: "), error.message)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing written on failure")
    }
}
