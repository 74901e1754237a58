import XCTest
import AngioDICOM
import AngioPhantom
import QCA
import VesselCore
@testable import AngioPipeline

/// Single-file analysis through the DICOM round trip: option parsing, record schema,
/// determinism, calibration sources and accuracy on phantom variants.
final class AnalysisTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("angio-analysis-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    func validator(_ name: String) throws -> AnalysisSchemaValidator {
        try AnalysisSchemaValidator(schemaURL: Self.packageRoot.appendingPathComponent("docs/\(name)"))
    }

    /// Writes a phantom scenario as DICOM and returns its path and truth.
    func writePhantom(seed: UInt64, configure: (inout PhantomScenario) -> Void = { _ in },
                      adjust: (inout PhantomSpec) -> Void = { _ in }) throws -> (path: String, truth: PhantomTruth) {
        var scenario = PhantomScenario()
        scenario.size = 320
        scenario.diameterMm = 3.0
        scenario.stenosisPercent = 60
        scenario.lesionPosition = 0.5
        scenario.branches = 1
        scenario.catheterFrench = nil
        configure(&scenario)
        var spec = PhantomGenerator.spec(seed: seed, scenario: scenario)
        adjust(&spec)
        let rendering = try PhantomGenerator.render(spec, threads: 1)
        let path = work.appendingPathComponent("phantom-\(seed)-\(UUID().uuidString.prefix(6)).dcm").path
        try PhantomWriter.write(rendering, to: path)
        return (path, rendering.truth)
    }

    // MARK: option parsing

    func testSegmentParsing() throws {
        let segment = try SegmentSpec.parse("10,20.5, 30,40")
        XCTAssertEqual(segment.start, Point2D(x: 10, y: 20.5))
        XCTAssertEqual(segment.end, Point2D(x: 30, y: 40))
        XCTAssertEqual(segment.description, "10,20.5,30,40")
        for bad in ["", "1,2,3", "1,2,3,4,5", "a,2,3,4", "1,2,-3,4", "5,5,5,5", "1,2,3,inf"] {
            XCTAssertThrowsError(try SegmentSpec.parse(bad), bad) { error in
                guard let error = error as? AnalysisOptionError else { return XCTFail("wrong error type") }
                XCTAssertEqual(error.option, "--segment")
                XCTAssertFalse(error.message.isEmpty)
            }
        }
    }

    func testCatheterParsing() throws {
        let catheter = try CatheterSpec.parse("100,40,160,52:6")
        XCTAssertEqual(catheter.frenchSize, 6)
        XCTAssertEqual(catheter.start, Point2D(x: 100, y: 40))
        XCTAssertEqual(catheter.description, "100,40,160,52:6")
        XCTAssertThrowsError(try CatheterSpec.parse("100,40,160,52")) { error in
            XCTAssertTrue("\(error)".contains("X0,Y0,X1,Y1:F"), "\(error)")
        }
        XCTAssertThrowsError(try CatheterSpec.parse("100,40,160,52:six")) { error in
            XCTAssertTrue("\(error)".contains("six"), "\(error)")
        }
        XCTAssertThrowsError(try CatheterSpec.parse("100,40,160,52:40")) { error in
            XCTAssertTrue("\(error)".contains("outside"), "\(error)")
        }
    }

    // MARK: records

    func testRecordOnPhantomMatchesSchemaTruthAndIsDeterministic() throws {
        let phantom = try writePhantom(seed: 11)
        let one = SingleFileAnalysis.analyze(path: phantom.path, options: AnalysisOptions(threads: 1))
        let two = SingleFileAnalysis.analyze(path: phantom.path, options: AnalysisOptions(threads: 2))
        XCTAssertEqual(one.record.status, "ok", "\(String(describing: one.record.error))")
        XCTAssertEqual(one.record.jsonData(), two.record.jsonData(), "JSON must not depend on the thread count")
        let errors = try validator("analysis.schema.json").validate(one.record.jsonData())
        XCTAssertEqual(errors, [], errors.joined(separator: "\n"))

        let record = one.record
        XCTAssertEqual(record.source.path, phantom.path)
        XCTAssertEqual(record.calibration?.source, "imagerPixelSpacingMagnification")
        XCTAssertEqual(try XCTUnwrap(record.calibration?.mmPerPixel), 0.16, accuracy: 1e-6)
        let stenosis = try XCTUnwrap(phantom.truth.vessels.first?.stenosis)
        let top = try XCTUnwrap(record.lesions.first)
        XCTAssertEqual(top.rank, 1)
        XCTAssertEqual(top.percentDiameterStenosis, stenosis.percentDiameterStenosis, accuracy: 6)
        XCTAssertEqual(try XCTUnwrap(top.minimalLumenDiameter.mm), stenosis.mldMm, accuracy: 0.15)
        let distance = hypot(top.location.x - stenosis.location.x, top.location.y - stenosis.location.y) * 0.16
        XCTAssertLessThan(distance, 2, "rank-1 lesion within 2 mm of the true MLD")
        XCTAssertGreaterThan(try XCTUnwrap(top.uncertainty.minimalLumenDiameter.mm), 0)
        XCTAssertNil(record.patient, "no PHI unless asked")
        let visual = try XCTUnwrap(one.visual)
        XCTAssertFalse(visual.measurements.isEmpty)
        XCTAssertEqual(visual.lesions.count, record.lesions.count)
    }

    func testValidatorRejectsWrongDocuments() throws {
        let schema = try validator("analysis.schema.json")
        let good = AnalysisRecord.failure(path: "x.dcm", code: "ioError", message: "x.dcm: cannot open", options: AnalysisOptions())
        XCTAssertEqual(try schema.validate(good.jsonData()), [])
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: good.jsonData()) as? [String: Any])
        object["status"] = "maybe"
        object["extra"] = 1
        object.removeValue(forKey: "warnings")
        let errors = try schema.validate(try JSONSerialization.data(withJSONObject: object))
        XCTAssertTrue(errors.contains { $0.contains("status") }, "\(errors)")
        XCTAssertTrue(errors.contains { $0.contains("extra") }, "\(errors)")
        XCTAssertTrue(errors.contains { $0.contains("warnings") }, "\(errors)")
        object = try XCTUnwrap(try JSONSerialization.jsonObject(with: good.jsonData()) as? [String: Any])
        object["schemaVersion"] = 1.5
        XCTAssertFalse(try schema.validate(try JSONSerialization.data(withJSONObject: object)).isEmpty)
    }

    func testErrorRecordForNonDICOMFile() throws {
        let path = work.appendingPathComponent("notes.dcm").path
        try Data("not a dicom file at all".utf8).write(to: URL(fileURLWithPath: path))
        let outcome = SingleFileAnalysis.analyze(path: path, options: AnalysisOptions())
        XCTAssertEqual(outcome.record.status, "error")
        XCTAssertNil(outcome.visual)
        XCTAssertEqual(outcome.record.error?.code, DICOMError.Code.notDICOM.rawValue)
        XCTAssertTrue(outcome.record.error?.message.contains("notes.dcm") ?? false)
        XCTAssertEqual(try validator("analysis.schema.json").validate(outcome.record.jsonData()), [])

        let missing = SingleFileAnalysis.analyze(path: work.appendingPathComponent("absent.dcm").path, options: AnalysisOptions())
        XCTAssertEqual(missing.record.error?.code, DICOMError.Code.ioError.rawValue)
    }

    func testFrameOutOfRangeAndSegmentOutsideImageAreErrors() throws {
        let phantom = try writePhantom(seed: 12)
        let frame = SingleFileAnalysis.analyze(path: phantom.path, options: AnalysisOptions(frameIndex: 3))
        XCTAssertEqual(frame.record.error?.code, "frameOutOfRange")
        var options = AnalysisOptions()
        options.segment = (Point2D(x: 5, y: 5), Point2D(x: 900, y: 10))
        let outside = SingleFileAnalysis.analyze(path: phantom.path, options: options)
        XCTAssertEqual(outside.record.error?.code, "invalidOptions")
        XCTAssertTrue(outside.record.error?.message.contains("outside") ?? false)
    }

    func testUncalibratedFileGivesNullMillimetresAndOverrideCalibrates() throws {
        let phantom = try writePhantom(seed: 13) { $0.calibration = .none }
        let record = SingleFileAnalysis.analyze(path: phantom.path, options: AnalysisOptions()).record
        XCTAssertEqual(record.status, "ok")
        XCTAssertEqual(record.calibration?.source, "none")
        XCTAssertNil(record.calibration?.mmPerPixel)
        let top = try XCTUnwrap(record.lesions.first)
        XCTAssertNil(top.minimalLumenDiameter.mm)
        XCTAssertNil(top.referenceDiameter.mm)
        XCTAssertGreaterThan(top.minimalLumenDiameter.px, 0)
        XCTAssertEqual(try validator("analysis.schema.json").validate(record.jsonData()), [])

        let overridden = SingleFileAnalysis.analyze(path: phantom.path, options: AnalysisOptions(mmPerPixelOverride: 0.2)).record
        XCTAssertEqual(overridden.calibration?.source, "user")
        let mm = try XCTUnwrap(overridden.lesions.first?.minimalLumenDiameter.mm)
        XCTAssertEqual(mm, (overridden.lesions.first?.minimalLumenDiameter.px ?? 0) * 0.2, accuracy: 1e-3)
    }

    func testSegmentModeMeasuresTheGivenVessel() throws {
        let phantom = try writePhantom(seed: 14) { $0.stenosisPercent = 50 }
        let main = try XCTUnwrap(phantom.truth.vessels.first)
        let stenosis = try XCTUnwrap(main.stenosis)
        let points = try XCTUnwrap(AccuracyStudy.segmentPoints(main, stenosis: stenosis, mmPerPixel: 0.16, width: 320, height: 320))
        var options = AnalysisOptions()
        options.segment = points
        let record = SingleFileAnalysis.analyze(path: phantom.path, options: options).record
        let top = try XCTUnwrap(record.lesions.first, "\(String(describing: record.error))")
        XCTAssertEqual(record.options.segment, SegmentSpec(start: points.start, end: points.end).description)
        XCTAssertEqual(top.percentDiameterStenosis, stenosis.percentDiameterStenosis, accuracy: 5)
        XCTAssertEqual(try XCTUnwrap(top.minimalLumenDiameter.mm), stenosis.mldMm, accuracy: 0.12)
    }

    func testCatheterCalibrationRecoversPixelSize() throws {
        for (seed, french) in [(UInt64(15), 6.0), (UInt64(16), 7.0)] {
            let phantom = try writePhantom(seed: seed) {
                $0.catheterFrench = french
                $0.calibration = .none
            }
            let catheter = try XCTUnwrap(phantom.truth.catheter)
            let inside = catheter.path.filter { $0.x >= 20 && $0.y >= 20 && $0.x <= 300 && $0.y <= 300 }
            XCTAssertGreaterThan(inside.count, 80, "catheter visible")
            // Two points on the catheter, away from the image border and from the ostium.
            let start = inside[inside.count / 5], end = inside[inside.count * 3 / 5]
            var options = AnalysisOptions()
            options.catheter = CatheterSpec(start: start, end: end, frenchSize: french)
            let record = SingleFileAnalysis.analyze(path: phantom.path, options: options).record
            XCTAssertEqual(record.status, "ok", "\(String(describing: record.error))")
            XCTAssertEqual(record.calibration?.source, "catheter")
            let mmPerPixel = try XCTUnwrap(record.calibration?.mmPerPixel)
            // Measured: 6 F within 3 %, 7 F about 5 % (the radiopaque wall is less attenuating than the
            // contrast column, a solid-cylinder fit places the edge slightly inside the outer wall).
            XCTAssertEqual(mmPerPixel, 0.16, accuracy: 0.16 * 0.06, "seed \(seed), \(french) F")
            XCTAssertGreaterThan(try XCTUnwrap(record.calibration?.relativeUncertainty), 0)
            XCTAssertNotNil(record.lesions.first?.minimalLumenDiameter.mm)
        }
    }

    // MARK: automatic mode on standard phantoms

    /// `angio phantom` defaults (coronary anatomy with a 6 F guide catheter continuing the
    /// vessel, 512 px, 0.16 mm/px, blur 1 px, 4000 photons): reference 1.5, 2.5 and 3.5 mm,
    /// 0-85 %. Automatic mode must find the lesion as rank 1 within 2 mm, with %DS within 6
    /// points and MLD within 0.1 mm, and report nothing on the normal vessels (a 1.5 mm vessel
    /// following the catheter once showed a false 24 % narrowing; a 30 % lesion there was
    /// once missed).
    func testAutomaticModeOnStandardPhantoms() throws {
        let cases: [(diameter: Double, stenosis: Double, seed: UInt64)] = [
            (1.5, 0, 3), (1.5, 30, 8), (1.5, 70, 3), (2.5, 50, 8), (2.5, 85, 3), (3.5, 0, 8), (3.5, 70, 8),
        ]
        for c in cases {
            var scenario = PhantomScenario()
            scenario.diameterMm = c.diameter
            scenario.stenosisPercent = c.stenosis
            let rendering = try PhantomGenerator.render(PhantomGenerator.spec(seed: c.seed, scenario: scenario), threads: 1)
            let path = work.appendingPathComponent("standard-\(c.diameter)-\(c.stenosis)-\(c.seed).dcm").path
            try PhantomWriter.write(rendering, to: path)
            let record = SingleFileAnalysis.analyze(path: path, options: AnalysisOptions(threads: 1)).record
            let label = "\(c.diameter) mm, \(c.stenosis) %, seed \(c.seed)"
            XCTAssertEqual(record.status, "ok", label)
            guard let stenosis = rendering.truth.vessels.first?.stenosis, c.stenosis > 0 else {
                XCTAssertEqual(record.lesions.count, 0, "normal vessel \(label): \(record.lesions.map(\.percentDiameterStenosis))")
                continue
            }
            let top = try XCTUnwrap(record.lesions.first, label)
            let mm = rendering.truth.trueMmPerPixel
            XCTAssertLessThanOrEqual(hypot(top.location.x - stenosis.location.x, top.location.y - stenosis.location.y) * mm, 2, label)
            XCTAssertEqual(top.percentDiameterStenosis, stenosis.percentDiameterStenosis, accuracy: 6, label)
            XCTAssertEqual(try XCTUnwrap(top.minimalLumenDiameter.mm), stenosis.mldMm, accuracy: 0.1, label)
        }
    }

    /// Flat-neck lesions (`LesionFinder.plateauMinimum`): the MLD is the mean over the neck,
    /// placed at its middle. The smoothed minimum read these two 0.082 and 0.073 mm low and
    /// placed them 1.0 and 0.5 mm from the middle (the deepest noise dip of the neck).
    func testFlatNeckLesionIsMeasuredOverItsNeck() throws {
        for (anatomy, seed) in [(PhantomAnatomy.coronary, UInt64(8)), (.peripheral, 9)] {
            var scenario = PhantomScenario()
            scenario.anatomy = anatomy
            scenario.diameterMm = 2.5
            scenario.stenosisPercent = 60
            scenario.lesionShape = .flatNeck
            let rendering = try PhantomGenerator.render(PhantomGenerator.spec(seed: seed, scenario: scenario), threads: 1)
            let path = work.appendingPathComponent("flat-neck-\(seed).dcm").path
            try PhantomWriter.write(rendering, to: path)
            let record = SingleFileAnalysis.analyze(path: path, options: AnalysisOptions(threads: 1)).record
            let stenosis = try XCTUnwrap(rendering.truth.vessels.first?.stenosis)
            let top = try XCTUnwrap(record.lesions.first, "seed \(seed)")
            let mm = rendering.truth.trueMmPerPixel
            XCTAssertLessThanOrEqual(hypot(top.location.x - stenosis.location.x, top.location.y - stenosis.location.y) * mm, 0.3, "seed \(seed)")
            XCTAssertEqual(try XCTUnwrap(top.minimalLumenDiameter.mm), stenosis.mldMm, accuracy: 0.05, "seed \(seed)")
            XCTAssertEqual(top.percentDiameterStenosis, stenosis.percentDiameterStenosis, accuracy: 2, "seed \(seed)")
        }
    }

    // MARK: accuracy on variants (DICOM round trip)

    /// Phantoms of the 120-run study with a straight bone edge next to the vessel: seed 5 (a
    /// normal vessel whose side branch crosses the fibula's edge: a false 27.6 % lesion with
    /// the isotropic background alone) and seed 98 (JPEG baseline, a 1.6 % narrowing along a
    /// bone: %DS error 8.9 points, MLD -0.14 mm). With the edges modelled
    /// (`StraightEdgeBackground`): no lesion, and 3.0 points / -0.01 mm; since the edge
    /// profiles are flat beyond their core (session 8) 4.8 points / -0.07 mm (an 8-bit JPEG of
    /// a practically normal vessel, whose MLD is the minimum of its noise: -0.03 mm before).
    func testStraightBoneEdgesInTheAccuracyStudy() throws {
        let cases = AccuracyStudy(count: 120, seed: 1, threads: 1, onlyIndices: [4, 97, 106, 110]).run(workDirectory: work.path)
        XCTAssertEqual(cases.count, 4)
        let normal = try XCTUnwrap(cases.first { $0.seed == 5 })
        XCTAssertNil(normal.error)
        XCTAssertEqual(normal.variant, .normal)
        XCTAssertLessThanOrEqual(normal.autoMaxPercentDS ?? 100, 15, "false lesion on the normal vessel")
        let mild = try XCTUnwrap(cases.first { $0.seed == 98 })
        let measured = try XCTUnwrap(mild.segmentPercentDS), truth = try XCTUnwrap(mild.truePercentDS)
        XCTAssertEqual(measured, truth, accuracy: 6)
        XCTAssertEqual(try XCTUnwrap(mild.segmentMLDmm), try XCTUnwrap(mild.trueMLDmm), accuracy: 0.08)
        // Bone edges a vessel covers along much of their length, found at the lower Hough
        // support (session 4; before: MLD -0.200 and +0.133 mm, acute gain -0.140 mm).
        let tight = try XCTUnwrap(cases.first { $0.seed == 107 })
        XCTAssertEqual(try XCTUnwrap(tight.segmentMLDmm), try XCTUnwrap(tight.trueMLDmm), accuracy: 0.06)
        let pair = try XCTUnwrap(cases.first { $0.seed == 111 })
        XCTAssertEqual(try XCTUnwrap(pair.segmentMLDmm), try XCTUnwrap(pair.trueMLDmm), accuracy: 0.06)
        // Acute gain +0.054 mm since session 11: the post MLD is now +0.017 mm (was +0.005,
        // helped by the noise minimum), the pre −0.037 mm.
        XCTAssertEqual(try XCTUnwrap(pair.measuredAcuteGainMm), try XCTUnwrap(pair.trueAcuteGainMm), accuracy: 0.07)
    }

    /// Study seed 1041 (an 82 % lesion, 0.31 mm, on a 1.75 mm artery running along a bone
    /// edge, and its post-dilation run): at the narrowest point the free fits slid 7 px off
    /// the lumen into the edge's shadow and read a 3.4 px "lumen" there, which the
    /// likelihood-ratio test preferred to the faint dip on the centre track. Segment mode
    /// read 73.4 % (MLD +0.15 mm), acute gain −0.155 mm. Fits further from the centre track
    /// than their radius plus 2 PSF sigmas are now refitted on the track (or dropped):
    /// 77.3 %, acute gain −0.088 mm.
    func testNarrowFitsOffTheCentreTrackAreRefittedOnIt() throws {
        let cases = AccuracyStudy(count: 120, seed: 1001, threads: 1, onlyIndices: [40]).run(workDirectory: work.path)
        let pair = try XCTUnwrap(cases.first { $0.seed == 1041 })
        XCTAssertNil(pair.error)
        XCTAssertEqual(try XCTUnwrap(pair.segmentPercentDS), try XCTUnwrap(pair.truePercentDS), accuracy: 6)
        XCTAssertEqual(try XCTUnwrap(pair.measuredAcuteGainMm), try XCTUnwrap(pair.trueAcuteGainMm), accuracy: 0.1)
    }

    /// The %DS figures over the reference range leave out phantoms whose reference at
    /// the MLD is outside 1.5-3.5 mm (tapered below it), and only those.
    func testAccuracySummaryOverTheStatedReferenceRange() {
        func make(_ seed: UInt64, reference: Double, error: Double) -> AccuracyStudy.Case {
            var c = AccuracyStudy.Case(seed: seed, variant: .reference)
            c.trueReferenceMm = reference
            c.truePercentDS = 50
            c.segmentPercentDS = 50 + error
            return c
        }
        let cases = [make(1, reference: 1.1, error: -20), make(2, reference: 1.5, error: 7), make(3, reference: 2.5, error: 1),
                     make(4, reference: 3.5, error: -2), make(5, reference: 3.6, error: 9), make(6, reference: 2.0, error: 0.5)]
        let summary = AccuracyStudy.summarize(cases)
        XCTAssertEqual(summary.percentDSWorstAbsError, 20, accuracy: 1e-9)
        XCTAssertEqual(summary.worstPercentDSSeeds, [1, 5, 2])
        XCTAssertEqual(summary.inRangePercentDSCount, 4)
        XCTAssertEqual(summary.inRangePercentDSWorstAbsError, 7, accuracy: 1e-9)
        XCTAssertEqual(summary.inRangeWorstPercentDSSeeds, [2, 4, 3])
        // Median of [0.5, 1, 2, 7] by the study's convention (upper middle).
        XCTAssertEqual(summary.inRangePercentDSMedianAbsError, 2, accuracy: 1e-9)
    }

    /// Two phantoms of each variant (reference, MONOCHROME1, 8-bit, JPEG-LS, normal, pre/post,
    /// JPEG baseline): segment-mode MLD accuracy, normal vessels, acute gain.
    func testAccuracyStudyOnVariants() throws {
        let study = AccuracyStudy(count: 14, seed: 101, size: 320)
        let cases = study.run(workDirectory: work.path)
        let summary = AccuracyStudy.summarize(cases)
        XCTAssertEqual(summary.failures, 0, cases.compactMap(\.error).joined(separator: "; "))
        XCTAssertGreaterThanOrEqual(summary.mldCount, 6)
        XCTAssertLessThanOrEqual(abs(summary.mldErrorMeanMm), 0.05, "MLD mean error \(summary.mldErrorMeanMm)")
        XCTAssertLessThanOrEqual(summary.mldErrorSDMm, 0.12, "MLD SD \(summary.mldErrorSDMm)")
        XCTAssertLessThanOrEqual(summary.percentDSMedianAbsError, 3)
        for c in cases where c.variant == .prePostPair {
            // A pair's pre run is a lesion worth dilating (>= 30 %).
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(c.truePercentDS), AccuracyStudy.pairMinimumPrePercent - 1e-9, "seed \(c.seed)")
            if let t = c.trueAcuteGainMm, let m = c.measuredAcuteGainMm { XCTAssertEqual(m, t, accuracy: 0.1, "seed \(c.seed)") }
        }
        // Normal vessels: no lesion above 15 % in automatic mode (issue target).
        XCTAssertGreaterThan(summary.normalVessels, 0)
        XCTAssertEqual(summary.normalWithFalseLesion, 0, "normal vessels with a lesion > 15 %")
        // Lossless variants must match the reference; lossy 8-bit JPEG is allowed more.
        for (name, error) in summary.mldErrorMeanByVariant {
            let bound = name == AccuracyStudy.Variant.jpegBaseline.name ? 0.25 : 0.15
            XCTAssertLessThanOrEqual(abs(error), bound, "variant \(name)")
        }
    }
}
