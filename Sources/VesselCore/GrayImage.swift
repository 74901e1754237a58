/// A single-channel image with contiguous, row-major `Float` storage.
///
/// Coordinates follow the project convention: `x` is the column, `y` the row, and pixel
/// centres sit at integer coordinates.
public struct GrayImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major samples, `pixels[y * width + x]`.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height,
                     "GrayImage: pixel count \(pixels.count) does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: fill, count: width * height))
    }

    @inlinable
    public subscript(x x: Int, y y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// A binary image: `bits[y * width + x]` is 0 or 1.
public struct BinaryMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var bits: [UInt8]

    public init(width: Int, height: Int, bits: [UInt8]) {
        precondition(bits.count == width * height, "BinaryMask: size mismatch")
        self.width = width
        self.height = height
        self.bits = bits
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, bits: [UInt8](repeating: 0, count: width * height))
    }

    @inlinable
    public subscript(x x: Int, y y: Int) -> Bool {
        get { bits[y * width + x] != 0 }
        set { bits[y * width + x] = newValue ? 1 : 0 }
    }

    /// Number of set pixels.
    public var count: Int { bits.reduce(0) { $0 + Int($1) } }
}

/// A subpixel position (x = column, y = row).
public struct Point2D: Sendable, Codable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

// MARK: - Errors

/// Errors raised by VesselCore when a caller hands it inconsistent data.
///
/// VesselCore never traps on user data: the throwing entry points below validate sizes and
/// values and report the cause in words.
public struct VesselCoreError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable { case sizeMismatch, emptyImage, invalidParameter }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { "VesselCore \(code.rawValue): \(message)" }
}

// MARK: - Conversions

extension GrayImage {
    /// Validating initialiser: throws instead of trapping when `pixels.count != width * height`
    /// or a dimension is negative. Non-finite samples (NaN, ±inf) are replaced by 0 so that no
    /// later filter propagates them over the whole frame.
    public static func validated(width: Int, height: Int, pixels: [Float]) throws -> GrayImage {
        guard width >= 0, height >= 0 else {
            throw VesselCoreError(.sizeMismatch, "negative image size \(width)x\(height)")
        }
        let (expected, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels.count == expected else {
            throw VesselCoreError(.sizeMismatch,
                                  "\(pixels.count) samples do not fill a \(width)x\(height) image")
        }
        var cleaned = pixels
        for index in cleaned.indices where !cleaned[index].isFinite { cleaned[index] = 0 }
        return GrayImage(width: width, height: height, pixels: cleaned)
    }

    /// Converts stored unsigned 16-bit samples (e.g. DICOM Pixel Data with Bits Allocated 16).
    public static func fromUInt16(_ values: [UInt16], width: Int, height: Int) throws -> GrayImage {
        try validated(width: width, height: height, pixels: values.map { Float($0) })
    }

    /// Converts stored signed 32-bit samples (the decoder's `StoredFrame.values`).
    public static func fromInt32(_ values: [Int32], width: Int, height: Int) throws -> GrayImage {
        try validated(width: width, height: height, pixels: values.map { Float($0) })
    }

    /// Wraps `Float` samples (the decoder's `AnalysisFrame.pixels`), validating the size.
    public static func fromFloat(_ values: [Float], width: Int, height: Int) throws -> GrayImage {
        try validated(width: width, height: height, pixels: values)
    }

    /// Number of pixels.
    @inlinable public var count: Int { width * height }

    /// True when the image has no pixels.
    @inlinable public var isEmpty: Bool { width == 0 || height == 0 }
}

// MARK: - Cheap views

extension GrayImage {
    /// Row `y` as a slice of the storage (no copy).
    @inlinable
    public func row(_ y: Int) -> ArraySlice<Float> { pixels[(y * width)..<((y + 1) * width)] }

    /// The rows `rows` as a new image (a horizontal band; copies only the band).
    public func band(rows: Range<Int>) -> GrayImage {
        let lower = max(0, min(height, rows.lowerBound)), upper = max(lower, min(height, rows.upperBound))
        return GrayImage(width: width, height: upper - lower,
                         pixels: Array(pixels[(lower * width)..<(upper * width)]))
    }

