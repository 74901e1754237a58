import Foundation

/// Minimal-cost paths through the vesselness (a user clicks two points on a vessel).
public enum MinimalPath {
    /// Floor added to the normalised vesselness so background stays passable (finite cost).
    public static let epsilon: Double = 0.01
    /// Exponent of the cost; 2 makes a background step ~10^4 times dearer than a vessel step.
    public static let exponent: Double = 2

    /// cost = 1 / (epsilon + V_n)^p with V_n = V / V_ref clamped to [0, 1], V_ref the 99.5th
    /// percentile of the positive responses (robust to a few saturated pixels; the maximum
    /// when fewer than 200 pixels respond), epsilon = 0.01, p = 2. Cost is 1 / (1.01)^2 ~ 0.98
    /// on strong vessel pixels and 10^4 on background. Non-finite responses count as 0.
    public static func costImage(fromVesselness vesselness: GrayImage) -> GrayImage {
        let positive = vesselness.pixels.filter { $0.isFinite && $0 > 0 }.sorted()
        let reference: Float
        if positive.isEmpty { reference = 1 }
        else if positive.count < 200 { reference = positive[positive.count - 1] }
        else { reference = positive[min(positive.count - 1, Int(Double(positive.count) * 0.995))] }
        let eps = Float(epsilon), p = Float(exponent)
        return vesselness.mapped { value in
            let normalised = value.isFinite ? min(1, max(0, value / reference)) : 0
            return 1 / Foundation.pow(eps + normalised, p)
        }
    }

    /// Radius (px) within which user points snap to the cheapest pixel.
    public static let snapRadius = 4

    /// Ordered, smoothed, subpixel path from `from` to `to` through `cost`, or nil when a
    /// point is outside the image or the points are not connected through finite, positive
    /// cost.
    ///
    /// Dijkstra on the 8-connected pixel grid; a step between neighbours p, q costs
    /// (cost(p) + cost(q)) / 2 x |p - q| (1 or sqrt 2). Each user point is first snapped to the
    /// lowest-cost pixel within `snapRadius` px (ties: nearest, then raster order). The
    /// pixel chain is smoothed (Gaussian, sigma 1.5 samples, ends fixed) and its ends are the
    /// snapped points. Deterministic: ties in the queue break on pixel index.
    public static func find(cost: GrayImage, from: Point2D, to: Point2D) -> [Point2D]? {
        let width = cost.width, height = cost.height
        guard width > 0, height > 0,
              let start = snap(from, cost: cost), let goal = snap(to, cost: cost) else { return nil }
        if start == goal { return [Point2D(x: Double(start % width), y: Double(start / width))] }
        let count = width * height
        var distance = [Double](repeating: .infinity, count: count)
        var parent = [Int32](repeating: -1, count: count)
        var done = [Bool](repeating: false, count: count)
        var heap = MinHeap()
        distance[start] = 0
        heap.push(0, start)
        let diagonal = 2.0.squareRoot()
        @inline(__always) func stepCost(_ p: Int) -> Double {
            let c = Double(cost.pixels[p])
            return c.isFinite && c > 0 ? c : .infinity
        }
        while let (d, p) = heap.pop() {
            if done[p] || d > distance[p] { continue }
            done[p] = true
            if p == goal { break }
            let px = p % width, py = p / width
            let cp = stepCost(p)
            for dy in -1...1 {
                let ny = py + dy
                if ny < 0 || ny >= height { continue }
                for dx in -1...1 {
                    if dx == 0 && dy == 0 { continue }
                    let nx = px + dx
                    if nx < 0 || nx >= width { continue }
                    let q = ny * width + nx
                    if done[q] { continue }
                    let step = (cp + stepCost(q)) * 0.5 * (dx != 0 && dy != 0 ? diagonal : 1)
                    guard step.isFinite else { continue }
                    let candidate = d + step
                    if candidate < distance[q] {
                        distance[q] = candidate
                        parent[q] = Int32(p)
                        heap.push(candidate, q)
                    }
                }
            }
        }
        guard done[goal] else { return nil }
        var chain = [Int]()
        var current = goal
        while current != start {
            chain.append(current)
            let next = Int(parent[current])
            if next < 0 { return nil }
            current = next
        }
        chain.append(start)
        chain.reverse()
        let points = chain.map { Point2D(x: Double($0 % width), y: Double($0 / width)) }
        return Polyline.smooth(points, sigma: 1.5)
    }

