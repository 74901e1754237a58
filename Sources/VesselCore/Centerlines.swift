import Foundation

/// A node of the centerline graph.
public struct CenterlineNode: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case endpoint, junction }
    public var id: Int
    public var position: Point2D
    public var kind: Kind
    public init(id: Int, position: Point2D, kind: Kind) { self.id = id; self.position = position; self.kind = kind }
}

/// One vessel segment between two nodes: an ordered, smoothed, subpixel polyline.
public struct CenterlineSegment: Sendable, Equatable {
    public var id: Int
    /// Points from `startNode` to `endNode`, about 1 px apart, pixel-centre coordinates.
    public var points: [Point2D]
    /// Unit tangent at each point (direction of travel, central differences).
    public var tangents: [Point2D]
    public var startNode: Int
    public var endNode: Int
    /// Polyline length in px.
    public var length: Double
    /// Distance-transform radius estimate (px) at each point: distance from the point to the
    /// nearest background pixel centre of the mask, minus 0.5 px (pixel-area convention).
    public var radii: [Double]

    public init(id: Int, points: [Point2D], tangents: [Point2D], startNode: Int, endNode: Int,
                length: Double, radii: [Double] = []) {
        self.id = id; self.points = points; self.tangents = tangents
        self.startNode = startNode; self.endNode = endNode; self.length = length; self.radii = radii
    }
}

/// The skeleton of a vessel mask as a graph.
public struct CenterlineGraph: Sendable, Equatable {
    public var nodes: [CenterlineNode]
    public var segments: [CenterlineSegment]
    public init(nodes: [CenterlineNode] = [], segments: [CenterlineSegment] = []) {
        self.nodes = nodes; self.segments = segments
    }
    /// Total centerline length in px.
    public var totalLength: Double { segments.reduce(0) { $0 + $1.length } }
}

/// Centerline extraction from a binary vessel mask.
///
/// 1. Skeleton: symmetric homotopic thinning. Each iteration peels, in turn, the north, south,
///    east and west border pixels that are *simple* (removal keeps the 8-connected foreground /
///    4-connected background topology; Yokoi connectivity number == 1) and are not end points
///    (>= 2 neighbours); candidates are re-checked one by one so topology is never broken.
///    Peeling all four sides alternately keeps the skeleton within half a pixel of the medial
///    axis of a symmetric tube. Stops when nothing changes; the result is 1 px thin.
/// 2. Graph: pixels with >= 3 skeleton neighbours are junction pixels (8-adjacent junction
///    pixels form one junction node at their centroid); pixels with 1 neighbour are end points.
///    Chains of 2-neighbour pixels between nodes become segments. A closed loop without
///    nodes gets one junction node.
/// 3. Pruning: repeatedly, a segment from an end point to a junction shorter than
///    max(`minimumBranchLength`, 2 x the distance-transform radius at the junction) is removed
///    (at most degree - 2 per junction per round, shortest first), junctions left with two
///    segments are merged away, and isolated segments shorter than `minimumBranchLength` are
///    dropped.
/// 4. Each segment is smoothed (Gaussian of sigma 1.5 samples along the chain, end points
///    fixed by odd reflection), tangents by central differences, length by summing steps, and
///    a radius per point from the Euclidean distance transform.
public enum Centerlines {
    public static func extract(from mask: BinaryMask, minimumBranchLength: Double = 10) -> CenterlineGraph {
        guard mask.width > 0, mask.height > 0 else { return CenterlineGraph() }
        let skeleton = thin(mask)
        let inside = DistanceTransform.insideDistance(mask)
        var graph = RawGraph(skeleton: skeleton, width: mask.width, height: mask.height)
        graph.prune(minimumBranchLength: max(0, minimumBranchLength.isFinite ? minimumBranchLength : 10),
                    radiusAt: { p in Double(inside[p]) })
        return graph.finish(inside: inside, width: mask.width, height: mask.height)
    }

