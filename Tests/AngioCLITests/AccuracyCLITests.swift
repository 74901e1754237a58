import Foundation
import XCTest

/// `angio accuracy --noise-repeats`: the same phantoms under independent quantum-noise draws,
/// per-phantom spread and bias, deterministic whatever the thread count; bad counts exit 2.
final class AccuracyCLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try CLIHarness.temporaryDirectory("accuracy") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testNoiseRepeatsReportSpreadAndBiasPerPhantom() throws {
        // Seed 1: 12-bit reference variant; seed 6: a pre/post pair (acute gain over the draws).
        func run(threads: Int, out: String) throws -> CLIHarness.Result {
            try CLIHarness.run(["accuracy", "--count", "7", "--seed", "1", "--size", "192", "--only-seed", "1", "6",
                                "--noise-repeats", "3", "--threads", "\(threads)", "--out", path(out)])
        }
        let one = try run(threads: 1, out: "one.json"), two = try run(threads: 2, out: "two.json")
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one.json"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("two.json"))), "same JSON with 1 and 2 threads")
        XCTAssertTrue(one.stdout.contains("3 independent quantum-noise draws"), one.stdout)
        XCTAssertTrue(one.stdout.contains("acute gain over the draws"), one.stdout)

        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("one.json")))) as? [String: Any])
        let rows = try XCTUnwrap(root["noiseRepeatability"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["seed"] as? Int }, [1, 6])
        for row in rows {
            XCTAssertEqual(row["realisations"] as? Int, 3)
            let mean = try XCTUnwrap(row["segmentMLDMeanMm"] as? Double), truth = try XCTUnwrap(row["trueMLDmm"] as? Double)
            XCTAssertEqual(try XCTUnwrap(row["mldBiasMm"] as? Double), mean - truth, accuracy: 1e-12)
            // Independent draws: a spread, and none of them is the study's own draw.
            let sd = try XCTUnwrap(row["segmentMLDSDMm"] as? Double)
            XCTAssertGreaterThan(sd, 0.001)
            XCTAssertLessThan(sd, 0.2)
            XCTAssertLessThan(abs(mean - truth), 0.15, "a tight lesion at 4000 photons, measured within 0.15 mm on average")
        }
        XCTAssertNotNil(rows[1]["acuteGainMeanMm"] as? Double)
        XCTAssertNil(rows[0]["acuteGainMeanMm"] as? Double)
    }

    func testNoiseRepeatsOutOfRangeIsAUsageError() throws {
        let result = try CLIHarness.run(["accuracy", "--count", "7", "--only-seed", "1", "--noise-repeats", "1"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("--noise-repeats must be in 2...200, got 1"), result.stderr)
    }
}
