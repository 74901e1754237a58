import Foundation
import VesselCore

/// Finds and ranks lesions on measured vessels.
///
/// Rule (documented in docs/qca.md): on the smoothed diameter function D(s) and the
/// interpolated reference R(s), within the measurable range,
/// 1. the deepest remaining local minimum of D/R is a candidate MLD;
/// 2. its boundaries are where D recovers to `lesionBoundaryFraction` (95 %) of R, walking
///    away from the MLD (linear interpolation between samples) or the end of the range;
/// 3. in automatic mode it is reported when %DS >= `minimumStenosisPercent`, the narrowing
///    R - MLD exceeds `minimumSignificance` standard uncertainties, the lesion is at least
///    `minimumLesionLength` long and the diameter recovers on both sides (a narrowing that
///    runs into the end of the measurable range is a step to a thinner vessel or the catheter
///    continuing the vessel, not a focal lesion), the relative narrowing is at least
///    `minimumDepthOverScatter` robust SDs of the vessel's raw diameter scatter and at most
///    `maximumRejectedFraction` of the profiles over it are rejected fits (false dips);
/// 4. its extent is removed and the search repeats.
/// Lesions of all vessels are ranked by %DS (ties: larger narrowing in px, then position).
public enum LesionFinder {
    /// Automatic mode: the relative narrowing (1 - MLD/ref) must be at least this many robust
    /// SDs of the vessel's raw diameter scatter about its reference.
    static let minimumDepthOverScatter = 4.0
    /// Automatic mode: at most this fraction of the profiles over the lesion (plus
    /// `rejectionMargin` samples on each side) may be rejected fits.
    static let maximumRejectedFraction = 1.0 / 3.0
    static let rejectionMargin = 6
    /// The diameter scatter is measured within this arc distance (px) on each side of a
    /// candidate, from at least `minimumScatterSamples` healthy samples (else on the whole path).
    static let scatterReach = 40.0
    static let minimumScatterSamples = 20

    /// Automatic mode: every significant lesion of every measurement, ranked, at most `maxCount`.
    /// `trace`, when given, receives one line per candidate narrowing and why it was kept or
    /// dropped (a developer aid, `ANGIO_DEBUG_MEASUREMENTS`).
    public static func findLesions(in measurements: [VesselMeasurement], parameters: QCAParameters = QCAParameters(),
                                   maxCount: Int = 5, trace: ((String) -> Void)? = nil) -> [Lesion] {
        var all: [Lesion] = []
        for (index, measurement) in measurements.enumerated() {
            // A faint structure is not a contrast-filled vessel (`minimumRelativeContrast`).
            if let contrast = measurement.relativeContrast, contrast < parameters.minimumRelativeContrast {
                trace?("m\(index): relative contrast \(contrast) below \(parameters.minimumRelativeContrast), not searched")
                continue
            }
            all.append(contentsOf: candidates(measurement, measurementIndex: index, parameters: parameters, automatic: true,
                                              trace: trace))
        }
        return rank(all, maxCount: maxCount)
    }

    /// Segment mode: the narrowest point of the measured path is always reported as the first
    /// lesion (even when mild), followed by further significant lesions on the path.
    public static func segmentLesions(_ measurement: VesselMeasurement, measurementIndex: Int = 0,
                                      parameters: QCAParameters = QCAParameters(), maxCount: Int = 5) -> [Lesion] {
        var found = candidates(measurement, measurementIndex: measurementIndex, parameters: parameters, automatic: false)
        guard !found.isEmpty else { return [] }
        // The deepest narrowing (first candidate) leads; others follow when significant.
        let lead = found.removeFirst()
        let others = found.filter { isSignificant($0, parameters: parameters) }
        var ranked = [lead] + rank(others, maxCount: max(0, maxCount - 1))
        for i in ranked.indices { ranked[i].rank = i + 1 }
        return Array(ranked.prefix(max(maxCount, 1)))
    }

    static func rank(_ lesions: [Lesion], maxCount: Int) -> [Lesion] {
        let sorted = lesions.sorted { a, b in
            if a.percentDiameterStenosis != b.percentDiameterStenosis { return a.percentDiameterStenosis > b.percentDiameterStenosis }
            let na = a.referenceDiameter - a.minimalLumenDiameter, nb = b.referenceDiameter - b.minimalLumenDiameter
            if na != nb { return na > nb }
            if a.segmentId != b.segmentId { return a.segmentId < b.segmentId }
            return a.mldIndex < b.mldIndex
        }
        // The same narrowing seen on two overlapping paths (e.g. a path followed beyond a free
        // end into another vessel) is reported once: the more severe sighting wins.
        var result: [Lesion] = []
        for lesion in sorted where result.count < max(0, maxCount) {
            let duplicate = result.contains { kept in
                let reach = max(kept.referenceDiameter, lesion.referenceDiameter, 8)
                return hypot(kept.mldPosition.x - lesion.mldPosition.x, kept.mldPosition.y - lesion.mldPosition.y) < reach
            }
            if !duplicate { result.append(lesion) }
        }
        for i in result.indices { result[i].rank = i + 1 }
        return result
    }

    static func isSignificant(_ lesion: Lesion, parameters: QCAParameters) -> Bool {
        let narrowing = lesion.referenceDiameter - lesion.minimalLumenDiameter
        let u = (lesion.minimalLumenDiameterUncertainty * lesion.minimalLumenDiameterUncertainty
            + lesion.referenceDiameterUncertainty * lesion.referenceDiameterUncertainty).squareRoot()
        return lesion.percentDiameterStenosis >= parameters.minimumStenosisPercent
            && narrowing > parameters.minimumSignificance * u
            && lesion.length >= parameters.minimumLesionLength
    }

