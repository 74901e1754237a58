import XCTest
@testable import VesselCore

/// Centerline graph and minimal path on generated geometry.
final class CenterlineTests: XCTestCase {
    /// Rasterised lumen of tubes (pixel centres inside), no rendering noise.
    func mask(_ tubes: [Tube], width: Int, height: Int) -> BinaryMask {
        Phantom(width: width, height: height, tubes: tubes).lumen()
    }

    func testStraightTubeGivesOneCenteredSegment() {
        let tube = Tube.curve(point: { t in Point2D(x: 10 + 100 * t, y: 30.4 + 20 * t) }, radius: { _ in 4 })
        let graph = Centerlines.extract(from: mask([tube], width: 120, height: 64))
        XCTAssertEqual(graph.segments.count, 1)
        XCTAssertEqual(graph.nodes.filter { $0.kind == .endpoint }.count, 2)
        guard let segment = graph.segments.first else { return }
        let interior = segment.points.dropFirst(6).dropLast(6)
        let deviations = interior.map { distance(from: $0, toPolyline: tube.path) }
        XCTAssertLessThanOrEqual(deviations.max() ?? 9, 0.6)
        XCTAssertEqual(segment.length, 102, accuracy: 10, "true length 102 px minus about a radius at each end")
        for tangent in segment.tangents { XCTAssertEqual(hypot(tangent.x, tangent.y), 1, accuracy: 1e-9) }
        let direction = Point2D(x: 100 / 101.98, y: 20 / 101.98)
        let middle = segment.tangents[segment.tangents.count / 2]
        XCTAssertEqual(abs(middle.x * direction.x + middle.y * direction.y), 1, accuracy: 0.01)
        let radii = segment.radii.dropFirst(6).dropLast(6)
        XCTAssertEqual(radii.reduce(0, +) / Double(radii.count), 4, accuracy: 0.6)
        XCTAssertEqual(segment.points.count, segment.radii.count)
    }

    func testYShapeGivesOneJunctionThreeBranches() {
        let trunk = Tube.curve(point: { t in Point2D(x: 60, y: 110 - 50 * t) }, radius: { _ in 5 })
        let left = Tube.curve(point: { t in Point2D(x: 60 - 40 * t, y: 60 - 45 * t) }, radius: { _ in 4 })
        let right = Tube.curve(point: { t in Point2D(x: 60 + 40 * t, y: 60 - 45 * t) }, radius: { _ in 3 })
        let graph = Centerlines.extract(from: mask([trunk, left, right], width: 120, height: 120))
        XCTAssertEqual(graph.nodes.filter { $0.kind == .junction }.count, 1)
        XCTAssertEqual(graph.nodes.filter { $0.kind == .endpoint }.count, 3)
        XCTAssertEqual(graph.segments.count, 3)
        if let junction = graph.nodes.first(where: { $0.kind == .junction }) {
            XCTAssertEqual(hypot(junction.position.x - 60, junction.position.y - 60), 0, accuracy: 4)
            for segment in graph.segments { XCTAssertTrue(segment.startNode == junction.id || segment.endNode == junction.id) }
        }
    }

    func testSpursFromBoundaryBumpsArePruned() {
        let tube = Tube.curve(point: { t in Point2D(x: 10 + 120 * t, y: 40) }, radius: { _ in 6 })
        var lumen = mask([tube], width: 140, height: 80)
        // A 4-px bump and a single-pixel protrusion on the wall: no branch.
        for y in 30...33 { for x in 60...63 { lumen[x: x, y: y] = true } }
        lumen[x: 90, y: 47] = true
        let graph = Centerlines.extract(from: lumen)
        XCTAssertEqual(graph.segments.count, 1, "\(graph.segments.map(\.length))")
        // A real side branch longer than the limit survives.
        let branch = Tube.curve(point: { t in Point2D(x: 70, y: 40 + 35 * t) }, radius: { _ in 3 })
        let withBranch = Centerlines.extract(from: mask([tube, branch], width: 140, height: 80))
        XCTAssertEqual(withBranch.segments.count, 3)
    }

    func testClosedLoopAndDegenerateMasks() {
        let ring = Tube.curve(point: { t in Point2D(x: 50 + 30 * cos(2 * .pi * t), y: 50 + 30 * sin(2 * .pi * t)) }, radius: { _ in 3 })
        let graph = Centerlines.extract(from: mask([ring], width: 100, height: 100))
        XCTAssertEqual(graph.segments.count, 1)
        XCTAssertEqual(graph.totalLength, 2 * .pi * 30, accuracy: 15)
        XCTAssertEqual(Centerlines.extract(from: BinaryMask(width: 0, height: 0)).segments.count, 0)
        XCTAssertEqual(Centerlines.extract(from: BinaryMask(width: 20, height: 20)).segments.count, 0)
        var full = BinaryMask(width: 20, height: 20)
        for i in full.bits.indices { full.bits[i] = 1 }
        _ = Centerlines.extract(from: full) // no crash on a blob touching the border
    }

    func testThinningPreservesTopologyAndIsThin() {
        let tubes = Phantoms.coronaryLike(size: 200).tubes
        let lumen = mask(tubes, width: 200, height: 200)
        let skeleton = Centerlines.thin(lumen)
        XCTAssertEqual(Morphology.connectedComponents(lumen).sizes.count, Morphology.connectedComponents(skeleton).sizes.count)
        // No 2x2 block of skeleton pixels (1 px thin).
        for y in 0..<199 { for x in 0..<199 {
            XCTAssertFalse(skeleton[x: x, y: y] && skeleton[x: x + 1, y: y] && skeleton[x: x, y: y + 1] && skeleton[x: x + 1, y: y + 1])
        } }
        for i in skeleton.bits.indices where skeleton.bits[i] != 0 { XCTAssertEqual(lumen.bits[i], 1) }
    }

