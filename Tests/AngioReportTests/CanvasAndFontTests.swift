import XCTest
import VesselCore
@testable import AngioReport

final class BitmapFontTests: XCTestCase {
    func testEveryPrintableCharacterHasADistinctGlyph() {
        var seen: [[UInt8]: Character] = [:]
        for ascii in 33...126 {
            let character = Character(UnicodeScalar(UInt8(ascii)))
            let rows = BitmapFont.rows(for: character)
            XCTAssertEqual(rows.count, BitmapFont.glyphHeight)
            XCTAssertTrue(rows.contains { $0 != 0 }, "glyph for \(character) is blank")
            XCTAssertNotEqual(rows, BitmapFont.missingGlyph, "glyph for \(character) missing from the table")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "glyph for \(character) wider than 5 columns")
            if let other = seen[rows] { XCTFail("\(character) and \(other) share a glyph") }
            seen[rows] = character
        }
        XCTAssertEqual(BitmapFont.rows(for: " "), [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(BitmapFont.rows(for: "é"), BitmapFont.missingGlyph, "non-ASCII shows the hollow box")
    }

    func testTextIsDrawnPixelExactAtScale() {
        var canvas = RGBCanvas(width: 20, height: 20)
        let extent = canvas.drawText("1", x: 2, y: 3, scale: 2, color: .white)
        XCTAssertEqual(extent.width, 10)
        // Row 0 of "1" is ..#.. : column 2 -> canvas x 2+4...2+5, y 3...4.
        XCTAssertEqual(canvas[6, 3], .white)
        XCTAssertEqual(canvas[7, 4], .white)
        XCTAssertEqual(canvas[2, 3], .black)
        // Row 6 of "1" is .###. (the foot): canvas y 15...16, x 4...9.
        for x in 4..<10 { XCTAssertEqual(canvas[x, 15], .white, "x=\(x)") }
        XCTAssertEqual(canvas[3, 15], .black)
        XCTAssertEqual(BitmapFont.width(of: "abc", scale: 1), 17)
    }
}

final class RGBCanvasTests: XCTestCase {
    func testAlphaBlendingAndClipping() {
        var canvas = RGBCanvas(width: 4, height: 4, background: RGBColor(100, 100, 100))
        canvas.fillRect(x: -2, y: -2, width: 3, height: 3, color: RGBColor(200, 0, 50), alpha: 0.5)
        XCTAssertEqual(canvas[0, 0], RGBColor(150, 50, 75))
        XCTAssertEqual(canvas[1, 1], RGBColor(100, 100, 100), "outside the clipped rectangle")
        canvas.blend(x: 99, y: 0, color: .white, alpha: 1)  // off canvas: ignored, no crash
    }

    func testAntiAliasedLineCoversItsPixelsOnly() {
        var canvas = RGBCanvas(width: 30, height: 11)
        canvas.drawLine(from: Point2D(x: 2, y: 5), to: Point2D(x: 27, y: 5), color: .white, width: 1)
        for x in 2...27 { XCTAssertEqual(canvas[x, 5], .white, "x=\(x)") }
        XCTAssertEqual(canvas[15, 3], .black)
        XCTAssertEqual(canvas[15, 7], .black)
        XCTAssertEqual(canvas[0, 5], .black, "round cap reaches half a pixel only")
        // Diagonal: the pixel centres on the line are fully covered; a far pixel untouched.
        var diagonal = RGBCanvas(width: 12, height: 12)
        diagonal.drawLine(from: Point2D(x: 1, y: 1), to: Point2D(x: 10, y: 10), color: .white, width: 2)
        XCTAssertEqual(diagonal[5, 5], .white)
        XCTAssertEqual(diagonal[1, 10], .black)
        XCTAssertGreaterThan(diagonal[6, 5].r, 0, "neighbours get partial coverage")
    }

    func testDashesAlternate() {
        let segments = RGBCanvas.dashed([(Point2D(x: 0, y: 0), Point2D(x: 20, y: 0))], on: 4, off: 2)
        XCTAssertEqual(segments.count, 4)  // [0,4] [6,10] [12,16] [18,20]
        XCTAssertEqual(segments[1].0.x, 6, accuracy: 1e-9)
        XCTAssertEqual(segments[3].1.x, 20, accuracy: 1e-9)
    }

