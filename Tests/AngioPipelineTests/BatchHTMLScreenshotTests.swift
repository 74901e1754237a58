import XCTest
import AngioReport
@testable import AngioPipeline

/// Renders a batch report's index.html in headless Chromium (scripts/screenshot-report.sh) and
/// checks the screenshot: not blank, the table (header band and row rules) and the thumbnail
/// column are there. Skips when chromium is not installed.
final class BatchHTMLScreenshotTests: XCTestCase {
    func testIndexPageRendersTableAndThumbnails() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = packageRoot.appendingPathComponent("scripts/screenshot-report.sh")
        let hasChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].contains {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard hasChromium else { throw XCTSkip("chromium not installed (apt-get install -y chromium)") }

        // Kept in the temporary folder after the run so a human can look at the screenshot.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("angio-html-screenshot")
        try? FileManager.default.removeItem(at: root)
        let input = root.appendingPathComponent("in")
        for index in 0..<7 {
            try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("patient\(index % 3)/run_\(index).dcm"), payload: "good \(index)")
        }
        try BatchTestSupport.writeFakeDICOM(input.appendingPathComponent("patient0/broken <b>&.dcm"), payload: "BAD")
        let out = root.appendingPathComponent("report")
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: out.path, jobs: 2, showProgress: false),
                                      analyzer: BatchTestSupport.stubAnalyzer()).run(paths: [input.path])
        XCTAssertEqual(summary.items.count, 8)

        let shot = root.appendingPathComponent("index-screenshot.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, out.appendingPathComponent("index.html").path, shot.path, "1400x1000"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "screenshot script failed")
        let image = try PNGFile.read(path: shot.path)
        XCTAssertEqual(image.width, 1400)
        XCTAssertEqual(image.height, 1000)
        let channels = image.channels
        func pixel(_ x: Int, _ y: Int) -> (Int, Int, Int) {
            let offset = (y * image.width + x) * channels
            return (Int(image.samples[offset]), Int(image.samples[offset + 1]), Int(image.samples[offset + 2]))
        }
        // Not blank: many distinct colours.
        var colours = Set<Int>()
        for y in stride(from: 0, to: image.height, by: 3) {
            for x in stride(from: 0, to: image.width, by: 3) {
                let (r, g, b) = pixel(x, y)
                colours.insert(r << 16 | g << 8 | b)
            }
        }
        XCTAssertGreaterThan(colours.count, 100, "screenshot looks blank")
        // Table header band: rows dominated by the header colour #eef1f5.
        var headerRows = 0
        for y in 0..<image.height {
            var count = 0
            for x in stride(from: 0, to: image.width, by: 2) where pixel(x, y) == (238, 241, 245) { count += 1 }
            if count > image.width / 4 { headerRows += 1 }
        }
        XCTAssertGreaterThan(headerRows, 10, "no table header band")
        // Row rules: full-width lines in the border colour #d9dce1, one per table row.
        var ruleRows = 0
        for y in 0..<image.height {
            var count = 0
            for x in stride(from: 0, to: image.width, by: 2) where pixel(x, y) == (217, 220, 225) { count += 1 }
            if count > image.width / 3 { ruleRows += 1 }
        }
        XCTAssertGreaterThanOrEqual(ruleRows, 6, "table rows missing")
        // Thumbnails: the first column shows the annotation colours (yellow edges, vermillion
        // lesion markers); the page itself has no saturated colour there.
        var colourful = 0
        for y in 0..<image.height {
            for x in 0..<220 {
                let (r, g, b) = pixel(x, y)
                if max(r, g, b) - min(r, g, b) > 80 { colourful += 1 }
            }
        }
        XCTAssertGreaterThan(colourful, 500, "no thumbnails in the first column")
        var colourfulElsewhere = 0
        for y in 0..<image.height {
            for x in 600..<820 {
                let (r, g, b) = pixel(x, y)
                if max(r, g, b) - min(r, g, b) > 80 { colourfulElsewhere += 1 }
            }
        }
        XCTAssertLessThan(colourfulElsewhere, colourful / 4, "colour concentrated in the thumbnail column")
    }
}
