import Foundation
import XCTest
@testable import VesselCore

/// Agreement with scikit-image `frangi` on the fixtures written by
/// scripts/make-frangi-reference.py (see its header for the parameter mapping).
final class SkimageAgreementTests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String; var width: Int; var height: Int; var sigmas: [Double]
            var beta: Double; var gamma: Double; var blackRidges: Bool
        }
        var scikitImage: String
        var cases: [Case]
    }

    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    func loadFloats(_ name: String, count: Int) throws -> [Float] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(name))
        XCTAssertEqual(data.count, count * 4, name)
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    func testCorrelationWithScikitImageAtTheSameScales() throws {
        let json = try Data(contentsOf: Self.fixtures.appendingPathComponent("frangi-reference.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: json)
        XCTAssertEqual(reference.cases.count, 3)
        for item in reference.cases {
            let count = item.width * item.height
            let input = GrayImage(width: item.width, height: item.height,
                                  pixels: try loadFloats(item.name + ".input.f32", count: count))
            let expected = try loadFloats(item.name + ".frangi.f32", count: count)
            let parameters = VesselnessParameters(scales: item.sigmas, beta: item.beta, gamma: item.gamma,
                                                  polarity: item.blackRidges ? .darkOnBright : .brightOnDark,
                                                  scaleNormalizationExponent: 0)
            let ours = Vesselness.frangi(input, parameters: parameters)
            let correlation = pearson(ours.response.pixels, expected)
            print("skimage \(reference.scikitImage) \(item.name): Pearson r = \(correlation)")
            XCTAssertGreaterThanOrEqual(correlation, 0.98, item.name)
            // Same order of magnitude everywhere, not just correlated.
            let maxOurs = Double(ours.response.pixels.max() ?? 0), maxTheirs = Double(expected.max() ?? 0)
            XCTAssertEqual(maxOurs / maxTheirs, 1, accuracy: 0.15, item.name)
        }
    }
}
