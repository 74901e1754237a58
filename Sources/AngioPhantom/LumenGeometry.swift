import Foundation
import VesselCore

/// The lumen of one vessel (or the catheter) along its reference centreline.
///
/// Geometry (docs/phantom.md): at arc length s (px) the lumen cross-section is a disc of radius
/// r(s) in the plane perpendicular to the reference centreline tangent, its centre displaced by
/// o(s) along the centreline normal (eccentric lesions). The image plane contains the
/// centreline, so a ray through an image point at normal coordinate u stays in that plane and
/// crosses the disc along a chord 2 * sqrt(r^2 - (u - o)^2).
struct LumenProfile: Sendable {
    let startDiameterMm: Double
    let taperMmPerMm: Double
    let mmPerPixel: Double
    let stenosis: PhantomStenosis?
    /// Lesion centre and full length in px of arc length.
    let lesionCentrePx: Double
    let lesionLengthPx: Double

    init(vessel: PhantomVessel, lengthPx: Double, mmPerPixel: Double) {
        startDiameterMm = vessel.referenceDiameterMm
        taperMmPerMm = vessel.taperMmPerMm
        self.mmPerPixel = mmPerPixel
        stenosis = vessel.stenosis
        lesionCentrePx = (vessel.stenosis?.position ?? 0) * lengthPx
        lesionLengthPx = (vessel.stenosis?.lengthMm ?? 0) / mmPerPixel
    }

    /// A constant-diameter tube (the catheter).
    init(constantDiameterMm: Double, mmPerPixel: Double) {
        startDiameterMm = constantDiameterMm
        taperMmPerMm = 0
        self.mmPerPixel = mmPerPixel
        stenosis = nil
        lesionCentrePx = 0
        lesionLengthPx = 0
    }

    /// Disease-free, linearly tapered diameter D_ref(s) = D0 - taper * s, mm.
    func referenceDiameterMm(at s: Double) -> Double {
        startDiameterMm - taperMmPerMm * s * mmPerPixel
    }

    /// Narrowing weight w(s) in 0...1 (1 at the lesion centre, 0 outside the lesion).
    func narrowingWeight(at s: Double) -> Double {
        guard let stenosis, lesionLengthPx > 0 else { return 0 }
        let half = lesionLengthPx / 2
        let distance = abs(s - lesionCentrePx)
        if distance >= half { return 0 }
        switch stenosis.shape {
        case .cosine:
            return 0.5 * (1 + cos(Double.pi * distance / half))
        case .flatNeck:
            let neck = half / 3
            if distance <= neck { return 1 }
            return 0.5 * (1 + cos(Double.pi * (distance - neck) / (half - neck)))
        }
    }

    /// True lumen diameter D(s) = D_ref(s) * (1 - p * w(s)), mm.
    func diameterMm(at s: Double) -> Double {
        let fraction = (stenosis?.percentDiameter ?? 0) / 100
        return referenceDiameterMm(at: s) * (1 - fraction * narrowingWeight(at: s))
    }

    func radiusPx(at s: Double) -> Double { diameterMm(at: s) / mmPerPixel / 2 }

    /// Lumen centre offset along the normal, px: e * (D_ref - D) / 2.
    func offsetPx(at s: Double) -> Double {
        guard let e = stenosis?.eccentricity, e != 0 else { return 0 }
        return e * (referenceDiameterMm(at: s) - diameterMm(at: s)) / mmPerPixel / 2
    }

    /// Arc length of the minimal diameter within the lesion (dense scan, then golden section),
    /// so the truth MLD is the minimum of the rendered geometry even with taper.
    func minimalDiameterArcLength(curveLength: Double) -> Double {
        let lower = max(0, lesionCentrePx - lesionLengthPx / 2)
        let upper = min(curveLength, lesionCentrePx + lesionLengthPx / 2)
        guard upper > lower else { return min(max(lesionCentrePx, 0), curveLength) }
        let step = 0.05
        var best = lower, bestValue = diameterMm(at: lower)
        var s = lower
        while s <= upper {
            let value = diameterMm(at: s)
            if value < bestValue { best = s; bestValue = value }
            s += step
        }
        // A flat neck without taper has no single minimum: the whole neck is at the MLD, and
        // its middle is the truth location (the scan's first minimum would be the neck's
        // proximal end, 1.3 mm from the middle of an 8 mm lesion's neck).
        let tolerance = 1e-9 * max(bestValue, 1e-12)
        var plateauEnd = best
        s = best
        while s + step <= upper, diameterMm(at: s + step) <= bestValue + tolerance { s += step; plateauEnd = s }
        if plateauEnd > best + step { return (best + plateauEnd) / 2 }
        var a = max(lower, best - step), b = min(upper, best + step)
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<80 {
            let c = b - ratio * (b - a), d = a + ratio * (b - a)
            if diameterMm(at: c) < diameterMm(at: d) { b = d } else { a = c }
        }
        let refined = (a + b) / 2
        return diameterMm(at: refined) <= bestValue ? refined : best
    }
}