    /// Homotopic thinning (see type documentation). Returns a 0/1 skeleton.
    public static func thin(_ mask: BinaryMask) -> BinaryMask {
        let width = mask.width, height = mask.height
        // Work on a copy padded by one background pixel so neighbour access needs no checks.
        let paddedWidth = width + 2
        var grid = [UInt8](repeating: 0, count: paddedWidth * (height + 2))
        var foreground = [Int]()
        for y in 0..<height { for x in 0..<width where mask.bits[y * width + x] != 0 {
            let p = (y + 1) * paddedWidth + x + 1
            grid[p] = 1
            foreground.append(p)
        } }
        // Neighbour offsets in circular order: E, NE, N, NW, W, SW, S, SE.
        let ring = [1, 1 - paddedWidth, -paddedWidth, -paddedWidth - 1, -1, paddedWidth - 1, paddedWidth, paddedWidth + 1]
        let sides = [-paddedWidth, paddedWidth, 1, -1] // N, S, E, W border tests
        var changed = true
        var candidates = [Int]()
        while changed {
            changed = false
            for side in sides {
                candidates.removeAll(keepingCapacity: true)
                for p in foreground where grid[p] != 0 && grid[p + side] == 0 { candidates.append(p) }
                for p in candidates where isRemovable(grid, p, ring) {
                    grid[p] = 0
                    changed = true
                }
            }
            foreground.removeAll { grid[$0] == 0 }
        }
        var out = BinaryMask(width: width, height: height)
        for p in foreground { out.bits[(p / paddedWidth - 1) * width + (p % paddedWidth - 1)] = 1 }
        return out
    }

    /// Simple (Yokoi 8-connectivity number 1) and not an end point.
    @inline(__always)
    static func isRemovable(_ grid: [UInt8], _ p: Int, _ ring: [Int]) -> Bool {
        var neighbours = 0
        var x = [Int](repeating: 0, count: 9)
        for k in 0..<8 { x[k] = Int(grid[p + ring[k]]); neighbours += x[k] }
        x[8] = x[0]
        if neighbours < 2 { return false }
        // Yokoi (1975) connectivity number for 8-connectivity with complemented values:
        // N8 = sum over k in {0,2,4,6} of (c_k - c_k c_{k+1} c_{k+2}), c = 1 - x.
        var connectivity = 0
        for k in stride(from: 0, to: 8, by: 2) {
            let c0 = 1 - x[k], c1 = 1 - x[k + 1], c2 = 1 - x[(k + 2) % 8]
            connectivity += c0 - c0 * c1 * c2
        }
        return connectivity == 1
    }
}

/// Pixel-level graph used while building and pruning.
struct RawGraph {
    struct Node { var position: Point2D; var pixel: Int; var isJunction: Bool; var alive = true }
    struct Edge { var nodes: (Int, Int); var pixels: [Int]; var alive = true
        /// Arc length along the pixel chain.
        func length(width: Int) -> Double {
            var total = 0.0
            for i in 1..<max(1, pixels.count) {
                let a = pixels[i - 1], b = pixels[i]
                let dx = abs(a % width - b % width), dy = abs(a / width - b / width)
                total += (dx + dy == 2) ? 2.0.squareRoot() : Double(dx + dy)
            }
            return total
        }
    }
    var nodes: [Node] = []
    var edges: [Edge] = []
    let width: Int

