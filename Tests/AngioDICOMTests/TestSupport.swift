import Foundation
import XCTest
@testable import AngioDICOM

/// Deterministic test data and temp folders for the AngioDICOM tests.
enum Fixture {
    /// The shared real corpus next to the package, or nil (tests then skip).
    static var corpus: URL? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/data/dicom")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    static func corpusFile(_ relative: String) throws -> String {
        guard let corpus else { throw XCTSkip("shared DICOM corpus not present") }
        return corpus.appendingPathComponent(relative).path
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("angio-dicom-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Full-range pseudo-random values (worst case for lossless coders): LCG, fixed seed.
    static func noise(count: Int, bits: Int, seed: UInt64) -> [UInt16] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        let mask = UInt64((1 << bits) - 1)
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt16((state >> 33) & mask)
        }
    }

    /// A smooth synthetic angiogram-like frame: bright background gradient with a dark
    /// Gaussian "vessel" and the extreme values 0 and max at two corners.
    static func smooth(width: Int, height: Int, bits: Int, phase: Double) -> [UInt16] {
        let top = Double((1 << bits) - 1)
        var values = [UInt16](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let background = 0.55 + 0.35 * Double(x) / Double(width) - 0.1 * Double(y) / Double(height)
                let centre = Double(height) / 2 + 6 * sin(Double(x) / 9 + phase)
                let vessel = 0.45 * exp(-pow(Double(y) - centre, 2) / 18)
                let v = max(0, min(1, background - vessel))
                values[y * width + x] = UInt16((v * top).rounded())
            }
        }
        values[0] = 0
        values[width * height - 1] = UInt16(top)
        return values
    }
}
