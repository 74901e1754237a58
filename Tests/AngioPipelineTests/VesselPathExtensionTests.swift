import XCTest
import VesselCore
@testable import AngioPipeline

/// Look-ahead beyond a free vessel end (`VesselPathBuilder.extend`): it follows a vessel that
/// continues ahead, and refuses a route that crosses over to another vessel and runs along it.
final class VesselPathExtensionTests: XCTestCase {
    static func costImage(width: Int, height: Int, cheap: [(Int, Int)]) -> GrayImage {
        var image = GrayImage(width: width, height: height, fill: 10_000)
        for (x, y) in cheap { image[x: x, y: y] = 1 }
        return image
    }

    /// The measured segment ends at x = 60 heading +x.
    static let segment = (30...60).map { Point2D(x: Double($0), y: 100) }

    func testFollowsAVesselContinuingAhead() throws {
        let cost = Self.costImage(width: 200, height: 200, cheap: (30...150).map { ($0, 100) })
        let ahead = try XCTUnwrap(VesselPathBuilder.extend(from: Self.segment, atStart: false, cost: cost))
        XCTAssertEqual(ahead.last?.x ?? 0, 100, accuracy: 1.5)
        XCTAssertTrue(ahead.allSatisfy { abs($0.y - 100) < 1e-6 })
        // Same from the other end of a reversed segment.
        let behind = try XCTUnwrap(VesselPathBuilder.extend(from: Self.segment.reversed(), atStart: true, cost: cost))
        XCTAssertEqual(behind, ahead)
    }

    /// The only cheap way to the point ahead is a 15 px side step, 40 px along a parallel
    /// vessel and back: its median cost is low, but it is 1.75x the step, a detour.
    func testRefusesADetourAlongAnotherVessel() {
        var cheap: [(Int, Int)] = (30...60).map { ($0, 100) }
        for y in 85...100 { cheap.append((61, y)); cheap.append((100, y)) }
        for x in 61...100 { cheap.append((x, 85)) }
        let cost = Self.costImage(width: 200, height: 200, cheap: cheap)
        XCTAssertNil(VesselPathBuilder.extend(from: Self.segment, atStart: false, cost: cost))
    }

    /// Nothing vessel-like ahead: no extension.
    func testNoExtensionIntoBackground() {
        let cost = Self.costImage(width: 200, height: 200, cheap: (30...60).map { ($0, 100) })
        XCTAssertNil(VesselPathBuilder.extend(from: Self.segment, atStart: false, cost: cost))
    }
}
