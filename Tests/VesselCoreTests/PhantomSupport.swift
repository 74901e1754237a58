import Foundation
@testable import VesselCore

/// Deterministic pseudo-random numbers (SplitMix64) for reproducible test noise.
struct SeededRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box-Muller).
    mutating func gaussian() -> Double {
        let u = max(1e-300, uniform()), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

/// A tube of known centreline and radius, rendered as an X-ray projection: the darkening at
/// a pixel is proportional to the chord length 2 sqrt(r^2 - d^2) through a cylinder of radius
/// r at distance d from the axis (averaged over 4x4 subsamples per pixel = anti-aliasing).
struct Tube {
    /// Dense centreline samples (spacing <= 0.5 px).
    var path: [Point2D]
    /// Radius at each path sample.
    var radii: [Double]
    /// Darkening per px of chord length (grey levels).
    var attenuation: Double

    /// Straight or curved tube from a parametric curve t in [0, 1].
    static func curve(samples: Int = 400, attenuation: Double = 30,
                      point: (Double) -> Point2D, radius: (Double) -> Double) -> Tube {
        let ts = (0...samples).map { Double($0) / Double(samples) }
        return Tube(path: ts.map(point), radii: ts.map(radius), attenuation: attenuation)
    }

    /// Distance from `p` to the polyline and the radius at the nearest point (linear interp).
    func nearest(_ p: Point2D) -> (distance: Double, radius: Double, index: Double) {
        var best = (distance: Double.infinity, radius: 0.0, index: 0.0)
        for i in 1..<path.count {
            let a = path[i - 1], b = path[i]
            let vx = b.x - a.x, vy = b.y - a.y, len2 = vx * vx + vy * vy
            let t = len2 > 0 ? min(1, max(0, ((p.x - a.x) * vx + (p.y - a.y) * vy) / len2)) : 0
            let dx = p.x - (a.x + t * vx), dy = p.y - (a.y + t * vy)
            let d = (dx * dx + dy * dy).squareRoot()
            if d < best.distance { best = (d, radii[i - 1] + t * (radii[i] - radii[i - 1]), Double(i - 1) + t) }
        }
        return best
    }

    /// Bounding box (inclusive pixel range) enlarged by `margin`.
    func bounds(margin: Double, width: Int, height: Int) -> (x: ClosedRange<Int>, y: ClosedRange<Int>)? {
        let r = (radii.max() ?? 0) + margin
        let xs = path.map(\.x), ys = path.map(\.y)
        let x0 = max(0, Int(floor((xs.min() ?? 0) - r))), x1 = min(width - 1, Int(ceil((xs.max() ?? 0) + r)))
        let y0 = max(0, Int(floor((ys.min() ?? 0) - r))), y1 = min(height - 1, Int(ceil((ys.max() ?? 0) + r)))
        guard x0 <= x1, y0 <= y1 else { return nil }
        return (x0...x1, y0...y1)
    }
}

/// A synthetic angiogram: background + dark tubes (+ optional blur and noise) and its truth.
struct Phantom {
    var width: Int
    var height: Int
    var tubes: [Tube]
    var background: (Double, Double) -> Double = { _, _ in 1000 }
    var blurSigma: Double = 0
    var noiseSigma: Double = 0
    var seed: UInt64 = 1

    /// Rendered image (dark vessels on bright background).
    func render() -> GrayImage {
        var pixels = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { pixels[y * width + x] = Float(background(Double(x), Double(y))) } }
        var chord = [Double](repeating: 0, count: width * height)
        for tube in tubes {
            guard let box = tube.bounds(margin: 2, width: width, height: height) else { continue }
            var tubeChord = [Double](repeating: 0, count: width * height)
            for y in box.y { for x in box.x {
                let centre = tube.nearest(Point2D(x: Double(x), y: Double(y)))
                if centre.distance > centre.radius + 1.5 { continue }
                var sum = 0.0
                for sy in 0..<4 { for sx in 0..<4 {
                    let p = Point2D(x: Double(x) + (Double(sx) + 0.5) / 4 - 0.5, y: Double(y) + (Double(sy) + 0.5) / 4 - 0.5)
                    let n = tube.nearest(p)
                    if n.distance < n.radius { sum += 2 * (n.radius * n.radius - n.distance * n.distance).squareRoot() }
                } }
                // Overlapping tubes: take the thicker chord (a union, like a vessel tree).
                tubeChord[y * width + x] = sum / 16 * tube.attenuation
            } }
            for i in chord.indices { chord[i] = max(chord[i], tubeChord[i]) }
        }
        for i in pixels.indices { pixels[i] -= Float(chord[i]) }
        var image = GrayImage(width: width, height: height, pixels: pixels)
        if blurSigma > 0 { image = GaussianBlur.blur(image, sigma: blurSigma, threads: 1) }
        if noiseSigma > 0 {
            var random = SeededRandom(seed: seed)
            for i in image.pixels.indices { image.pixels[i] += Float(noiseSigma * random.gaussian()) }
        }
        return image
    }

    /// Truth lumen: pixel centres strictly inside some tube.
    func lumen() -> BinaryMask {
        var mask = BinaryMask(width: width, height: height)
        for tube in tubes {
            guard let box = tube.bounds(margin: 1, width: width, height: height) else { continue }
            for y in box.y { for x in box.x {
                let n = tube.nearest(Point2D(x: Double(x), y: Double(y)))
                if n.distance < n.radius { mask.bits[y * width + x] = 1 }
            } }
        }
        return mask
    }
}