    init(skeleton: BinaryMask, width: Int, height: Int) {
        self.width = width
        let bits = skeleton.bits
        @inline(__always) func neighbours(_ p: Int) -> [Int] {
            let px = p % width, py = p / width
            var out = [Int]()
            for dy in -1...1 { for dx in -1...1 where !(dx == 0 && dy == 0) {
                let nx = px + dx, ny = py + dy
                if nx >= 0 && nx < width && ny >= 0 && ny < height && bits[ny * width + nx] != 0 { out.append(ny * width + nx) }
            } }
            return out
        }
        var degree = [UInt8](repeating: 0, count: bits.count)
        var pixels = [Int]()
        for p in bits.indices where bits[p] != 0 { degree[p] = UInt8(neighbours(p).count); pixels.append(p) }
        // Junction clusters and end points -> nodes.
        var nodeOf = [Int32](repeating: -1, count: bits.count)
        for p in pixels where degree[p] >= 3 && nodeOf[p] < 0 {
            var cluster = [p]; nodeOf[p] = Int32(nodes.count)
            var index = 0
            while index < cluster.count {
                for q in neighbours(cluster[index]) where degree[q] >= 3 && nodeOf[q] < 0 {
                    nodeOf[q] = Int32(nodes.count); cluster.append(q)
                }
                index += 1
            }
            let cx = cluster.reduce(0.0) { $0 + Double($1 % width) } / Double(cluster.count)
            let cy = cluster.reduce(0.0) { $0 + Double($1 / width) } / Double(cluster.count)
            // Representative pixel: the cluster pixel nearest the centroid.
            let representative = cluster.min { a, b in
                let da = pow(Double(a % width) - cx, 2) + pow(Double(a / width) - cy, 2)
                let db = pow(Double(b % width) - cx, 2) + pow(Double(b / width) - cy, 2)
                return da < db
            } ?? p
            nodes.append(Node(position: Point2D(x: cx, y: cy), pixel: representative, isJunction: true))
        }
        for p in pixels where degree[p] <= 1 {
            nodeOf[p] = Int32(nodes.count)
            nodes.append(Node(position: Point2D(x: Double(p % width), y: Double(p / width)), pixel: p, isJunction: false))
        }
        // Trace chains from every node pixel.
        var visited = [Bool](repeating: false, count: bits.count)
        func trace(from start: Int, through first: Int, node: Int) {
            var chain = [start, first]
            var previous = start, current = first
            while nodeOf[current] < 0 {
                visited[current] = true
                let next = neighbours(current).filter { $0 != previous }
                // Prefer an unvisited chain pixel, else a node pixel.
                guard let step = next.first(where: { nodeOf[$0] < 0 && !visited[$0] }) ?? next.first(where: { nodeOf[$0] >= 0 }) else {
                    break
                }
                chain.append(step); previous = current; current = step
            }
            let endNode = nodeOf[current] >= 0 ? Int(nodeOf[current]) : node
            edges.append(Edge(nodes: (node, endNode), pixels: chain))
        }
        for p in pixels where nodeOf[p] >= 0 {
            let node = Int(nodeOf[p])
            for q in neighbours(p) {
                if nodeOf[q] < 0 && !visited[q] {
                    trace(from: p, through: q, node: node)
                } else if nodeOf[q] >= 0 && Int(nodeOf[q]) != node && p < q {
                    edges.append(Edge(nodes: (node, Int(nodeOf[q])), pixels: [p, q]))
                }
            }
        }
        // Loops with no node at all: break each at its first pixel with a junction node.
        for p in pixels where nodeOf[p] < 0 && !visited[p] {
            let node = nodes.count
            nodes.append(Node(position: Point2D(x: Double(p % width), y: Double(p / width)), pixel: p, isJunction: true))
            nodeOf[p] = Int32(node)
            if let q = neighbours(p).first(where: { nodeOf[$0] < 0 && !visited[$0] }) { trace(from: p, through: q, node: node) }
        }
        // Junction-cluster chains start/end at the representative pixel's centroid: replace
        // the cluster pixel at each end by the node's representative so chains meet there.
        for e in edges.indices {
            let (a, b) = edges[e].nodes
            if nodes[a].isJunction { edges[e].pixels[0] = nodes[a].pixel }
            if nodes[b].isJunction { edges[e].pixels[edges[e].pixels.count - 1] = nodes[b].pixel }
        }
        edges.removeAll { $0.nodes.0 == $0.nodes.1 && $0.pixels.count <= 2 }
    }

    func degree(_ node: Int) -> Int {
        edges.reduce(0) { total, edge in
            guard edge.alive else { return total }
            return total + (edge.nodes.0 == node ? 1 : 0) + (edge.nodes.1 == node ? 1 : 0)
        }
    }