/// A tube prepared for rendering: the reference centreline as a polyline with vertices every
/// `vertexSpacing` px of arc length, per-vertex radius and offset, and a coarse grid of the
/// segments near each cell for fast nearest-segment queries.
struct RenderTube: Sendable {
    static let vertexSpacing = 0.25
    static let cellSize = 8

    let vx: [Double], vy: [Double]
    let arcLength: [Double]
    let radius: [Double]
    let offset: [Double]
    /// Catheter only: inner (lumen) radius per vertex; the wall lies between it and `radius`.
    let innerRadius: [Double]?
    /// Segment unit tangents and normals (normal = tangent rotated +90 degrees: (-ty, tx)).
    let tx: [Double], ty: [Double], segmentLength: [Double]
    /// Largest |offset| + radius: no point farther from the centreline is inside the lumen.
    let reach: Double
    /// Attenuation per mm of lumen chord at full concentration, and per mm of wall chord.
    let lumenAttenuationPerMm: Double
    let wallAttenuationPerMm: Double
    let mmPerPixel: Double
    /// True for tubes whose axes lie in the same depth plane as the main vessel and connect to
    /// it (main, side branches, the engaged catheter): a ray crosses their lumens along chords
    /// centred on that plane, so where they overlap the opacified path is the longest chord, not
    /// the sum. Crossing vessels lie at another depth and add.
    let sharesMainDepthPlane: Bool
    // Grid: for cell c, segment indices cellItems[cellStart[c] ..< cellStart[c + 1]], ascending.
    let gridColumns: Int, gridRows: Int
    let cellStart: [Int32], cellItems: [Int32]

    init(curve: ArcCurve, profile: LumenProfile, innerDiameterMm: Double?, lumenAttenuationPerMm: Double,
         wallAttenuationPerMm: Double, sharesMainDepthPlane: Bool, width: Int, height: Int) {
        self.sharesMainDepthPlane = sharesMainDepthPlane
        let count = max(2, Int((curve.length / Self.vertexSpacing).rounded(.up)) + 1)
        var vx = [Double](), vy = [Double](), arc = [Double](), radius = [Double](), offset = [Double]()
        vx.reserveCapacity(count); vy.reserveCapacity(count)
        for i in 0..<count {
            let s = curve.length * Double(i) / Double(count - 1)
            let p = curve.point(at: s)
            vx.append(p.x); vy.append(p.y); arc.append(s)
            radius.append(max(0, profile.radiusPx(at: s)))
            offset.append(profile.offsetPx(at: s))
        }
        self.vx = vx; self.vy = vy; self.arcLength = arc; self.radius = radius; self.offset = offset
        if let innerDiameterMm {
            innerRadius = [Double](repeating: max(0, innerDiameterMm / profile.mmPerPixel / 2), count: count)
        } else {
            innerRadius = nil
        }
        var tx = [Double](), ty = [Double](), length = [Double]()
        for i in 0..<(count - 1) {
            let dx = vx[i + 1] - vx[i], dy = vy[i + 1] - vy[i], n = hypot(dx, dy)
            tx.append(n > 0 ? dx / n : 1); ty.append(n > 0 ? dy / n : 0); length.append(n)
        }
        self.tx = tx; self.ty = ty; self.segmentLength = length
        var reach = 0.0
        for i in 0..<count { reach = max(reach, abs(offset[i]) + radius[i]) }
        self.reach = reach
        self.lumenAttenuationPerMm = lumenAttenuationPerMm
        self.wallAttenuationPerMm = wallAttenuationPerMm
        self.mmPerPixel = profile.mmPerPixel

        // Grid of segments whose reach-expanded bounding box touches each cell.
        let columns = (width + Self.cellSize - 1) / Self.cellSize
        let rows = (height + Self.cellSize - 1) / Self.cellSize
        gridColumns = columns; gridRows = rows
        var buckets = [[Int32]](repeating: [], count: columns * rows)
        let margin = reach + 2
        for i in 0..<(count - 1) {
            let minX = min(vx[i], vx[i + 1]) - margin, maxX = max(vx[i], vx[i + 1]) + margin
            let minY = min(vy[i], vy[i + 1]) - margin, maxY = max(vy[i], vy[i + 1]) + margin
            // Pixel (x, y) covers [x - 0.5, x + 0.5]; cell c holds pixels c*size ..< (c+1)*size.
            let c0 = Int(((minX + 0.5) / Double(Self.cellSize)).rounded(.down))
            let c1 = Int(((maxX + 0.5) / Double(Self.cellSize)).rounded(.down))
            let r0 = Int(((minY + 0.5) / Double(Self.cellSize)).rounded(.down))
            let r1 = Int(((maxY + 0.5) / Double(Self.cellSize)).rounded(.down))
            if c1 < 0 || r1 < 0 || c0 >= columns || r0 >= rows { continue }
            for r in max(0, r0)...min(rows - 1, r1) {
                for c in max(0, c0)...min(columns - 1, c1) { buckets[r * columns + c].append(Int32(i)) }
            }
        }
        var start = [Int32](), items = [Int32]()
        start.reserveCapacity(buckets.count + 1)
        for bucket in buckets { start.append(Int32(items.count)); items.append(contentsOf: bucket) }
        start.append(Int32(items.count))
        cellStart = start; cellItems = items
    }