    /// Candidates in order of depth (deepest first).
    static func candidates(_ m: VesselMeasurement, measurementIndex: Int, parameters: QCAParameters,
                           automatic: Bool, trace: ((String) -> Void)? = nil) -> [Lesion] {
        func note(_ index: Int, _ text: String) {
            trace?("m\(measurementIndex) i\(index) at \(String(format: "%.1f %.1f", m.centerline[index].x, m.centerline[index].y)) ratio \(String(format: "%.3f", m.referenceDiameter[index] > 0 ? m.diameter[index] / m.referenceDiameter[index] : 0)): \(text)")
        }
        let range = m.measurableRange
        guard range.count >= 3, m.referenceDiameter.count == m.diameter.count else { return [] }
        var ratio = [Double](repeating: .infinity, count: m.diameter.count)
        let folds = automatic ? foldZone(m) : [Bool](repeating: false, count: m.diameter.count)
        for i in range where m.referenceDiameter[i] > 0 {
            if m.junctionZone.indices.contains(i) && m.junctionZone[i] { continue }
            if folds[i] { continue }
            ratio[i] = m.diameter[i] / m.referenceDiameter[i]
        }
        // Robust scatter of the raw diameter about the reference on the healthy samples
        // (ratio above the lesion boundary): the vessel's own diameter noise. Measured near
        // each candidate (`scatterReach` px of arc on each side, the candidate itself left
        // out) when enough samples are there: a long path can hold parts the one reference
        // line does not follow (a catheter continuing the vessel, a step at a branch), which
        // would inflate a whole-path scatter and hide a real lesion elsewhere.
        func isHealthy(_ i: Int) -> Bool {
            ratio[i].isFinite && ratio[i] > parameters.lesionBoundaryFraction
                && (m.valid.indices.contains(i) ? m.valid[i] : true) && m.rawDiameter.indices.contains(i) && m.rawDiameter[i] > 0
        }
        // The same scatter of the base-smoothed diameter sets the MLD window (`refinedMinimum`).
        func robustScatter(_ indices: [Int], of series: [Double]) -> Double? {
            let values = indices.filter(isHealthy).map { series[$0] / m.referenceDiameter[$0] - 1 }
            guard values.count >= minimumScatterSamples, let centre = Statistics.median(values) else { return nil }
            return 1.4826 * (Statistics.median(values.map { abs($0 - centre) }) ?? 0)
        }
        let pathScatter = (raw: robustScatter(Array(range), of: m.rawDiameter) ?? 0,
                           smoothed: robustScatter(Array(range), of: m.diameter) ?? 0)
        let sampleStep = m.arcLength.count > 1 ? max((m.arcLength[m.arcLength.count - 1] - m.arcLength[0]) / Double(m.arcLength.count - 1), 1e-6) : 0.5
        let scatterSamples = Int((scatterReach / sampleStep).rounded())
        func localScatter(lower: Int, upper: Int) -> (raw: Double, smoothed: Double) {
            let left = Array(max(range.lowerBound, lower - scatterSamples)..<lower)
            let right = upper + 1 < range.upperBound ? Array((upper + 1)..<min(range.upperBound, upper + 1 + scatterSamples)) : []
            return (robustScatter(left + right, of: m.rawDiameter) ?? pathScatter.raw,
                    robustScatter(left + right, of: m.diameter) ?? pathScatter.smoothed)
        }
        var consumed = [Bool](repeating: false, count: m.diameter.count)
        // Extents of candidates rejected as false dips (profiles not described by the model):
        // unmeasured, like junction zones, when judging whether another narrowing recovers.
        var corrupted = [Bool](repeating: false, count: m.diameter.count)
        var result: [Lesion] = []
        let boundary = parameters.lesionBoundaryFraction
        while result.count < 50 {
            var best = -1
            for i in range where !consumed[i] && ratio[i].isFinite {
                if best < 0 || ratio[i] < ratio[best] { best = i }
            }
            guard best >= 0 else { break }
            if automatic && ratio[best] > 1 - parameters.minimumStenosisPercent / 100 { break }
            if !automatic && !result.isEmpty && ratio[best] > 1 - parameters.minimumStenosisPercent / 100 { break }
            var lo = best
            while lo > range.lowerBound && ratio[lo - 1] < boundary && !consumed[lo - 1] { lo -= 1 }
            var hi = best
            while hi < range.upperBound - 1 && ratio[hi + 1] < boundary && !consumed[hi + 1] { hi += 1 }
            // False dip (automatic mode): more than `maximumRejectedFraction` of the profiles
            // over the narrowing are rejected fits, i.e. the lumen model does not describe the
            // image there (clipped, off-centre, unconverged: a crossing, a vessel end, a
            // background structure).
            if automatic {
                var rejected = 0, total = 0
                for i in max(0, lo - rejectionMargin)...min(m.diameter.count - 1, hi + rejectionMargin) {
                    total += 1
                    if m.valid.indices.contains(i) && !m.valid[i] { rejected += 1 }
                }
                if Double(rejected) > maximumRejectedFraction * Double(total) {
                    note(best, "false dip, \(rejected) of \(total) profiles rejected")
                    for i in lo...hi { corrupted[i] = true }
                    for i in max(range.lowerBound, lo - 1)...min(range.upperBound - 1, hi + 1) { consumed[i] = true }
                    continue
                }
            }
            // Recovery must be measured: junction-zone samples (ratio infinite, not measured)
            // are skipped, so a narrowing that ends at a junction and continues as a thinner
            // vessel beyond it (a path running from a trunk into a branch) does not recover.
            func recovers(from start: Int, step: Int) -> Bool {
                var j = start
                while range.contains(j) && (!ratio[j].isFinite || corrupted[j]) { j += step }
                return range.contains(j) && ratio[j] >= boundary
            }
            let recoversLeft = lo > range.lowerBound && recovers(from: lo - 1, step: -1)
            let recoversRight = hi < range.upperBound - 1 && recovers(from: hi + 1, step: 1)
            // Sub-sample boundary positions where the ratio crosses the boundary fraction.
            let startArc = crossing(m, ratio, inner: lo, outer: lo - 1, level: boundary, recovers: recoversLeft)
            let endArc = crossing(m, ratio, inner: hi, outer: hi + 1, level: boundary, recovers: recoversRight)
            for i in max(range.lowerBound, lo - 1)...min(range.upperBound - 1, hi + 1) { consumed[i] = true }

            // Automatic mode wants a focal narrowing: the diameter must recover on both sides
            // (a step to a narrower vessel, or a catheter continuing the vessel, is not a lesion).
            if automatic && !(recoversLeft && recoversRight) {
                note(best, "no recovery (left \(recoversLeft), right \(recoversRight)), samples \(lo)...\(hi) in \(range)")
                continue
            }
            // The minimum of a noisy curve is biased low; within the lesion the diameter is
            // re-smoothed with a window scaled to the lesion (`refinedMinimum`), which averages
            // more profiles at the MLD without flattening the narrowing.
            let scatter = localScatter(lower: lo, upper: hi)
            let refined = refinedMinimum(m, lower: lo, upper: hi, startArc: startArc, endArc: endArc,
                                         parameters: parameters, fallback: best, smoothedScatter: scatter.smoothed)
            let mldIndex = refined.index
            var reference = m.referenceDiameter[mldIndex]
            var referenceUncertainty = m.referenceUncertainty.indices.contains(mldIndex) ? m.referenceUncertainty[mldIndex] : 0
            // Automatic mode: the reference is refitted over the lesion and `localReferenceMargin`
            // on each side, the segment an analyst would mark (segment mode is local already). A
            // long path can hold parts one line does not follow (a catheter continuing the
            // vessel, a step at a branch) and pull the reference off at the lesion.
            if automatic, let local = localReference(m, lower: lo, upper: hi, lesionLength: endArc - startArc, at: mldIndex) {
                reference = local.value
                referenceUncertainty = local.uncertainty
            }
            let mld = max(refined.diameter - axialBlurExcess(m, at: mldIndex, lesionLength: endArc - startArc, parameters: parameters),
                          0.5 * refined.diameter)
            let lesion = Lesion(rank: 0, segmentId: m.segmentId, measurementIndex: measurementIndex,
                                minimalLumenDiameter: mld, referenceDiameter: reference, mldIndex: mldIndex,
                                startIndex: lo, endIndex: hi, mldPosition: m.centerline[mldIndex],
                                startPosition: m.centerline[lo], endPosition: m.centerline[hi],
                                length: max(endArc - startArc, 0), mldArcLength: m.arcLength[mldIndex],
                                minimalLumenDiameterUncertainty: refined.uncertainty,
                                referenceDiameterUncertainty: referenceUncertainty)
            if automatic && !isSignificant(lesion, parameters: parameters) {
                note(best, "not significant: \(String(format: "%.1f", lesion.percentDiameterStenosis)) %, length \(String(format: "%.1f", lesion.length)) px")
                continue
            }
            // Across a long gap bridge only a tight narrowing is a lesion: a vessel mildly
            // narrowed does not lose its segmentation over 40+ px, two vessels joined by the
            // bridge do (with a mild "narrowing" where their lumens differ).
            if automatic, m.longBridgeZone.count == m.diameter.count, (lo...hi).contains(where: { m.longBridgeZone[$0] }),
               lesion.percentDiameterStenosis < longBridgeMinimumPercent {
                note(best, "across a long gap bridge and only \(String(format: "%.1f", lesion.percentDiameterStenosis)) %")
                continue
            }
            // The narrowing must stand out from the vessel's own diameter scatter.
            let depth = reference > 0 ? 1 - m.diameter[best] / reference : 0
            if automatic && depth < minimumDepthOverScatter * scatter.raw {
                note(best, "depth \(String(format: "%.3f", depth)) under \(minimumDepthOverScatter) x scatter \(String(format: "%.3f", scatter.raw)) smoothed \(String(format: "%.3f", scatter.smoothed)) length \(String(format: "%.1f", lesion.length))")
                continue
            }
            note(best, "lesion \(String(format: "%.1f", lesion.percentDiameterStenosis)) % at (\(String(format: "%.1f,%.1f", lesion.mldPosition.x, lesion.mldPosition.y))) depth \(String(format: "%.3f", depth)) scatter \(String(format: "%.3f", scatter.raw)) smoothed \(String(format: "%.3f", scatter.smoothed)) length \(String(format: "%.1f", lesion.length))")
            result.append(lesion)
        }
        return result
    }

