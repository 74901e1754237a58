import XCTest
import VesselCore
@testable import QCA

/// Contact zones (`VesselAnalyzer.markingContacts`): where another path's lumen touches a
/// path's own and the skeleton made no junction there (a crossing vessel whose skeleton stops
/// at the other's wall, study seed 17), the profiles hold the other vessel and must be
/// treated like a junction zone; away from it, and for a path ending clear of the vessel,
/// nothing changes. A branch joined to its parent at a skeleton junction leaves the parent
/// to that junction's zone, but is itself zoned where it runs beside the parent.
final class ContactZoneTests: XCTestCase {
    /// A straight tube of `radius` px from `start` to `end` (rounded ends); `contrast` scales
    /// its attenuation.
    struct Tube {
        var start: Point2D, end: Point2D, radius: Double, contrast = 1.0
        init(start: Point2D, end: Point2D, radius: Double, contrast: Double = 1) {
            self.start = start; self.end = end; self.radius = radius; self.contrast = contrast
        }
    }

    /// Chord (px) through `tube` along the beam at (x, y).
    static func chord(_ tube: Tube, x: Double, y: Double) -> Double {
        let dx = tube.end.x - tube.start.x, dy = tube.end.y - tube.start.y
        let length2 = dx * dx + dy * dy
        let t = min(max(((x - tube.start.x) * dx + (y - tube.start.y) * dy) / length2, 0), 1)
        let u = hypot(x - tube.start.x - t * dx, y - tube.start.y - t * dy)
        return u < tube.radius ? 2 * (tube.radius * tube.radius - u * u).squareRoot() : 0
    }

    /// 200 x 120 image of the tubes (the chords of crossing tubes add), attenuation 0.04 per
    /// px of chord, 4 x 4 supersampling, PSF sigma 1 px, relative noise 0.5 %.
    static func image(_ tubes: [Tube]) -> GrayImage {
        let width = 200, height = 120
        var clean = GrayImage(width: width, height: height, fill: 0)
        for y in 0..<height {
            for x in 0..<width {
                var transmission = 0.0
                for sy in 0..<4 {
                    for sx in 0..<4 {
                        let px = Double(x) + (Double(sx) + 0.5) / 4 - 0.5, py = Double(y) + (Double(sy) + 0.5) / 4 - 0.5
                        transmission += exp(-0.04 * tubes.reduce(0.0) { $0 + $1.contrast * chord($1, x: px, y: py) }) / 16
                    }
                }
                clean[x: x, y: y] = Float(2000 * transmission)
            }
        }
        let blurred = GaussianBlur.blur(clean, sigma: 1, threads: 1)
        var generator = SplitMix(seed: 3)
        return GrayImage(width: width, height: height,
                         pixels: blurred.pixels.map { Float(Double($0) * (1 + 0.005 * generator.gaussian())) })
    }

    static let main = Tube(start: Point2D(x: -10, y: 60), end: Point2D(x: 210, y: 60), radius: 5)
    static let mainPath = VesselPath(id: 0, points: (0...199).map { Point2D(x: Double($0), y: 60) },
                                     startKind: .endpoint, endKind: .endpoint)