    mutating func prune(minimumBranchLength: Double, radiusAt: (Int) -> Double) {
        var changed = true
        var rounds = 0
        while changed && rounds < 100 {
            changed = false; rounds += 1
            var degrees = [Int](repeating: 0, count: nodes.count)
            for edge in edges where edge.alive { degrees[edge.nodes.0] += 1; degrees[edge.nodes.1] += 1 }
            // Spurs grouped by junction.
            var spursByJunction = [Int: [(edge: Int, length: Double)]]()
            for (index, edge) in edges.enumerated() where edge.alive {
                let (a, b) = edge.nodes
                let length = edge.length(width: width)
                let aEnd = degrees[a] == 1, bEnd = degrees[b] == 1
                if aEnd && bEnd {
                    if length < minimumBranchLength { edges[index].alive = false; changed = true }
                    continue
                }
                guard aEnd != bEnd else { continue }
                let junction = aEnd ? b : a
                let limit = max(minimumBranchLength, 2 * radiusAt(nodes[junction].pixel))
                if length < limit { spursByJunction[junction, default: []].append((index, length)) }
            }
            for junction in spursByJunction.keys.sorted() {
                guard let spurs = spursByJunction[junction] else { continue }
                let removable = max(0, degrees[junction] - 2)
                for spur in spurs.sorted(by: { ($0.length, $0.edge) < ($1.length, $1.edge) }).prefix(removable) {
                    edges[spur.edge].alive = false
                    changed = true
                }
            }
            if mergeDegreeTwoNodes() { changed = true }
        }
        edges.removeAll { !$0.alive }
    }

    /// Joins the two segments meeting at a node of degree 2 (not a self-loop).
    mutating func mergeDegreeTwoNodes() -> Bool {
        var merged = false
        var progress = true
        while progress {
            progress = false
            var incident = [[Int]](repeating: [], count: nodes.count)
            for (index, edge) in edges.enumerated() where edge.alive {
                incident[edge.nodes.0].append(index)
                if edge.nodes.1 != edge.nodes.0 { incident[edge.nodes.1].append(index) }
            }
            for node in nodes.indices where incident[node].count == 2 {
                let e1 = incident[node][0], e2 = incident[node][1]
                guard edges[e1].alive, edges[e2].alive, e1 != e2 else { continue }
                var first = edges[e1], second = edges[e2]
                // Orient: first ends at node, second starts at node.
                if first.nodes.1 != node { first.pixels.reverse(); first.nodes = (first.nodes.1, first.nodes.0) }
                if second.nodes.0 != node { second.pixels.reverse(); second.nodes = (second.nodes.1, second.nodes.0) }
                guard first.nodes.1 == node, second.nodes.0 == node else { continue }
                edges[e1] = Edge(nodes: (first.nodes.0, second.nodes.1), pixels: first.pixels + second.pixels.dropFirst())
                edges[e2].alive = false
                nodes[node].alive = false
                progress = true; merged = true
                break
            }
        }
        return merged
    }

    /// Renumbers live nodes/edges, smooths chains and measures them.
    func finish(inside: [Float], width: Int, height: Int) -> CenterlineGraph {
        var used = [Int: Int]()
        var outNodes = [CenterlineNode]()
        var degrees = [Int](repeating: 0, count: nodes.count)
        for edge in edges { degrees[edge.nodes.0] += 1; degrees[edge.nodes.1] += 1 }
        func nodeID(_ index: Int) -> Int {
            if let id = used[index] { return id }
            let id = outNodes.count
            used[index] = id
            outNodes.append(CenterlineNode(id: id, position: nodes[index].position,
                                           kind: degrees[index] >= 3 ? .junction : .endpoint))
            return id
        }
        var segments = [CenterlineSegment]()
        for edge in edges {
            var raw = edge.pixels.map { Point2D(x: Double($0 % width), y: Double($0 / width)) }
            if nodes[edge.nodes.0].isJunction { raw[0] = nodes[edge.nodes.0].position }
            if nodes[edge.nodes.1].isJunction { raw[raw.count - 1] = nodes[edge.nodes.1].position }
            let points = Polyline.smooth(raw, sigma: 1.5)
            let radii = points.map { Polyline.sample(inside, width: width, height: height, at: $0) - 0.5 }.map { max(0, $0) }
            segments.append(CenterlineSegment(id: segments.count, points: points, tangents: Polyline.tangents(points),
                                              startNode: nodeID(edge.nodes.0), endNode: nodeID(edge.nodes.1),
                                              length: Polyline.length(points), radii: radii))
        }
        return CenterlineGraph(nodes: outNodes, segments: segments)
    }
}

