import Foundation
import XCTest

/// End-to-end tests of `angio analyze` / `angio summarize` on generated folders that mix good
/// phantom runs, broken DICOM files and non-DICOM files, run through the built binary.
final class BatchCLITests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try CLIHarness.temporaryDirectory("batch-cli")
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    // MARK: - Fixture folders

    /// A phantom run (small, so the suite stays fast), written by `angio phantom`.
    func phantom(_ relative: String, in folder: URL, seed: Int, size: Int = 128, frames: Int = 2, extra: [String] = []) throws {
        let url = folder.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let result = try CLIHarness.run(["phantom", "--out", url.path, "--seed", "\(seed)", "--size", "\(size)",
                                         "--frames", "\(frames)", "--stenosis", "\(40 + seed % 30)"] + extra)
        XCTAssertEqual(result.status, 0, "phantom: \(result.stderr)")
    }

    /// good/: three runs, one without extension; bad/: truncated, header-only (no pixel data),
    /// oversized declaration, random bytes named .dcm; plus a text file and a fake PNG.
    func makeMixedFolder() throws -> URL {
        let folder = root.appendingPathComponent("in")
        try phantom("good/run1.dcm", in: folder, seed: 1)
        try phantom("good/nested/run2.dcm", in: folder, seed: 2, extra: ["--calibration", "none"])
        try phantom("good/IM000003", in: folder, seed: 3)
        let good = try Data(contentsOf: folder.appendingPathComponent("good/run1.dcm"))
        let bad = folder.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try good.prefix(good.count * 2 / 3).write(to: bad.appendingPathComponent("truncated.dcm"))
        let bytes = [UInt8](good)
        // The data set up to (not including) Pixel Data (7FE0,0010): a complete object without pixels.
        let pixelTag: [UInt8] = [0xE0, 0x7F, 0x10, 0x00]
        let pixelAt = try XCTUnwrap((132..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == pixelTag })
        try Data(bytes[0..<pixelAt]).write(to: bad.appendingPathComponent("no_pixels.dcm"))
        // Rows (0028,0010) patched to 65535: declares far more pixels than the file holds.
        var oversized = bytes
        let rowsTag: [UInt8] = [0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00]
        let rowsAt = try XCTUnwrap((132..<(bytes.count - 10)).first { Array(bytes[$0..<($0 + 8)]) == rowsTag })
        oversized[rowsAt + 8] = 0xFF; oversized[rowsAt + 9] = 0xFF
        try Data(oversized).write(to: bad.appendingPathComponent("oversized.dcm"))
        var generator = SystemRandomNumberGenerator()
        try Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: bad.appendingPathComponent("random.dcm"))
        try Data("not an image\n".utf8).write(to: folder.appendingPathComponent("README.txt"))
        try Data([0x89, 0x50, 0x4E, 0x47, 0, 1, 2, 3]).write(to: folder.appendingPathComponent("good/preview.png"))
        return folder
    }

    func json(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try XCTUnwrap(object as? [String: Any], url.path)
    }

    /// Every `.json` under `folder` (relative path -> bytes), ignoring hidden state.
    func results(_ folder: URL) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasPrefix(".") { enumerator?.skipDescendants(); continue }
            if relative.hasSuffix(".json") { found[relative] = try Data(contentsOf: folder.appendingPathComponent(relative)) }
        }
        return found
    }

    // MARK: - Tests

    func testMixedFolderOutputsErrorsAndExitCode() throws {
        let input = try makeMixedFolder()
        let out = root.appendingPathComponent("out")
        let result = try CLIHarness.run(["analyze", input.path, "--out", out.path, "--jobs", "2"])
        XCTAssertEqual(result.status, 1, "some inputs failed -> exit 1\n\(result.stdout)\n\(result.stderr)")
        XCTAssertTrue(result.stdout.contains("skipped 3 non-DICOM files"), result.stdout)
        XCTAssertTrue(result.stdout.contains("3 ok, 3 failed"), result.stdout)
        XCTAssertTrue(result.stderr.isEmpty || !result.stderr.contains("\r"), "no progress line when stderr is not a terminal")
        for stem in ["good/run1", "good/nested/run2", "good/IM000003"] {
            let record = try json(out.appendingPathComponent(stem + ".json"))
            XCTAssertEqual(record["status"] as? String, "ok", "\(stem): \(record["error"] ?? "")")
            for suffix in [".png", ".thumb.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(stem + suffix).path), stem + suffix)
            }
        }
        for (stem, codes) in [("bad/truncated", ["truncated", "sizeInconsistent"]), ("bad/no_pixels", ["noPixelData"]),
                              ("bad/oversized", ["sizeInconsistent", "imageTooLarge"])] {
            let record = try json(out.appendingPathComponent(stem + ".json"))
            XCTAssertEqual(record["status"] as? String, "error", stem)
            let error = try XCTUnwrap(record["error"] as? [String: Any], stem)
            XCTAssertTrue(codes.contains(error["code"] as? String ?? ""), "\(stem): \(error)")
            XCTAssertTrue((error["message"] as? String ?? "").contains((stem as NSString).lastPathComponent), "message names the file")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(stem + ".png").path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("bad/random.json").path), "non-DICOM skipped")
        let csv = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\r\n")
        XCTAssertEqual(lines.count, 7)
        XCTAssertTrue(lines[0].hasPrefix("path,status,error_code"))
        XCTAssertEqual(lines.dropFirst().map { String($0.split(separator: ",")[0]) },
                       ["bad/no_pixels.dcm", "bad/oversized.dcm", "bad/truncated.dcm", "good/IM000003", "good/nested/run2.dcm", "good/run1.dcm"])
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("good/run1.thumb.png"))

        // A non-DICOM file named explicitly is an error, not silently skipped.
        let explicit = try CLIHarness.run(["analyze", input.appendingPathComponent("bad/random.dcm").path, "--out", root.appendingPathComponent("single").path, "--quiet"])
        XCTAssertEqual(explicit.status, 1)
        let record = try json(root.appendingPathComponent("single/random.json"))
        XCTAssertEqual((record["error"] as? [String: Any])?["code"] as? String, "notDICOM")
    }

    func testIdenticalJSONForOneAndFourJobsAndNoPHIByDefault() throws {
        let input = try makeMixedFolder()
        let one = root.appendingPathComponent("one"), four = root.appendingPathComponent("four")
        XCTAssertEqual(try CLIHarness.run(["analyze", input.path, "--out", one.path, "--jobs", "1", "--quiet"]).status, 1)
        XCTAssertEqual(try CLIHarness.run(["analyze", input.path, "--out", four.path, "--jobs", "4", "--quiet"]).status, 1)
        let a = try results(one), b = try results(four)
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a, b, "byte-identical JSON whatever --jobs")
        XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent("summary.csv")), try Data(contentsOf: four.appendingPathComponent("summary.csv")))
        // The phantoms carry PHANTOM^<n> patient names; none may reach any output by default.
        let enumerator = FileManager.default.enumerator(atPath: one.path)
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".png") { continue }
            var isDirectory: ObjCBool = false
            let path = one.appendingPathComponent(relative).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            XCTAssertFalse(text.contains("PHANTOM^") || text.contains("PHANTOM-") || text.contains("19600101"), "PHI in \(relative)")
        }
        let phi = root.appendingPathComponent("phi")
        _ = try CLIHarness.run(["analyze", input.appendingPathComponent("good/run1.dcm").path, "--out", phi.path, "--include-phi", "--quiet"])
        XCTAssertTrue(String(decoding: try Data(contentsOf: phi.appendingPathComponent("run1.json")), as: UTF8.self).contains("PHANTOM^"))
    }

    func testShardUnionEqualsUnshardedRunAndSummarizeMerges() throws {
        let input = try makeMixedFolder()
        let full = root.appendingPathComponent("full")
        _ = try CLIHarness.run(["analyze", input.path, "--out", full.path, "--quiet"])
        var union: [String: Data] = [:]
        var shards: [String] = []
        for k in 1...3 {
            let folder = root.appendingPathComponent("shard-\(k)")
            let result = try CLIHarness.run(["analyze", input.path, "--out", folder.path, "--shard", "\(k)/3", "--quiet"])
            XCTAssertTrue([0, 1].contains(result.status), result.stderr)
            for (name, data) in try results(folder) {
                XCTAssertNil(union[name], "\(name) in two shards")
                union[name] = data
            }
            shards.append(folder.path)
        }
        XCTAssertEqual(union, try results(full), "the shards together hold exactly the unsharded results")
        let merged = root.appendingPathComponent("merged")
        let summarize = try CLIHarness.run(["summarize"] + shards + ["--out", merged.path])
        XCTAssertEqual(summarize.status, 0, summarize.stderr)
        XCTAssertEqual(try Data(contentsOf: merged.appendingPathComponent("summary.csv")), try Data(contentsOf: full.appendingPathComponent("summary.csv")))
        XCTAssertTrue(try String(contentsOf: merged.appendingPathComponent("index.html"), encoding: .utf8).contains("../shard-"))
    }

    func testResumeAfterKilledRun() throws {
        let input = root.appendingPathComponent("runs")
        for seed in 1...8 { try phantom("run\(seed).dcm", in: input, seed: seed, size: 192, frames: 3) }
        let clean = root.appendingPathComponent("clean")
        XCTAssertEqual(try CLIHarness.run(["analyze", input.path, "--out", clean.path, "--jobs", "1", "--quiet"]).status, 0)

        let out = root.appendingPathComponent("killed")
        let process = Process()
        process.executableURL = CLIHarness.binary
        process.arguments = ["analyze", input.path, "--out", out.path, "--jobs", "1", "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill as soon as the first result is complete, i.e. its state record is written (it
        // follows the JSON): mid-way through the folder, with something to resume.
        let stateFolder = out.appendingPathComponent(".angio-state")
        func doneRecords() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: stateFolder.path)) ?? []).filter { $0.hasSuffix(".done") }.count
        }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline, doneRecords() == 0 { usleep(2_000) }
        let killedMidway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if !killedMidway { print("note: the run finished before it could be killed; resume is still checked") }

        // Only complete JSON files may exist (atomic rename); temporaries are hidden and ignored.
        for (name, data) in try results(out) {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data), "partial JSON \(name)")
            XCTAssertFalse(name.contains(".angio-tmp-"))
        }
        XCTAssertLessThan(try results(out).count, 9)
        let resumed = try CLIHarness.run(["analyze", input.path, "--out", out.path, "--jobs", "2", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        if killedMidway { XCTAssertTrue(resumed.stdout.contains("resumed"), resumed.stdout) }
        XCTAssertEqual(try results(out), try results(clean), "resumed results equal a clean run")
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("summary.csv")), try Data(contentsOf: clean.appendingPathComponent("summary.csv")))
        let leftovers = FileManager.default.enumerator(atPath: out.path)?.allObjects.compactMap { $0 as? String }.filter { $0.contains(".angio-tmp-") || $0.contains(".png.tmp-") } ?? []
        XCTAssertEqual(leftovers, [], "temporaries of the killed run are swept")
    }

    func testUsageErrorsExitTwo() throws {
        let input = try makeMixedFolder()
        let out = root.appendingPathComponent("usage").path
        for arguments in [["--jobs", "0"], ["--shard", "0/3"], ["--shard", "4/3"], ["--shard", "x"], ["--segment", "1,2,3"],
                          ["--catheter", "1,2,3,4"], ["--mm-per-pixel", "-1"], ["--frame", "-2"], ["--max-lesions", "0"]] {
            let result = try CLIHarness.run(["analyze", input.path, "--out", out] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty)
        }
        let missing = try CLIHarness.run(["analyze", root.appendingPathComponent("nope").path, "--out", out])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("nope"), missing.stderr)
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let none = try CLIHarness.run(["analyze", empty.path, "--out", out])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("no DICOM files"), none.stderr)
        XCTAssertEqual(try CLIHarness.run(["summarize", root.appendingPathComponent("nope").path, "--out", out]).status, 2)
    }
}
