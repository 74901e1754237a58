import XCTest
import Foundation

/// `angio compare` end to end on a generated pre/post/follow-up phantom series.
final class CompareCLITests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = try CLIHarness.temporaryDirectory("compare")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    func phantom(_ arguments: [String]) throws {
        let result = try CLIHarness.run(["phantom"] + arguments, currentDirectory: work)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func truthMLD(_ name: String) throws -> Double {
        let data = try Data(contentsOf: work.appendingPathComponent(name))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vessels = try XCTUnwrap(json["vessels"] as? [[String: Any]])
        let stenosis = try XCTUnwrap(vessels.first?["stenosis"] as? [String: Any])
        return try XCTUnwrap(stenosis["mldMm"] as? Double)
    }

    func testAcuteGainAndLateLossOnPhantomSeries() throws {
        let common = ["--size", "320", "--catheter", "none", "--branches", "1", "--lesion-position", "0.5"]
        try phantom(["--seed", "21", "--stenosis", "70", "--out", "pre.dcm", "--truth", "pre.json"] + common)
        try phantom(["--post-of", "pre.json", "--stenosis", "15", "--out", "post.dcm", "--truth", "post.json"])
        try phantom(["--post-of", "pre.json", "--stenosis", "40", "--out", "fu.dcm", "--truth", "fu.json"])
        let result = try CLIHarness.run(["compare", "pre.dcm", "post.dcm", "--follow-up", "fu.dcm", "--out", "cmp"],
                                        currentDirectory: work)
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        let data = try Data(contentsOf: work.appendingPathComponent("cmp/compare.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["status"] as? String, "ok")
        XCTAssertEqual(json["schemaVersion"] as? Int, 1)
        XCTAssertEqual(json["segmentSource"] as? String, "auto")
        let gain = try XCTUnwrap((json["acuteGain"] as? [String: Any])?["mm"] as? Double)
        let loss = try XCTUnwrap((json["lateLumenLoss"] as? [String: Any])?["mm"] as? Double)
        let pre = try truthMLD("pre.json"), post = try truthMLD("post.json"), followUp = try truthMLD("fu.json")
        XCTAssertEqual(gain, post - pre, accuracy: 0.1, "acute gain")
        XCTAssertEqual(loss, post - followUp, accuracy: 0.12, "late lumen loss")
        // pre, post and followUp are lesion objects (analysis lesion fields) with the run context.
        var mld: [String: Double] = [:]
        for run in ["pre", "post", "followUp"] {
            let object = try XCTUnwrap(json[run] as? [String: Any], run)
            XCTAssertEqual(object["status"] as? String, "ok", run)
            XCTAssertNil(object["lesion"], run)
            XCTAssertNotNil(object["path"] as? String, run)
            XCTAssertNotNil(object["calibration"] as? [String: Any], run)
            for key in ["rank", "percentDiameterStenosis", "percentAreaStenosis", "referenceDiameter", "lesionLength",
                        "location", "start", "end", "segmentId", "uncertainty"] {
                XCTAssertNotNil(object[key], "\(run).\(key)")
            }
            mld[run] = try XCTUnwrap((object["minimalLumenDiameter"] as? [String: Any])?["mm"] as? Double, run)
        }
        XCTAssertEqual(gain, try XCTUnwrap(mld["post"]) - (try XCTUnwrap(mld["pre"])), accuracy: 2e-4)
        XCTAssertEqual(loss, try XCTUnwrap(mld["post"]) - (try XCTUnwrap(mld["followUp"])), accuracy: 2e-4)
        // Same inputs, same bytes.
        let again = try CLIHarness.run(["compare", "pre.dcm", "post.dcm", "--follow-up", "fu.dcm", "--out", "cmp2"],
                                       currentDirectory: work)
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("cmp2/compare.json")), data)
    }

    func testUserSegmentAndFailures() throws {
        try phantom(["--seed", "22", "--size", "256", "--stenosis", "50", "--catheter", "none", "--out", "a.dcm", "--truth", "a.json"])
        try Data("not dicom".utf8).write(to: work.appendingPathComponent("b.dcm"))
        let missing = try CLIHarness.run(["compare", "a.dcm", "b.dcm", "--segment", "10,10,60,60", "--out", "cmp"], currentDirectory: work)
        XCTAssertEqual(missing.status, 1)
        let data = try Data(contentsOf: work.appendingPathComponent("cmp/compare.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["status"] as? String, "error")
        XCTAssertTrue(((json["error"] as? [String: Any])?["message"] as? String ?? "").contains("b.dcm"))
        let post = try XCTUnwrap(json["post"] as? [String: Any])
        XCTAssertEqual(post["status"] as? String, "error")
        XCTAssertTrue(post["minimalLumenDiameter"] is NSNull, "an unmeasured run has null lesion fields")

        let usage = try CLIHarness.run(["compare", "a.dcm", "a.dcm", "--segment", "1,2,3", "--out", "cmp"], currentDirectory: work)
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("X0,Y0,X1,Y1"), usage.stderr)
        let noOut = try CLIHarness.run(["compare", "a.dcm", "a.dcm"], currentDirectory: work)
        XCTAssertEqual(noOut.status, 2)
    }
}
