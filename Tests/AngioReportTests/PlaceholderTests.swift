import XCTest
@testable import AngioReport

final class AngioReportPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
