import XCTest
import AngioPhantom
import VesselCore
@testable import QCA

/// The sigma-free block budget (`QCAParameters.sigmaBlockBudget`): only every k-th block is
/// fitted everything-free for the PSF estimate, the others with sigma fixed afterwards. The
/// measurement must not move in substance, and stays independent of the thread count.
final class BlockBudgetTests: XCTestCase {
    /// A rendered phantom (all vessels measured along their true centrelines) and its paths.
    static func phantom(seed: UInt64) throws -> (image: GrayImage, paths: [VesselPath], mmPerPixel: Double) {
        var options = RandomPhantomOptions()
        options.size = 320
        options.catheterProbability = 0
        let spec = PhantomGenerator.randomSpec(seed: seed, options: options)
        let rendering = try PhantomGenerator.render(spec, threads: 1)
        let image = PhantomMeasurementTests.image(from: rendering)
        let paths = rendering.truth.vessels.enumerated().map { index, vessel in
            VesselPath(id: index, points: vessel.centerline, startKind: .endpoint, endKind: .endpoint)
        }
        return (image, paths, rendering.truth.trueMmPerPixel)
    }

    func analyzer(_ image: GrayImage, budget: Int?, threads: Int) -> VesselAnalyzer {
        var parameters = QCAParameters()
        parameters.sigmaBlockBudget = budget
        return VesselAnalyzer(image: image, parameters: parameters, threads: threads)
    }

    /// Block g (over all paths in order) is fitted free exactly when g % k == 0, k =
    /// ceil(blocks / budget); every other block is deferred, none is lost.
    func testBudgetSelectsEveryKthBlock() throws {
        let (image, paths, _) = try Self.phantom(seed: 11)
        let unlimited = analyzer(image, budget: nil, threads: 1).prepareWithinBudget(paths)
        let budget = 7
        let limited = analyzer(image, budget: budget, threads: 1).prepareWithinBudget(paths)
        XCTAssertEqual(unlimited.count, limited.count)
        let total = unlimited.reduce(0) { $0 + $1.blocks.count + $1.deferredBlocks.count }
        XCTAssertTrue(unlimited.allSatisfy { $0.deferredBlocks.isEmpty })
        let every = (total + budget - 1) / budget
        XCTAssertGreaterThan(every, 1, "the phantom must have more blocks than the budget")
        var attemptedFree = 0
        for (full, partial) in zip(unlimited, limited) {
            // The free fits that were made are the same fits as without a budget.
            for block in partial.blocks {
                let same = full.blocks.first { $0.sampleIndex == block.sampleIndex }
                XCTAssertEqual(same?.fit.model, block.fit.model)
            }
            attemptedFree += partial.blocks.count
            let fitted = Set(partial.blocks.map(\.sampleIndex)), deferred = Set(partial.deferredBlocks)
            XCTAssertTrue(fitted.isDisjoint(with: deferred))
        }
        XCTAssertLessThanOrEqual(attemptedFree, budget)
        XCTAssertLessThanOrEqual(limited.reduce(0) { $0 + $1.deferredBlocks.count }, total)
        XCTAssertGreaterThanOrEqual(limited.reduce(0) { $0 + $1.deferredBlocks.count }, total - budget)
    }

    /// With a budget far below the phantom's block count the PSF estimate and the diameters
    /// agree with the everything-free reference; the same holds bitwise for 1 and 2 threads.
    func testBudgetKeepsMeasurementsAndDeterminism() throws {
        for seed in [UInt64(3), 21] {
            let (image, paths, mm) = try Self.phantom(seed: seed)
            let reference = analyzer(image, budget: nil, threads: 1).measure(paths)
            let limited = analyzer(image, budget: 12, threads: 1).measure(paths)
            let limitedTwoThreads = analyzer(image, budget: 12, threads: 2).measure(paths)
            XCTAssertLessThan(limited.estimate.blockCount, reference.estimate.blockCount)
            XCTAssertEqual(limited.estimate.psfSigma, reference.estimate.psfSigma, accuracy: 0.1, "seed \(seed)")
            XCTAssertEqual(limited.measurements.count, reference.measurements.count)
            var differences: [Double] = []
            for (a, b) in zip(reference.measurements, limited.measurements) {
                for i in a.diameter.indices where i < b.diameter.count && a.valid[i] && b.valid[i]
                    && a.measurableRange.contains(i) {
                    differences.append(abs(a.diameter[i] - b.diameter[i]) * mm)
                }
            }
            XCTAssertGreaterThan(differences.count, 100)
            let sorted = differences.sorted()
            // Median and 95th percentile of the diameter change (mm) along all vessels.
            XCTAssertLessThan(sorted[sorted.count / 2], 0.01, "seed \(seed)")
            XCTAssertLessThan(sorted[Int(Double(sorted.count) * 0.95)], 0.03, "seed \(seed)")
            for (a, b) in zip(limited.measurements, limitedTwoThreads.measurements) {
                XCTAssertEqual(a.diameter, b.diameter)
                XCTAssertEqual(a.valid, b.valid)
            }
            XCTAssertEqual(limited.estimate, limitedTwoThreads.estimate)
        }
    }
}
