import Foundation

enum Statistics {
    static func median(_ values: [Double]) -> Double? {
        let finite = values.filter { $0.isFinite }.sorted()
        guard !finite.isEmpty else { return nil }
        let middle = finite.count / 2
        return finite.count % 2 == 1 ? finite[middle] : 0.5 * (finite[middle - 1] + finite[middle])
    }

    /// Replaces NaN runs by linear interpolation between the finite neighbours (constant
    /// extension at the ends). All-NaN input is returned unchanged.
    static func fillGaps(_ values: [Double]) -> [Double] {
        var result = values
        let known = values.indices.filter { values[$0].isFinite }
        guard let first = known.first, let last = known.last else { return result }
        for i in 0..<first { result[i] = values[first] }
        for i in (last + 1)..<max(values.count, last + 1) { result[i] = values[last] }
        var previous = first
        for k in known.dropFirst() {
            if k > previous + 1 {
                for i in (previous + 1)..<k {
                    let t = Double(i - previous) / Double(k - previous)
                    result[i] = values[previous] + t * (values[k] - values[previous])
                }
            }
            previous = k
        }
        return result
    }

    /// Savitzky–Golay smoothing with a quadratic over 2m+1 samples (keeps the depth of a
    /// narrowing, unlike a moving average); the window shrinks symmetrically at the ends.
    static func savitzkyGolayQuadratic(_ values: [Double], halfWindow m: Int) -> [Double] {
        let n = values.count
        guard n > 2, m > 0 else { return values }
        var result = values
        for i in 0..<n {
            let reach = min(m, i, n - 1 - i)
            guard reach >= 2 else {
                // Too close to the end for a quadratic: plain mean of the symmetric window.
                var sum = 0.0
                for k in -reach...reach { sum += values[i + k] }
                result[i] = sum / Double(2 * reach + 1)
                continue
            }
            // Quadratic least-squares value at the centre: weights (3(3m^2+3m-1) - 15 k^2) / norm.
            let mm = Double(reach)
            let norm = (2 * mm + 1) * (4 * mm * mm + 4 * mm - 3) / 3
            var sum = 0.0
            for k in -reach...reach {
                let kk = Double(k * k)
                sum += ((3 * mm * mm + 3 * mm - 1) - 5 * kk) * values[i + k]
            }
            result[i] = sum / norm
        }
        return result
    }
}
