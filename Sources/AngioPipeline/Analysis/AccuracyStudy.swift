import AngioDICOM
import AngioPhantom
import Dispatch
import Foundation
import QCA
import VesselCore

/// Accuracy of the whole pipeline (DICOM written and read back, segmentation, QCA) on random
/// phantoms of known geometry (`angio accuracy`, docs/qca.md).
///
/// Phantom i uses seed `seed + i` and a variant by i mod 7: 0 reference (12-bit MONOCHROME2,
/// explicit little endian), 1 MONOCHROME1, 2 8-bit, 3 JPEG-LS lossless, 4 normal vessel (no
/// stenosis), 5 pre/post pair (pre at least 30 %, post: 15 % residual stenosis, independent
/// noise), 6 JPEG
/// baseline (8-bit lossy). Each file is analysed in automatic mode (rank-1 lesion) and in
/// segment mode with points 4 mm beyond the true lesion ends.
public struct AccuracyStudy: Sendable {
    public enum Variant: Int, Sendable, CaseIterable, Codable {
        case reference, monochrome1, eightBit, jpegLSLossless, normal, prePostPair, jpegBaseline
        public var name: String {
            switch self {
            case .reference: return "12-bit MONOCHROME2"
            case .monochrome1: return "MONOCHROME1"
            case .eightBit: return "8-bit"
            case .jpegLSLossless: return "JPEG-LS lossless"
            case .normal: return "normal vessel"
            case .prePostPair: return "pre/post pair"
            case .jpegBaseline: return "JPEG baseline 8-bit"
            }
        }
    }

    public struct Case: Sendable, Codable {
        public var seed: UInt64
        public var variant: Variant
        public var error: String?
        public var trueMLDmm: Double?
        public var trueReferenceMm: Double?
        public var truePercentDS: Double?
        /// Segment mode: the points measured between ("X0,Y0,X1,Y1", as `--segment`).
        public var segment: String?
        public var segmentMLDmm: Double?
        public var segmentPercentDS: Double?
        /// Automatic mode, rank-1 lesion.
        public var autoMLDmm: Double?
        public var autoPercentDS: Double?
        public var autoLocalisationErrorMm: Double?
        /// Largest %DS reported in automatic mode (normal vessels: must stay <= 15).
        public var autoMaxPercentDS: Double?
        public var trueAcuteGainMm: Double?
        public var measuredAcuteGainMm: Double?
    }

    /// Smallest stenosis (%) of the pre run of a pre/post pair.
    public static let pairMinimumPrePercent = 30.0
    /// The stated range of reference diameters (mm) at the lesion; the study's tapering
    /// vessels also reach below it (down to about 0.9 mm), reported separately.
    public static let statedReferenceRangeMm: ClosedRange<Double> = 1.5...3.5

    public var count: Int
    public var seed: UInt64
    public var size: Int
    public var threads: Int?
    /// Run only these phantom indices (0-based, i.e. seed - first seed) of the study, each with
    /// the variant it has in the full study: to re-examine single cases.
    public var onlyIndices: [Int]?
    /// 0: each phantom with the study's own quantum noise. k > 0: the same phantom (geometry,
    /// background, encoding) with the k-th independent noise draw (`noiseRepeatability`).
    public var noiseRealisation: UInt64

    public init(count: Int, seed: UInt64, size: Int = 384, threads: Int? = nil, onlyIndices: [Int]? = nil,
                noiseRealisation: UInt64 = 0) {
        self.count = count
        self.seed = seed
        self.size = size
        self.threads = threads
        self.onlyIndices = onlyIndices
        self.noiseRealisation = noiseRealisation
    }

    /// Noise seed of realisation k (> 0) of a run whose study noise seed is `base`.
    static func realisationNoiseSeed(_ base: UInt64, _ k: UInt64) -> UInt64 {
        base ^ (k &* 0x9E37_79B9_7F4A_7C15 | 1) &+ 0x0A11_CE5E_ED00
    }

    public func run(workDirectory: String) -> [Case] {
        let indices = selectedIndices
        let study = self
        let cases = parallelCases(indices.count) { study.runCase(indices[$0], workDirectory: workDirectory) }
        return indices.indices.map { cases[$0] ?? Case(seed: seed &+ UInt64(indices[$0]), variant: .reference, error: "not run") }
    }

    /// The phantom indices to run: `onlyIndices` within the study, else all.
    var selectedIndices: [Int] { onlyIndices.map { $0.filter { (0..<count).contains($0) } } ?? Array(0..<count) }