    /// How much wider than the lumen at the narrowest point its profile reads because of the
    /// blur along the vessel: a profile mixes the cross-sections within the PSF (and its own
    /// strip) along the axis, so at a minimum of the diameter D(s) it sees about
    /// D + ½ σ_a² D'' (second order; the same whether the signal follows the diameter, for a
    /// wide lumen, or the area, for a narrow one: (D²)'' = 2 D D'' where D' = 0), with
    /// σ_a² = σ_PSF² + h²/3 (h the strip's half-length). D'' is the curvature of the least-
    /// squares quadratic through the raw diameters within max(base window, L95 / 5) of the
    /// MLD, used only when above `axialBlurCurvatureSignificance` standard errors (0 otherwise;
    /// the caller never removes more than half the MLD). A short tight lesion has the largest:
    /// 77 % over 5.4 mm of a 2.7 mm
    /// artery (study seed 4013, noise-free) read its MLD +0.28 px wide; ½ σ_a² D'' = 0.17 px.
    static func axialBlurExcess(_ m: VesselMeasurement, at index: Int, lesionLength: Double, parameters: QCAParameters) -> Double {
        let n = m.rawDiameter.count
        guard parameters.correctAxialBlur, n > 4, m.valid.count == n, m.arcLength.count == n, m.psfSigma > 0 else { return 0 }
        let step = max((m.arcLength[n - 1] - m.arcLength[0]) / Double(n - 1), 1e-6)
        let halfWindowPx = min(max(parameters.diameterSmoothingHalfWindow, lesionLength / 5), maximumMinimumHalfWindow)
        let reach = min(Int((halfWindowPx / step).rounded()), index, n - 1 - index)
        guard reach >= 3 else { return 0 }
        let raw = Statistics.fillGaps((index - reach...index + reach).map { m.valid[$0] && m.rawDiameter[$0] > 0 ? m.rawDiameter[$0] : .nan })
        guard raw.allSatisfy({ $0.isFinite }) else { return 0 }
        // Least-squares quadratic a0 + a1 k + a2 (k² - mean k²) in k = -reach...reach (the
        // three basis functions are orthogonal on the symmetric window).
        let meanSquare = Double(reach * (reach + 1)) / 3
        var sum = 0.0, linear = 0.0, linearNorm = 0.0, quadratic = 0.0, quadraticNorm = 0.0
        for k in -reach...reach {
            let value = raw[k + reach], centred = Double(k * k) - meanSquare
            sum += value
            linear += Double(k) * value; linearNorm += Double(k * k)
            quadratic += centred * value; quadraticNorm += centred * centred
        }
        guard quadraticNorm > 0, linearNorm > 0 else { return 0 }
        let count = Double(2 * reach + 1)
        let a0 = sum / count, a1 = linear / linearNorm, a2 = quadratic / quadraticNorm
        var residualSquares = 0.0
        for k in -reach...reach {
            let e = raw[k + reach] - (a0 + a1 * Double(k) + a2 * (Double(k * k) - meanSquare))
            residualSquares += e * e
        }
        // Standard error of a2; profiles overlap (a strip is 2h long, samples `step` apart), so
        // about 2h / step neighbouring samples share their noise.
        let correlated = max(1, 2 * parameters.stripHalfLength / step)
        let standardError = (residualSquares / max(count - 3, 1) / quadraticNorm * correlated).squareRoot()
        // Only a curvature clearly above its noise is the lesion's: at the noise minimum of a
        // normal or mildly narrowed segment the fitted curvature is mostly noise, which would
        // make every MLD read low (six 120-phantom studies, 0-20 % lesions: MLD −0.010 →
        // −0.015 mm when always applied).
        guard a2 > Self.axialBlurCurvatureSignificance * standardError else { return 0 }
        let curvature = 2 * a2 / (step * step)
        let axialVariance = m.psfSigma * m.psfSigma + parameters.stripHalfLength * parameters.stripHalfLength / 3
        return 0.5 * axialVariance * curvature
    }
    /// The MLD's curvature (`axialBlurExcess`) is used when above this many standard errors.
    static let axialBlurCurvatureSignificance = 3.0

