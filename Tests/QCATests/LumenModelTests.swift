import XCTest
@testable import QCA

/// The lumen model against an independent brute-force rendering of the same physics, and the
/// fitter's recovery of known radii.
final class LumenModelTests: XCTestCase {
    /// Brute force: fine-grid transmission exp(-A chord) convolved numerically with a Gaussian.
    static func bruteForceProfile(distances: [Double], radius: Double, center: Double, attenuation: Double,
                                  sigma: Double, background: Double, slope: Double, linearLaw: Bool = false) -> [Double] {
        let step = 0.002
        let reach = radius + 7 * sigma
        var result: [Double] = []
        for d in distances {
            var s = 0.0, total = 0.0
            var t = -reach
            while t <= reach {
                let u = d - t - center  // lumen coordinate at offset t from d
                let chord = abs(u) < radius ? 2 * (radius * radius - u * u).squareRoot() : 0
                let g = exp(-0.5 * t * t / (sigma * sigma))
                s += g * (linearLaw ? attenuation * chord : 1 - exp(-attenuation * chord))
                total += g
                t += step
            }
            result.append((background + slope * d) * (1 - s / total))
        }
        return result
    }

    func testModelMatchesBruteForceConvolution() {
        let distances = stride(from: -10.0, through: 10.0, by: 0.37).map { $0 }
        for (radius, sigma) in [(0.8, 1.2), (2.0, 0.6), (6.5, 1.5)] {
            let model = LumenModel(background: 1000, backgroundSlope: 3, attenuation: 0.03, center: 0.4,
                                   radius: radius, sigma: sigma)
            let expected = Self.bruteForceProfile(distances: distances, radius: radius, center: 0.4, attenuation: 0.03,
                                                  sigma: sigma, background: 1000, slope: 3)
            for (d, e) in zip(distances, expected) {
                XCTAssertEqual(model.value(at: d), e, accuracy: 0.05, "r \(radius) sigma \(sigma) d \(d)")
            }
        }
    }

