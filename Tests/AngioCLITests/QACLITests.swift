import Foundation
import XCTest

/// `angio qa` through the built binary: the shared real corpus (when present) and a generated folder.
final class QACLITests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try CLIHarness.temporaryDirectory("qa-cli")
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    func qaFiles(_ out: URL) throws -> [String: [String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("qa.json"))) as? [String: Any]
        let files = try XCTUnwrap(object?["files"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as? String ?? "", $0) })
    }

    func codes(_ file: [String: Any]?) -> [String] {
        (file?["findings"] as? [[String: Any]])?.compactMap { $0["code"] as? String } ?? []
    }

    func testSharedCorpusMalformedFilesHaveSpecificCodesAndJ2KIsDecodable() throws {
        guard let corpus = CLIHarness.sharedCorpus else { throw XCTSkip("shared corpus ../shared/data/dicom absent") }
        let out = root.appendingPathComponent("qa")
        let result = try CLIHarness.run(["qa", corpus.path, "--out", out.path, "--decode"])
        XCTAssertEqual(result.status, 1, "the corpus has error-level findings")
        XCTAssertTrue(result.stdout.contains("error"), result.stdout)
        let files = try qaFiles(out)
        let expected: [String: Set<String>] = [
            "derived/DERIVED_WG04_XA1_UNC_truncated_at_1200000B.dcm": ["truncated"],
            "derived/DERIVED_rubo_0002_XA_header_only_2000B.dcm": ["truncated"],
            "derived/DERIVED_rubo_0002_XA_truncated_at_900000B.dcm": ["truncated"],
            "malformed/orthanc_2026-05-26-oob-monochrome-46341.dcm": ["pixelDataSizeInconsistent", "imageTooLarge"],
            "malformed/orthanc_2026-05-26-oob-monochrome-65535.dcm": ["pixelDataSizeInconsistent", "imageTooLarge"],
            "malformed/orthanc_Issue22-NoPixelData.dcm": ["noPixelData"],
            "malformed/pydicom_MR_truncated.dcm": ["truncated"],
            "malformed/pydicom_JPEG2000-embedded-sequence-delimiter.dcm": ["decodeFailed"],
            "other/pydicom_test-SR.dcm": ["noPixelData"],
        ]
        for (path, allowed) in expected {
            let found = codes(files[path])
            XCTAssertFalse(Set(found).isDisjoint(with: allowed), "\(path): \(found)")
        }
        for path in files.keys where path.hasPrefix("malformed/") || path.hasPrefix("derived/") {
            let severities = (files[path]?["findings"] as? [[String: Any]])?.compactMap { $0["severity"] as? String } ?? []
            XCTAssertTrue(severities.contains("error"), "\(path) has no error-level finding")
        }
        for path in ["xa/WG04_XA1_J2KR.dcm", "xa/WG04_XA1_J2KI.dcm"] {
            XCTAssertEqual(files[path]?["decodable"] as? Bool, true, path)
            XCTAssertFalse(codes(files[path]).contains("unsupportedTransferSyntax"), path)
        }
        let csv = try String(contentsOf: out.appendingPathComponent("qa.csv"), encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("path,decodable,sop_class_uid,modality,transfer_syntax_uid,severity,code,tag,message\r\n"))
    }

    func testCleanPhantomFolderPassesAndOutputIsDeterministic() throws {
        let folder = root.appendingPathComponent("runs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for seed in 1...3 {
            let result = try CLIHarness.run(["phantom", "--out", folder.appendingPathComponent("run\(seed).dcm").path, "--seed", "\(seed)",
                                             "--size", "64", "--frames", "3"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
        let first = try CLIHarness.run(["qa", folder.path, "--out", a.path, "--jobs", "1"])
        XCTAssertEqual(first.status, 0, "phantoms have no error-level finding: \(first.stdout)")
        _ = try CLIHarness.run(["qa", folder.path, "--out", b.path, "--jobs", "3", "--quiet"])
        XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent("qa.json")), try Data(contentsOf: b.appendingPathComponent("qa.json")))
        XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent("qa.csv")), try Data(contentsOf: b.appendingPathComponent("qa.csv")))
        XCTAssertFalse(String(decoding: try Data(contentsOf: a.appendingPathComponent("qa.json")), as: UTF8.self).contains("PHANTOM^"), "no PHI in QA output")
        XCTAssertEqual(try CLIHarness.run(["qa", root.appendingPathComponent("missing").path, "--out", a.path]).status, 2)
    }
}
