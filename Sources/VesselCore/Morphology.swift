import Foundation

/// Binary and grey-level morphology helpers used by segmentation and centerlines.
public enum Morphology {
    /// Running minimum (`isMaximum == false`) or maximum over a (2 radius + 1)^2 square window,
    /// separable, van Herk / Gil-Werman O(1) per pixel. Borders: the window is clipped to the
    /// image (equivalent to padding with the neutral element).
    public static func squareExtremum(_ image: GrayImage, radius: Int, isMaximum: Bool) -> GrayImage {
        guard radius > 0, !image.isEmpty else { return image }
        let width = image.width, height = image.height
        var out = image.pixels
        var line = [Float](), result = [Float]()
        // Rows.
        for y in 0..<height {
            line = Array(out[(y * width)..<((y + 1) * width)])
            runningExtremum(line, radius: radius, isMaximum: isMaximum, into: &result)
            out.replaceSubrange((y * width)..<((y + 1) * width), with: result)
        }
        // Columns.
        line = [Float](repeating: 0, count: height)
        for x in 0..<width {
            for y in 0..<height { line[y] = out[y * width + x] }
            runningExtremum(line, radius: radius, isMaximum: isMaximum, into: &result)
            for y in 0..<height { out[y * width + x] = result[y] }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// Grey-level closing (max filter, then min filter) over a (2 radius + 1)^2 square.
    ///
    /// The image is first padded by `radius` px replicating its edge pixels and the result is
    /// cropped back: without the padding, the min filter near the border would only see max
    /// values from inside the image and a ramp rising towards the interior would be flattened
    /// into a plateau over the last `radius` px.
    public static func closing(_ image: GrayImage, radius: Int) -> GrayImage {
        guard radius > 0, !image.isEmpty else { return image }
        let width = image.width, height = image.height
        let paddedWidth = width + 2 * radius, paddedHeight = height + 2 * radius
        var padded = [Float](repeating: 0, count: paddedWidth * paddedHeight)
        for y in 0..<paddedHeight {
            let sourceRow = min(height - 1, max(0, y - radius)) * width
            for x in 0..<paddedWidth { padded[y * paddedWidth + x] = image.pixels[sourceRow + min(width - 1, max(0, x - radius))] }
        }
        let closed = squareExtremum(squareExtremum(GrayImage(width: paddedWidth, height: paddedHeight, pixels: padded),
                                                   radius: radius, isMaximum: true),
                                    radius: radius, isMaximum: false)
        return closed.cropped(x: radius, y: radius, width: width, height: height)
    }

    /// 1-D running extremum over [i - radius, i + radius] clipped to the line (van Herk 1992,
    /// Gil & Werman 1993: prefix/suffix extrema over blocks of length 2 radius + 1).
    static func runningExtremum(_ line: [Float], radius: Int, isMaximum: Bool, into result: inout [Float]) {
        let n = line.count
        result = [Float](repeating: 0, count: n)
        guard n > 0 else { return }
        let block = 2 * radius + 1
        let neutral: Float = isMaximum ? -.infinity : .infinity
        let padded = n + 2 * radius
        let paddedLength = (padded + block - 1) / block * block
        var g = [Float](repeating: neutral, count: paddedLength), h = g
        @inline(__always) func value(_ i: Int) -> Float {
            let j = i - radius
            return (j >= 0 && j < n) ? line[j] : neutral
        }
        @inline(__always) func pick(_ a: Float, _ b: Float) -> Float { isMaximum ? max(a, b) : min(a, b) }
        var start = 0
        while start < paddedLength {
            g[start] = value(start)
            for i in (start + 1)..<(start + block) { g[i] = pick(g[i - 1], value(i)) }
            h[start + block - 1] = value(start + block - 1)
            for i in stride(from: start + block - 2, through: start, by: -1) { h[i] = pick(h[i + 1], value(i)) }
            start += block
        }
        for i in 0..<n { result[i] = pick(h[i], g[i + 2 * radius]) }
    }

    /// Labels 8-connected components of `mask`; returns labels (0 = background, 1...count) and
    /// the pixel count of each label (index 0 unused). Labels are assigned in raster order.
    public static func connectedComponents(_ mask: BinaryMask, eightConnected: Bool = true) -> (labels: [Int32], sizes: [Int]) {
        let width = mask.width, height = mask.height
        var labels = [Int32](repeating: 0, count: width * height)
        var sizes = [0]
        var stack = [Int]()
        for start in 0..<(width * height) where mask.bits[start] != 0 && labels[start] == 0 {
            let label = Int32(sizes.count)
            var size = 0
            labels[start] = label
            stack.append(start)
            while let p = stack.popLast() {
                size += 1
                let px = p % width, py = p / width
                for dy in -1...1 {
                    let ny = py + dy
                    if ny < 0 || ny >= height { continue }
                    for dx in -1...1 {
                        if dx == 0 && dy == 0 { continue }
                        if !eightConnected && dx != 0 && dy != 0 { continue }
                        let nx = px + dx
                        if nx < 0 || nx >= width { continue }
                        let q = ny * width + nx
                        if mask.bits[q] != 0 && labels[q] == 0 { labels[q] = label; stack.append(q) }
                    }
                }
            }
            sizes.append(size)
        }
        return (labels, sizes)
    }

    /// Removes 8-connected components smaller than `minimumArea` pixels.
    public static func removeSmallComponents(_ mask: BinaryMask, minimumArea: Int) -> BinaryMask {
        guard minimumArea > 1 else { return mask }
        let (labels, sizes) = connectedComponents(mask)
        var out = mask
        for i in out.bits.indices where labels[i] != 0 && sizes[Int(labels[i])] < minimumArea { out.bits[i] = 0 }
        return out
    }

    /// Fills holes (4-connected background components not touching the border) of at most
    /// `maximumArea` pixels (`Int.max` fills all holes).
    public static func fillHoles(_ mask: BinaryMask, maximumArea: Int = .max) -> BinaryMask {
        let width = mask.width, height = mask.height
        var inverse = mask
        for i in inverse.bits.indices { inverse.bits[i] = mask.bits[i] == 0 ? 1 : 0 }
        let (labels, sizes) = connectedComponents(inverse, eightConnected: false)
        var touchesBorder = [Bool](repeating: false, count: sizes.count)
        for x in 0..<width {
            touchesBorder[Int(labels[x])] = true
            touchesBorder[Int(labels[(height - 1) * width + x])] = true
        }
        for y in 0..<height {
            touchesBorder[Int(labels[y * width])] = true
            touchesBorder[Int(labels[y * width + width - 1])] = true
        }
        var out = mask
        for i in out.bits.indices {
            let label = Int(labels[i])
            if label != 0 && !touchesBorder[label] && sizes[label] <= maximumArea { out.bits[i] = 1 }
        }
        return out
    }

    /// Binary dilation (`grow == true`) or erosion by a disc of `radius` pixels (Euclidean).
    public static func disc(_ mask: BinaryMask, radius: Double, grow: Bool) -> BinaryMask {
        guard radius > 0 else { return mask }
        // Distance to the nearest pixel of the opposite set, exact Euclidean.
        var target = mask
        if !grow { for i in target.bits.indices { target.bits[i] = mask.bits[i] == 0 ? 1 : 0 } }
        let distance = DistanceTransform.squaredEuclidean(toSetOf: target)
        var out = mask
        let r2 = Float(radius * radius)
        for i in out.bits.indices {
            if grow { out.bits[i] = distance[i] <= r2 ? 1 : 0 } else { out.bits[i] = distance[i] <= r2 ? 0 : 1 }
        }
        return out
    }
}

/// Exact Euclidean distance transforms (Felzenszwalb & Huttenlocher 2012, "Distance
/// transforms of sampled functions", Theory of Computing 8: lower envelope of parabolas,
/// one pass per axis, O(n)).
public enum DistanceTransform {
    /// Squared distance from every pixel to the nearest set pixel of `mask` (0 on the set;
    /// a large value, 1e20, everywhere when the set is empty).
    public static func squaredEuclidean(toSetOf mask: BinaryMask) -> [Float] {
        let width = mask.width, height = mask.height
        let infinity: Float = 1e20
        var grid = mask.bits.map { $0 != 0 ? Float(0) : infinity }
        var line = [Float](), out = [Float]()
        for x in 0..<width {
            line = (0..<height).map { grid[$0 * width + x] }
            transform1D(line, into: &out)
            for y in 0..<height { grid[y * width + x] = out[y] }
        }
        for y in 0..<height {
            line = Array(grid[(y * width)..<((y + 1) * width)])
            transform1D(line, into: &out)
            grid.replaceSubrange((y * width)..<((y + 1) * width), with: out)
        }
        return grid
    }

    /// Distance (px) from each foreground pixel of `mask` to the nearest background pixel,
    /// pixels beyond the image counting as background; 0 on the background.
    public static func insideDistance(_ mask: BinaryMask) -> [Float] {
        let width = mask.width, height = mask.height
        // Pad by one background pixel so the border acts as background.
        var padded = BinaryMask(width: width + 2, height: height + 2)
        for y in 0..<height { for x in 0..<width where mask.bits[y * width + x] == 0 { padded.bits[(y + 1) * (width + 2) + x + 1] = 1 } }
        for x in 0..<(width + 2) { padded.bits[x] = 1; padded.bits[(height + 1) * (width + 2) + x] = 1 }
        for y in 0..<(height + 2) { padded.bits[y * (width + 2)] = 1; padded.bits[y * (width + 2) + width + 1] = 1 }
        let squared = squaredEuclidean(toSetOf: padded)
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { out[y * width + x] = squared[(y + 1) * (width + 2) + x + 1].squareRoot() } }
        return out
    }

    @inline(__always)
    static func intersection(_ f: [Float], _ q: Int, _ p: Int) -> Float {
        ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * (q - p))
    }

    static func transform1D(_ f: [Float], into d: inout [Float]) {
        let n = f.count
        d = [Float](repeating: 0, count: n)
        guard n > 0 else { return }
        var v = [Int](repeating: 0, count: n)
        var z = [Float](repeating: 0, count: n + 1)
        var k = 0
        z[0] = -.infinity; z[1] = .infinity
        for q in 1..<max(1, n) {
            // Intersection of parabola q with the rightmost parabola of the envelope; drop
            // envelope parabolas that are hidden (z[0] = -inf stops the loop).
            var s = intersection(f, q, v[k])
            while s <= z[k] { k -= 1; s = intersection(f, q, v[k]) }
            k += 1; v[k] = q; z[k] = s; z[k + 1] = .infinity
        }
        k = 0
        for q in 0..<n {
            while z[k + 1] < Float(q) { k += 1 }
            let dq = Float(q - v[k])
            d[q] = dq * dq + f[v[k]]
        }
    }
}
