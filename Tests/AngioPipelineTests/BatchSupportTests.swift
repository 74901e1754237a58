import Foundation
import QCA
import VesselCore
@testable import AngioPipeline

/// Fake inputs and a stub analyzer for driver tests that do not need real image analysis:
/// files are "DICOM" by their PS3.10 preamble; a payload containing "BAD" fails analysis.
enum BatchTestSupport {
    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("angio-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a file with a 128-byte preamble, "DICM" and `payload`.
    static func writeFakeDICOM(_ url: URL, payload: String) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var data = Data(count: 128)
        data.append(contentsOf: Array("DICM".utf8))
        data.append(contentsOf: Array(payload.utf8))
        try data.write(to: url)
    }

    static func write(_ url: URL, text: String) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Counts analyzer calls across threads.
    final class CallCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var paths: [String] = []
        func record(_ path: String) { lock.lock(); paths.append(path); lock.unlock() }
        var calls: [String] { lock.lock(); defer { lock.unlock() }; return paths.sorted() }
    }

    /// A deterministic stand-in for `SingleFileAnalysis.analyze`: the result depends only on
    /// the file's bytes; "BAD" in the payload gives an error record.
    static func stubAnalyzer(counter: CallCounter? = nil) -> BatchRunner.Analyzer {
        return { path, options in
            counter?.record(path)
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
            let text = String(decoding: bytes.dropFirst(132), as: UTF8.self)
            if text.contains("BAD") || bytes.count < 132 {
                let record = AnalysisRecord.failure(path: path, code: "malformed", message: "\((path as NSString).lastPathComponent): stub says bad", options: options)
                return AnalysisOutcome(record: record, visual: nil, timings: StageTimings(decode: 0.001))
            }
            let seed = Double(text.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 997 })
            let mld = 2 + seed / 997, reference = 6.0
            let n = 40
            let centerline = (0..<n).map { Point2D(x: 12 + Double($0), y: 32) }
            let diameter = (0..<n).map { i in reference - (reference - mld) * exp(-pow(Double(i - 20) / 5, 2)) }
            let measurement = VesselMeasurement(
                segmentId: 0, centerline: centerline, arcLength: (0..<n).map(Double.init),
                normals: Array(repeating: Point2D(x: 0, y: 1), count: n),
                leftEdge: zip(centerline, diameter).map { Point2D(x: $0.x, y: 32 - $1 / 2) },
                rightEdge: zip(centerline, diameter).map { Point2D(x: $0.x, y: 32 + $1 / 2) },
                diameter: diameter, rawDiameter: diameter, referenceDiameter: Array(repeating: reference, count: n),
                diameterUncertainty: Array(repeating: 0.1, count: n), valid: Array(repeating: true, count: n),
                measurableRange: 2..<(n - 2), psfSigma: 1)
            let lesion = Lesion(rank: 1, segmentId: 0, measurementIndex: 0, minimalLumenDiameter: mld, referenceDiameter: reference,
                                mldIndex: 20, startIndex: 14, endIndex: 26, mldPosition: centerline[20], startPosition: centerline[14],
                                endPosition: centerline[26], length: 12, mldArcLength: 20, minimalLumenDiameterUncertainty: 0.1,
                                referenceDiameterUncertainty: 0.1)
            let mm = 0.2
            func length(_ px: Double) -> AnalysisRecord.Length { .init(px: AnalysisJSON.rounded(px, 4), mm: AnalysisJSON.rounded(px * mm, 4)) }
            let lesionRecord = AnalysisRecord.LesionRecord(
                rank: 1, segmentId: 0, percentDiameterStenosis: AnalysisJSON.rounded(lesion.percentDiameterStenosis, 2),
                percentAreaStenosis: AnalysisJSON.rounded(lesion.percentAreaStenosis, 2), minimalLumenDiameter: length(mld),
                referenceDiameter: length(reference), lesionLength: length(12), location: .init(x: 32, y: 32),
                start: .init(x: 26, y: 32), end: .init(x: 38, y: 32),
                uncertainty: .init(minimalLumenDiameter: length(0.1), referenceDiameter: length(0.1), percentDiameterStenosis: 1))
            let record = AnalysisRecord(
                status: "ok", error: nil, source: .init(path: path, modality: "XA", rows: 64, columns: 64, frames: 3),
                frame: .init(index: 1, selection: "auto"),
                calibration: .init(mmPerPixel: mm, source: "pixelSpacing", pixelSpacingCalibrationType: nil, relativeUncertainty: nil),
                lesions: [lesionRecord], measuredSegments: 1, warnings: [], options: .init(options),
                patient: options.includePHI ? .init(name: "Doe^Jane", id: "P123", birthDate: "19700101") : nil)
            var frame = GrayImage(width: 64, height: 64, fill: 200)
            var mask = BinaryMask(width: 64, height: 64)
            for (point, d) in zip(centerline, diameter) {
                for y in Int(32 - d / 2)...Int(32 + d / 2) { frame[x: Int(point.x), y: y] = 40; mask[x: Int(point.x), y: y] = true }
            }
            let visual = AnalysisVisual(frame: frame, mask: mask, measurements: [measurement], lesions: [lesion], mmPerPixel: mm)
            return AnalysisOutcome(record: record, visual: visual, timings: StageTimings(decode: 0.001, select: 0.001, vesselness: 0.002, measure: 0.001))
        }
    }

    /// Every regular file under `directory`, relative, sorted, with its bytes.
    static func snapshot(_ directory: URL, suffix: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return result }
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(suffix), !relative.hasPrefix("."),
                  enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            result[relative] = try Data(contentsOf: directory.appendingPathComponent(relative))
        }
        return result
    }
}
