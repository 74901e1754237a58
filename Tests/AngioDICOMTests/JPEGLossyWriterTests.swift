import Foundation
import XCTest
@testable import AngioDICOM

/// Lossy JPEG (process 1 baseline 8-bit, process 2/4 extended 12-bit) written by DICOMWriter must
/// keep the stored-value scale: decoded values differ from the written ones only by the JPEG
/// quantisation error (no window/offset rendering), and Pixel Intensity Relationship (0028,1040)
/// stays what the caller set (LIN by default), never DCMTK's "DISP".
final class JPEGLossyWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("jpeg-lossy")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let size = 64

    /// Smooth pattern confined to low...high (a narrow range offset from 0, like 172...222).
    private func narrow(low: Int, high: Int, phase: Double) -> [UInt16] {
        (0..<(size * size)).map { i in
            let x = Double(i % size), y = Double(i / size)
            let t = 0.5 + 0.25 * sin(x / 7 + phase) + 0.25 * cos(y / 11 - phase)
            return UInt16(Double(low) + (Double(high - low) * t).rounded())
        }
    }

    /// Full-range horizontal/vertical gradient 0...max.
    private func gradient(bits: Int) -> [UInt16] {
        let top = Double((1 << bits) - 1)
        return (0..<(size * size)).map { i in
            let x = Double(i % size), y = Double(i / size)
            return UInt16((top * (0.8 * x + 0.2 * y) / Double(size - 1)).rounded())
        }
    }

    private struct Errors { var maxAbs: Int32; var mean: Double }

    private func errors(_ decoded: [Int32], _ written: [UInt16]) -> Errors {
        let differences = zip(decoded, written).map { $0 - Int32($1) }
        return Errors(maxAbs: differences.map { abs($0) }.max() ?? 0,
                      mean: Double(differences.reduce(0, +)) / Double(differences.count))
    }

    private func write(_ syntax: WritableTransferSyntax, bits: Int, photometric: String, frames: [[UInt16]],
                       attributes: [DICOMAttribute] = [], name: String) throws -> String {
        let path = directory.appendingPathComponent("\(name).dcm").path
        let request = XAWriteRequest(rows: size, columns: size, bitsStored: bits, photometric: photometric,
                                     frames: frames, transferSyntax: syntax, attributes: attributes,
                                     jpegQuality: 90)
        try DICOMWriter.writeXA(request, to: path)
        return path
    }

    /// (syntax, bits, frame sets, max abs error bound, mean error bound). Each frame set is
    /// written as its own file: DCMTK's min-max rendering was computed over all frames of a file,
    /// so narrow-range files (single and multi-frame) and a full-range file are separate cases.
    /// Measured at quality 90 (DCMTK 3.6.7): 8-bit max abs error 1-2, |mean| < 0.05; 12-bit max abs
    /// error 2-3, |mean| < 0.04. The bounds leave room for other libjpeg builds.
    private func cases() -> [(WritableTransferSyntax, Int, [[[UInt16]]], Int32, Double)] {
        [
            // 8-bit baseline: narrow 172...222 (the reported case), 3 narrow frames, full-range gradient.
            (.jpegBaseline, 8, [[narrow(low: 172, high: 222, phase: 0)],
                                [narrow(low: 172, high: 222, phase: 0), narrow(low: 180, high: 215, phase: 1.1),
                                 narrow(low: 20, high: 90, phase: 2.3)],
                                [gradient(bits: 8)]], 6, 0.5),
            // 12-bit extended: narrow 2750...3550, 3 narrow frames, full-range gradient.
            (.jpegExtended, 12, [[narrow(low: 2750, high: 3550, phase: 0)],
                                 [narrow(low: 2750, high: 3550, phase: 0), narrow(low: 3000, high: 3300, phase: 1.1),
                                  narrow(low: 100, high: 900, phase: 2.3)],
                                 [gradient(bits: 12)]], 24, 2.0),
        ]
    }

    func testLossyJPEGKeepsStoredValueScale() throws {
        for (syntax, bits, frameSets, maxBound, meanBound) in cases() {
            for (set, frames) in frameSets.enumerated() {
                for photometric in ["MONOCHROME2", "MONOCHROME1"] {
                    let context = "\(syntax) \(bits)-bit \(photometric) set \(set)"
                    let path = try write(syntax, bits: bits, photometric: photometric, frames: frames,
                                         name: "\(syntax.rawValue)-\(photometric)-\(set)")
                    let file = try AngiogramFile(path: path)
                    XCTAssertEqual(file.metadata.transferSyntaxUID, syntax.uid, context)
                    XCTAssertEqual(file.frameCount, frames.count, context)
                    XCTAssertEqual(file.bitsStored, bits, context)
                    XCTAssertEqual(file.metadata.photometricInterpretation, photometric, context)
                    XCTAssertEqual(file.metadata.lossyImageCompression, "01", context)
                    XCTAssertEqual(file.metadata.pixelIntensityRelationship, "LIN", context)
                    XCTAssertNil(file.metadata.rescaleSlope, context)
                    for index in frames.indices {
                        let e = errors(try file.storedFrame(index).values, frames[index])
                        XCTAssertLessThanOrEqual(e.maxAbs, maxBound, "\(context) frame \(index) max abs error")
                        XCTAssertLessThanOrEqual(abs(e.mean), meanBound, "\(context) frame \(index) mean error \(e.mean)")
                    }
                }
            }
        }
    }

    /// The caller's X-Ray/Modality LUT/VOI attributes are kept as written, and a (negative)
    /// rescale does not make the encoder invert or rescale the stored values.
    func testCallerPixelIntensityRelationshipAndWindowSurvive() throws {
        let frames = [narrow(low: 172, high: 222, phase: 0)]
        let attributes = [DICOMAttribute(group: 0x0028, element: 0x1040, vr: "CS", value: "LOG"),
                          DICOMAttribute(group: 0x0028, element: 0x1050, vr: "DS", value: "197"),
                          DICOMAttribute(group: 0x0028, element: 0x1051, vr: "DS", value: "60"),
                          DICOMAttribute(group: 0x0028, element: 0x1052, vr: "DS", value: "-100"),
                          DICOMAttribute(group: 0x0028, element: 0x1053, vr: "DS", value: "-2")]
        let path = try write(.jpegBaseline, bits: 8, photometric: "MONOCHROME2", frames: frames,
                             attributes: attributes, name: "caller-log")
        let file = try AngiogramFile(path: path)
        XCTAssertEqual(file.metadata.pixelIntensityRelationship, "LOG")
        XCTAssertEqual(file.metadata.windowCenter, [197])
        XCTAssertEqual(file.metadata.windowWidth, [60])
        XCTAssertEqual(file.metadata.rescaleSlope, -2)
        XCTAssertEqual(file.metadata.rescaleIntercept, -100)
        let e = errors(try file.storedFrame(0).values, frames[0])
        XCTAssertLessThanOrEqual(e.maxAbs, 6)
        XCTAssertLessThanOrEqual(abs(e.mean), 0.5)
    }

    /// DCMTK's own decompression (dcmdjpeg) of our lossy files gives the same stored values.
    func testDCMTKDecodesTheSameValues() throws {
        guard let dcmdjpeg = CorpusTests.tool("dcmdjpeg") else { throw XCTSkip("dcmdjpeg not installed") }
        for (syntax, bits, frameSets, maxBound, _) in cases() {
            for (set, frames) in frameSets.enumerated() {
                let path = try write(syntax, bits: bits, photometric: "MONOCHROME2", frames: frames,
                                     name: "dcmtk-\(syntax.rawValue)-\(set)")
                let decompressed = directory.appendingPathComponent("dcmtk-\(syntax.rawValue)-\(set)-plain.dcm").path
                try CorpusTests.run(dcmdjpeg, [path, decompressed])
                let ours = try AngiogramFile(path: path)
                let theirs = try AngiogramFile(path: decompressed)
                XCTAssertNotEqual(theirs.metadata.pixelIntensityRelationship, "DISP", "\(syntax)")
                for index in frames.indices {
                    let reference = try theirs.storedFrame(index).values
                    XCTAssertEqual(try ours.storedFrame(index).values, reference, "\(syntax) frame \(index)")
                    XCTAssertLessThanOrEqual(errors(reference, frames[index]).maxAbs, maxBound, "\(syntax) frame \(index)")
                }
            }
        }
    }
}
