import XCTest
import VesselCore
@testable import QCA

/// Reference diameter and lesion rules on synthetic diameter functions of known shape.
final class ReferenceAndLesionTests: XCTestCase {
    /// A straight measurement with the given diameter function (samples 0.5 px apart).
    static func measurement(_ diameters: [Double], noise: Double = 0, seed: UInt64 = 1) -> VesselMeasurement {
        var generator = SplitMix(seed: seed)
        let values = diameters.map { $0 + noise * generator.gaussian() }
        let count = values.count
        let arc = (0..<count).map { Double($0) * 0.5 }
        let points = arc.map { Point2D(x: 20 + $0, y: 50) }
        let valid = [Bool](repeating: true, count: count)
        let range = 0..<count
        let reference = ReferenceDiameter.fit(arcLength: arc, diameter: values, valid: valid, range: range)
        var m = VesselMeasurement(segmentId: 7, centerline: points, arcLength: arc,
                                  normals: [Point2D](repeating: Point2D(x: 0, y: 1), count: count),
                                  leftEdge: points, rightEdge: points, diameter: values, rawDiameter: values,
                                  referenceDiameter: reference.values,
                                  diameterUncertainty: [Double](repeating: max(noise, 0.05), count: count),
                                  valid: valid, measurableRange: range, psfSigma: 1)
        m.referenceUncertainty = reference.uncertainty
        return m
    }

    /// Tapered vessel 16 -> 14 px over 200 px with a cosine lesion of given depth and length.
    static func taperedWithLesion(depth: Double, lengthPx: Double, centre: Double = 100) -> [Double] {
        (0..<400).map { i in
            let s = Double(i) * 0.5
            let reference = 16 - 2 * s / 200
            let u = (s - centre) / lengthPx
            let w = abs(u) < 0.5 ? (1 + cos(2 * Double.pi * u)) / 2 : 0
            return reference * (1 - depth * w)
        }
    }

    func testReferenceFitIgnoresTheLesion() {
        let m = Self.measurement(Self.taperedWithLesion(depth: 0.6, lengthPx: 50))
        for i in stride(from: 0, to: 400, by: 25) {
            let truth = 16 - 2 * Double(i) * 0.5 / 200
            XCTAssertEqual(m.referenceDiameter[i], truth, accuracy: 0.05, "sample \(i)")
        }
    }

