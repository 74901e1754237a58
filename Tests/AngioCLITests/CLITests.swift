import XCTest
import Foundation

final class CLIHelpTests: XCTestCase {
    func testHelpListsSubcommands() throws {
        let result = try CLIHarness.run(["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for command in ["info", "frames", "phantom", "analyze", "compare", "qa", "summarize"] {
            XCTAssertTrue(result.stdout.contains(command), "help lacks \(command)")
        }
    }

    func testVesselPolarityValuesAreChecked() throws {
        let result = try CLIHarness.run(["analyze", "--vessel-polarity", "sideways", "--out", "/tmp/unused", "x.dcm"])
        XCTAssertEqual(result.status, 2, "usage errors exit 2")
        XCTAssertTrue(result.stderr.contains("vessel-polarity"), result.stderr)
        let help = try CLIHarness.run(["analyze", "--help"])
        XCTAssertTrue(help.stdout.contains("--vessel-polarity"), help.stdout)
        XCTAssertTrue(help.stdout.contains("auto"), help.stdout)
    }

    func testUnknownOptionIsUsageError() throws {
        let result = try CLIHarness.run(["info", "--no-such-option"])
        XCTAssertEqual(result.status, 2, "usage errors exit 2")
        XCTAssertTrue(result.stderr.contains("no-such-option"), result.stderr)
    }
}
