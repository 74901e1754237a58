import XCTest
@testable import QCA

/// The fast lumen-term evaluation (sorted-edge early exit, raw table pointers, trial Jacobian
/// reuse in the fitter) against the plain staircase sum and a direct numerical convolution.
final class LumenModelSpeedupTests: XCTestCase {
    /// The staircase sum written out over every edge, as before the speed-up.
    static func referenceTerm(_ scratch: LumenModelScratch, at d: Double, sigma: Double)
        -> (s: Double, dA: Double, dC: Double, dR: Double, dSigma: Double) {
        var s = 0.0, dA = 0.0, dC = 0.0, dR = 0.0, dSigma = 0.0
        for m in 0...LumenModel.cuts {
            let z = (d - scratch.edges[m]) / sigma
            let (cdf, pdf) = NormalTable.cdfAndPdf(z)
            let j = scratch.jump[m]
            s += j * cdf
            dA += scratch.jumpDA[m] * cdf
            let jp = j * pdf / sigma
            dC -= jp
            dR += scratch.jumpDR[m] * cdf - jp * scratch.sinTheta[m]
            dSigma -= jp * z
        }
        return (s, dA, dC, dR, dSigma)
    }

    /// S(d) by direct numerical integration of (1 - exp(-A chord)) against the Gaussian.
    static func directTerm(at d: Double, center: Double, radius: Double, attenuation: Double, sigma: Double) -> Double {
        let reach = radius + 9 * sigma
        let steps = 40_000
        let h = 2 * reach / Double(steps)
        var s = 0.0
        for k in 0..<steps {
            let u = -reach + (Double(k) + 0.5) * h  // lumen coordinate
            let chord = abs(u) < radius ? 2 * (radius * radius - u * u).squareRoot() : 0
            guard chord > 0 else { continue }
            let z = (d - center - u) / sigma
            s += (1 - exp(-attenuation * chord)) * exp(-0.5 * z * z)
        }
        return s * h / (sigma * (2 * Double.pi).squareRoot())
    }

    static let grid: [(radius: Double, sigma: Double, attenuation: Double)] = [
        (0.3, 1.0, 0.05), (0.8, 1.2, 0.03), (1.0, 1.0, 0.2), (2.0, 0.6, 0.03), (3.0, 1.0, 0.08),
        (4.5, 1.3, 0.02), (6.5, 1.5, 0.03), (10.0, 1.1, 0.05), (20.0, 2.0, 0.01),
    ]

    func testFastTermEqualsFullStaircaseSum() {
        var scratch = LumenModelScratch()
        for (radius, sigma, attenuation) in Self.grid {
            for center in [-0.37, 0.0, 1.21] {
                let model = LumenModel(background: 1, backgroundSlope: 0, attenuation: attenuation, center: center,
                                       radius: radius, sigma: sigma)
                scratch.prepare(model)
                var d = -(radius + 12 * sigma)
                while d <= radius + 12 * sigma {
                    let reference = Self.referenceTerm(scratch, at: d, sigma: sigma)
                    let fast = scratch.lumenTermWithDerivatives(at: d, sigma: sigma)
                    let value = scratch.lumenTerm(at: d, sigma: sigma)
                    // Edges beyond 6 sigma are taken as CDF 0/1: Phi(-6) = 1e-9 of a jump.
                    let tolerance = 1e-8
                    XCTAssertEqual(value, reference.s, accuracy: tolerance)
                    XCTAssertEqual(fast.s, reference.s, accuracy: tolerance)
                    XCTAssertEqual(fast.dA, reference.dA, accuracy: tolerance * max(1, 2 * radius))
                    XCTAssertEqual(fast.dC, reference.dC, accuracy: tolerance / sigma)
                    XCTAssertEqual(fast.dR, reference.dR, accuracy: tolerance / sigma + tolerance)
                    XCTAssertEqual(fast.dSigma, reference.dSigma, accuracy: 10 * tolerance / sigma)
                    d += 0.173
                }
            }
        }
    }

