import XCTest
import AngioReport
@testable import AngioPipeline

final class BatchDriverTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try BatchTestSupport.temporaryDirectory("batch")
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    /// in/ holds good runs in nested folders, a failing run, a file without extension, text,
    /// a hidden folder, a DICOMDIR and a name collision (x.dcm / x.DCM).
    func makeInputTree() throws -> URL {
        let input = root.appendingPathComponent("in")
        for index in 0..<6 {
            try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("study\(index % 2)/series/run\(index).dcm"), payload: "good \(index)")
        }
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("study0/bad.dcm"), payload: "BAD")
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("IM000001"), payload: "no extension")
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("DICOMDIR"), payload: "directory")
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent(".git/objects/x.dcm"), payload: "hidden")
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("case/x.dcm"), payload: "lower")
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("case/x.DCM"), payload: "upper")
        try BatchTestSupport.write(input.appendingPathComponent("notes.txt"), text: "not dicom")
        try BatchTestSupport.write(input.appendingPathComponent("study1/image.png"), text: "\u{89}PNG fake")
        return input
    }

    func run(_ input: URL, out: String, jobs: Int, resume: Bool = false, shard: ShardSelector? = nil,
             counter: BatchTestSupport.CallCounter? = nil) throws -> BatchRunSummary {
        let options = BatchOptions(outputDirectory: root.appendingPathComponent(out).path, jobs: jobs, resume: resume,
                                   shard: shard, showProgress: false)
        return try BatchRunner(options: options, analyzer: BatchTestSupport.stubAnalyzer(counter: counter)).run(paths: [input.path])
    }

    func testDiscoveryMirrorsTreeByContentAndKeepsCollidingNamesApart() throws {
        let input = try makeInputTree()
        // An output folder inside the input tree is never walked.
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("out/old.dcm"), payload: "old output")
        let found = try InputDiscovery.discover([input.path], excluding: input.appendingPathComponent("out").path)
        XCTAssertEqual(found.inputs.map(\.relativePath), [
            "IM000001", "case/x.DCM", "case/x.dcm", "study0/bad.dcm", "study0/series/run0.dcm", "study0/series/run2.dcm",
            "study0/series/run4.dcm", "study1/series/run1.dcm", "study1/series/run3.dcm", "study1/series/run5.dcm",
        ])
        XCTAssertEqual(found.inputs.first { $0.relativePath == "study0/bad.dcm" }?.outputStem, "study0/bad")
        XCTAssertEqual(found.inputs.first { $0.relativePath == "IM000001" }?.outputStem, "IM000001")
        XCTAssertEqual(found.inputs.first { $0.relativePath == "case/x.dcm" }?.outputStem, "case/x.dcm", "collision keeps the extension")
        XCTAssertEqual(Set(found.skippedNonDICOM.map { ($0 as NSString).lastPathComponent }), ["notes.txt", "image.png"])
        XCTAssertEqual(found.dicomdirs.count, 1)
        // A single file maps to its own name; a missing path is a usage error.
        let single = try InputDiscovery.discover([input.appendingPathComponent("study0/bad.dcm").path])
        XCTAssertEqual(single.inputs.map(\.outputStem), ["bad"])
        XCTAssertThrowsError(try InputDiscovery.discover([root.appendingPathComponent("missing").path])) { error in
            XCTAssertEqual((error as? BatchError)?.code, .inputNotFound)
        }
        // Two roots: prefixed by their folder names.
        let two = try InputDiscovery.discover([input.appendingPathComponent("study0").path, input.appendingPathComponent("study1").path])
        XCTAssertTrue(two.inputs.allSatisfy { $0.relativePath.hasPrefix("study0/") || $0.relativePath.hasPrefix("study1/") })
    }

    func testOutputsPerInputErrorsRecordedAndIdenticalForAnyJobCount() throws {
        let input = try makeInputTree()
        let one = try run(input, out: "out1", jobs: 1)
        let three = try run(input, out: "out3", jobs: 3)
        XCTAssertEqual(one.items.count, 10)
        XCTAssertEqual(one.failedCount, 1)
        XCTAssertEqual(one.skippedNonDICOM.count, 2)
        XCTAssertEqual(three.jobs, 3)
        let out1 = root.appendingPathComponent("out1"), out3 = root.appendingPathComponent("out3")
        for stem in ["study0/series/run0", "study1/series/run5", "IM000001", "case/x.dcm", "case/x.DCM"] {
            for suffix in [".json", ".png", ".thumb.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out1.appendingPathComponent(stem + suffix).path), stem + suffix)
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out1.appendingPathComponent("study0/bad.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out1.appendingPathComponent("study0/bad.png").path), "no image for a failure")
        let bad = try XCTUnwrap(ResultReader.record(atPath: out1.appendingPathComponent("study0/bad.json").path))
        XCTAssertEqual(bad.status, "error")
        XCTAssertEqual(bad.error?.code, "malformed")

        let json1 = try BatchTestSupport.snapshot(out1, suffix: ".json"), json3 = try BatchTestSupport.snapshot(out3, suffix: ".json")
        XCTAssertEqual(json1.count, 10)
        XCTAssertEqual(json1, json3, "JSON is byte-identical whatever --jobs")
        let csv1 = try String(contentsOf: out1.appendingPathComponent("summary.csv"), encoding: .utf8)
        XCTAssertEqual(csv1, try String(contentsOf: out3.appendingPathComponent("summary.csv"), encoding: .utf8))
        let records = try XCTUnwrap(CSVWriter.parse(csv1))
        XCTAssertEqual(records.count, 11)
        XCTAssertEqual(records.dropFirst().map { $0[0] }, one.items.map(\.input.relativePath), "rows sorted by path")
        let badRow = try XCTUnwrap(records.first { $0[0] == "study0/bad.dcm" })
        XCTAssertEqual(badRow[1], "error")
        XCTAssertEqual(badRow[2], "malformed")
        let html = try String(contentsOf: out1.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("src=\"study0/series/run0.thumb.png\""))
        XCTAssertTrue(html.contains("href=\"study0/series/run0.png\""))
    }

    func testNoPHIUnlessAsked() throws {
        let input = try makeInputTree()
        _ = try run(input, out: "plain", jobs: 2)
        for (name, data) in try BatchTestSupport.snapshot(root.appendingPathComponent("plain"), suffix: "") where !name.hasSuffix(".png") {
            let text = String(decoding: data, as: UTF8.self)
            XCTAssertFalse(text.contains("Doe^Jane") || text.contains("P123") || text.contains("19700101"), "PHI in \(name)")
        }
        var options = BatchOptions(outputDirectory: root.appendingPathComponent("phi").path, jobs: 2, showProgress: false)
        options.analysis.includePHI = true
        _ = try BatchRunner(options: options, analyzer: BatchTestSupport.stubAnalyzer()).run(paths: [input.path])
        let withPHI = try String(contentsOf: root.appendingPathComponent("phi/IM000001.json"), encoding: .utf8)
        XCTAssertTrue(withPHI.contains("Doe^Jane"))
    }

    func testShardsPartitionTheInputsAndMergeToTheUnshardedSummary() throws {
        let input = try makeInputTree()
        let full = try run(input, out: "full", jobs: 2)
        var union: [String] = []
        var shardFolders: [String] = []
        for k in 1...3 {
            let part = try run(input, out: "shard\(k)", jobs: 2, shard: try ShardSelector(index: k, count: 3))
            union += part.items.map(\.input.relativePath)
            XCTAssertEqual(part.items.count + part.otherShards, full.items.count)
            shardFolders.append(root.appendingPathComponent("shard\(k)").path)
        }
        XCTAssertEqual(union.sorted(), full.items.map(\.input.relativePath).sorted(), "every input in exactly one shard")
        XCTAssertEqual(Set(union).count, union.count)
        let merged = root.appendingPathComponent("merged")
        let result = try Summarizer.merge(shardFolders, into: merged.path)
        XCTAssertTrue(result.unreadable.isEmpty, "\(result.unreadable)")
        XCTAssertEqual(try String(contentsOf: merged.appendingPathComponent("summary.csv"), encoding: .utf8),
                       try String(contentsOf: root.appendingPathComponent("full/summary.csv"), encoding: .utf8))
        let html = try String(contentsOf: merged.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("src=\"../shard"), "merged index links into the shard folders")
        // Summarising the unsharded folder into itself reproduces its own summary.
        let before = try Data(contentsOf: root.appendingPathComponent("full/summary.csv"))
        _ = try Summarizer.merge([root.appendingPathComponent("full").path], into: root.appendingPathComponent("full").path)
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("full/summary.csv")), before)
    }

    func testShardSelectorIsStableAndValidated() throws {
        XCTAssertEqual(FNV1a64.hash(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a64.hash("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a64.hash("foobar"), 0x8594_4171_f739_67e8)
        XCTAssertEqual(try ShardSelector.parse("2/5"), try ShardSelector(index: 2, count: 5))
        for bad in ["0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "-1/3"] {
            XCTAssertThrowsError(try ShardSelector.parse(bad), bad)
        }
        let shard = try ShardSelector.parse("1/1")
        XCTAssertTrue(shard.contains(relativePath: "anything"))
    }

    func testResumeSkipsCompleteOutputsAndRedoesStaleOnes() throws {
        let input = try makeInputTree()
        let first = BatchTestSupport.CallCounter()
        _ = try run(input, out: "out", jobs: 2, counter: first)
        XCTAssertEqual(first.calls.count, 10)
        let out = root.appendingPathComponent("out")
        let before = try BatchTestSupport.snapshot(out, suffix: ".json")

        let second = BatchTestSupport.CallCounter()
        let resumed = try run(input, out: "out", jobs: 2, resume: true, counter: second)
        XCTAssertEqual(second.calls, [], "a failure of the file itself (malformed) is final for the same file and options")
        XCTAssertEqual(resumed.resumedCount, 10)
        XCTAssertEqual(resumed.failedCount, 1, "resumed failures still count as failures")
        XCTAssertEqual(try BatchTestSupport.snapshot(out, suffix: ".json"), before)

        // A changed input, a hand-edited JSON and a missing completion record are redone;
        // a leftover temporary is swept.
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("study0/series/run0.dcm"), payload: "good 0 but changed")
        try Data("{}".utf8).write(to: out.appendingPathComponent("study1/series/run1.json"))
        try FileManager.default.removeItem(at: out.appendingPathComponent(".angio-state/IM000001.done"))
        try Data("partial".utf8).write(to: out.appendingPathComponent("study1/.run3.json\(AtomicFile.temporaryMarker)99-x"))
        let third = BatchTestSupport.CallCounter()
        let again = try run(input, out: "out", jobs: 2, resume: true, counter: third)
        XCTAssertEqual(third.calls.map { ($0 as NSString).lastPathComponent }.sorted(), ["IM000001", "run0.dcm", "run1.dcm"])
        XCTAssertEqual(again.temporariesRemoved, 1)
        XCTAssertNotNil(ResultReader.record(atPath: out.appendingPathComponent("study1/series/run1.json").path))

        // Different options invalidate every completion record.
        var options = BatchOptions(outputDirectory: out.path, jobs: 2, resume: true, showProgress: false)
        options.analysis.maxLesions = 2
        let fourth = BatchTestSupport.CallCounter()
        _ = try BatchRunner(options: options, analyzer: BatchTestSupport.stubAnalyzer(counter: fourth)).run(paths: [input.path])
        XCTAssertEqual(fourth.calls.count, 10)
    }

    func testAtomicWriteLeavesNoTemporaryAndReportsUnwritableFolder() throws {
        let target = root.appendingPathComponent("a/b/c.json").path
        try AtomicFile.write("hello", to: target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "hello")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("a/b").path), ["c.json"])
        let blocker = root.appendingPathComponent("file")
        try Data().write(to: blocker)
        XCTAssertThrowsError(try AtomicFile.write("x", to: blocker.appendingPathComponent("inside.json").path)) { error in
            XCTAssertEqual((error as? BatchError)?.code, .writeFailed)
            XCTAssertTrue("\(error)".contains("inside.json"))
        }
    }

    func testRelativeLinks() {
        XCTAssertEqual(Summarizer.relativeLink(from: "/a/b/merged", to: "/a/b/shard1"), "../shard1/")
        XCTAssertEqual(Summarizer.relativeLink(from: "/a/b", to: "/a/b"), "")
        XCTAssertEqual(Summarizer.relativeLink(from: "/x", to: "/a/b"), "../a/b/")
    }
}
