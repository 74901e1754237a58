import XCTest
@testable import AngioDICOM

final class AngioDICOMPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
