import Foundation

extension AccuracyStudy {
    /// One phantom of the study measured again under independent quantum-noise draws (same
    /// geometry, background, encoding and segment points; `angio accuracy --noise-repeats K`).
    ///
    /// Why: a miss of the study is either a bias of the method on that geometry (the mean over
    /// draws is off: something to fix) or an unlucky draw (the mean is right and the study value
    /// lies in the tail: the precision the noise allows). The spread is also the measurement's
    /// precision at that dose and contrast, the "precision" of the phantom validations of
    /// commercial QCA (Keane et al. 1995: SD of repeated measurements).
    public struct NoiseRepeatability: Sendable, Codable, Equatable {
        public var seed: UInt64
        public var variant: Variant
        /// Draws measured in segment mode (of the requested number).
        public var realisations: Int
        /// Draws whose analysis failed or reported no lesion in segment mode.
        public var failures: Int
        public var trueMLDmm: Double?
        public var truePercentDS: Double?
        /// The study's own draw.
        public var studySegmentMLDmm: Double?
        public var studySegmentPercentDS: Double?
        /// Over the draws, segment mode: mean and SD (nil with fewer than two draws).
        public var segmentMLDMeanMm: Double?
        public var segmentMLDSDMm: Double?
        public var segmentPercentDSMean: Double?
        public var segmentPercentDSSD: Double?
        /// Mean over the draws minus the truth.
        public var mldBiasMm: Double?
        public var percentDSBias: Double?
        /// (study %DS - mean over the draws) / SD over the draws: how far in the tail the
        /// study's own draw lies.
        public var studyPercentDSZ: Double?
        /// Pre/post pairs: acute gain over the draws (both runs re-drawn).
        public var trueAcuteGainMm: Double?
        public var acuteGainMeanMm: Double?
        public var acuteGainSDMm: Double?
    }

    /// Each selected phantom (`onlyIndices`, else all) with its study draw and `realisations`
    /// independent noise draws, run in parallel over (phantom, draw) pairs; deterministic
    /// whatever the thread count.
    public func noiseRepeatability(realisations: Int, workDirectory: String) -> [NoiseRepeatability] {
        let indices = selectedIndices
        let draws = max(0, realisations)
        let jobs = indices.flatMap { index in (0...draws).map { (index: index, draw: UInt64($0)) } }
        let base = self
        let storage = parallelCases(jobs.count) { slot in
            var study = base
            study.noiseRealisation = jobs[slot].draw
            return study.runCase(jobs[slot].index, workDirectory: workDirectory)
        }
        return indices.indices.map { k in
            let cases = (0...draws).map { storage[k * (draws + 1) + $0] }
            return Self.repeatability(study: cases[0], draws: Array(cases.dropFirst()), requested: draws,
                                      seed: seed &+ UInt64(indices[k]),
                                      variant: Variant(rawValue: indices[k] % Variant.allCases.count) ?? .reference)
        }
    }

    static func repeatability(study: Case?, draws: [Case?], requested: Int, seed: UInt64, variant: Variant) -> NoiseRepeatability {
        let measured = draws.compactMap { $0 }.filter { $0.error == nil && $0.segmentMLDmm != nil && $0.segmentPercentDS != nil }
        func meanSD(_ values: [Double]) -> (mean: Double?, sd: Double?) {
            guard !values.isEmpty else { return (nil, nil) }
            let mean = values.reduce(0, +) / Double(values.count)
            guard values.count > 1 else { return (mean, nil) }
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
            return (mean, variance.squareRoot())
        }
        let mld = meanSD(measured.compactMap(\.segmentMLDmm))
        let percent = meanSD(measured.compactMap(\.segmentPercentDS))
        let gain = meanSD(measured.compactMap(\.measuredAcuteGainMm))
        let truth = study ?? measured.first
        var result = NoiseRepeatability(seed: seed, variant: variant, realisations: measured.count,
                                        failures: requested - measured.count)
        result.trueMLDmm = truth?.trueMLDmm
        result.truePercentDS = truth?.truePercentDS
        result.studySegmentMLDmm = study?.segmentMLDmm
        result.studySegmentPercentDS = study?.segmentPercentDS
        result.segmentMLDMeanMm = mld.mean
        result.segmentMLDSDMm = mld.sd
        result.segmentPercentDSMean = percent.mean
        result.segmentPercentDSSD = percent.sd
        if let mean = mld.mean, let t = result.trueMLDmm { result.mldBiasMm = mean - t }
        if let mean = percent.mean, let t = result.truePercentDS { result.percentDSBias = mean - t }
        if let own = study?.segmentPercentDS, let mean = percent.mean, let sd = percent.sd, sd > 0 {
            result.studyPercentDSZ = (own - mean) / sd
        }
        result.trueAcuteGainMm = truth?.trueAcuteGainMm ?? measured.first?.trueAcuteGainMm
        result.acuteGainMeanMm = gain.mean
        result.acuteGainSDMm = gain.sd
        return result
    }
}