    /// Smallest percent diameter stenosis of a lesion across a long gap bridge (automatic mode).
    static let longBridgeMinimumPercent = 70.0

    /// Fold-backs: a vessel is smooth on the scale of a few px, so the chord between the
    /// samples a half window of arc before and after a sample is close to the arc between
    /// them; much less means the path turns back there (a skeleton loop, or a spur walked out
    /// and back).
    /// (half window in px of arc, smallest chord / arc): a sharp turn, and a wide loop (a U-bend
    /// of a real vessel over 30 px of arc has a radius of curvature >= 10 px, chord/arc >= 0.6).
    static let foldScales: [(halfWindow: Double, minimumChordOverArc: Double)] = [(6, 0.6), (15, 0.5)]

    /// Samples where the path folds back, widened by a reference diameter + 3 px on each side
    /// (like a junction zone: profiles there cut the vessel obliquely or not at all). Judged on
    /// the path the profiles were taken along, not on the fitted lumen centres: in a tight
    /// lesion the centres of the narrowest fits scatter by a few px in the noise and made the
    /// lesion itself a fold (tight-lesion sweep, peripheral seed 12 at 85 %: not found).
    static func foldZone(_ m: VesselMeasurement) -> [Bool] {
        let n = m.centerline.count
        var zone = [Bool](repeating: false, count: n)
        guard n > 2, m.arcLength.count == n else { return zone }
        let path = m.profilePath.count == n ? m.profilePath : m.centerline
        let step = max((m.arcLength[n - 1] - m.arcLength[0]) / Double(n - 1), 1e-6)
        var folded: [Int] = []
        for i in 0..<n {
            for scale in foldScales {
                let k = max(1, Int((scale.halfWindow / step).rounded()))
                let a = max(0, i - k), b = min(n - 1, i + k)
                let arc = m.arcLength[b] - m.arcLength[a]
                guard arc > scale.halfWindow else { continue }
                let chord = hypot(path[b].x - path[a].x, path[b].y - path[a].y)
                if chord < scale.minimumChordOverArc * arc { folded.append(i); break }
            }
        }
        for i in folded {
            let reference = m.referenceDiameter.indices.contains(i) ? m.referenceDiameter[i] : 0
            let margin = Int(((reference + 3) / step).rounded(.up))
            for j in max(0, i - margin)...min(n - 1, i + margin) { zone[j] = true }
        }
        return zone
    }

    /// Margin (px of arc) on each side of a lesion for its local reference in automatic mode:
    /// the largest of 25 px (4 mm at 0.16 mm/px, the margin of the accuracy study's segments),
    /// the lesion's length and 3 reference diameters.
    static func localReferenceMargin(lesionLength: Double, referenceDiameter: Double) -> Double {
        max(50, 2 * lesionLength, 5 * referenceDiameter)
    }

