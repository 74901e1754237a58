import XCTest
@testable import AngioPipeline

final class AngioPipelinePlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