    /// Uniform depth (shape exponent 0): a box of transmission exp(-2A) across [c - r, c + r]
    /// blurred by the Gaussian, i.e. a difference of two normal CDFs; and a narrow lumen with
    /// the contrast fixed is measured from its integrated dip, linear in r for this shape.
    func testUniformDepthModelIsABlurredBox() throws {
        let distances = stride(from: -10.0, through: 10.0, by: 0.37).map { $0 }
        for (radius, sigma) in [(0.8, 1.2), (2.0, 0.6), (6.5, 1.5)] {
            let model = LumenModel(background: 1000, backgroundSlope: 3, attenuation: 0.15, center: 0.4,
                                   radius: radius, sigma: sigma, shapeExponent: 0)
            let dip = 1 - exp(-0.3)
            for d in distances {
                let box = 0.5 * erfc(-(d - 0.4 + radius) / (sigma * 2.0.squareRoot())) - 0.5 * erfc(-(d - 0.4 - radius) / (sigma * 2.0.squareRoot()))
                XCTAssertEqual(model.value(at: d), (1000 + 3 * d) * (1 - dip * box), accuracy: 0.01, "r \(radius) sigma \(sigma) d \(d)")
            }
            XCTAssertEqual(model.centralDip, dip, accuracy: 1e-12)
        }
        let wide = stride(from: -12.0, through: 12.0, by: 0.25).map { $0 }
        for radius in [0.9, 1.5, 4.0] {
            let truth = LumenModel(background: 900, backgroundSlope: 0, attenuation: 0.12, center: 0.2, radius: radius,
                                   sigma: 1.2, shapeExponent: 0)
            let samples = ProfileSamples(distance: wide, value: wide.map { truth.value(at: $0) })
            var initial = truth
            initial.radius = 2.5
            initial.center = 0
            let fit = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.center, .radius], maxRadius: 30))
            XCTAssertTrue(fit.converged)
            XCTAssertEqual(fit.model.shapeExponent, 0)
            XCTAssertEqual(fit.model.radius, radius, accuracy: 0.01, "radius \(radius)")
        }
    }

    /// The linear attenuation law (log-encoded intensity): the dip is A × chord before blur, so
    /// the model is the blurred chord itself; it agrees with Beer–Lambert for faint contrast
    /// and departs from it for dense contrast; a fit with the linear law recovers the radius
    /// of a dense linear-law lumen, where Beer–Lambert misreads it.
    func testLinearLawModelIsTheBlurredChord() throws {
        let distances = stride(from: -10.0, through: 10.0, by: 0.37).map { $0 }
        for (radius, sigma) in [(0.8, 1.2), (2.0, 0.6), (6.5, 1.5)] {
            let model = LumenModel(background: 1000, backgroundSlope: 3, attenuation: 0.05, center: 0.4,
                                   radius: radius, sigma: sigma, attenuationLaw: .linear)
            let expected = Self.bruteForceProfile(distances: distances, radius: radius, center: 0.4, attenuation: 0.05,
                                                  sigma: sigma, background: 1000, slope: 3, linearLaw: true)
            for (d, e) in zip(distances, expected) {
                XCTAssertEqual(model.value(at: d), e, accuracy: 0.05, "r \(radius) sigma \(sigma) d \(d)")
            }
            XCTAssertEqual(model.centralDip, 0.05 * 2 * radius, accuracy: 1e-12)
            XCTAssertEqual(model.attenuation(forCentralDip: model.centralDip), 0.05, accuracy: 1e-12)
        }
        // Faint contrast: the two laws differ by about (A chord)^2 / 2 of the dip.
        let faint = LumenModel(background: 1000, backgroundSlope: 0, attenuation: 0.002, center: 0, radius: 5, sigma: 1)
        var faintLinear = faint
        faintLinear.attenuationLaw = .linear
        XCTAssertEqual(faint.value(at: 0), faintLinear.value(at: 0), accuracy: 0.2)
        // Dense contrast (central dip 0.6): the linear-law fit recovers the radius; Beer–Lambert,
        // contrast free too, leaves a clearly larger residual.
        let wide = stride(from: -14.0, through: 14.0, by: 0.25).map { $0 }
        let truth = LumenModel(background: 900, backgroundSlope: 0, attenuation: 0.05, center: 0.2, radius: 6,
                               sigma: 1.0, attenuationLaw: .linear)
        let samples = ProfileSamples(distance: wide, value: wide.map { truth.value(at: $0) })
        var initial = truth
        initial.radius = 4.5
        initial.center = 0
        initial.attenuation = 0.03
        let linear = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.attenuation, .center, .radius, .sigma], maxRadius: 30))
        XCTAssertTrue(linear.converged)
        XCTAssertEqual(linear.model.attenuationLaw, .linear)
        XCTAssertEqual(linear.model.radius, 6, accuracy: 0.01)
        initial.attenuationLaw = .exponential
        initial.attenuation = initial.attenuation(forCentralDip: 0.6)
        let beer = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.attenuation, .center, .radius, .sigma], maxRadius: 30))
        XCTAssertGreaterThan(beer.sumOfSquares, 100 * max(linear.sumOfSquares, 1e-6))
    }

    func testFitRecoversRadiusFromNoiseFreeProfiles() throws {
        let distances = stride(from: -20.0, through: 20.0, by: 0.25).map { $0 }
        for radius in [1.0, 1.5, 3.0, 5.0, 10.0] {
            let truth = LumenModel(background: 800, backgroundSlope: -2, attenuation: 0.02, center: -0.3,
                                   radius: radius, sigma: 1.1)
            let samples = ProfileSamples(distance: distances, value: distances.map { truth.value(at: $0) })
            var initial = truth
            initial.radius = radius * 1.3 + 0.5
            initial.center = 0.5
            initial.background = 780
            initial.backgroundSlope = 0
            // Radius and centre free, contrast and PSF known (the per-profile configuration).
            let fit = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: [.center, .radius], maxRadius: 30))
            XCTAssertTrue(fit.converged)
            XCTAssertEqual(fit.model.radius, radius, accuracy: 0.002 * radius + 0.002, "radius \(radius)")
            XCTAssertEqual(fit.model.center, -0.3, accuracy: 0.005)
        }
    }

    func testFullFitSeparatesBlurAndRadiusOnWideLumen() throws {
        let distances = stride(from: -16.0, through: 16.0, by: 0.2).map { $0 }
        let truth = LumenModel(background: 1200, backgroundSlope: 1, attenuation: 0.025, center: 0.2, radius: 7, sigma: 1.3)
        var generator = SplitMix(seed: 7)
        let values = distances.map { truth.value(at: $0) + 3 * generator.gaussian() }
        let samples = ProfileSamples(distance: distances, value: values)
        let initial = LumenModel(background: 1150, backgroundSlope: 0, attenuation: 0.01, center: 0, radius: 5, sigma: 1)
        let fit = try XCTUnwrap(LumenFitter.fit(samples, initial: initial, free: .all, maxRadius: 30))
        XCTAssertTrue(fit.converged)
        XCTAssertEqual(fit.model.radius, 7, accuracy: 0.1)
        XCTAssertEqual(fit.model.sigma, 1.3, accuracy: 0.15)
        XCTAssertEqual(fit.model.attenuation, 0.025, accuracy: 0.002)
        XCTAssertLessThan(fit.radiusUncertainty, 0.1)
        XCTAssertGreaterThan(fit.radiusUncertainty, 0.002)
    }

    func testWindowLimitAndRobustFitIgnoreNeighbouringVessel() throws {
        let distances = stride(from: -15.0, through: 15.0, by: 0.25).map { $0 }
        let truth = LumenModel(background: 1000, backgroundSlope: 0, attenuation: 0.03, center: 0, radius: 4, sigma: 1)
        let neighbour = LumenModel(background: 1, backgroundSlope: 0, attenuation: 0.03, center: 11, radius: 2.5, sigma: 1)
        var generator = SplitMix(seed: 5)
        let values = distances.map { truth.value(at: $0) * neighbour.value(at: $0) + 2 * generator.gaussian() }
        let samples = ProfileSamples(distance: distances, value: values)
        let depth = 1000 * (1 - exp(-2 * 0.03 * 4.0))
        let limits = ProfileWindowLimits.find(samples, window: 15, center: 0, radius: 4, sigma: 1, depth: depth,
                                              pixelNoise: 2, pixelsPerUnitLength: 4)
        XCTAssertLessThan(limits.upper, 9, "window cut before the neighbour")
        XCTAssertEqual(limits.lower, -15, accuracy: 0.6, "no cut on the free side")
        var kept = ProfileSamples()
        for i in 0..<samples.count where samples.distance[i] >= limits.lower && samples.distance[i] <= limits.upper {
            kept.distance.append(samples.distance[i]); kept.value.append(samples.value[i])
        }
        var initial = truth
        initial.radius = 5
        let fit = try XCTUnwrap(LumenFitter.fit(kept, initial: initial, free: [.center, .radius], maxRadius: 30))
        XCTAssertEqual(fit.model.radius, 4, accuracy: 0.1)
    }
}

/// Small deterministic generator for test noise.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