    /// The interpolated reference refitted over the lesion and its margins (nil when that
    /// stretch is too short to hold healthy samples on both sides).
    static func localReference(_ m: VesselMeasurement, lower: Int, upper: Int, lesionLength: Double,
                               at index: Int) -> (value: Double, uncertainty: Double)? {
        let range = m.measurableRange
        let n = m.diameter.count
        guard n > 1, m.arcLength.count == n, m.valid.count == n else { return nil }
        let step = max((m.arcLength[n - 1] - m.arcLength[0]) / Double(n - 1), 1e-6)
        let margin = Int((localReferenceMargin(lesionLength: lesionLength, referenceDiameter: m.referenceDiameter[index]) / step).rounded())
        let from = max(range.lowerBound, lower - margin), to = min(range.upperBound, upper + 1 + margin)
        // Healthy stretches on both sides of at least a third of the margin.
        guard lower - from >= margin / 3, to - (upper + 1) >= margin / 3 else { return nil }
        let usable = (0..<n).map { i in m.valid[i] && !(m.junctionZone.indices.contains(i) && m.junctionZone[i]) }
        let fitted = ReferenceDiameter.fit(arcLength: m.arcLength, diameter: m.diameter, valid: usable, range: from..<to)
        guard fitted.values.indices.contains(index), fitted.values[index] > 0 else { return nil }
        return (fitted.values[index], fitted.uncertainty.indices.contains(index) ? fitted.uncertainty[index] : 0)
    }

    /// Radius (in PSF sigmas) above which a lumen counts as wide for the MLD window: the same
    /// 3 sigmas as the upper end of the default narrow-lumen range (`QCAParameters.fixedCenterBlend`).
    static let wideLumenRadiusInSigmas = 3.0
    /// Radius (in PSF sigmas) below which a lumen counts as narrow for the MLD window. Between
    /// it and `wideLumenRadiusInSigmas` the window moves geometrically from the narrow to the
    /// wide one: a hard switch at 3 sigmas gave a 15 % residual stenosis of a 1.6 mm vessel
    /// (r ≈ 3 sigmas) the short window or the long one depending on the noise at its minimum
    /// (study pair 4083: post-dilation MLD −0.109 mm with the short window, −0.060 mm
    /// blended). Six 120-phantom studies: lower bound 2 sigmas gave MLD SD 0.0448 → 0.0433 mm,
    /// %DS median 1.14 → 1.08 points; 2.5 sigmas 0.0439 mm, 1.10; 1.5 sigmas 0.0432 mm but
    /// %DS p95 4.43 → 4.50 and one more acute-gain pair beyond 0.1 mm.
    static let narrowLumenRadiusInSigmas = 2.0
    /// Largest MLD half-window (px of arc) of a narrow lumen.
    static let maximumMinimumHalfWindow = 20.0
    /// Largest MLD half-window (px of arc) of a wide lumen: a normal or barely narrowed
    /// stretch is averaged over up to 60 px (about 10 mm at 0.16 mm/px).
    static let maximumWideMinimumHalfWindow = 30.0
    /// Shortest narrowing length assumed for a narrowing lost in the noise, in reference
    /// diameters: a focal lesion is rarely shorter than a few vessel diameters, and a shorter
    /// assumption leaves a normal vessel's noise dip with a short window (120-phantom studies:
    /// 4 and an unbounded window gave the same figures; a 6.5 % lesion beside a bone edge,
    /// `BackgroundEdgeTests`, reads 2.1 % at 4 and 1.6 % unbounded).
    static let indistinctLengthInReferences = 4.0
    /// A wide-lumen narrowing is not told apart from the noise when it is shallower than the
    /// expected deepest noise dip of the searched stretch plus one SD: sqrt(2 ln N) + 1 SDs of
    /// the smoothed diameter's own scatter, N the number of independent base windows (2 h₀
    /// long) in the measurable range (the Gaussian extreme-value approximation; about 3 SDs on
    /// the study's 80 px segments). Its boundary crossings are then set by the noise, so its
    /// length is not measured: it is taken as at least `indistinctLengthInReferences`
    /// reference diameters for the MLD window (a floor that fades out linearly up to twice
    /// the threshold).
    static func indistinctDepthInScatters(rangeLength: Double, baseHalfWindow: Double) -> Double {
        let windows = max(rangeLength / max(2 * baseHalfWindow, 1e-6), 2)
        return (2 * log(windows)).squareRoot() + 1
    }

    /// Full length of a cosine narrowing (1 - p (1 + cos(pi x / (L/2))) / 2 of the reference)
    /// whose stretch below the boundary fraction b of the reference is `boundaryLength` long:
    /// that stretch is L theta / pi with cos(theta) = 2 (1 - b) / p - 1. A mild narrowing
    /// crosses the boundary close to its middle (p = 14 %: at 0.59 L), a tight one near its
    /// ends (p = 85 %: at 0.84 L). Depths below 2 (1 - b) do not cross it; they are clamped.
    static func cosineNarrowingLength(boundaryLength: Double, depth: Double, boundaryFraction: Double) -> Double {
        let clampedDepth = min(max(depth, 1.2 * (1 - boundaryFraction)), 1)
        let theta = acos(min(max(2 * (1 - boundaryFraction) / clampedDepth - 1, -1), 1))
        return theta > 0 ? boundaryLength * Double.pi / theta : boundaryLength
    }

