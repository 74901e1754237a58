import Foundation
import XCTest

/// `angio phantom` end to end: files written, truth consistent with the options, pre/post
/// pairs, --spec, and usage errors exit 2 with a message naming the problem.
final class PhantomCLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try CLIHarness.temporaryDirectory("phantom") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func mainLesion(_ truth: [String: Any]) throws -> [String: Any] {
        let vessels = try XCTUnwrap(truth["vessels"] as? [[String: Any]])
        return try XCTUnwrap(vessels.first?["stenosis"] as? [String: Any])
    }

    func testWritesDICOMAndTruthMatchingTheOptions() throws {
        let result = try CLIHarness.run(["phantom", "--seed", "42", "--size", "128", "--diameter", "2.5", "--stenosis", "60",
                                         "--lesion-length", "6", "--bits", "10", "--transfer-syntax", "rle",
                                         "--calibration", "imager-magnification", "--magnification", "1.3",
                                         "--out", path("p.dcm"), "--truth", path("p.json")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("DS 60.0 %"), result.stderr)
        let truth = try json("p.json")
        XCTAssertEqual(truth["mmPerPixel"] as? Double ?? 0, 0.16, accuracy: 1e-9)
        let lesion = try mainLesion(truth)
        XCTAssertEqual(lesion["mldMm"] as? Double ?? 0, 1.0, accuracy: 1e-9)
        XCTAssertEqual(lesion["percentDiameterStenosis"] as? Double ?? 0, 60, accuracy: 1e-9)
        let info = try CLIHarness.run(["info", "--include-phi", path("p.dcm")])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("PHANTOM^42"), info.stdout)
        XCTAssertTrue(info.stdout.contains("1.2.840.10008.1.2.5"), "RLE transfer syntax")
        XCTAssertTrue(info.stdout.contains("\"bitsStored\" : 10"), info.stdout)
        // Determinism through the CLI: a second run writes identical bytes.
        let again = try CLIHarness.run(["phantom", "--seed", "42", "--size", "128", "--diameter", "2.5", "--stenosis", "60",
                                        "--lesion-length", "6", "--bits", "10", "--transfer-syntax", "rle",
                                        "--calibration", "imager-magnification", "--magnification", "1.3",
                                        "--out", path("q.dcm"), "--truth", path("q.json")])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("p.dcm"))), try Data(contentsOf: URL(fileURLWithPath: path("q.dcm"))))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("p.json"))), try Data(contentsOf: URL(fileURLWithPath: path("q.json"))))
    }

    func testPrePostPairSharesVesselAndStudy() throws {
        let pre = try CLIHarness.run(["phantom", "--seed", "7", "--size", "160", "--anatomy", "peripheral", "--stenosis", "75",
                                      "--out", path("pre.dcm"), "--truth", path("pre.json")])
        XCTAssertEqual(pre.status, 0, pre.stderr)
        let post = try CLIHarness.run(["phantom", "--post-of", path("pre.json"), "--stenosis", "20",
                                       "--out", path("post.dcm"), "--truth", path("post.json")])
        XCTAssertEqual(post.status, 0, post.stderr)
        let preLesion = try mainLesion(try json("pre.json")), postLesion = try mainLesion(try json("post.json"))
        XCTAssertEqual(preLesion["percentDiameterStenosis"] as? Double ?? 0, 75, accuracy: 1e-9)
        XCTAssertEqual(postLesion["percentDiameterStenosis"] as? Double ?? 0, 20, accuracy: 1e-9)
        XCTAssertEqual(preLesion["location"] as? [String: Double], postLesion["location"] as? [String: Double])
        let info = try CLIHarness.run(["info", "--include-phi", path("pre.dcm"), path("post.dcm")])
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0]["studyInstanceUID"] as? String, entries[1]["studyInstanceUID"] as? String)
        XCTAssertNotEqual(entries[0]["seriesInstanceUID"] as? String, entries[1]["seriesInstanceUID"] as? String)
        XCTAssertEqual(entries[1]["seriesNumber"] as? Int, 2)
        // The same seed with a different --stenosis gives the same artery too.
        let sameSeed = try CLIHarness.run(["phantom", "--seed", "7", "--size", "160", "--anatomy", "peripheral", "--stenosis", "20",
                                           "--out", path("alt.dcm"), "--truth", path("alt.json")])
        XCTAssertEqual(sameSeed.status, 0, sameSeed.stderr)
        XCTAssertEqual(try mainLesion(try json("alt.json"))["location"] as? [String: Double], postLesion["location"] as? [String: Double])
    }

    func testSpecFileAndPrintSpecRoundTrip() throws {
        let printed = try CLIHarness.run(["phantom", "--seed", "9", "--size", "96", "--crossing", "--print-spec"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        try Data(printed.stdout.utf8).write(to: URL(fileURLWithPath: path("spec.json")))
        let fromSpec = try CLIHarness.run(["phantom", "--spec", path("spec.json"), "--out", path("s.dcm"), "--truth", path("s.json")])
        XCTAssertEqual(fromSpec.status, 0, fromSpec.stderr)
        let direct = try CLIHarness.run(["phantom", "--seed", "9", "--size", "96", "--crossing", "--out", path("d.dcm")])
        XCTAssertEqual(direct.status, 0, direct.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("s.dcm"))), try Data(contentsOf: URL(fileURLWithPath: path("d.dcm"))))
        // The truth has one entry per spec vessel and echoes the spec it came from.
        let truth = try json("s.json")
        let vessels = try XCTUnwrap(truth["vessels"] as? [[String: Any]])
        let spec = try XCTUnwrap(try json("spec.json")["vessels"] as? [[String: Any]])
        XCTAssertEqual(vessels.count, spec.count)
        XCTAssertEqual((truth["spec"] as? [String: Any])?["seed"] as? Int, 9)
    }

    func testCineAndUncalibratedOptions() throws {
        let result = try CLIHarness.run(["phantom", "--size", "64", "--frames", "6", "--calibration", "none",
                                         "--photometric", "MONOCHROME1", "--bits", "8", "--catheter", "none",
                                         "--out", path("c.dcm"), "--truth", path("c.json")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let truth = try json("c.json")
        XCTAssertTrue(truth["mmPerPixel"] is NSNull, "uncalibrated: mmPerPixel is null")
        XCTAssertEqual(truth["frames"] as? Int, 6)
        XCTAssertTrue(truth["catheter"] is NSNull)
        let info = try CLIHarness.run(["info", path("c.dcm")])
        XCTAssertTrue(info.stdout.contains("\"numberOfFrames\" : 6"), info.stdout)
        XCTAssertTrue(info.stdout.contains("MONOCHROME1"), info.stdout)
        XCTAssertFalse(info.stdout.contains("imagerPixelSpacing"), info.stdout)
    }

    func testBadOptionsExitTwoWithAClearMessage() throws {
        let cases: [([String], String)] = [
            (["phantom", "--out", path("x.dcm"), "--stenosis", "99"], "--stenosis"),
            (["phantom", "--out", path("x.dcm"), "--bits", "20"], "--bits"),
            (["phantom", "--out", path("x.dcm"), "--transfer-syntax", "jpeg-2000"], "jpeg-2000"),
            (["phantom", "--out", path("x.dcm"), "--calibration", "ruler"], "--calibration"),
            (["phantom", "--out", path("x.dcm"), "--noise", "loud"], "--noise"),
            (["phantom", "--out", path("x.dcm"), "--noise", "0.7"], "--noise"),
            (["phantom", "--out", path("x.dcm"), "--catheter", "40"], "--catheter"),
            (["phantom", "--out", path("x.dcm"), "--photometric", "RGB"], "--photometric"),
            (["phantom", "--out", path("x.dcm"), "--transfer-syntax", "jpeg-baseline", "--bits", "12"], "jpeg-baseline"),
            (["phantom", "--stenosis", "50"], "--out"),
            (["phantom", "--out", path("x.dcm"), "--post-of", path("missing.json"), "--stenosis", "20"], "missing.json"),
            (["phantom", "--out", path("x.dcm"), "--post-of", path("missing.json")], "--stenosis"),
            (["phantom", "--out", path("x.dcm"), "--spec", path("missing.json"), "--diameter", "2"], "--diameter"),
        ]
        for (arguments, expected) in cases {
            let result = try CLIHarness.run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.dcm")))
        }
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path("broken.json")))
        let broken = try CLIHarness.run(["phantom", "--spec", path("broken.json"), "--out", path("x.dcm")])
        XCTAssertEqual(broken.status, 2)
        XCTAssertTrue(broken.stderr.contains("broken.json"), broken.stderr)
    }

    func testUnwritableOutputExitsOne() throws {
        let result = try CLIHarness.run(["phantom", "--size", "96", "--out", path("no/such/dir/x.dcm")])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no/such/dir/x.dcm"), result.stderr)
    }
}