    static func line(from a: Point2D, to b: Point2D) -> [Point2D] {
        let count = Int(hypot(b.x - a.x, b.y - a.y).rounded())
        return (0...count).map { k in
            let t = Double(k) / Double(count)
            return Point2D(x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y))
        }
    }

    /// Whether the measurement of path `id` is in a junction zone at the sample nearest `point`.
    func zone(_ measurements: [VesselMeasurement], id: Int, at point: Point2D) -> Bool? {
        guard let m = measurements.first(where: { $0.segmentId == id }), !m.centerline.isEmpty else { return nil }
        let i = m.profilePath.indices.min {
            hypot(m.profilePath[$0].x - point.x, m.profilePath[$0].y - point.y) < hypot(m.profilePath[$1].x - point.x, m.profilePath[$1].y - point.y)
        }!
        return m.junctionZone[i]
    }

    func measure(_ tubes: [Tube], _ paths: [VesselPath]) -> [VesselMeasurement] {
        let analyzer = VesselAnalyzer(image: Self.image(tubes), threads: 1)
        return analyzer.measure(analyzer.prepareVessels(paths)).measurements
    }

    /// A vertical vessel of radius 4 px from above the image down to y = `vesselEnd`, its
    /// path (skeleton) down to y = `pathEnd`: whether the main vessel is zoned where the
    /// vertical one meets it (x = 100) and far from it (x = 40).
    func verticalVessel(vesselEnd: Double, pathEnd: Double) -> (atIt: Bool?, away: Bool?) {
        let vertical = Tube(start: Point2D(x: 100, y: -10), end: Point2D(x: 100, y: vesselEnd), radius: 4)
        let path = VesselPath(id: 1, points: Self.line(from: Point2D(x: 100, y: 0), to: Point2D(x: 100, y: pathEnd)),
                              startKind: .endpoint, endKind: .endpoint)
        let measured = measure([Self.main, vertical], [Self.mainPath, path])
        return (zone(measured, id: 0, at: Point2D(x: 100, y: 60)), zone(measured, id: 0, at: Point2D(x: 40, y: 60)))
    }

    func testCrossingVesselStoppingAtTheWallMarksAZone() {
        // The vertical vessel reaches the main one; its path stops 9 px short of the main
        // centerline, about at the wall, and does not cross it.
        let touching = verticalVessel(vesselEnd: 60, pathEnd: 51)
        XCTAssertEqual(touching.atIt, true)
        XCTAssertEqual(touching.away, false)
    }

    func testVesselEndingClearOfTheOtherMarksNothing() {
        // The vertical vessel ends 30 px above the main one: no contact, no zone.
        let apart = verticalVessel(vesselEnd: 30, pathEnd: 30)
        XCTAssertEqual(apart.atIt, false)
        XCTAssertEqual(apart.away, false)
    }

    /// A branch leaving the main vessel at (50, 60) at 12 degrees: 60 px on it is still within
    /// contact distance of the main vessel (12.8 px between the centerlines), far beyond the
    /// junction zone. The main vessel is zoned only around the junction; the branch there is
    /// zoned by the contact.
    func testBranchAtAJunctionZonesOnlyItself() {
        let junction = Point2D(x: 50, y: 60)
        let angle = 12.0 * Double.pi / 180
        let tip = Point2D(x: junction.x + 150 * cos(angle), y: junction.y + 150 * sin(angle))
        let branch = Tube(start: junction, end: tip, radius: 4)
        var main = Self.mainPath
        main.interiorJunctions = [junction]
        let path = VesselPath(id: 1, points: Self.line(from: junction, to: tip), startKind: .junction, endKind: .endpoint)
        let measured = measure([Self.main, branch], [main, path])
        let along = Point2D(x: junction.x + 60 * cos(angle), y: junction.y + 60 * sin(angle))
        XCTAssertEqual(zone(measured, id: 0, at: junction), true)
        XCTAssertEqual(zone(measured, id: 0, at: Point2D(x: along.x, y: 60)), false)
        XCTAssertEqual(zone(measured, id: 1, at: along), true)
        XCTAssertEqual(zone(measured, id: 1, at: Point2D(x: junction.x + 140 * cos(angle), y: junction.y + 140 * sin(angle))), false)
    }

    /// A structure at a fifth of a vessel's contrast joined to the main vessel at a skeleton
    /// junction (study seed 5120: a background "branch" whose junction zone hid a 63 %
    /// lesion) makes no junction zone there; the same branch at full contrast does.
    func testFaintStructureMakesNoJunctionZone() {
        let junction = Point2D(x: 100, y: 60)
        let tip = Point2D(x: 100, y: 5)
        var main = Self.mainPath
        main.interiorJunctions = [junction]
        let path = VesselPath(id: 1, points: Self.line(from: junction, to: tip), startKind: .junction, endKind: .endpoint)
        for (contrast, zoned) in [(0.2, false), (1.0, true)] {
            let branch = Tube(start: junction, end: tip, radius: 4, contrast: contrast)
            let measured = measure([Self.main, branch], [main, path])
            XCTAssertEqual(zone(measured, id: 0, at: junction), zoned, "contrast \(contrast)")
            XCTAssertEqual(zone(measured, id: 0, at: Point2D(x: 40, y: 60)), false)
        }
    }
}