    var segmentCount: Int { tx.count }

    /// Squared distance from (px, py) to segment i and the unclamped projection parameter.
    @inline(__always)
    func project(_ i: Int, _ px: Double, _ py: Double) -> (distanceSquared: Double, t: Double) {
        let dx = px - vx[i], dy = py - vy[i]
        let along = dx * tx[i] + dy * ty[i]
        let t = segmentLength[i] > 0 ? along / segmentLength[i] : 0
        let clamped = min(max(along, 0), segmentLength[i])
        let ex = dx - clamped * tx[i], ey = dy - clamped * ty[i]
        return (ex * ex + ey * ey, t)
    }

    /// Nearest segment to a point among the grid candidates of pixel (x, y); nil when none is
    /// within reach + 1.5 px.
    func nearestSegment(pixelX x: Int, pixelY y: Int, px: Double, py: Double) -> Int? {
        let c = x / Self.cellSize, r = y / Self.cellSize
        guard c >= 0, r >= 0, c < gridColumns, r < gridRows else { return nil }
        let cell = r * gridColumns + c
        let lo = Int(cellStart[cell]), hi = Int(cellStart[cell + 1])
        guard hi > lo else { return nil }
        var best = -1, bestDistance = Double.infinity
        for k in lo..<hi {
            let i = Int(cellItems[k])
            let d = project(i, px, py).distanceSquared
            if d < bestDistance { bestDistance = d; best = i }
        }
        let limit = reach + 1.5
        return bestDistance <= limit * limit ? best : nil
    }

    /// The lumen cross-section coordinates of a point near segment `hint`: searches segments
    /// hint - window ... hint + window for the nearest; returns nil beyond the tube's ends.
    @inline(__always)
    func local(_ px: Double, _ py: Double, hint: Int, window: Int)
        -> (u: Double, radius: Double, offset: Double, inner: Double, segment: Int, t: Double)? {
        let lo = max(0, hint - window), hi = min(segmentCount - 1, hint + window)
        var best = hint, bestDistance = Double.infinity, bestT = 0.0
        for i in lo...hi {
            let (d, t) = project(i, px, py)
            if d < bestDistance { bestDistance = d; best = i; bestT = t }
        }
        if best == 0 && bestT < 0 { return nil }
        if best == segmentCount - 1 && bestT > 1 { return nil }
        let t = min(max(bestT, 0), 1)
        let fx = vx[best] + (vx[best + 1] - vx[best]) * t
        let fy = vy[best] + (vy[best + 1] - vy[best]) * t
        // Normal (-ty, tx).
        let u = (px - fx) * (-ty[best]) + (py - fy) * tx[best]
        let r = radius[best] + (radius[best + 1] - radius[best]) * t
        let o = offset[best] + (offset[best + 1] - offset[best]) * t
        let inner = innerRadius.map { $0[best] + ($0[best + 1] - $0[best]) * t } ?? 0
        return (u, r, o, inner, best, t)
    }

    /// Lumen and wall chord lengths (px) through the point.
    @inline(__always)
    func chords(_ px: Double, _ py: Double, hint: Int, window: Int) -> (lumen: Double, wall: Double) {
        guard let l = local(px, py, hint: hint, window: window) else { return (0, 0) }
        if innerRadius != nil {
            let outer = l.radius * l.radius - l.u * l.u
            guard outer > 0 else { return (0, 0) }
            let inner = l.inner * l.inner - l.u * l.u
            let outerChord = 2 * outer.squareRoot()
            let innerChord = inner > 0 ? 2 * inner.squareRoot() : 0
            return (innerChord, outerChord - innerChord)
        }
        let q = l.u - l.offset
        let inside = l.radius * l.radius - q * q
        return (inside > 0 ? 2 * inside.squareRoot() : 0, 0)
    }

    /// Distance (px) from the point to the nearest lumen wall, negative inside; +infinity when
    /// the point is not near this tube.
    func wallDistance(_ px: Double, _ py: Double) -> Double {
        let x = Int(px.rounded()), y = Int(py.rounded())
        guard let hint = nearestSegment(pixelX: x, pixelY: y, px: px, py: py),
              let l = local(px, py, hint: hint, window: 12) else { return .infinity }
        if innerRadius != nil { return abs(l.u) - l.radius }
        return abs(l.u - l.offset) - l.radius
    }
}
