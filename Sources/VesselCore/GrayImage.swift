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