/// Distance from `p` to a polyline.
func distance(from p: Point2D, toPolyline line: [Point2D]) -> Double {
    Tube(path: line, radii: line.map { _ in 0 }, attenuation: 0).nearest(p).distance
}

/// Pearson correlation of two equally long sequences.
func pearson(_ a: [Float], _ b: [Float]) -> Double {
    let n = Double(a.count)
    let ma = a.reduce(0.0) { $0 + Double($1) } / n, mb = b.reduce(0.0) { $0 + Double($1) } / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in a.indices {
        let da = Double(a[i]) - ma, db = Double(b[i]) - mb
        sab += da * db; saa += da * da; sbb += db * db
    }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : 0
}

/// Writes an 8-bit greyscale PGM (for looking at intermediate images while developing).
func writePGM(_ image: GrayImage, to path: String) {
    let (lo, hi) = image.range
    let scale = hi > lo ? 255 / (hi - lo) : 0
    var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
    data.append(contentsOf: image.pixels.map { UInt8(max(0, min(255, ($0 - lo) * scale))) })
    try? data.write(to: URL(fileURLWithPath: path))
}

/// Standard phantoms.
enum Phantoms {
    /// A curved vessel (radius 5 px with a 50% narrowing), a side branch (radius 3 px) and a
    /// straight catheter (radius 3 px), uneven background, blur and noise.
    static func coronaryLike(size: Int = 256, noise: Double = 8, seed: UInt64 = 7) -> Phantom {
        let s = Double(size)
        let main = Tube.curve(attenuation: 12, point: { t in
            Point2D(x: s * (0.12 + 0.76 * t), y: s * (0.55 + 0.22 * sin(2.6 * t + 0.3)) - s * 0.1)
        }, radius: { t in 5 * (1 - 0.5 * exp(-pow((t - 0.55) / 0.05, 2))) })
        let branch = Tube.curve(attenuation: 12, point: { t in
            let start = Point2D(x: s * (0.12 + 0.76 * 0.35), y: s * (0.55 + 0.22 * sin(2.6 * 0.35 + 0.3)) - s * 0.1)
            return Point2D(x: start.x + s * 0.25 * t, y: start.y + s * 0.38 * t + s * 0.05 * sin(3 * t))
        }, radius: { _ in 3 })
        let catheter = Tube.curve(attenuation: 16, point: { t in
            Point2D(x: s * 0.08 + s * 0.1 * t, y: s * (0.95 - 0.55 * t))
        }, radius: { _ in 3 })
        return Phantom(width: size, height: size, tubes: [main, branch, catheter],
                       background: { x, y in 900 + 200 * x / s + 120 * sin(y / s * 3) + 60 * cos((x + y) / s * 2) },
                       blurSigma: 0.8, noiseSigma: noise, seed: seed)
    }
}
