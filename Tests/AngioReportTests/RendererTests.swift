import XCTest
import VesselCore
@testable import AngioReport

final class AnnotatedImageRendererTests: XCTestCase {
    func testLayoutEnlargesSmallFramesAndAddsPanels() {
        let renderer = AnnotatedImageRenderer()
        let layout = renderer.layout(for: ReportFixtures.scene(size: 128))
        XCTAssertEqual(layout.factor, 4, "a 128 px frame is shown 4x so labels fit")
        XCTAssertEqual(layout.imageSize.width, 512)
        XCTAssertGreaterThan(layout.headerHeight, 0)
        XCTAssertNotNil(layout.plotRect, "a lesion with a profile gets a plot")
        XCTAssertEqual(layout.canvasHeight, layout.headerHeight + layout.imageSize.height + layout.panelHeight)
        let big = renderer.layout(for: ReportFixtures.scene(size: 600))
        XCTAssertEqual(big.factor, 1)
    }

    func testRenderedImageCarriesTheAnnotations() throws {
        let scene = ReportFixtures.scene()
        let renderer = AnnotatedImageRenderer()
        let layout = renderer.layout(for: scene)
        let canvas = renderer.render(scene)
        XCTAssertEqual(canvas.width, layout.canvasWidth)
        XCTAssertEqual(canvas.height, layout.canvasHeight)
        // The MLD tick is drawn in the lesion colour across the vessel at x = 128 (canvas x = 2*128+0.5).
        let mldX = Int((128.0 * 2 + 0.5).rounded())
        let imageTop = layout.imageOrigin.y
        let tickPixels = ReportFixtures.count(.lesion, in: canvas, x: (mldX - 1)..<(mldX + 2),
                                              y: (imageTop + 240)..<(imageTop + 272))
        XCTAssertGreaterThan(tickPixels, 10, "MLD tick across the vessel")
        // Header text is white on the panel colour in the first rows.
        XCTAssertGreaterThan(ReportFixtures.count(.white, in: canvas, x: 0..<canvas.width, y: 0..<layout.headerHeight), 100)
        // Scale bar: a solid white bar in the bottom-left of the image.
        let bottom = imageTop + layout.imageSize.height
        XCTAssertGreaterThan(ReportFixtures.count(.white, in: canvas, x: 0..<200, y: (bottom - 40)..<bottom), 60)
        // Plot: the measured diameter curve is drawn in the edge colour inside the plot rectangle.
        let plot = try XCTUnwrap(layout.plotRect)
        XCTAssertGreaterThan(ReportFixtures.count(.vesselEdge, in: canvas, x: plot.x..<(plot.x + plot.width),
                                                  y: plot.y..<(plot.y + plot.height)), 100)
    }

    func testUncalibratedSceneHasNoScaleBarAndSaysSo() {
        let calibrated = AnnotatedImageRenderer().render(ReportFixtures.scene(mmPerPixel: 0.2))
        let uncalibrated = AnnotatedImageRenderer().render(ReportFixtures.scene(mmPerPixel: nil))
        XCTAssertNotEqual(calibrated, uncalibrated)
        XCTAssertEqual(AnnotatedImageRenderer.formatLength(5, mmPerPixel: nil), "5.0 px")
        XCTAssertEqual(AnnotatedImageRenderer.formatLength(5, mmPerPixel: 0.2), "1.00 mm")
    }

    func testRenderIsDeterministicAndSurvivesDegenerateScenes() {
        XCTAssertEqual(AnnotatedImageRenderer().render(ReportFixtures.scene()), AnnotatedImageRenderer().render(ReportFixtures.scene()))
        // Out-of-range indices, NaN geometry and an empty frame must not crash.
        var scene = ReportFixtures.scene()
        scene.lesions.append(LesionOverlay(rank: 3, vesselIndex: 9, percentDiameterStenosis: .nan, minimalLumenDiameterPx: .nan,
                                           referenceDiameterPx: .infinity, lengthPx: nil, startIndex: -4, endIndex: 10_000, mldIndex: 99_999))
        scene.vessels[0].leftEdge[3] = Point2D(x: .nan, y: .nan)
        _ = AnnotatedImageRenderer().render(scene)
        let empty = ReportScene(frame: GrayImage(width: 0, height: 0), title: "")
        let canvas = AnnotatedImageRenderer().render(empty)
        XCTAssertGreaterThan(canvas.width, 0)
    }

    func testWritesAReadablePNGAndThumbnail() throws {
        let directory = ReportFixtures.artifactDirectory()
        for (name, scene) in [("annotated-256.png", ReportFixtures.scene()),
                              ("annotated-128-uncal.png", ReportFixtures.scene(mmPerPixel: nil, size: 128, title: "a/very/long/path/to/some_exported_study/run_with_a_long_name_0001.dcm"))] {
            let canvas = AnnotatedImageRenderer().render(scene)
            let path = directory.appendingPathComponent(name).path
            try PNGFile.writeRGB8(path: path, width: canvas.width, height: canvas.height, pixels: canvas.pixels)
            let back = try PNGFile.read(path: path)
            XCTAssertEqual(back.width, canvas.width)
            XCTAssertEqual(back.channels, 3)
            XCTAssertEqual(back.samples.map { UInt8($0) }, canvas.pixels, "PNG round trip is lossless")
            let renderer = AnnotatedImageRenderer()
            let thumbnail = renderer.thumbnail(of: canvas, layout: renderer.layout(for: scene))
            XCTAssertEqual(thumbnail.width, 160, "the frame alone, square")
            XCTAssertEqual(thumbnail.height, 160)
            try PNGFile.writeRGB8(path: directory.appendingPathComponent("thumb-" + name).path,
                                  width: thumbnail.width, height: thumbnail.height, pixels: thumbnail.pixels)
        }
    }
}
