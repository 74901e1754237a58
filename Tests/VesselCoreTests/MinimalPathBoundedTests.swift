import XCTest
@testable import VesselCore

/// `MinimalPath.find(cost:from:to:margin:)`: the search restricted to the box of the two points
/// widened by `margin` px.
final class MinimalPathBoundedTests: XCTestCase {
    static let background: Float = 10_000
    static let vessel: Float = 1

    /// Cost image with cheap pixels on the given (x, y) cells.
    static func costImage(width: Int, height: Int, cheap: [(Int, Int)]) -> GrayImage {
        var image = GrayImage(width: width, height: height, fill: background)
        for (x, y) in cheap { image[x: x, y: y] = vessel }
        return image
    }

    /// A route that stays near the straight line is the same as the unbounded one (coordinates
    /// shifted back exactly up to rounding).
    func testRouteInsideTheBoxEqualsUnboundedRoute() throws {
        var cheap: [(Int, Int)] = []
        for x in 10..<190 { cheap.append((x, 100 + Int((6 * sin(Double(x) / 15)).rounded()))) }
        let cost = Self.costImage(width: 200, height: 200, cheap: cheap)
        let from = Point2D(x: 40, y: 100 + (6 * sin(40.0 / 15)).rounded())
        let to = Point2D(x: 90, y: 100 + (6 * sin(90.0 / 15)).rounded())
        let unbounded = try XCTUnwrap(MinimalPath.find(cost: cost, from: from, to: to))
        let bounded = try XCTUnwrap(MinimalPath.find(cost: cost, from: from, to: to, margin: 20))
        XCTAssertEqual(unbounded.count, bounded.count)
        for (a, b) in zip(unbounded, bounded) {
            XCTAssertEqual(a.x, b.x, accuracy: 1e-9)
            XCTAssertEqual(a.y, b.y, accuracy: 1e-9)
        }
        // A margin covering the whole image is the unbounded search itself.
        let whole = try XCTUnwrap(MinimalPath.find(cost: cost, from: from, to: to, margin: 1_000))
        XCTAssertEqual(whole, unbounded)
    }

    /// Two points 30 px apart joined only by a cheap U 80 px deep: the unbounded search runs
    /// around the U, the bounded one stays in its box and crosses the background.
    func testDetourOutsideTheBoxIsNotTaken() throws {
        var cheap: [(Int, Int)] = []
        for y in 20...100 { cheap.append((50, y)); cheap.append((80, y)) }
        for x in 50...80 { cheap.append((x, 20)) }
        let cost = Self.costImage(width: 160, height: 160, cheap: cheap)
        let from = Point2D(x: 50, y: 100), to = Point2D(x: 80, y: 100)
        let unbounded = try XCTUnwrap(MinimalPath.find(cost: cost, from: from, to: to))
        XCTAssertLessThan(unbounded.map(\.y).min() ?? 100, 30, "the unbounded route runs around the U")
        let margin = 10
        let bounded = try XCTUnwrap(MinimalPath.find(cost: cost, from: from, to: to, margin: margin))
        for p in bounded {
            XCTAssertGreaterThanOrEqual(p.y, 100 - Double(margin) - 1e-9)
            XCTAssertLessThanOrEqual(p.y, 100 + Double(margin) + 1e-9)
            XCTAssertGreaterThanOrEqual(p.x, 50 - Double(margin) - 1e-9)
            XCTAssertLessThanOrEqual(p.x, 80 + Double(margin) + 1e-9)
        }
        XCTAssertEqual(bounded.first?.x ?? -1, 50, accuracy: 1e-9)
        XCTAssertEqual(bounded.last?.x ?? -1, 80, accuracy: 1e-9)
    }

    /// Points outside the image or not finite give nil, as in the unbounded search; a box
    /// touching the border is clipped.
    func testInvalidPointsAndBorders() {
        let cost = Self.costImage(width: 50, height: 40, cheap: (0..<50).map { ($0, 0) })
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: -10, y: 0), to: Point2D(x: 20, y: 0), margin: 5))
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: .nan, y: 0), to: Point2D(x: 20, y: 0), margin: 5))
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: 1e300, y: 0), to: Point2D(x: 20, y: 0), margin: 5))
        let route = MinimalPath.find(cost: cost, from: Point2D(x: 2, y: 0), to: Point2D(x: 45, y: 0), margin: 5)
        XCTAssertEqual(route?.first?.x ?? -1, 2, accuracy: 1e-9)
        XCTAssertEqual(route?.last?.x ?? -1, 45, accuracy: 1e-9)
        XCTAssertTrue(route?.allSatisfy { abs($0.y) < 1e-9 } ?? false)
    }
}