    /// The rectangle `[x, x+width) x [y, y+height)`, clipped to the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> GrayImage {
        let x0 = max(0, min(width, x)), y0 = max(0, min(height, y))
        let x1 = max(x0, min(width, x + cropWidth)), y1 = max(y0, min(height, y + cropHeight))
        var out = [Float](); out.reserveCapacity((x1 - x0) * (y1 - y0))
        for row in y0..<y1 { out.append(contentsOf: pixels[(row * width + x0)..<(row * width + x1)]) }
        return GrayImage(width: x1 - x0, height: y1 - y0, pixels: out)
    }

    /// Box-average downsampling by an integer `factor` (>= 1). Output size is
    /// `ceil(width / factor) x ceil(height / factor)`; partial blocks at the right and bottom
    /// edges average only the pixels they cover, so a constant image stays constant.
    public func downsampled(by factor: Int) -> GrayImage {
        let f = max(1, factor)
        if f == 1 { return self }
        let outWidth = (width + f - 1) / f, outHeight = (height + f - 1) / f
        var sums = [Float](repeating: 0, count: outWidth * outHeight)
        var counts = [Float](repeating: 0, count: outWidth * outHeight)
        for y in 0..<height {
            let oy = y / f
            for x in 0..<width {
                let o = oy * outWidth + x / f
                sums[o] += pixels[y * width + x]
                counts[o] += 1
            }
        }
        for i in sums.indices where counts[i] > 0 { sums[i] /= counts[i] }
        return GrayImage(width: outWidth, height: outHeight, pixels: sums)
    }

    /// Bilinear resampling to `newWidth x newHeight`, pixel centres aligned
    /// (`x_src = (x_dst + 0.5) * width / newWidth - 0.5`), clamped at the edges.
    public func resampledBilinear(width newWidth: Int, height newHeight: Int) -> GrayImage {
        guard newWidth > 0, newHeight > 0, !isEmpty else {
            return GrayImage(width: max(0, newWidth), height: max(0, newHeight))
        }
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        let sx = Double(width) / Double(newWidth), sy = Double(height) / Double(newHeight)
        var x0s = [Int](repeating: 0, count: newWidth), x1s = x0s, fxs = [Float](repeating: 0, count: newWidth)
        for x in 0..<newWidth {
            let src = min(Double(width - 1), max(0, (Double(x) + 0.5) * sx - 0.5))
            let x0 = Int(src); x0s[x] = x0; x1s[x] = min(width - 1, x0 + 1); fxs[x] = Float(src - Double(x0))
        }
        for y in 0..<newHeight {
            let src = min(Double(height - 1), max(0, (Double(y) + 0.5) * sy - 0.5))
            let y0 = Int(src), y1 = min(height - 1, y0 + 1), fy = Float(src - Double(y0))
            for x in 0..<newWidth {
                let a = pixels[y0 * width + x0s[x]], b = pixels[y0 * width + x1s[x]]
                let c = pixels[y1 * width + x0s[x]], d = pixels[y1 * width + x1s[x]]
                let top = a + (b - a) * fxs[x], bottom = c + (d - c) * fxs[x]
                out[y * newWidth + x] = top + (bottom - top) * fy
            }
        }
        return GrayImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// Applies `transform` to every pixel.
    public func mapped(_ transform: (Float) -> Float) -> GrayImage {
        GrayImage(width: width, height: height, pixels: pixels.map(transform))
    }

    /// Minimum and maximum sample (0, 0 for an empty image).
    public var range: (min: Float, max: Float) {
        guard var lo = pixels.first else { return (0, 0) }
        var hi = lo
        for v in pixels { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        return (lo, hi)
    }

    /// The image rotated by 90 degrees counter-clockwise as displayed (x right, y down):
    /// output(x', y') = input(width - 1 - y', x'). Used by the rotation property tests.
    public func rotated90() -> GrayImage {
        var out = [Float](repeating: 0, count: count)
        let newWidth = height
        for y in 0..<height { for x in 0..<width { out[(width - 1 - x) * newWidth + y] = pixels[y * width + x] } }
        return GrayImage(width: newWidth, height: width, pixels: out)
    }
}

extension BinaryMask {
    /// Fraction-free Dice coefficient 2|A∩B| / (|A| + |B|); 1 when both are empty.
    public func dice(with other: BinaryMask) -> Double {
        guard other.width == width, other.height == height else { return 0 }
        var both = 0, total = 0
        for i in bits.indices {
            let a = Int(bits[i] != 0 ? 1 : 0), b = Int(other.bits[i] != 0 ? 1 : 0)
            both += a & b; total += a + b
        }
        return total == 0 ? 1 : 2 * Double(both) / Double(total)
    }
}
