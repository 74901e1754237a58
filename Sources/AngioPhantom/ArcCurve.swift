import Foundation
import VesselCore

/// A smooth planar curve through control points, parameterised by arc length.
///
/// The curve is the centripetal Catmull-Rom spline (alpha = 1/2; Yuksel, Schaefer & Keyser,
/// "Parameterization and applications of Catmull-Rom curves", CAD 2011), which passes through
/// every control point and has no cusps or self-intersections within a segment. End tangents
/// come from mirrored phantom points. The spline is tabulated at chord steps of at most
/// `tableStep` px; between table entries positions are interpolated linearly (deviation from
/// the spline < step^2 / (8 R), i.e. < 1e-4 px for curvature radii above 3 px).
struct ArcCurve: Sendable {
    /// Tabulated positions and their cumulative arc length.
    private(set) var xs: [Double] = []
    private(set) var ys: [Double] = []
    private(set) var arc: [Double] = []
    static let tableStep = 0.02

    var length: Double { arc.last ?? 0 }

    /// nil when fewer than two distinct control points.
    init?(controlPoints: [Point2D]) {
        var points: [Point2D] = []
        for p in controlPoints where p.x.isFinite && p.y.isFinite {
            if let last = points.last, hypot(p.x - last.x, p.y - last.y) < 1e-6 { continue }
            points.append(p)
        }
        guard points.count >= 2 else { return nil }
        let first = points[0], second = points[1]
        let last = points[points.count - 1], beforeLast = points[points.count - 2]
        let extended = [Point2D(x: 2 * first.x - second.x, y: 2 * first.y - second.y)] + points
            + [Point2D(x: 2 * last.x - beforeLast.x, y: 2 * last.y - beforeLast.y)]
        xs.append(first.x); ys.append(first.y); arc.append(0)
        for segment in 0..<(points.count - 1) {
            let p0 = extended[segment], p1 = extended[segment + 1]
            let p2 = extended[segment + 2], p3 = extended[segment + 3]
            let chord = hypot(p2.x - p1.x, p2.y - p1.y)
            let steps = max(8, Int((chord * 1.6 / Self.tableStep).rounded(.up)))
            for step in 1...steps {
                let u = Double(step) / Double(steps)
                let point = Self.centripetal(p0, p1, p2, p3, u)
                let dx = point.x - xs[xs.count - 1], dy = point.y - ys[ys.count - 1]
                arc.append(arc[arc.count - 1] + hypot(dx, dy))
                xs.append(point.x); ys.append(point.y)
            }
        }
        guard length > 1e-6 else { return nil }
    }

    /// Barry-Goldman pyramidal evaluation of the centripetal Catmull-Rom segment p1 -> p2.
    private static func centripetal(_ p0: Point2D, _ p1: Point2D, _ p2: Point2D, _ p3: Point2D,
                                    _ u: Double) -> Point2D {
        func knot(_ a: Point2D, _ b: Point2D) -> Double { max(hypot(b.x - a.x, b.y - a.y).squareRoot(), 1e-9) }
        let t0 = 0.0, t1 = t0 + knot(p0, p1), t2 = t1 + knot(p1, p2), t3 = t2 + knot(p2, p3)
        let t = t1 + (t2 - t1) * u
        func lerp(_ a: Point2D, _ b: Point2D, _ ta: Double, _ tb: Double) -> Point2D {
            let w = (t - ta) / (tb - ta)
            return Point2D(x: a.x + (b.x - a.x) * w, y: a.y + (b.y - a.y) * w)
        }
        let a1 = lerp(p0, p1, t0, t1), a2 = lerp(p1, p2, t1, t2), a3 = lerp(p2, p3, t2, t3)
        let b1 = lerp(a1, a2, t0, t2), b2 = lerp(a2, a3, t1, t3)
        return lerp(b1, b2, t1, t2)
    }

    /// Table index i with arc[i] <= s < arc[i+1] (clamped).
    private func bracket(_ s: Double) -> Int {
        var lo = 0, hi = arc.count - 1
        if s <= 0 { return 0 }
        if s >= arc[hi] { return hi - 1 }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if arc[mid] <= s { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Position at arc length s (clamped to the curve).
    func point(at s: Double) -> Point2D {
        let i = bracket(s)
        let span = arc[i + 1] - arc[i]
        let w = span > 0 ? min(max((s - arc[i]) / span, 0), 1) : 0
        return Point2D(x: xs[i] + (xs[i + 1] - xs[i]) * w, y: ys[i] + (ys[i + 1] - ys[i]) * w)
    }

    /// Unit tangent at arc length s (central difference over +-0.25 px of arc).
    func tangent(at s: Double) -> Point2D {
        let h = 0.25
        let a = point(at: max(0, s - h)), b = point(at: min(length, s + h))
        let dx = b.x - a.x, dy = b.y - a.y, n = hypot(dx, dy)
        return n > 0 ? Point2D(x: dx / n, y: dy / n) : Point2D(x: 1, y: 0)
    }

    /// Unit normal: the tangent rotated by +90 degrees in (x, y) = (column, row) coordinates,
    /// i.e. (-ty, tx). "Left" of the travel direction when rows grow downwards is this normal.
    func normal(at s: Double) -> Point2D {
        let t = tangent(at: s)
        return Point2D(x: -t.y, y: t.x)
    }

    /// Smallest radius of curvature over the curve, px (from tangent turning over 1 px steps).
    func minimumCurvatureRadius() -> Double {
        var smallest = Double.infinity
        let step = 1.0
        var s = step
        while s + step <= length {
            let a = tangent(at: s - step), b = tangent(at: s + step)
            let angle = abs(atan2(a.x * b.y - a.y * b.x, a.x * b.x + a.y * b.y))
            if angle > 1e-12 { smallest = min(smallest, 2 * step / angle) }
            s += step
        }
        return smallest
    }
}
