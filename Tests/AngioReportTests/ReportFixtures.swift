import Foundation
import VesselCore
@testable import AngioReport

/// Hand-built report geometry: a horizontal vessel along y = 128 of a 256x256 frame whose
/// diameter narrows from 12 px to 5 px around x = 128 (a Gaussian-shaped stenosis).
enum ReportFixtures {
    static let referenceDiameter = 12.0
    static let minimalDiameter = 5.0

    static func diameter(atX x: Double, centre: Double = 128) -> Double {
        referenceDiameter - (referenceDiameter - minimalDiameter) * exp(-pow((x - centre) / 12, 2))
    }

    static func scene(mmPerPixel: Double? = 0.2, size: Int = 256, title: String = "run_01.dcm") -> ReportScene {
        var frame = GrayImage(width: size, height: size, fill: 200)
        var mask = BinaryMask(width: size, height: size)
        let centreY = Double(size) / 2
        for y in 0..<size {
            for x in 0..<size {
                let d = diameter(atX: Double(x), centre: centreY)
                if abs(Double(y) - centreY) <= d / 2 {
                    frame[x: x, y: y] = 60
                    mask[x: x, y: y] = true
                }
            }
        }
        let xs = Array(stride(from: 20.0, through: Double(size) - 20, by: 1))
        let centerline = xs.map { Point2D(x: $0, y: centreY) }
        let diameters = xs.map { diameter(atX: $0, centre: centreY) }
        let vessel = VesselOverlay(
            centerline: centerline,
            leftEdge: zip(xs, diameters).map { Point2D(x: $0, y: centreY - $1 / 2) },
            rightEdge: zip(xs, diameters).map { Point2D(x: $0, y: centreY + $1 / 2) },
            arcLength: xs.map { $0 - 20 },
            diameter: diameters,
            reference: xs.map { _ in referenceDiameter })
        let mldIndex = xs.firstIndex(of: centreY) ?? 0
        let lesion = LesionOverlay(rank: 1, vesselIndex: 0,
                                   percentDiameterStenosis: 100 * (1 - minimalDiameter / referenceDiameter),
                                   minimalLumenDiameterPx: minimalDiameter, referenceDiameterPx: referenceDiameter,
                                   lengthPx: 40, startIndex: mldIndex - 20, endIndex: mldIndex + 20, mldIndex: mldIndex)
        let second = LesionOverlay(rank: 2, vesselIndex: 0, percentDiameterStenosis: 12, minimalLumenDiameterPx: 10.5,
                                   referenceDiameterPx: 12, lengthPx: 10, startIndex: 10, endIndex: 20, mldIndex: 15)
        return ReportScene(frame: frame, vesselMask: mask, centerlines: [centerline], vessels: [vessel],
                           lesions: [lesion, second], mmPerPixel: mmPerPixel, title: title, frameIndex: 7, frameCount: 30,
                           calibrationSource: mmPerPixel == nil ? nil : "imagerPixelSpacing")
    }

    /// Counts canvas pixels of exactly `color` in a rectangle.
    static func count(_ color: RGBColor, in canvas: RGBCanvas, x: Range<Int>, y: Range<Int>) -> Int {
        var total = 0
        for row in y where row >= 0 && row < canvas.height {
            for column in x where column >= 0 && column < canvas.width && canvas[column, row] == color { total += 1 }
        }
        return total
    }

    /// Where test artifacts go; kept after the run so a human can look at them.
    static func artifactDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("angio-report-tests")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