    /// The MLD on a re-smoothed diameter: the minimum of a noisy curve is biased low (the noise
    /// dips), so within the lesion the raw diameters are smoothed again with a quadratic
    /// Savitzky–Golay window scaled to the lesion.
    /// - Narrow lumens (MLD radius below `narrowLumenRadiusInSigmas` PSF sigmas): L95 / 7, L95 the
    ///   length between the boundary crossings (< 0.5 % of the depth lost on a cosine narrowing).
    ///   Their raw diameters carry an upward noise bias (section 4 of docs/qca.md) which the
    ///   low-biased minimum of a short window partly offsets; a longer window exposes it
    ///   (measured on the 120-phantom study: seeds 36, 73, 104 were 1.5–2 %DS points worse at L / 5).
    /// - Wide lumens: the raw fits are unbiased and the window balances the two biases of the
    ///   MLD (`balancedHalfWindow`): the flattening of the narrowing, which grows with its depth
    ///   and shrinks with its length, against the noise minimum, set by `smoothedScatter` (robust
    ///   SD of the base-smoothed diameter about the reference, relative). A narrowing no deeper
    ///   than `indistinctDepthInScatters` of that scatter gets a window for a narrowing at least
    ///   `indistinctLengthInReferences` long: its minimum is mostly noise (six 120-phantom
    ///   studies: normal segments read 0.060 mm low on average with the L / 5 window of
    ///   sessions 7–10, 0.011 mm low with this one; section 9 of docs/qca.md).
    /// - In between (radius from `narrowLumenRadiusInSigmas` to `wideLumenRadiusInSigmas`):
    ///   the geometric interpolation of the two windows, linear in the radius.
    static func refinedMinimum(_ m: VesselMeasurement, lower: Int, upper: Int, startArc: Double, endArc: Double,
                               parameters: QCAParameters, fallback: Int, smoothedScatter: Double = 0)
        -> (index: Int, diameter: Double, uncertainty: Double) {
        let baseUncertainty = m.diameterUncertainty.indices.contains(fallback) ? m.diameterUncertainty[fallback] : 0
        let baseHalfWindow = parameters.diameterSmoothingHalfWindow
        let narrowWindowPx = min(max((endArc - startArc) / 7, baseHalfWindow), maximumMinimumHalfWindow)
        var halfWindowPx = narrowWindowPx
        let reference = m.referenceDiameter.indices.contains(fallback) ? m.referenceDiameter[fallback] : 0
        let radiusInSigmas = m.psfSigma > 0 ? m.diameter[fallback] / 2 / m.psfSigma : .infinity
        let wideness = reference > 0 ? min(max((radiusInSigmas - narrowLumenRadiusInSigmas)
                                               / (wideLumenRadiusInSigmas - narrowLumenRadiusInSigmas), 0), 1) : 0
        if wideness > 0 {
            let depth = 1 - m.diameter[fallback] / reference
            let length = cosineNarrowingLength(boundaryLength: endArc - startArc, depth: depth,
                                               boundaryFraction: parameters.lesionBoundaryFraction)
            let range = m.measurableRange
            let rangeLength = range.count > 1 ? m.arcLength[range.upperBound - 1] - m.arcLength[range.lowerBound] : 0
            let indistinct = indistinctDepthInScatters(rangeLength: rangeLength, baseHalfWindow: baseHalfWindow)
            // The floor fades out between the threshold and twice it, so the window does not
            // jump between draws of the same vessel whose deepest dip lies near the threshold
            // (noise repeats of study seeds 1088 and 1120: %DS SD 4.1 and 4.3 points with a
            // hard switch, 3.3 and 3.3 with the fade).
            let depthInScatters = smoothedScatter > 0 ? depth / smoothedScatter : .infinity
            let fade = min(max((2 * indistinct - depthInScatters) / indistinct, 0), 1)
            let lengthFloor = indistinctLengthInReferences * reference * fade
            let balanced = balancedHalfWindow(relativeDepth: depth, reference: reference, narrowingLength: max(length, lengthFloor),
                                              smoothedScatter: smoothedScatter, baseHalfWindow: baseHalfWindow)
            let wideWindowPx = min(max(balanced, baseHalfWindow), maximumWideMinimumHalfWindow)
            // Between the narrow and the wide lumen the window moves geometrically from one
            // to the other, so it does not jump when the smoothed minimum crosses a threshold.
            halfWindowPx = wideness >= 1 ? wideWindowPx : exp((1 - wideness) * log(narrowWindowPx) + wideness * log(wideWindowPx))
            if wideness >= 1, fade == 0, let plateau = plateauMinimum(m, startArc: startArc, endArc: endArc, fallback: fallback, parameters: parameters) {
                return plateau
            }
        }
        if wideness < 1, reference > 0, radiusInSigmas >= plateauMinimumRadiusInSigmas,
           let plateau = plateauMinimum(m, startArc: startArc, endArc: endArc, fallback: fallback, parameters: parameters) {
            return plateau
        }
        guard halfWindowPx > baseHalfWindow * 1.01, m.rawDiameter.count == m.diameter.count else {
            return (fallback, m.diameter[fallback], baseUncertainty)
        }
        let step = m.arcLength.count > 1 ? max(m.arcLength[1] - m.arcLength[0], 1e-6) : 0.5
        let halfWindow = Int((halfWindowPx / step).rounded())
        let from = max(0, lower - halfWindow), to = min(m.diameter.count - 1, upper + halfWindow)
        let raw = (from...to).map { i -> Double in
            let valid = m.valid.indices.contains(i) ? m.valid[i] : true
            return valid && m.rawDiameter[i] > 0 ? m.rawDiameter[i] : .nan
        }
        let filled = Statistics.fillGaps(raw)
        guard filled.allSatisfy({ $0.isFinite }) else { return (fallback, m.diameter[fallback], baseUncertainty) }
        let smoothed = Statistics.savitzkyGolayQuadratic(filled, halfWindow: halfWindow)
        var best = fallback, bestValue = Double.infinity
        for i in lower...upper where smoothed[i - from] < bestValue {
            bestValue = smoothed[i - from]; best = i
        }
        guard bestValue.isFinite, bestValue >= 0 else { return (fallback, m.diameter[fallback], baseUncertainty) }
        // Noise falls with the square root of the window length.
        let uncertainty = baseUncertainty * (baseHalfWindow / halfWindowPx).squareRoot()
        return (best, bestValue, uncertainty)
    }

