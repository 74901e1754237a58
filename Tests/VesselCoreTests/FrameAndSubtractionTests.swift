import XCTest
@testable import VesselCore

final class FrameAndSubtractionTests: XCTestCase {
    /// A synthetic wash-in / wash-out run: contrast rises, peaks at frame 5, fades.
    func washInRun(gains: [Double]? = nil) -> [GrayImage] {
        let opacification = [0.0, 0.1, 0.3, 0.6, 0.85, 1.0, 0.8, 0.5, 0.3, 0.1]
        // Render the vessels and the catheter once (noise-free, zero background), then mix.
        var vessels = Phantoms.coronaryLike(size: 192, noise: 0)
        let background = vessels.background
        vessels.background = { _, _ in 0 }
        var catheter = vessels
        catheter.tubes = [vessels.tubes[vessels.tubes.count - 1]] // always filled
        vessels.tubes.removeLast()
        let vesselDarkening = vessels.render(), catheterDarkening = catheter.render()
        return opacification.enumerated().map { index, level in
            var random = SeededRandom(seed: UInt64(100 + index))
            var pixels = [Float](repeating: 0, count: 192 * 192)
            for i in pixels.indices {
                let value = background(Double(i % 192), Double(i / 192)) + Double(catheterDarkening.pixels[i])
                    + level * Double(vesselDarkening.pixels[i]) + 10 * random.gaussian()
                pixels[i] = Float(value * (gains?[index] ?? 1))
            }
            return GrayImage(width: 192, height: 192, pixels: pixels)
        }
    }

    func testPicksTheMostOpacifiedFrame() {
        let run = washInRun()
        XCTAssertEqual(FrameSelection.mostOpacifiedFrame(count: run.count) { run[$0] }, 5)
    }

    func testFrameChoiceSurvivesExposureGainChanges() {
        // Automatic exposure control changes the global gain by +-15 % from frame to frame.
        let run = washInRun(gains: [1.15, 0.9, 1.1, 0.85, 1.0, 0.88, 1.15, 1.1, 0.95, 1.15])
        XCTAssertEqual(FrameSelection.mostOpacifiedFrame(count: run.count) { run[$0] }, 5)
    }

    func testFrameSelectionEdgeCasesAndErrors() throws {
        XCTAssertEqual(FrameSelection.mostOpacifiedFrame(count: 0) { _ in GrayImage(width: 1, height: 1) }, 0)
        XCTAssertEqual(FrameSelection.mostOpacifiedFrame(count: 1) { _ in GrayImage(width: 1, height: 1) }, 0)
        struct Broken: Error {}
        XCTAssertThrowsError(try FrameSelection.mostOpacifiedFrame(count: 3) { index -> GrayImage in
            if index == 1 { throw Broken() }
            return GrayImage(width: 8, height: 8, fill: 1)
        })
        // Identical frames: the earliest wins.
        let still = Phantoms.coronaryLike(size: 64, noise: 0).render()
        XCTAssertEqual(FrameSelection.mostOpacifiedFrame(count: 4) { _ in still }, 0)
    }

    func testLogSubtractionRemovesAStaticBackgroundExactly() {
        // Transmission model: live = background x vessel transmission, mask = background.
        let width = 64, height = 48
        var background = [Float](), transmission = [Float]()
        for y in 0..<height { for x in 0..<width {
            background.append(Float(500 + 30 * x + 7 * y + 200 * (x / 16 % 2))) // bones, edges, ramp
            let dy = Double(y) - 24 - 6 * sin(Double(x) / 10)
            transmission.append(abs(dy) < 4 ? 0.6 : 1)
        } }
        let mask = GrayImage(width: width, height: height, pixels: background)
        let live = GrayImage(width: width, height: height, pixels: zip(background, transmission).map { $0 * $1 })
        let subtracted = MaskSubtraction.subtractLogDomain(live: live, mask: mask)
        for i in subtracted.pixels.indices {
            if transmission[i] == 1 { XCTAssertEqual(subtracted.pixels[i], 0, "static structure removed exactly") }
            else { XCTAssertEqual(subtracted.pixels[i], log(0.6), accuracy: 1e-5) }
        }
        // Zero / negative pixels (shutters) stay finite; size mismatch gives an empty frame.
        let shutter = GrayImage(width: 2, height: 1, pixels: [0, -5])
        XCTAssertTrue(MaskSubtraction.subtractLogDomain(live: shutter, mask: GrayImage(width: 2, height: 1, pixels: [100, 0])).pixels.allSatisfy { $0.isFinite })
        XCTAssertEqual(MaskSubtraction.subtractLogDomain(live: live, mask: GrayImage(width: 3, height: 3)).pixels.max(), 0)
        XCTAssertEqual(MaskSubtraction.subtractLinear(live: GrayImage(width: 1, height: 1, fill: 7), mask: GrayImage(width: 1, height: 1, fill: 2)).pixels, [5])
    }

