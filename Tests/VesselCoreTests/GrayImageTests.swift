import XCTest
@testable import VesselCore

final class GrayImageTests: XCTestCase {
    func testSubscriptIsRowMajor() {
        var image = GrayImage(width: 3, height: 2)
        image[x: 2, y: 1] = 5
        XCTAssertEqual(image.pixels[5], 5)
        XCTAssertEqual(Array(image.row(1)), [0, 0, 5])
    }

    func testValidatedConversionsReportBadSizesAndCleanNonFinite() throws {
        XCTAssertThrowsError(try GrayImage.fromFloat([1, 2, 3], width: 2, height: 2)) { error in
            XCTAssertEqual((error as? VesselCoreError)?.code, .sizeMismatch)
            XCTAssertTrue("\(error)".contains("2x2"))
        }
        XCTAssertThrowsError(try GrayImage.fromUInt16([], width: -1, height: 0))
        XCTAssertThrowsError(try GrayImage.fromInt32([1], width: Int.max, height: 2))
        let cleaned = try GrayImage.fromFloat([1, .nan, .infinity, 4], width: 2, height: 2)
        XCTAssertEqual(cleaned.pixels, [1, 0, 0, 4])
        XCTAssertEqual(try GrayImage.fromUInt16([0, 65535], width: 2, height: 1).pixels, [0, 65535])
        XCTAssertEqual(try GrayImage.fromInt32([-5, 7], width: 1, height: 2).pixels, [-5, 7])
    }

    func testCropBandDownsampleResample() {
        let image = GrayImage(width: 5, height: 4, pixels: (0..<20).map(Float.init))
        XCTAssertEqual(image.cropped(x: 1, y: 1, width: 2, height: 2).pixels, [6, 7, 11, 12])
        XCTAssertEqual(image.cropped(x: 4, y: 3, width: 10, height: 10).pixels, [19], "clipped")
        XCTAssertEqual(image.cropped(x: 9, y: 9, width: 2, height: 2).count, 0)
        XCTAssertEqual(image.band(rows: 2..<9).pixels, (10..<20).map(Float.init))
        let small = image.downsampled(by: 2)
        XCTAssertEqual(small.width, 3); XCTAssertEqual(small.height, 2)
        XCTAssertEqual(small.pixels, [3, 5, 6.5, 13, 15, 16.5], "partial blocks average what they cover")
        XCTAssertEqual(GrayImage(width: 7, height: 3, fill: 2).downsampled(by: 4).pixels, [2, 2])
        let constant = GrayImage(width: 4, height: 4, fill: 3).resampledBilinear(width: 9, height: 2)
        XCTAssertEqual(constant.pixels, [Float](repeating: 3, count: 18))
        let rotated = image.rotated90()
        XCTAssertEqual(rotated.width, 4); XCTAssertEqual(rotated.height, 5)
        XCTAssertEqual(rotated[x: 0, y: 4], image[x: 0, y: 0])
        XCTAssertEqual(image.range.min, 0); XCTAssertEqual(image.range.max, 19)
    }

    func testRowBandsCoverEveryRowOnce() {
        for rows in [0, 1, 5, 17] { for threads in [1, 2, 3, 8] {
            let bands = RowBands.bands(rows: rows, threads: threads)
            XCTAssertEqual(bands.flatMap { Array($0) }, Array(0..<rows))
            XCTAssertLessThanOrEqual(bands.count, max(1, threads))
        } }
        XCTAssertGreaterThanOrEqual(RowBands.threadCount(nil), 1)
        XCTAssertEqual(RowBands.threadCount(0), 1)
        let sums = RowBands.mapBands(rows: 10, threads: 3) { $0.reduce(0, +) }
        XCTAssertEqual(sums.reduce(0, +), 45)
    }

    func testDice() {
        var a = BinaryMask(width: 2, height: 2, bits: [1, 1, 0, 0])
        let b = BinaryMask(width: 2, height: 2, bits: [1, 0, 1, 0])
        XCTAssertEqual(a.dice(with: b), 0.5)
        a.bits = [0, 0, 0, 0]
        XCTAssertEqual(a.dice(with: a), 1)
    }
}