    /// Narrowest flat bottom (radius in PSF sigmas) measured as a plateau: below, the raw
    /// radii carry the narrow-lumen noise bias (section 4 of docs/qca.md), which the short
    /// window's low minimum offsets. A 0.75 mm bottom (4.7 px) reads about 2.2 sigmas at the
    /// smoothed minimum, so 2 missed some 70 % flat necks on 2.5 mm vessels.
    static let plateauMinimumRadiusInSigmas = 1.5
    /// Shortest flat bottom (half-length, px of arc) measured as a plateau.
    static let minimumPlateauHalfLength = 6.0
    /// How much better (in noise variances per independent strip) the flat-bottomed template
    /// must fit than the cosine one for a narrowing to count as flat-bottomed. Flat-neck
    /// phantoms (8 mm, 4000 photons/pixel) score 110–180 at 2.5 mm and 24–33 at 1.5 mm; the
    /// only cosine lesions of the six 120-phantom studies above 9 scored 9.7 and 11.5 (study
    /// seeds 4041 and 5115, where the background makes the bottom of a cosine lesion read
    /// flat), hence 20.
    static let plateauTestLimit = 20.0

    /// A narrowing with a flat bottom (a uniform narrow segment: a long diffuse lesion, the
    /// cylindrical stenosis of a lumen phantom) has no single narrowest point: every profile
    /// along the bottom measures the MLD, and the minimum of the smoothed diameter there is
    /// only the deepest noise dip (the quadratic Savitzky–Golay window keeps a curvature that
    /// is not there, so its noise is 1.5× that of a mean). Flat-neck phantoms (2.5 mm, 60 %,
    /// 8 mm, 512 px, 4000 photons/pixel, coronary and peripheral): MLD −0.060 ± 0.021 mm
    /// with the smoothed minimum, −0.008 mm noise-free. The raw diameters around the lesion
    /// are fitted with a template D = D_ref (1 − p w(s)), w = 1 over a bottom of half-length a
    /// about a centre c and cosine shoulders of length b beyond (a = 0: the cosine narrowing),
    /// by least squares over a grid of (c, a, b) with p linear. When the best template has a
    /// bottom of at least `minimumPlateauHalfLength` px and fits better than the best cosine
    /// by more than `plateauTestLimit` noise variances per independent strip, the MLD is the
    /// mean of the raw diameters over the bottom (1 px in from its ends) at its middle. nil
    /// otherwise (the caller then smooths as before).
    static func plateauMinimum(_ m: VesselMeasurement, startArc: Double, endArc: Double, fallback: Int,
                               parameters: QCAParameters) -> (index: Int, diameter: Double, uncertainty: Double)? {
        let boundaryLength = endArc - startArc
        guard boundaryLength >= 4 * minimumPlateauHalfLength, m.rawDiameter.count == m.diameter.count,
              m.referenceDiameter.count == m.diameter.count else { return nil }
        let pad = 0.25 * boundaryLength
        var arc: [Double] = [], diameter: [Double] = [], reference: [Double] = []
        for i in m.arcLength.indices where m.arcLength[i] >= startArc - pad && m.arcLength[i] <= endArc + pad {
            guard m.valid.indices.contains(i), m.valid[i], m.rawDiameter[i] > 0, m.referenceDiameter[i] > 0 else { continue }
            arc.append(m.arcLength[i]); diameter.append(m.rawDiameter[i]); reference.append(m.referenceDiameter[i])
        }
        guard arc.count >= 20 else { return nil }
        // Narrowing weight w of the template at `distance` from its centre.
        func weight(_ distance: Double, bottom: Double, shoulder: Double) -> Double {
            distance <= bottom ? 1 : (distance < bottom + shoulder ? 0.5 * (1 + cos(Double.pi * (distance - bottom) / shoulder)) : 0)
        }
        // Sum of squares of the best depth p for a template (centre, bottom a, shoulder b).
        func evaluate(centre: Double, bottom: Double, shoulder: Double) -> (sum: Double, depth: Double) {
            var weights = [Double](repeating: 0, count: arc.count)
            var numerator = 0.0, denominator = 0.0
            for k in arc.indices {
                let w = weight(abs(arc[k] - centre), bottom: bottom, shoulder: shoulder)
                weights[k] = w
                let x = reference[k] * w
                numerator += x * (reference[k] - diameter[k]); denominator += x * x
            }
            guard denominator > 0 else { return (.infinity, 0) }
            let depth = min(max(numerator / denominator, 0), 1)
            var sum = 0.0
            for k in arc.indices {
                let e = diameter[k] - reference[k] * (1 - depth * weights[k])
                sum += e * e
            }
            return (sum, depth)
        }
        // The template's centre is searched about both the smoothed minimum and the middle of
        // the boundary crossings: on a long flat bottom the noise puts the minimum anywhere.
        let centre0 = m.arcLength[fallback], middle = (startArc + endArc) / 2
        let centreReach = 0.2 * boundaryLength
        let shortestTotal = (0.3 * boundaryLength).rounded(), longestTotal = 0.9 * boundaryLength
        var best = (sum: Double.infinity, centre: centre0, bottom: 0.0, shoulder: 0.0, depth: 0.0)
        var bestCosine = (sum: Double.infinity, centre: centre0, total: shortestTotal)
        // Templates on a grid (c, a + b, a); `cosineOnly` keeps a = 0.
        func scan(centres: ClosedRange<Double>, totals: ClosedRange<Double>, bottoms: ClosedRange<Double>, step: Double, cosineOnly: Bool) {
            var centre = centres.lowerBound
            while centre <= centres.upperBound {
                var total = max(totals.lowerBound, shortestTotal)
                while total <= min(totals.upperBound, longestTotal) {
                    var bottom = cosineOnly ? 0 : max(bottoms.lowerBound, 0)
                    while bottom <= min(bottoms.upperBound, total - 2) {
                        let fit = evaluate(centre: centre, bottom: bottom, shoulder: total - bottom)
                        if fit.sum < best.sum { best = (fit.sum, centre, bottom, total - bottom, fit.depth) }
                        if bottom == 0, fit.sum < bestCosine.sum { bestCosine = (fit.sum, centre, total) }
                        if cosineOnly { break }
                        bottom += step
                    }
                    total += step
                }
                centre += step
            }
        }
        // 1 px steps up to an 80 px narrowing; longer ones (the search grows as L⁴: 0.17 s at
        // 82 px) are scanned on a coarser grid, then on 1 px steps around the best template
        // and the best cosine.
        let step = max(1, (boundaryLength / 40).rounded(.down))
        scan(centres: (min(centre0, middle) - centreReach)...(max(centre0, middle) + centreReach), totals: shortestTotal...longestTotal,
             bottoms: 0...longestTotal, step: step, cosineOnly: false)
        if step > 1 {
            let coarse = best, coarseCosine = bestCosine
            let total = coarse.bottom + coarse.shoulder
            scan(centres: (coarse.centre - step)...(coarse.centre + step), totals: (total - step)...(total + step),
                 bottoms: (coarse.bottom - step)...(coarse.bottom + step), step: 1, cosineOnly: false)
            scan(centres: (coarseCosine.centre - step)...(coarseCosine.centre + step),
                 totals: (coarseCosine.total - step)...(coarseCosine.total + step), bottoms: 0...0, step: 1, cosineOnly: true)
        }
        guard best.bottom >= minimumPlateauHalfLength, best.sum.isFinite, bestCosine.sum.isFinite else { return nil }
        // Noise of the raw diameters about the best template; strips overlap (a strip is
        // 2 `stripHalfLength` long, samples `sampleSpacing` apart), so the sums count
        // `perStrip` samples per independent measurement.
        var residuals: [Double] = []
        for k in arc.indices {
            let w = weight(abs(arc[k] - best.centre), bottom: best.bottom, shoulder: best.shoulder)
            residuals.append(diameter[k] - reference[k] * (1 - best.depth * w))
        }
        let noise = 1.4826 * (Statistics.median(residuals.map { abs($0) }) ?? 0)
        let perStrip = max(1, 2 * parameters.stripHalfLength / max(parameters.sampleSpacing, 1e-6))
        guard noise > 0, (bestCosine.sum - best.sum) / (perStrip * noise * noise) > plateauTestLimit else { return nil }
        let inside = arc.indices.filter { abs(arc[$0] - best.centre) <= best.bottom - 1 }
        guard inside.count >= 8 else { return nil }
        let mean = inside.map { diameter[$0] }.reduce(0, +) / Double(inside.count)
        let index = m.arcLength.indices.min { abs(m.arcLength[$0] - best.centre) < abs(m.arcLength[$1] - best.centre) } ?? fallback
        let spread = inside.map { pow(diameter[$0] - mean, 2) }.reduce(0, +) / Double(max(inside.count - 1, 1))
        return (index, mean, (spread * perStrip / Double(inside.count)).squareRoot())
    }

