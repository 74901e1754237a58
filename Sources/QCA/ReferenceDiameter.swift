import Foundation

/// Interpolated reference diameter (DICOM PS3.17 Annex T.4, "interpolated reference"): the
/// diameter the vessel would have without the lesion, estimated from its non-diseased parts.
///
/// An iteratively reweighted least-squares line D_ref(s) = a + b s is fitted to the smoothed
/// diameter function over the measurable range. Samples narrower than the current line by more
/// than max(2.5 robust SD, 5 % of the reference) are treated as diseased and get zero weight;
/// the others get Tukey biweights (so an overlapping vessel or aneurysmal widening does not
/// inflate the reference). The iteration starts from the samples above the median, so a lesion
/// covering a large part of the segment does not drag the first line down. A straight line
/// models the gradual taper of coronary segments (Reiber et al.; CAAS "interpolated reference").
enum ReferenceDiameter {
    struct Result {
        var values: [Double]
        var uncertainty: [Double]
    }

    static let maximumTaper = 0.03

    static func fit(arcLength: [Double], diameter: [Double], valid: [Bool], range: Range<Int>) -> Result {
        let count = diameter.count
        var indices = range.filter { valid[$0] && diameter[$0].isFinite && diameter[$0] > 0 }
        if indices.count < 4 { indices = (0..<count).filter { valid[$0] && diameter[$0].isFinite && diameter[$0] > 0 } }
        guard indices.count >= 2, let medianDiameter = Statistics.median(indices.map { diameter[$0] }) else {
            let fallback = Statistics.median(diameter.filter { $0 > 0 }) ?? 0
            return Result(values: [Double](repeating: fallback, count: count), uncertainty: [Double](repeating: 0, count: count))
        }
        var weights = indices.map { diameter[$0] >= medianDiameter ? 1.0 : 0.0 }
        var line = weightedLine(indices.map { arcLength[$0] }, indices.map { diameter[$0] }, weights)
        var scale = 0.0
        for _ in 0..<12 {
            let residuals = indices.map { diameter[$0] - (line.a + line.b * arcLength[$0]) }
            // Scale from the samples not currently excluded as diseased.
            let kept = zip(residuals, weights).filter { $0.1 > 0 }.map { abs($0.0) }
            scale = max(1.4826 * (Statistics.median(kept) ?? 0), 0.01 * medianDiameter)
            var changed = false
            for (k, index) in indices.enumerated() {
                let fitted = line.a + line.b * arcLength[index]
                let e = residuals[k]
                let w: Double
                if e < -max(2.5 * scale, 0.05 * fitted) {
                    w = 0
                } else {
                    let u = e / (4.685 * scale)
                    w = abs(u) < 1 ? (1 - u * u) * (1 - u * u) : 0
                }
                if abs(w - weights[k]) > 1e-6 { changed = true }
                weights[k] = w
            }
            line = weightedLine(indices.map { arcLength[$0] }, indices.map { diameter[$0] }, weights)
            if !changed { break }
        }
        // A reference taper steeper than `maximumTaper` (px per px of arc; coronary taper is
        // < 0.015) comes from too short a healthy stretch: use a constant reference instead.
        if abs(line.b) > maximumTaper {
            let kept = zip(indices, weights).filter { $0.1 > 0 }.map { diameter[$0.0] }
            line = (Statistics.median(kept.isEmpty ? indices.map { diameter[$0] } : kept) ?? medianDiameter, 0)
        }
        // Standard error of the fitted line (weighted LS), with the robust scale as noise SD.
        // Neighbouring samples are correlated by the smoothing and the overlapping strips, so the
        // effective number of samples is about one per px of arc.
        let totalWeight = weights.reduce(0, +)
        let correlation = 2.0 * 2.0  // ~4 samples (2 px) per independent measurement
        var meanS = 0.0
        for (k, index) in indices.enumerated() { meanS += weights[k] * arcLength[index] }
        meanS = totalWeight > 0 ? meanS / totalWeight : 0
        var sxx = 0.0
        for (k, index) in indices.enumerated() { sxx += weights[k] * (arcLength[index] - meanS) * (arcLength[index] - meanS) }
        var values = [Double](repeating: 0, count: count), uncertainty = [Double](repeating: 0, count: count)
        for i in 0..<count {
            values[i] = max(line.a + line.b * arcLength[i], 0)
            if totalWeight > 0 {
                let ds = arcLength[i] - meanS
                let variance = scale * scale * correlation * (1 / totalWeight + (sxx > 0 ? ds * ds / sxx : 0))
                uncertainty[i] = variance.squareRoot()
            }
        }
        return Result(values: values, uncertainty: uncertainty)
    }

    static func weightedLine(_ x: [Double], _ y: [Double], _ w: [Double]) -> (a: Double, b: Double) {
        var sw = 0.0, sx = 0.0, sy = 0.0
        for i in 0..<x.count { sw += w[i]; sx += w[i] * x[i]; sy += w[i] * y[i] }
        guard sw > 0 else { return (Statistics.median(y) ?? 0, 0) }
        let mx = sx / sw, my = sy / sw
        var sxx = 0.0, sxy = 0.0
        for i in 0..<x.count { sxx += w[i] * (x[i] - mx) * (x[i] - mx); sxy += w[i] * (x[i] - mx) * (y[i] - my) }
        // A line needs spread in s; otherwise a constant.
        let b = sxx > 1e-6 ? sxy / sxx : 0
        return (my - b * mx, b)
    }
}