    /// Centerlines of the segmented noisy phantom lie within 1 px of the true paths
    /// (interior points: more than 8 px from any node).
    func testPhantomCenterlinesWithinOnePixel() {
        let phantom = Phantoms.coronaryLike(size: 256, noise: 8)
        let segmentation = VesselSegmentation.segment(phantom.render())
        let graph = Centerlines.extract(from: segmentation.mask)
        XCTAssertGreaterThanOrEqual(graph.segments.count, 4)
        var deviations = [Double]()
        for segment in graph.segments {
            for point in segment.points {
                let nearNode = graph.nodes.contains { hypot($0.position.x - point.x, $0.position.y - point.y) < 8 }
                if nearNode { continue }
                deviations.append(phantom.tubes.map { distance(from: point, toPolyline: $0.path) }.min() ?? 99)
            }
        }
        let mean = deviations.reduce(0, +) / Double(deviations.count)
        print("phantom centerline deviation: mean \(mean) px, max \(deviations.max() ?? -1) px over \(deviations.count) points")
        XCTAssertGreaterThan(deviations.count, 300)
        XCTAssertLessThanOrEqual(mean, 0.5)
        XCTAssertLessThanOrEqual(deviations.max() ?? 99, 1.0)
        // Total length close to the truth (three tubes minus their ends).
        let truthLength = phantom.tubes.map { Polyline.length($0.path) }.reduce(0, +)
        XCTAssertEqual(graph.totalLength / truthLength, 1, accuracy: 0.12)
    }

    // MARK: - Minimal path

    func testMinimalPathFollowsABentVesselNotTheChord() {
        // A U-shaped vessel: the straight line between the ends crosses background.
        let bend = Tube.curve(attenuation: 15, point: { t in
            Point2D(x: 100 + 60 * cos(.pi * (1 - t)), y: 40 + 90 * sin(.pi * t))
        }, radius: { t in 3.5 - 1.5 * exp(-pow((t - 0.5) / 0.08, 2)) })
        let phantom = Phantom(width: 200, height: 150, tubes: [bend], background: { x, _ in 900 + x }, blurSigma: 0.7,
                              noiseSigma: 6, seed: 12)
        let vesselness = Vesselness.frangi(phantom.render(), parameters: VesselnessParameters(scales: [1, 1.5, 2, 3, 4]))
        let cost = MinimalPath.costImage(fromVesselness: vesselness.response)
        // User clicks 2 px beside the vessel near both ends.
        guard let path = MinimalPath.find(cost: cost, from: Point2D(x: 42, y: 44), to: Point2D(x: 158, y: 42)) else {
            return XCTFail("no path")
        }
        let deviations = path.map { distance(from: $0, toPolyline: bend.path) }
        print("minimal path: max deviation \(deviations.max() ?? -1) px, length \(Polyline.length(path))")
        XCTAssertLessThanOrEqual(deviations.max() ?? 99, 1.5)
        XCTAssertGreaterThan(Polyline.length(path), 0.85 * Polyline.length(bend.path), "goes round the bend")
        XCTAssertEqual(path.first.map { distance(from: $0, toPolyline: bend.path) } ?? 9, 0, accuracy: 1.5)
        // Determinism.
        XCTAssertEqual(MinimalPath.find(cost: cost, from: Point2D(x: 42, y: 44), to: Point2D(x: 158, y: 42)), path)
    }

    func testMinimalPathUnreachableAndOutsidePoints() {
        var cost = GrayImage(width: 40, height: 30, fill: 1)
        for y in 0..<30 { cost[x: 20, y: y] = .infinity } // an impassable wall
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: 5, y: 15), to: Point2D(x: 35, y: 15)))
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: -50, y: 15), to: Point2D(x: 5, y: 5)))
        XCTAssertNil(MinimalPath.find(cost: cost, from: Point2D(x: .nan, y: 15), to: Point2D(x: 5, y: 5)))
        let straight = MinimalPath.find(cost: cost, from: Point2D(x: 2, y: 3), to: Point2D(x: 15, y: 3))
        XCTAssertEqual(straight?.count, 14)
        XCTAssertEqual(straight?.allSatisfy { abs($0.y - 3) < 1e-9 }, true)
        let same = MinimalPath.find(cost: cost, from: Point2D(x: 2, y: 3), to: Point2D(x: 2.2, y: 3.1))
        XCTAssertEqual(same?.count, 1)
    }

    func testCostImageContract() {
        let response = GrayImage(width: 3, height: 1, pixels: [0, 0.5, 1])
        let cost = MinimalPath.costImage(fromVesselness: response)
        XCTAssertEqual(Double(cost.pixels[0]), 1 / pow(0.01, 2), accuracy: 1)
        XCTAssertEqual(Double(cost.pixels[2]), 1 / pow(1.01, 2), accuracy: 1e-4)
        XCTAssertLessThan(cost.pixels[2], cost.pixels[1])
        XCTAssertTrue(MinimalPath.costImage(fromVesselness: GrayImage(width: 4, height: 4)).pixels.allSatisfy { $0.isFinite && $0 > 0 })
    }
}
