import Foundation
import VesselCore

/// A centerline resampled at a fixed arc-length step, with unit tangents and normals.
struct SampledPath: Sendable {
    var points: [Point2D]
    var tangents: [Point2D]
    /// normal = tangent rotated by +90 degrees in (x, y): (-t.y, t.x).
    var normals: [Point2D]
    var arcLength: [Double]
    var count: Int { points.count }
}

enum PathSampling {
    /// Polyline arc lengths.
    static func cumulativeLength(_ points: [Point2D]) -> [Double] {
        var lengths = [Double](repeating: 0, count: points.count)
        for i in 1..<max(points.count, 1) {
            lengths[i] = lengths[i - 1] + hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y)
        }
        return lengths
    }

    /// Linear resampling of a polyline at `step` px of arc length (last point kept).
    static func resample(_ points: [Point2D], step: Double) -> [Point2D] {
        var cleaned: [Point2D] = []
        for p in points where p.x.isFinite && p.y.isFinite {
            if let last = cleaned.last, hypot(last.x - p.x, last.y - p.y) < 1e-9 { continue }
            cleaned.append(p)
        }
        guard cleaned.count >= 2 else { return cleaned }
        let lengths = cumulativeLength(cleaned)
        let total = lengths[lengths.count - 1]
        let count = max(Int((total / step).rounded(.down)) + 1, 2)
        var result: [Point2D] = []
        result.reserveCapacity(count)
        var segment = 0
        for k in 0..<count {
            let s = min(Double(k) * step, total)
            while segment < cleaned.count - 2 && lengths[segment + 1] < s { segment += 1 }
            let span = lengths[segment + 1] - lengths[segment]
            let t = span > 0 ? (s - lengths[segment]) / span : 0
            result.append(Point2D(x: cleaned[segment].x + t * (cleaned[segment + 1].x - cleaned[segment].x),
                                  y: cleaned[segment].y + t * (cleaned[segment + 1].y - cleaned[segment].y)))
        }
        if let last = cleaned.last, let tail = result.last, hypot(last.x - tail.x, last.y - tail.y) > 0.25 * step {
            result.append(last)
        }
        return result
    }

    /// Gaussian smoothing of a sequence with a window that shrinks symmetrically at the ends
    /// (so the end points stay put and no reflection artefact bends the ends).
    static func smooth(_ values: [Double], sigma: Double) -> [Double] {
        guard sigma > 0, values.count > 2 else { return values }
        let radius = Int((3 * sigma).rounded(.up))
        let weights = (0...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        var result = values
        for i in 0..<values.count {
            let reach = min(radius, i, values.count - 1 - i)
            var sum = weights[0] * values[i], total = weights[0]
            if reach > 0 {
                for k in 1...reach {
                    sum += weights[k] * (values[i - k] + values[i + k])
                    total += 2 * weights[k]
                }
            }
            result[i] = sum / total
        }
        return result
    }

    /// Resamples at `step`, smooths the positions (sigma `smoothing` px of arc) to remove
    /// skeleton staircase, resamples again and computes tangents by central differences.
    static func sample(_ points: [Point2D], step: Double, smoothing: Double) -> SampledPath? {
        let first = resample(points, step: step)
        guard first.count >= 3 else { return nil }
        let sigmaSamples = smoothing / step
        let xs = smooth(first.map(\.x), sigma: sigmaSamples)
        let ys = smooth(first.map(\.y), sigma: sigmaSamples)
        let smoothed = zip(xs, ys).map { Point2D(x: $0, y: $1) }
        let even = resample(smoothed, step: step)
        guard even.count >= 3 else { return nil }
        var tangents = [Point2D](repeating: Point2D(x: 1, y: 0), count: even.count)
        let reach = 2
        for i in 0..<even.count {
            let a = even[max(i - reach, 0)], b = even[min(i + reach, even.count - 1)]
            let dx = b.x - a.x, dy = b.y - a.y
            let norm = hypot(dx, dy)
            if norm > 1e-9 { tangents[i] = Point2D(x: dx / norm, y: dy / norm) }
            else if i > 0 { tangents[i] = tangents[i - 1] }
        }
        let normals = tangents.map { Point2D(x: -$0.y, y: $0.x) }
        return SampledPath(points: even, tangents: tangents, normals: normals, arcLength: cumulativeLength(even))
    }
}

/// Gathers the pixels of a thin strip across the vessel: pixel centres whose offset from
/// the sample point is within `alongHalfLength` along the tangent and `acrossHalfLength`
/// along the normal. The raw pixel values are used (no interpolation, hence no
/// interpolation blur); their signed normal distance is the profile coordinate.
enum StripSampler {
    static func gather(image: GrayImage, center: Point2D, tangent: Point2D, normal: Point2D,
                       alongHalfLength: Double, acrossHalfLength: Double, into samples: inout ProfileSamples) {
        samples.distance.removeAll(keepingCapacity: true)
        samples.value.removeAll(keepingCapacity: true)
        let extentX = abs(tangent.x) * alongHalfLength + abs(normal.x) * acrossHalfLength
        let extentY = abs(tangent.y) * alongHalfLength + abs(normal.y) * acrossHalfLength
        let x0 = max(Int((center.x - extentX).rounded(.down)), 0)
        let x1 = min(Int((center.x + extentX).rounded(.up)), image.width - 1)
        let y0 = max(Int((center.y - extentY).rounded(.down)), 0)
        let y1 = min(Int((center.y + extentY).rounded(.up)), image.height - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in y0...y1 {
                let dy = Double(y) - center.y
                let row = y * image.width
                for x in x0...x1 {
                    let dx = Double(x) - center.x
                    let along = dx * tangent.x + dy * tangent.y
                    guard abs(along) <= alongHalfLength else { continue }
                    let across = dx * normal.x + dy * normal.y
                    guard abs(across) <= acrossHalfLength else { continue }
                    let value = Double(pixels[row + x])
                    guard value.isFinite else { continue }
                    samples.distance.append(across)
                    samples.value.append(value)
                }
            }
        }
    }
}
