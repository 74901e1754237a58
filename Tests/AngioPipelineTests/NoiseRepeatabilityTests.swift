import XCTest
@testable import AngioPipeline

/// Noise realisations of accuracy-study phantoms: same truth, new noise; the per-phantom
/// statistics are the plain mean, sample SD, bias and z of the study draw.
final class NoiseRepeatabilityTests: XCTestCase {
    func testARealisationKeepsTheTruthAndRedrawsTheNoise() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("angio-realisation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        func draw(_ k: UInt64) throws -> AccuracyStudy.Case {
            let study = AccuracyStudy(count: 7, seed: 1, size: 192, threads: 1, onlyIndices: [0], noiseRealisation: k)
            return try XCTUnwrap(study.run(workDirectory: work.path).first)
        }
        let own = try draw(0), first = try draw(1), again = try draw(1), second = try draw(2)
        for c in [own, first, second] { XCTAssertNil(c.error) }
        XCTAssertEqual(first.trueMLDmm, own.trueMLDmm)
        XCTAssertEqual(first.segment, own.segment, "same segment points")
        XCTAssertEqual(first.segmentMLDmm, again.segmentMLDmm, "a realisation is deterministic")
        let measured = Set([own, first, second].compactMap(\.segmentMLDmm))
        XCTAssertEqual(measured.count, 3, "three draws, three different measurements: \(measured)")
        // Realisation seeds differ from each other and from the study's.
        let seeds = (1...50).map { AccuracyStudy.realisationNoiseSeed(42, $0) }
        XCTAssertEqual(Set(seeds).count, 50)
        XCTAssertFalse(seeds.contains(42))
    }

    func testStatisticsOverTheDraws() throws {
        func measured(_ mld: Double, _ percent: Double) -> AccuracyStudy.Case {
            var c = AccuracyStudy.Case(seed: 9, variant: .reference)
            c.trueMLDmm = 1.0; c.truePercentDS = 50; c.segmentMLDmm = mld; c.segmentPercentDS = percent
            return c
        }
        var failed = AccuracyStudy.Case(seed: 9, variant: .reference)
        failed.error = "analysis failed"
        let study = measured(0.8, 60)
        let r = AccuracyStudy.repeatability(study: study, draws: [measured(1.1, 45), measured(1.0, 50), measured(0.9, 55), failed, nil],
                                            requested: 5, seed: 9, variant: .reference)
        XCTAssertEqual(r.realisations, 3)
        XCTAssertEqual(r.failures, 2)
        XCTAssertEqual(try XCTUnwrap(r.segmentMLDMeanMm), 1.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.segmentMLDSDMm), 0.1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.segmentPercentDSSD), 5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.mldBiasMm), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.studyPercentDSZ), 2, accuracy: 1e-12, "(60 - 50) / 5")
        XCTAssertEqual(r.studySegmentMLDmm, 0.8)
        // One draw: a mean, no SD, no z.
        let single = AccuracyStudy.repeatability(study: study, draws: [measured(1.2, 40)], requested: 1, seed: 9, variant: .reference)
        XCTAssertEqual(try XCTUnwrap(single.percentDSBias), -10, accuracy: 1e-12)
        XCTAssertNil(single.segmentMLDSDMm)
        XCTAssertNil(single.studyPercentDSZ)
    }
}