    /// `job(0)`, ..., `job(jobs - 1)` on at most `threads` workers (Dispatch, each worker a fixed
    /// stride of slots), results in job order: the same whatever the thread count.
    func parallelCases(_ jobs: Int, _ job: @Sendable (Int) -> Case) -> [Case?] {
        guard jobs > 0 else { return [] }
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, jobs))
        let storage = UnsafeMutableBufferPointer<Case?>.allocate(capacity: jobs)
        storage.initialize(repeating: nil)
        defer { storage.deinitialize(); storage.deallocate() }
        nonisolated(unsafe) let output = storage
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for slot in Swift.stride(from: worker, to: jobs, by: workers) { output[slot] = job(slot) }
        }
        return Array(storage)
    }

    func runCase(_ index: Int, workDirectory: String) -> Case {
        let caseSeed = seed &+ UInt64(index)
        let variant = Variant(rawValue: index % Variant.allCases.count) ?? .reference
        var result = Case(seed: caseSeed, variant: variant)
        var options = RandomPhantomOptions()
        options.size = size
        var spec = PhantomGenerator.randomSpec(seed: caseSeed, options: options)
        switch variant {
        case .reference: break
        case .prePostPair:
            // A lumen is dilated when it is narrowed: the pair's pre run has at least
            // `pairMinimumPrePercent` stenosis (the drawn 0-85 % mapped onto 30-85 %). A "pre"
            // of a few percent against the 15 % post measures the noise minimum of a normal
            // vessel, not a gain (docs/qca.md section 9).
            if let drawn = spec.vessels.first?.stenosis?.percentDiameter {
                let top = options.stenosisPercent.upperBound
                spec.vessels[0].stenosis?.percentDiameter = Self.pairMinimumPrePercent
                    + max(0, min(drawn, top)) / top * (top - Self.pairMinimumPrePercent)
            }
        case .monochrome1: spec.photometric = .monochrome1
        case .eightBit: spec.bitsStored = 8
        case .jpegLSLossless: spec.transferSyntax = "jpeg-ls"
        case .jpegBaseline: spec.bitsStored = 8; spec.transferSyntax = "jpeg-baseline"
        case .normal: if !spec.vessels.isEmpty { spec.vessels[0].stenosis = nil }
        }
        if noiseRealisation != 0 { spec.noiseSeed = Self.realisationNoiseSeed(spec.effectiveNoiseSeed, noiseRealisation) }
        let realisationTag = noiseRealisation == 0 ? "" : "-r\(noiseRealisation)"
        let path = (workDirectory as NSString).appendingPathComponent("accuracy-\(caseSeed)-\(variant.rawValue)\(realisationTag).dcm")
        // ANGIO_ACCURACY_KEEP=1 keeps the phantom files for inspection.
        let keep = ProcessInfo.processInfo.environment["ANGIO_ACCURACY_KEEP"] != nil
        defer { if !keep { try? FileManager.default.removeItem(atPath: path) } }
        let rendering: PhantomRendering
        do {
            rendering = try PhantomGenerator.render(spec, threads: 1)
            // Kept phantoms (ANGIO_ACCURACY_KEEP) get their truth JSON beside them.
            try PhantomWriter.write(rendering, spec: spec, to: path,
                                    truthPath: keep ? (path as NSString).deletingPathExtension + ".truth.json" : nil)
        } catch {
            result.error = "\(error)"
            return result
        }
        let truth = rendering.truth
        let mm = truth.trueMmPerPixel
        let auto = SingleFileAnalysis.analyze(path: path, options: AnalysisOptions(threads: 1)).record
        guard auto.status == "ok" else {
            result.error = auto.error?.message ?? "analysis failed"
            return result
        }
        func millimetres(_ length: AnalysisRecord.Length) -> Double { length.mm ?? length.px * mm }
        result.autoMaxPercentDS = auto.lesions.map(\.percentDiameterStenosis).max() ?? 0
        guard let main = truth.vessels.first, let stenosis = main.stenosis else { return result }
        result.trueMLDmm = stenosis.mldMm
        result.trueReferenceMm = stenosis.referenceDiameterAtMldMm
        result.truePercentDS = stenosis.percentDiameterStenosis
        if let top = auto.lesions.first {
            result.autoMLDmm = millimetres(top.minimalLumenDiameter)
            result.autoPercentDS = top.percentDiameterStenosis
            let dx = top.location.x - stenosis.location.x, dy = top.location.y - stenosis.location.y
            result.autoLocalisationErrorMm = (dx * dx + dy * dy).squareRoot() * mm
        }
        guard let points = Self.segmentPoints(main, stenosis: stenosis, mmPerPixel: mm, width: spec.width, height: spec.height) else { return result }
        var segmentOptions = AnalysisOptions(threads: 1)
        segmentOptions.segment = points
        result.segment = [points.start.x, points.start.y, points.end.x, points.end.y]
            .map { String(format: "%.2f", $0) }.joined(separator: ",")
        let segmentRecord = SingleFileAnalysis.analyze(path: path, options: segmentOptions).record
        if let lesion = segmentRecord.lesions.first {
            result.segmentMLDmm = millimetres(lesion.minimalLumenDiameter)
            result.segmentPercentDS = lesion.percentDiameterStenosis
        }
        if variant == .prePostPair, let preMLD = result.segmentMLDmm {
            var post = spec
            post.vessels[0].stenosis?.percentDiameter = 15
            post.noiseSeed = noiseRealisation == 0 ? caseSeed &+ 0x5EED : Self.realisationNoiseSeed(caseSeed &+ 0x5EED, noiseRealisation)
            post.seriesNumber = 2
            let postPath = (workDirectory as NSString).appendingPathComponent("accuracy-\(caseSeed)-post\(realisationTag).dcm")
            defer { if !keep { try? FileManager.default.removeItem(atPath: postPath) } }
            if let postRendering = try? PhantomGenerator.render(post, threads: 1),
               (try? PhantomWriter.write(postRendering, spec: post, to: postPath,
                                         truthPath: keep ? (postPath as NSString).deletingPathExtension + ".truth.json" : nil)) != nil,
               let postStenosis = postRendering.truth.vessels.first?.stenosis {
                let postRecord = SingleFileAnalysis.analyze(path: postPath, options: segmentOptions).record
                if let lesion = postRecord.lesions.first {
                    result.measuredAcuteGainMm = millimetres(lesion.minimalLumenDiameter) - preMLD
                    result.trueAcuteGainMm = postStenosis.mldMm - stenosis.mldMm
                }
            }
        }
        return result
    }

    /// Truth centerline points 4 mm before the lesion start and after its end (clamped to the
    /// vessel and kept 3 px inside the image).
    static func segmentPoints(_ vessel: PhantomVesselTruth, stenosis: PhantomStenosisTruth, mmPerPixel: Double,
                              width: Int, height: Int) -> (start: Point2D, end: Point2D)? {
        let margin = 4 / mmPerPixel
        let arc = vessel.arcLengthPx
        func inside(_ p: Point2D) -> Bool { p.x >= 3 && p.y >= 3 && p.x <= Double(width - 4) && p.y <= Double(height - 4) }
        guard let first = arc.firstIndex(where: { $0 >= stenosis.startArcLengthPx - margin }),
              let last = arc.lastIndex(where: { $0 <= stenosis.endArcLengthPx + margin }) else { return nil }
        var a = first, b = last
        while a < b && !inside(vessel.centerline[a]) { a += 1 }
        while b > a && !inside(vessel.centerline[b]) { b -= 1 }
        guard b > a + 10 else { return nil }
        return (vessel.centerline[a], vessel.centerline[b])
    }

    /// Summary statistics of a run.
    public struct Summary: Sendable, Codable {
        public var phantoms: Int
        public var failures: Int
        public var mldErrorMeanMm: Double
        public var mldErrorSDMm: Double
        public var mldCount: Int
        public var autoMLDErrorMeanMm: Double
        public var autoMLDErrorSDMm: Double
        public var autoMLDCount: Int
        public var percentDSMedianAbsError: Double
        public var percentDSWorstAbsError: Double
        /// 95th percentile of the absolute %DS error (nearest rank).
        public var percentDSP95AbsError: Double
        /// Fraction of segment-mode measurements within 6 %DS points of the truth.
        public var percentDSWithinSixFraction: Double
        /// Seeds of the (up to 3) largest %DS errors, worst first, to re-run with --only-seed.
        public var worstPercentDSSeeds: [UInt64]
        /// The %DS figures restricted to phantoms whose true reference at the MLD lies in
        /// `statedReferenceRangeMm` (the range; tapering vessels also go below it).
        public var inRangePercentDSMedianAbsError: Double
        public var inRangePercentDSWorstAbsError: Double
        public var inRangePercentDSCount: Int
        public var inRangeWorstPercentDSSeeds: [UInt64]
        public var localisationRate: Double
        public var localisationCount: Int
        public var normalVessels: Int
        public var normalWithFalseLesion: Int
        public var acuteGainErrorMeanMm: Double
        public var acuteGainErrorSDMm: Double
        public var acuteGainWorstAbsErrorMm: Double
        public var acuteGainCount: Int
        /// Fraction of pre/post pairs whose acute gain is within 0.1 mm of the truth.
        public var acuteGainWithinTenthFraction: Double
        /// Mean MLD error (segment mode, lumens >= 0.5 mm) per variant name.
        public var mldErrorMeanByVariant: [String: Double]
    }

    public static func summarize(_ cases: [Case]) -> Summary {
        func meanSD(_ values: [Double]) -> (Double, Double) {
            guard !values.isEmpty else { return (.nan, .nan) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.count > 1 ? values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1) : 0
            return (mean, variance.squareRoot())
        }
        let measured = cases.filter { $0.error == nil }
        let mldErrors = measured.compactMap { c -> Double? in
            guard let t = c.trueMLDmm, t >= 0.5, let m = c.segmentMLDmm else { return nil }
            return m - t
        }
        let autoErrors = measured.compactMap { c -> Double? in
            guard let t = c.trueMLDmm, t >= 0.5, let m = c.autoMLDmm, let e = c.autoLocalisationErrorMm, e <= 2 else { return nil }
            return m - t
        }
        let dsCases = measured.compactMap { c -> (error: Double, seed: UInt64)? in
            guard let t = c.truePercentDS, let m = c.segmentPercentDS else { return nil }
            return (abs(m - t), c.seed)
        }.sorted { $0.error != $1.error ? $0.error < $1.error : $0.seed < $1.seed }
        let dsErrors = dsCases.map(\.error)
        let inRange = measured.compactMap { c -> (error: Double, seed: UInt64)? in
            guard let t = c.truePercentDS, let m = c.segmentPercentDS, let reference = c.trueReferenceMm,
                  statedReferenceRangeMm.contains(reference) else { return nil }
            return (abs(m - t), c.seed)
        }.sorted { $0.error != $1.error ? $0.error < $1.error : $0.seed < $1.seed }
        let p95 = dsErrors.isEmpty ? Double.nan : dsErrors[min(dsErrors.count - 1, Int((0.95 * Double(dsErrors.count)).rounded(.up)) - 1)]
        let severe = measured.filter { ($0.truePercentDS ?? 0) >= 30 }
        let localised = severe.filter { ($0.autoLocalisationErrorMm ?? .infinity) <= 2 }
        let normals = measured.filter { $0.variant == .normal }
        let gains = measured.compactMap { c -> Double? in
            guard let t = c.trueAcuteGainMm, let m = c.measuredAcuteGainMm else { return nil }
            return m - t
        }
        var byVariant: [String: Double] = [:]
        for variant in Variant.allCases where variant != .normal {
            let errors = measured.filter { $0.variant == variant }.compactMap { c -> Double? in
                guard let t = c.trueMLDmm, t >= 0.5, let m = c.segmentMLDmm else { return nil }
                return m - t
            }
            if !errors.isEmpty { byVariant[variant.name] = meanSD(errors).0 }
        }
        let (mean, sd) = meanSD(mldErrors), (autoMean, autoSD) = meanSD(autoErrors), (gainMean, gainSD) = meanSD(gains)
        return Summary(phantoms: cases.count, failures: cases.count - measured.count,
                       mldErrorMeanMm: mean, mldErrorSDMm: sd, mldCount: mldErrors.count,
                       autoMLDErrorMeanMm: autoMean, autoMLDErrorSDMm: autoSD, autoMLDCount: autoErrors.count,
                       percentDSMedianAbsError: dsErrors.isEmpty ? .nan : dsErrors[dsErrors.count / 2],
                       percentDSWorstAbsError: dsErrors.last ?? .nan,
                       percentDSP95AbsError: p95,
                       percentDSWithinSixFraction: dsErrors.isEmpty ? .nan : Double(dsErrors.filter { $0 <= 6 }.count) / Double(dsErrors.count),
                       worstPercentDSSeeds: dsCases.suffix(3).reversed().map(\.seed),
                       inRangePercentDSMedianAbsError: inRange.isEmpty ? .nan : inRange[inRange.count / 2].error,
                       inRangePercentDSWorstAbsError: inRange.last?.error ?? .nan,
                       inRangePercentDSCount: inRange.count,
                       inRangeWorstPercentDSSeeds: inRange.suffix(3).reversed().map(\.seed),
                       localisationRate: severe.isEmpty ? .nan : Double(localised.count) / Double(severe.count),
                       localisationCount: severe.count,
                       normalVessels: normals.count,
                       normalWithFalseLesion: normals.filter { ($0.autoMaxPercentDS ?? 0) > 15 }.count,
                       acuteGainErrorMeanMm: gainMean, acuteGainErrorSDMm: gainSD,
                       acuteGainWorstAbsErrorMm: gains.map { abs($0) }.max() ?? .nan, acuteGainCount: gains.count,
                       acuteGainWithinTenthFraction: gains.isEmpty ? .nan : Double(gains.filter { abs($0) <= 0.1 }.count) / Double(gains.count),
                       mldErrorMeanByVariant: byVariant)
    }
}