    /// Savitzky–Golay half-window h (px of arc) for the MLD of a wide lumen, minimising
    /// flattening² + noise²:
    /// - flattening: a quadratic SG window keeps a parabola exactly; of a cosine narrowing of
    ///   depth p (px) and full length L it loses the quartic term, p π⁴ h⁴ / (35 L⁴) at the
    ///   minimum (the least-squares quadratic of x⁴ over [−h, h] is −3 h⁴ / 35 at 0);
    /// - noise: the SD of the smoothed diameter falls as 1 / √h from its value σ at the base
    ///   half-window h₀: σ² h₀ / h, with σ = `smoothedScatter` × reference;
    /// so a² h⁸ + b² / h is least at h = (b² / (8 a²))^(1/9), a = p π⁴ / (35 L⁴), b² = σ² h₀.
    /// At 3 % scatter a 60 % narrowing 40 px long on 16 px gets about L / 4, a 15 % one 30 px
    /// long on 15.6 px about L / 2.8. No depth: +infinity (the caller clamps to
    /// `maximumWideMinimumHalfWindow`); no scatter and a real depth: 0 (the caller keeps the
    /// base smoothing).
    static func balancedHalfWindow(relativeDepth: Double, reference: Double, narrowingLength: Double,
                                   smoothedScatter: Double, baseHalfWindow: Double) -> Double {
        let depthPx = relativeDepth * reference
        let flattening = depthPx * pow(Double.pi, 4) / (35 * pow(max(narrowingLength, 1), 4))
        let noiseSquared = pow(smoothedScatter * reference, 2) * baseHalfWindow
        guard flattening > 0 else { return .infinity }
        return pow(noiseSquared / (8 * flattening * flattening), 1.0 / 9)
    }

    private static func crossing(_ m: VesselMeasurement, _ ratio: [Double], inner: Int, outer: Int,
                                 level: Double, recovers: Bool) -> Double {
        guard recovers, ratio.indices.contains(outer) else { return m.arcLength[inner] }
        let a = ratio[inner], b = ratio[outer]
        let t = b != a ? min(max((level - a) / (b - a), 0), 1) : 0.5
        return m.arcLength[inner] + t * (m.arcLength[outer] - m.arcLength[inner])
    }
}