    func testReferenceFitWithLongLesionAndNoise() {
        let m = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 90), noise: 0.3, seed: 3)
        XCTAssertEqual(m.referenceDiameter[200], 15, accuracy: 0.3)
    }

    func testLesionLocationDepthAndLength() throws {
        let m = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 60, centre: 120))
        let lesions = LesionFinder.findLesions(in: [m])
        XCTAssertEqual(lesions.count, 1)
        let lesion = try XCTUnwrap(lesions.first)
        XCTAssertEqual(lesion.rank, 1)
        XCTAssertEqual(lesion.segmentId, 7)
        XCTAssertEqual(lesion.mldArcLength, 120, accuracy: 0.6)
        XCTAssertEqual(lesion.percentDiameterStenosis, 50, accuracy: 0.5)
        XCTAssertEqual(lesion.percentAreaStenosis, 75, accuracy: 0.8)
        XCTAssertEqual(lesion.referenceDiameter, 16 - 2 * 120.0 / 200, accuracy: 0.05)
        // Boundaries where D recovers to 95 % of the reference: 0.5 w = 0.05, w = 0.1,
        // (1 + cos 2 pi u) / 2 = 0.1 -> |u| = acos(-0.8) / (2 pi).
        let expected = 2 * acos(-0.8) / (2 * Double.pi) * 60
        XCTAssertEqual(lesion.length, expected, accuracy: 1.0)
        XCTAssertEqual(lesion.mldPosition.x, 20 + 120, accuracy: 0.6)
    }

    /// `cosineNarrowingLength` inverts the 95 % boundary crossing of a cosine narrowing.
    func testCosineNarrowingLengthInvertsTheBoundaryCrossing() {
        for depth in [0.12, 0.14, 0.3, 0.5, 0.7, 0.85] {
            let length = 60.0
            // 1 - depth (1 + cos(theta)) / 2 = 0.95 at theta = pi x / (L / 2).
            let theta = acos(0.1 / depth - 1)
            let boundaryLength = length * theta / Double.pi
            XCTAssertEqual(LesionFinder.cosineNarrowingLength(boundaryLength: boundaryLength, depth: depth, boundaryFraction: 0.95),
                           length, accuracy: 1e-9, "depth \(depth)")
        }
        // Too shallow to cross the boundary: clamped, finite.
        XCTAssertTrue(LesionFinder.cosineNarrowingLength(boundaryLength: 10, depth: 0.01, boundaryFraction: 0.95).isFinite)
    }

    /// A mild, long narrowing of a wide lumen (15 % over 120 px, 16 px reference, raw diameter
    /// noise 0.6 px, smoothed over 3 samples like overlapping strips): the MLD is taken on a
    /// window as long as the narrowing allows, so it is not set by the noise dips. Measured over
    /// 40 noise seeds: mean error -0.21 px (the L95 / 7 window of sessions 1-6: -0.44 px).
    func testMildLongNarrowingMinimumIsNotSetByNoiseDips() throws {
        let mean = try Self.mildLongNarrowingMeanError()
        XCTAssertEqual(mean, 0, accuracy: 0.3, "mean MLD error \(mean) px")
    }

    /// Mean MLD error (px) over 40 seeds of a 15 % × 120 px narrowing of the tapered 16 px
    /// vessel with correlated noise (3-sample moving sum scaled back to SD 0.6 px), smoothed
    /// as the analyzer does (4 px half-window); `psfSigma` nil keeps the measurement's 1 px.
    static func mildLongNarrowingMeanError(psfSigma: Double? = nil) throws -> Double {
        var errors: [Double] = []
        for seed in UInt64(1)...40 {
            var generator = SplitMix(seed: seed)
            let white = (0..<402).map { _ in 0.6 * generator.gaussian() }
            let truth = taperedWithLesion(depth: 0.15, lengthPx: 120)
            let noisy = truth.indices.map { truth[$0] + (white[$0] + white[$0 + 1] + white[$0 + 2]) / 3.0.squareRoot() }
            var m = measurement(noisy)
            m.diameter = Statistics.savitzkyGolayQuadratic(noisy, halfWindow: 8)
            if let psfSigma { m.psfSigma = psfSigma }
            let lesion = try XCTUnwrap(LesionFinder.segmentLesions(m).first)
            errors.append(lesion.minimalLumenDiameter - 15 * 0.85)
        }
        return errors.reduce(0, +) / Double(errors.count)
    }

    /// The MLD window must not jump where the lumen turns from narrow to wide (3 PSF sigmas at
    /// the smoothed minimum): a mild long narrowing whose MLD radius is just under 3 sigmas (a
    /// 15 % residual stenosis of a 1.6 mm vessel after dilation) read 0.44 px low on average
    /// with the short narrow-lumen window of a hard switch, 0.15 px with the blended window,
    /// against 0.08 px at 3.3 sigmas.
    func testMildNarrowingMinimumIsContinuousAcrossTheNarrowLumenLimit() throws {
        func meanError(radiusInSigmas: Double) throws -> Double {
            try Self.mildLongNarrowingMeanError(psfSigma: 15 * 0.85 / 2 / radiusInSigmas)
        }
        let below = try meanError(radiusInSigmas: 2.9), above = try meanError(radiusInSigmas: 3.3)
        XCTAssertEqual(below, 0, accuracy: 0.3, "mean MLD error just under 3 sigmas \(below) px")
        XCTAssertEqual(below, above, accuracy: 0.15, "just under 3 sigmas \(below) px, just over \(above) px")
        // Well inside the narrow range the short window is kept (its low minimum offsets the
        // narrow-lumen fit bias the synthetic series does not have): lower than the wide window.
        let narrow = try meanError(radiusInSigmas: 1.2)
        XCTAssertLessThan(narrow, below - 0.1, "narrow \(narrow) px, just under 3 sigmas \(below) px")
    }

    /// Across a route bridging a long gap of the segmentation only a tight narrowing is a
    /// lesion (automatic mode): a 50 % one there is dropped, an 85 % one kept; segment mode
    /// measures both.
    func testOnlyATightNarrowingAcrossALongGapBridgeIsALesion() throws {
        for (depth, expected) in [(0.5, false), (0.85, true)] {
            var m = Self.measurement(Self.taperedWithLesion(depth: depth, lengthPx: 60, centre: 100))
            m.longBridgeZone = m.arcLength.map { abs($0 - 100) < 20 }
            XCTAssertEqual(!LesionFinder.findLesions(in: [m]).isEmpty, expected, "depth \(depth)")
            XCTAssertEqual(try XCTUnwrap(LesionFinder.segmentLesions(m).first).percentDiameterStenosis, depth * 100, accuracy: 1)
            m.longBridgeZone = []
            XCTAssertFalse(LesionFinder.findLesions(in: [m]).isEmpty, "depth \(depth) without the bridge")
        }
    }

    /// A 16 px vessel with a flat-bottomed narrowing (bottom of half-length `bottom` px at
    /// 60 %, cosine shoulders of `shoulder` px) or, with `bottom` 0, a cosine one; samples 0.5 px
    /// apart, correlated noise of SD 0.5 px (3-sample moving sum), smoothed as the analyzer
    /// does (4 px half-window).
    static func narrowing(bottom: Double, shoulder: Double = 16, seed: UInt64) -> (measurement: VesselMeasurement, mld: Double) {
        var generator = SplitMix(seed: seed)
        let white = (0..<402).map { _ in 0.5 * generator.gaussian() }
        let values: [Double] = (0..<400).map { i in
            let distance = abs(Double(i) * 0.5 - 100)
            let w = distance <= bottom ? 1 : (distance < bottom + shoulder ? 0.5 * (1 + cos(Double.pi * (distance - bottom) / shoulder)) : 0)
            return 16 * (1 - 0.6 * w) + (white[i] + white[i + 1] + white[i + 2]) / 3.0.squareRoot()
        }
        var m = measurement(values)
        m.diameter = Statistics.savitzkyGolayQuadratic(values, halfWindow: 8)
        m.measurableRange = 40..<360
        return (m, 16 * 0.4)
    }

    func testFlatBottomedNarrowingIsMeasuredOverItsBottomNotAtItsDeepestNoiseDip() throws {
        // 12 px: the 1 px template grid; 30 px (a narrowing over 80 px long): the coarse grid
        // refined around its best templates.
        for bottom in [12.0, 30.0] {
            var errors: [Double] = [], locations: [Double] = []
            for seed in UInt64(1)...30 {
                let (m, mld) = Self.narrowing(bottom: bottom, seed: seed)
                let lesion = try XCTUnwrap(LesionFinder.segmentLesions(m).first)
                errors.append(lesion.minimalLumenDiameter - mld)
                locations.append(lesion.mldArcLength - 100)
            }
            let mean = errors.reduce(0, +) / Double(errors.count)
            // The smoothed minimum read such bottoms low by about one noise SD of the window
            // (flat-neck phantoms: −0.38 px); the mean over the bottom does not.
            XCTAssertEqual(mean, 0, accuracy: 0.08, "bottom \(bottom): mean MLD error \(mean) px: \(errors)")
            for location in locations {
                XCTAssertLessThanOrEqual(abs(location), 4, "bottom \(bottom): MLD placed \(location) px from the bottom's middle")
            }
        }
    }

    func testCosineNarrowingIsNotTakenForAFlatBottom() {
        var plateaus = 0
        for seed in UInt64(1)...30 {
            for shoulder in [16.0, 24.0, 32.0] {
                let (m, _) = Self.narrowing(bottom: 0, shoulder: shoulder, seed: seed)
                guard let lesion = LesionFinder.segmentLesions(m).first else { XCTFail("no lesion"); continue }
                if LesionFinder.plateauMinimum(m, startArc: m.arcLength[lesion.startIndex], endArc: m.arcLength[lesion.endIndex],
                                               fallback: lesion.mldIndex, parameters: QCAParameters()) != nil { plateaus += 1 }
            }
        }
        XCTAssertEqual(plateaus, 0, "cosine narrowings measured as flat-bottomed")
    }

    /// `balancedHalfWindow` is the minimiser of flattening² + noise² of its documented model,
    /// longer for longer, shallower or noisier narrowings.
    func testBalancedHalfWindowTradesFlatteningAgainstNoise() {
        func window(depth: Double = 0.6, length: Double = 40, scatter: Double = 0.03) -> Double {
            LesionFinder.balancedHalfWindow(relativeDepth: depth, reference: 16, narrowingLength: length,
                                            smoothedScatter: scatter, baseHalfWindow: 4)
        }
        let h = window()
        XCTAssertEqual(h, 10.06, accuracy: 0.05, "60 % over 40 px on 16 px at 3 % scatter: about L / 4")
        func cost(_ h: Double) -> Double {
            let flattening = 0.6 * 16 * pow(Double.pi, 4) * pow(h, 4) / (35 * pow(40, 4))
            return flattening * flattening + pow(0.03 * 16, 2) * 4 / h
        }
        XCTAssertLessThan(cost(h), cost(0.9 * h))
        XCTAssertLessThan(cost(h), cost(1.1 * h))
        XCTAssertGreaterThan(window(length: 60), h)
        XCTAssertGreaterThan(window(depth: 0.3), h)
        XCTAssertGreaterThan(window(scatter: 0.05), h)
        XCTAssertEqual(window(depth: 0), .infinity)
        // The indistinct threshold: the Gaussian extreme of N base windows plus one SD.
        XCTAssertEqual(LesionFinder.indistinctDepthInScatters(rangeLength: 80, baseHalfWindow: 4),
                       (2 * log(10.0)).squareRoot() + 1, accuracy: 1e-12)
        XCTAssertGreaterThan(LesionFinder.indistinctDepthInScatters(rangeLength: 400, baseHalfWindow: 4),
                             LesionFinder.indistinctDepthInScatters(rangeLength: 80, baseHalfWindow: 4))
        XCTAssertEqual(window(scatter: 0), 0, "no noise: no reason to smooth further")
    }

    /// A normal wide vessel in segment mode: the MLD is not the deepest noise dip of the
    /// 4 px smoothing (the narrowing cannot be told from the scatter, so its window is that of
    /// a narrowing 4 reference diameters long, about 21 px here). Measured over 40 noise seeds
    /// (SD 0.6 px per sample, 1.5 px correlation): mean error -0.18 px, against -0.87 px for
    /// the minimum of the base-smoothed diameter (the MLD of sessions 7-10 here). The remaining
    /// bias: draws whose deepest dip exceeds the indistinct threshold are measured as
    /// narrowings (with a fading length floor).
    func testNormalSegmentMinimumIsNotTheDeepestNoiseDip() throws {
        var errors: [Double] = [], noiseMinima: [Double] = []
        for seed in UInt64(1)...40 {
            var generator = SplitMix(seed: seed)
            let white = (0..<402).map { _ in 0.6 * generator.gaussian() }
            // Correlated noise (3-sample moving sum scaled back to SD 0.6 px) on a 14 px vessel.
            let noisy: [Double] = (0..<400).map { i in
                let sum: Double = white[i] + white[i + 1] + white[i + 2]
                return 14 + sum / 3.0.squareRoot()
            }
            var m = Self.measurement(noisy)
            m.diameter = Statistics.savitzkyGolayQuadratic(noisy, halfWindow: 8)
            // Measured away from the path's ends, where the smoothing windows shrink.
            m.measurableRange = 40..<360
            let lesion = try XCTUnwrap(LesionFinder.segmentLesions(m).first)
            errors.append(lesion.minimalLumenDiameter - 14)
            noiseMinima.append((m.diameter[m.measurableRange].min() ?? 0) - 14)
        }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let noiseMean = noiseMinima.reduce(0, +) / Double(noiseMinima.count)
        XCTAssertEqual(mean, 0, accuracy: 0.3, "mean MLD error \(mean) px")
        XCTAssertLessThan(abs(mean), abs(noiseMean) / 3, "noise minimum \(noiseMean) px")
    }

    func testNormalNoisyVesselHasNoLesionAndMildOneIsNotReported() {
        let normal = Self.measurement((0..<400).map { _ in 14.0 }, noise: 0.25, seed: 9)
        XCTAssertEqual(LesionFinder.findLesions(in: [normal]).count, 0)
        let mild = Self.measurement(Self.taperedWithLesion(depth: 0.12, lengthPx: 40))
        XCTAssertEqual(LesionFinder.findLesions(in: [mild]).count, 0, "below the 20 % reporting floor")
        // Segment mode still reports the narrowest point.
        let segment = LesionFinder.segmentLesions(mild)
        XCTAssertEqual(segment.first?.percentDiameterStenosis ?? 0, 12, accuracy: 0.5)
    }

    func testNarrowingWithinTheVesselsOwnDiameterScatterIsNotALesion() {
        // Smoothed curve with a 30 % dip; raw diameters scattered by 10 % of the reference
        // (a vessel whose profiles are corrupted by background structure): depth 3 SD < 4 SD.
        var noisy = Self.measurement(Self.taperedWithLesion(depth: 0.3, lengthPx: 40))
        var generator = SplitMix(seed: 5)
        noisy.rawDiameter = noisy.diameter.map { $0 * (1 + 0.1 * generator.gaussian()) }
        XCTAssertEqual(LesionFinder.findLesions(in: [noisy]).count, 0)
        XCTAssertEqual(LesionFinder.segmentLesions(noisy).first?.percentDiameterStenosis ?? 0, 30, accuracy: 3, "segment mode still reports it")
        // The same dip over 2 % scatter is reported.
        var quiet = noisy
        generator = SplitMix(seed: 5)
        quiet.rawDiameter = quiet.diameter.map { $0 * (1 + 0.02 * generator.gaussian()) }
        XCTAssertEqual(LesionFinder.findLesions(in: [quiet]).count, 1)
    }

    func testDipOverRejectedProfilesIsNotALesion() {
        var m = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 40))
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 1)
        // Half of the profiles over the narrowing were rejected fits (clipped, off-centre,
        // unconverged): the model does not describe the image there.
        for i in 160..<240 where i % 2 == 0 { m.valid[i] = false }
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 0)
        XCTAssertEqual(LesionFinder.segmentLesions(m).first?.percentDiameterStenosis ?? 0, 50, accuracy: 0.5)
    }

    /// A path much fainter than the image's vessels (a segmented background structure) is not
    /// searched for lesions in automatic mode; a user's segment on it still is.
    func testFaintPathIsNotSearchedForLesions() {
        var m = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 40))
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 1, "contrast unknown: searched")
        m.relativeContrast = 0.75
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 1, "a crossing vessel's contrast")
        m.relativeContrast = 0.2
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 0)
        XCTAssertEqual(LesionFinder.segmentLesions(m).first?.percentDiameterStenosis ?? 0, 50, accuracy: 0.5)
    }

    func testDipWherePathFoldsBackIsNotALesion() throws {
        var m = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 30))
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 1)
        // The path walks 15 px out along a spur and back (arc 92.5...122.5 px) over the
        // narrowing: a skeleton loop, not the vessel's course.
        for i in m.centerline.indices {
            let s = m.arcLength[i]
            let out = min(max(s - 92.5, 0), 15) - min(max(s - 107.5, 0), 15)
            m.centerline[i] = Point2D(x: 20 + min(s, 92.5) + max(s - 122.5, 0), y: 50 + out)
        }
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 0)
        // Segment mode still reports the narrowest point the user asked about. (These synthetic
        // diameters are the lumen itself, not blurred along the axis: no axial-blur correction.)
        var exact = QCAParameters()
        exact.correctAxialBlur = false
        XCTAssertEqual(try XCTUnwrap(LesionFinder.segmentLesions(m, parameters: exact).first).percentDiameterStenosis, 50, accuracy: 0.5)
        // A smooth bend (radius 40 px) over the same narrowing stays a lesion.
        for i in m.centerline.indices {
            let angle = m.arcLength[i] / 40
            m.centerline[i] = Point2D(x: 20 + 40 * sin(angle), y: 90 - 40 * cos(angle))
        }
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 1)
    }

    /// The fold test is on the path the profiles were taken along: when that path is recorded
    /// and straight, lumen centres that stall (the narrowest fits of a tight lesion in noise all
    /// settling on one blob 3 px beside the path over 13 px of arc) do not make a fold; the same
    /// centres taken as the path do.
    func testStalledLumenCentresOnAStraightPathAreNotAFold() {
        var m = Self.measurement(Self.taperedWithLesion(depth: 0.8, lengthPx: 30))
        m.profilePath = m.centerline
        for i in m.centerline.indices where abs(m.arcLength[i] - 100) <= 6.5 {
            m.centerline[i] = Point2D(x: 120, y: 53)
        }
        XCTAssertFalse(LesionFinder.foldZone(m).contains(true))
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).first?.percentDiameterStenosis ?? 0, 80, accuracy: 1)
        m.profilePath = []
        XCTAssertTrue(LesionFinder.foldZone(m).contains(true))
        XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 0)
    }

    /// A 750 px path that starts in the guiding catheter (12.2 px, first 150 px) and continues
    /// into a 9.4 px vessel (1.5 mm at 0.16 mm/px), as automatic paths do (generated phantom
    /// `angio phantom --seed 8 --diameter 1.5 --stenosis 30`): the step tilts the whole-path
    /// reference line and inflates the whole-path diameter scatter.
    static func catheterThenVessel(lesionDepth: Double, noise: Double, seed: UInt64) -> VesselMeasurement {
        let diameters = (0..<1500).map { i -> Double in
            let s = Double(i) * 0.5
            if s < 150 { return 12.2 }
            let u = (s - 430) / 50
            let w = abs(u) < 0.5 ? (1 + cos(2 * Double.pi * u)) / 2 : 0
            return 9.4 * (1 - lesionDepth * w)
        }
        return measurement(diameters, noise: noise, seed: seed)
    }

    func testLesionBeyondACatheterStepIsFoundWithItsLocalReference() throws {
        for seed in UInt64(1)...UInt64(5) {
            let m = Self.catheterThenVessel(lesionDepth: 0.3, noise: 0.25, seed: seed)
            let lesion = try XCTUnwrap(LesionFinder.findLesions(in: [m]).first, "seed \(seed)")
            XCTAssertEqual(lesion.mldArcLength, 430, accuracy: 5, "seed \(seed)")
            // Local reference over the lesion and its margins: the vessel's 9.4 px, not the
            // line pulled towards the catheter.
            XCTAssertEqual(lesion.referenceDiameter, 9.4, accuracy: 0.25, "seed \(seed)")
            XCTAssertEqual(lesion.percentDiameterStenosis, 30, accuracy: 3, "seed \(seed)")
        }
    }

    func testCatheterStepIsNotALesion() {
        for seed in UInt64(1)...UInt64(5) {
            let m = Self.catheterThenVessel(lesionDepth: 0, noise: 0.25, seed: seed)
            XCTAssertEqual(LesionFinder.findLesions(in: [m]).count, 0, "seed \(seed)")
        }
    }

    func testRankingByStenosisAcrossVessels() {
        let a = Self.measurement(Self.taperedWithLesion(depth: 0.3, lengthPx: 40))
        var b = Self.measurement(Self.taperedWithLesion(depth: 0.7, lengthPx: 40, centre: 60))
        b.segmentId = 9
        let lesions = LesionFinder.findLesions(in: [a, b], maxCount: 5)
        XCTAssertEqual(lesions.map(\.segmentId), [9, 7])
        XCTAssertEqual(lesions.map(\.rank), [1, 2])
        XCTAssertEqual(LesionFinder.findLesions(in: [a, b], maxCount: 1).count, 1)
    }

    func testSameNarrowingOnOverlappingPathsIsReportedOnce() {
        let a = Self.measurement(Self.taperedWithLesion(depth: 0.5, lengthPx: 40))
        var b = Self.measurement(Self.taperedWithLesion(depth: 0.45, lengthPx: 40))
        b.segmentId = 3
        let lesions = LesionFinder.findLesions(in: [a, b])
        XCTAssertEqual(lesions.count, 1)
        XCTAssertEqual(lesions.first?.segmentId, 7, "the more severe sighting is kept")
    }

    func testStepToThinnerVesselIsNotALesion() {
        let step = (0..<400).map { i in i < 200 ? 16.0 : 9.0 }
        XCTAssertEqual(LesionFinder.findLesions(in: [Self.measurement(step)]).count, 0)
    }
}