    func testCirclesAndPaste() {
        var canvas = RGBCanvas(width: 21, height: 21)
        canvas.fillCircle(center: Point2D(x: 10, y: 10), radius: 5, color: .white)
        XCTAssertEqual(canvas[10, 10], .white)
        XCTAssertEqual(canvas[10, 14], .white)
        XCTAssertEqual(canvas[10, 17], .black)
        var target = RGBCanvas(width: 10, height: 10, background: RGBColor(1, 2, 3))
        var source = RGBCanvas(width: 4, height: 4, background: RGBColor(9, 9, 9))
        source[0, 0] = .white
        target.paste(source, x: 8, y: -1)
        XCTAssertEqual(target[8, 0], RGBColor(9, 9, 9))
        XCTAssertEqual(target[7, 0], RGBColor(1, 2, 3))
    }

    func testThumbnailAveragesBlocks() {
        var canvas = RGBCanvas(width: 4, height: 2)
        canvas[0, 0] = .white; canvas[1, 1] = .white  // left 2x2 block: half white
        let thumbnail = canvas.thumbnail(maxSide: 2)
        XCTAssertEqual(thumbnail.width, 2)
        XCTAssertEqual(thumbnail.height, 1)
        XCTAssertEqual(thumbnail[0, 0], RGBColor(128, 128, 128))
        XCTAssertEqual(thumbnail[1, 0], .black)
    }

    func testDisplayWindowUsesRobustPercentiles() {
        var pixels = [Float](repeating: 100, count: 1000)
        for i in 0..<500 { pixels[i] = 50 }
        pixels[999] = 1e9  // one saturated pixel must not flatten the contrast
        let grey = DisplayWindow.gray8(GrayImage(width: 1000, height: 1, pixels: pixels))
        XCTAssertEqual(grey[0], 0)
        XCTAssertEqual(grey[600], 255)
        XCTAssertEqual(DisplayWindow.gray8(GrayImage(width: 2, height: 1, pixels: [.nan, 3]))[0], 0)
    }
}

final class CSVAndHTMLTests: XCTestCase {
    func testRFC4180Quoting() {
        XCTAssertEqual(CSVWriter.escape("plain"), "plain")
        XCTAssertEqual(CSVWriter.escape("a,b"), "\"a,b\"")
        XCTAssertEqual(CSVWriter.escape("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(CSVWriter.escape("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(CSVWriter.record(["x", "", "y"]), "x,,y\r\n")
        let fields = ["a,b", "q\"uote", "new\r\nline", " lead", ""]
        XCTAssertEqual(CSVWriter.parse(CSVWriter.record(fields)), [fields])
        XCTAssertNil(CSVWriter.parse("\"open"))
    }

    func testSummaryCSVIsSortedAndFixedPrecision() {
        var b = SummaryRow(relativePath: "b/run.dcm", status: "ok")
        b.percentDiameterStenosis = 52.34567
        b.mldMM = 1.23456
        b.mmPerPixel = 0.2
        var a = SummaryRow(relativePath: "a,1.dcm", status: "error")
        a.errorCode = "truncated"
        a.errorMessage = "a,1.dcm: file ends\nearly"
        a.mldMM = -0.0001
        let text = SummaryTable.csv([b, a])
        let records = CSVWriter.parse(text) ?? []
        XCTAssertEqual(records.count, 3)
        XCTAssertEqual(records[0], SummaryTable.header)
        XCTAssertEqual(records[1][0], "a,1.dcm", "sorted by path")
        XCTAssertEqual(records[1][3], "a,1.dcm: file ends early", "messages are one line")
        XCTAssertEqual(records[1][10], "0.000", "no negative zero")
        XCTAssertEqual(records[2][7], "52.3")
        XCTAssertEqual(records[2][10], "1.235")
        XCTAssertEqual(records[2][15], "0.20000")
        XCTAssertEqual(text, SummaryTable.csv([a, b]), "order of input rows does not matter")
    }

    func testHTMLEscapesNamesAndIsSelfContained() {
        var evil = SummaryRow(relativePath: "x/<script>alert('1')</script> & \"q\".dcm", status: "ok")
        evil.pngLink = "x/<script>alert('1')</script> & \"q\".png"
        evil.thumbnailLink = "x/<script>alert('1')</script> & \"q\".thumb.png"
        evil.jsonLink = "x/a b#c?.json"
        evil.percentDiameterStenosis = 40
        let html = HTMLIndex.document(rows: [evil, SummaryRow(relativePath: "ok.dcm", status: "error")])
        XCTAssertFalse(html.contains("<script>alert"), "file names cannot inject markup")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;1&#39;)"))
        XCTAssertTrue(html.contains("href=\"x/a%20b%23c%3F.json\""), "links are percent-encoded per segment")
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains("src=\"//"), "no external resources")
        XCTAssertEqual(html.components(separatedBy: "class=\"sortable\"").count - 1, 12)
        XCTAssertEqual(html.components(separatedBy: "<tr class=").count - 1, 2)
        XCTAssertTrue(html.contains("<script>\n(function ()"), "inline sorting script")
    }
}