/// Polyline utilities shared by centerlines and minimal paths.
public enum Polyline {
    /// Gaussian smoothing of the coordinates along the chain (sigma in samples). End points
    /// stay fixed: samples beyond an end are the odd reflection 2 p_end - p_(end -+ k), which
    /// keeps straight lines straight and the ends in place.
    public static func smooth(_ points: [Point2D], sigma: Double) -> [Point2D] {
        guard points.count > 2, sigma > 0 else { return points }
        let radius = max(1, Int(3 * sigma + 0.5))
        let weights = (0...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let n = points.count
        func at(_ i: Int) -> Point2D {
            if i < 0 { let m = points[min(n - 1, -i)]; return Point2D(x: 2 * points[0].x - m.x, y: 2 * points[0].y - m.y) }
            if i >= n { let m = points[max(0, 2 * (n - 1) - i)]; return Point2D(x: 2 * points[n - 1].x - m.x, y: 2 * points[n - 1].y - m.y) }
            return points[i]
        }
        var out = points
        for i in 1..<(n - 1) {
            var sx = points[i].x * weights[0], sy = points[i].y * weights[0], total = weights[0]
            for k in 1...radius {
                let a = at(i - k), b = at(i + k)
                sx += (a.x + b.x) * weights[k]; sy += (a.y + b.y) * weights[k]; total += 2 * weights[k]
            }
            out[i] = Point2D(x: sx / total, y: sy / total)
        }
        return out
    }

    /// Unit tangents by central differences (one-sided at the ends); (1, 0) for a degenerate step.
    public static func tangents(_ points: [Point2D]) -> [Point2D] {
        let n = points.count
        guard n > 1 else { return points.map { _ in Point2D(x: 1, y: 0) } }
        return (0..<n).map { i in
            let a = points[max(0, i - 1)], b = points[min(n - 1, i + 1)]
            let dx = b.x - a.x, dy = b.y - a.y, norm = (dx * dx + dy * dy).squareRoot()
            return norm > 1e-12 ? Point2D(x: dx / norm, y: dy / norm) : Point2D(x: 1, y: 0)
        }
    }

    /// Sum of step lengths.
    public static func length(_ points: [Point2D]) -> Double {
        guard points.count > 1 else { return 0 }
        var total = 0.0
        for i in 1..<points.count { total += hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y) }
        return total
    }

    /// Bilinear sample of a row-major field at a subpixel point (clamped to the image).
    public static func sample(_ field: [Float], width: Int, height: Int, at point: Point2D) -> Double {
        guard width > 0, height > 0, field.count == width * height else { return 0 }
        let x = min(Double(width - 1), max(0, point.x)), y = min(Double(height - 1), max(0, point.y))
        let x0 = Int(x), y0 = Int(y), x1 = min(width - 1, x0 + 1), y1 = min(height - 1, y0 + 1)
        let fx = x - Double(x0), fy = y - Double(y0)
        let top = Double(field[y0 * width + x0]) * (1 - fx) + Double(field[y0 * width + x1]) * fx
        let bottom = Double(field[y1 * width + x0]) * (1 - fx) + Double(field[y1 * width + x1]) * fx
        return top * (1 - fy) + bottom * fy
    }
}
