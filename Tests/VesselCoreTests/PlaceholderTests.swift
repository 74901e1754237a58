import XCTest
@testable import VesselCore

final class GrayImageTests: XCTestCase {
    func testSubscriptIsRowMajor() {
        var image = GrayImage(width: 3, height: 2)
        image[x: 2, y: 1] = 5
        XCTAssertEqual(image.pixels[5], 5)
    }
}