    func testTermMatchesDirectIntegrationOverGrid() {
        var scratch = LumenModelScratch()
        var worst = 0.0
        for (radius, sigma, attenuation) in Self.grid {
            let model = LumenModel(background: 1, backgroundSlope: 0, attenuation: attenuation, center: 0.2,
                                   radius: radius, sigma: sigma)
            scratch.prepare(model)
            var values: [(Double, Double)] = []
            var d = -(radius + 6 * sigma)
            while d <= radius + 6 * sigma {
                values.append((scratch.lumenTerm(at: d, sigma: sigma),
                               Self.directTerm(at: d, center: 0.2, radius: radius, attenuation: attenuation, sigma: sigma)))
                d += 0.29
            }
            let peak = values.map(\.1).max() ?? 1
            for (fast, direct) in values {
                worst = max(worst, abs(fast - direct) / peak)
                // The 32-cut staircase itself deviates from the exact convolution by a few 1e-4 of
                // the peak at most on this grid (largest for r >> sigma).
                XCTAssertEqual(fast, direct, accuracy: 1e-3 * peak, "r \(radius) sigma \(sigma) A \(attenuation)")
            }
        }
        XCTAssertLessThan(worst, 1e-3)
    }

    func testDerivativesMatchFiniteDifferences() {
        var scratch = LumenModelScratch()
        for (radius, sigma, attenuation) in Self.grid {
            let base = LumenModel(background: 1, backgroundSlope: 0, attenuation: attenuation, center: 0.3,
                                  radius: radius, sigma: sigma)
            func term(_ model: LumenModel, _ d: Double) -> Double {
                var local = LumenModelScratch()
                local.prepare(model)
                return local.lumenTerm(at: d, sigma: model.sigma)
            }
            scratch.prepare(base)
            var d = -(radius + 4 * sigma)
            while d <= radius + 4 * sigma {
                let analytic = scratch.lumenTermWithDerivatives(at: d, sigma: sigma)
                let hA = 1e-6, hG = 1e-5
                var plus = base, minus = base
                plus.attenuation += hA; minus.attenuation -= hA
                let numericA = (term(plus, d) - term(minus, d)) / (2 * hA)
                plus = base; minus = base
                plus.center += hG; minus.center -= hG
                let numericC = (term(plus, d) - term(minus, d)) / (2 * hG)
                plus = base; minus = base
                plus.radius += hG; minus.radius -= hG
                let numericR = (term(plus, d) - term(minus, d)) / (2 * hG)
                plus = base; minus = base
                plus.sigma += hG; minus.sigma -= hG
                let numericS = (term(plus, d) - term(minus, d)) / (2 * hG)
                // The CDF/PDF tables are linearly interpolated (1/128 step): derivatives of the
                // interpolant and the interpolated PDF differ by ~1e-3 relative.
                let scale = 1 / sigma
                XCTAssertEqual(analytic.dA, numericA, accuracy: 2e-3 * max(abs(numericA), 2 * radius))
                XCTAssertEqual(analytic.dC, numericC, accuracy: 5e-3 * scale * max(1e-3, attenuation * radius))
                XCTAssertEqual(analytic.dR, numericR, accuracy: 5e-3 * scale * max(1e-3, attenuation * radius) + 1e-6)
                XCTAssertEqual(analytic.dSigma, numericS, accuracy: 5e-3 * scale * max(1e-3, attenuation * radius))
                d += 0.41
            }
        }
    }

    func testFitIsDeterministicAndRecoversRadius() throws {
        let distances = stride(from: -14.0, through: 14.0, by: 0.25).map { $0 }
        for radius in [0.9, 2.5, 6.0] {
            let truth = LumenModel(background: 900, backgroundSlope: 1.5, attenuation: 0.03, center: 0.35,
                                   radius: radius, sigma: 1.1)
            var generator = SplitMix(seed: 11)
            let samples = ProfileSamples(distance: distances,
                                         value: distances.map { truth.value(at: $0) + 2 * generator.gaussian() })
            var initial = truth
            initial.radius = radius * 1.4 + 0.3
            initial.center = 0
            initial.background = 880
            initial.backgroundSlope = 0
            let first = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.center, .radius], maxRadius: 30))
            let second = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.center, .radius], maxRadius: 30))
            XCTAssertTrue(first.converged)
            XCTAssertEqual(first.model, second.model)
            XCTAssertEqual(first.iterations, second.iterations)
            XCTAssertEqual(first.model.radius, radius, accuracy: 0.1)
        }
    }
}