    /// `find` restricted to the bounding box of the two points widened by `margin` px on every
    /// side (clipped to the image).
    ///
    /// Dijkstra from a point on a vessel towards a goal on background settles every pixel
    /// cheaper than the goal, i.e. most of the vessel tree of a busy frame (and allocates
    /// per-pixel state for the whole image) per call. Short look-ahead and gap-bridging routes
    /// (tens of px) never need to leave a box with a margin of a few vessel widths: any detour
    /// beyond it is longer than the direct route across a few background pixels. Nil as in
    /// `find`, also when a point lies outside the image.
    public static func find(cost: GrayImage, from: Point2D, to: Point2D, margin: Int) -> [Point2D]? {
        guard cost.width > 0, cost.height > 0, from.x.isFinite, from.y.isFinite, to.x.isFinite, to.y.isFinite,
              from.x.magnitude < 1e9, from.y.magnitude < 1e9, to.x.magnitude < 1e9, to.y.magnitude < 1e9 else { return nil }
        let reach = max(margin, snapRadius + 1)
        let x0 = max(0, Int(min(from.x, to.x).rounded(.down)) - reach)
        let y0 = max(0, Int(min(from.y, to.y).rounded(.down)) - reach)
        let x1 = min(cost.width - 1, Int(max(from.x, to.x).rounded(.up)) + reach)
        let y1 = min(cost.height - 1, Int(max(from.y, to.y).rounded(.up)) + reach)
        guard x0 <= x1, y0 <= y1 else { return nil }
        if x0 == 0 && y0 == 0 && x1 == cost.width - 1 && y1 == cost.height - 1 {
            return find(cost: cost, from: from, to: to)
        }
        let window = cost.cropped(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
        let offsetX = Double(x0), offsetY = Double(y0)
        guard let route = find(cost: window, from: Point2D(x: from.x - offsetX, y: from.y - offsetY),
                               to: Point2D(x: to.x - offsetX, y: to.y - offsetY)) else { return nil }
        return route.map { Point2D(x: $0.x + offsetX, y: $0.y + offsetY) }
    }

    /// Lowest-cost pixel within `snapRadius` of `point` (ties: nearest, then raster order).
    static func snap(_ point: Point2D, cost: GrayImage) -> Int? {
        guard point.x.isFinite, point.y.isFinite else { return nil }
        let cx = Int(point.x.rounded()), cy = Int(point.y.rounded())
        guard cx >= 0, cx < cost.width, cy >= 0, cy < cost.height else { return nil }
        var best: (cost: Float, distance: Int, index: Int)?
        for y in max(0, cy - snapRadius)...min(cost.height - 1, cy + snapRadius) {
            for x in max(0, cx - snapRadius)...min(cost.width - 1, cx + snapRadius) {
                let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy)
                if d2 > snapRadius * snapRadius { continue }
                let c = cost.pixels[y * cost.width + x]
                guard c.isFinite, c > 0 else { continue }
                let candidate = (cost: c, distance: d2, index: y * cost.width + x)
                if let current = best {
                    if (candidate.cost, candidate.distance, candidate.index) < (current.cost, current.distance, current.index) {
                        best = candidate
                    }
                } else { best = candidate }
            }
        }
        return best?.index
    }
}

/// Binary min-heap of (key, index) with index tie-break (deterministic order).
struct MinHeap {
    private var keys: [Double] = []
    private var values: [Int] = []

    @inline(__always) private func less(_ i: Int, _ j: Int) -> Bool {
        keys[i] < keys[j] || (keys[i] == keys[j] && values[i] < values[j])
    }

    mutating func push(_ key: Double, _ value: Int) {
        keys.append(key); values.append(value)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !less(child, parent) { break }
            keys.swapAt(child, parent); values.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let topKey = keys.first, let topValue = values.first else { return nil }
        let lastKey = keys.removeLast(), lastValue = values.removeLast()
        if !keys.isEmpty {
            keys[0] = lastKey; values[0] = lastValue
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < keys.count && less(left, smallest) { smallest = left }
                if right < keys.count && less(right, smallest) { smallest = right }
                if smallest == parent { break }
                keys.swapAt(parent, smallest); values.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (topKey, topValue)
    }
}
