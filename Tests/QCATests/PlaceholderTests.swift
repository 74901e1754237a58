import XCTest
@testable import QCA

final class QCAPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