    func testAverageFrames() {
        let a = GrayImage(width: 2, height: 1, pixels: [1, 4]), b = GrayImage(width: 2, height: 1, pixels: [3, 8])
        XCTAssertEqual(MaskSubtraction.averageFrames([a, b])?.pixels, [2, 6])
        XCTAssertNil(MaskSubtraction.averageFrames([]))
        XCTAssertNil(MaskSubtraction.averageFrames([a, GrayImage(width: 1, height: 1)]))
    }

    func testSubtractionPlanDecisions() {
        // Nothing asked / native viewing.
        XCTAssertFalse(SubtractionPlan.decide(recommendedViewingMode: nil, maskOperations: [], maskFrameNumbers: []).shouldSubtract)
        XCTAssertFalse(SubtractionPlan.decide(recommendedViewingMode: "NAT", maskOperations: [], maskFrameNumbers: []).shouldSubtract)
        // SUB without a mask sequence: first frame is the mask.
        let sub = SubtractionPlan.decide(recommendedViewingMode: "SUB ", maskOperations: [], maskFrameNumbers: [])
        XCTAssertEqual(sub.mode, .averageMasks)
        XCTAssertEqual(sub.maskFrameIndices, [0])
        // AVG_SUB with 1-based Mask Frame Numbers (0028,6110) -> 0-based indices.
        let average = SubtractionPlan.decide(recommendedViewingMode: nil, maskOperations: ["AVG_SUB"], maskFrameNumbers: [[1, 2, 3]])
        XCTAssertEqual(average.mode, .averageMasks)
        XCTAssertEqual(average.maskFrameIndices, [0, 1, 2])
        XCTAssertEqual(average.maskFrames(forLiveFrame: 1, frameCount: 10), [0, 2], "never the live frame itself")
        XCTAssertEqual(average.maskFrames(forLiveFrame: 5, frameCount: 2), [0, 1], "out-of-range frames dropped")
        // TID: mask is live - offset.
        let tid = SubtractionPlan.decide(recommendedViewingMode: "NAT", maskOperations: ["tid"], maskFrameNumbers: [[]], tidOffsets: [3])
        XCTAssertEqual(tid.mode, .timeIntervalDifferencing)
        XCTAssertEqual(tid.maskFrames(forLiveFrame: 7, frameCount: 10), [4])
        XCTAssertEqual(tid.maskFrames(forLiveFrame: 1, frameCount: 10), [])
        // NONE means no subtraction, even when the viewing mode says SUB.
        let none = SubtractionPlan.decide(recommendedViewingMode: "SUB", maskOperations: ["NONE"], maskFrameNumbers: [[1]])
        XCTAssertFalse(none.shouldSubtract)
        XCTAssertEqual(none.maskFrames(forLiveFrame: 3, frameCount: 10), [])
        // The first subtracting item wins over a leading NONE item.
        let mixed = SubtractionPlan.decide(recommendedViewingMode: nil, maskOperations: ["NONE", "AVG_SUB"], maskFrameNumbers: [[], [4]])
        XCTAssertEqual(mixed.maskFrameIndices, [3])
        XCTAssertFalse(mixed.reason.isEmpty)
    }
}
