/// Limits applied before any pixel memory is allocated.
public struct DecodeOptions: Sendable, Equatable {
    /// Largest declared image (Rows x Columns x Frames x Samples x Bits Allocated / 8) accepted;
    /// larger ones fail with `imageTooLarge`. Default 2 GiB.
    public var maxPixelBytes: Int

    public init(maxPixelBytes: Int = 2 << 30) {
        self.maxPixelBytes = maxPixelBytes
    }
}

/// One frame as stored: bits unpacked per Bits Stored / High Bit, sign extended when Pixel
/// Representation is 1, no Modality LUT (XA/XRF values are used as stored; their
/// meaning is given by Pixel Intensity Relationship, PS3.3 C.8.7.1 X-Ray Image Module), samples
/// interleaved (planar data is re-interleaved).
public struct StoredFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var bitsStored: Int
    public var isSigned: Bool
    public var samplesPerPixel: Int
    /// Photometric interpretation of `values` (e.g. "RGB" after JPEG colour conversion,
    /// "YBR_FULL" for upsampled native 4:2:2 data, else as declared).
    public var colorModel: String
    /// Row-major, `samplesPerPixel` values per pixel.
    public var values: [Int32]

    public init(width: Int, height: Int, bitsStored: Int, isSigned: Bool, samplesPerPixel: Int,
                colorModel: String, values: [Int32]) {
        self.width = width
        self.height = height
        self.bitsStored = bitsStored
        self.isSigned = isSigned
        self.samplesPerPixel = samplesPerPixel
        self.colorModel = colorModel
        self.values = values
    }

    /// Smallest and largest value (all samples); (0, 0) when empty.
    public var valueRange: (min: Int32, max: Int32) {
        guard var low = values.first else { return (0, 0) }
        var high = low
        for value in values {
            if value < low { low = value }
            if value > high { high = value }
        }
        return (low, high)
    }
}

/// The canonical grey image for analysis, in stored-value units: contrast-filled vessels are
/// DARK (MONOCHROME1 is inverted; colour is reduced to luminance). Row-major.
public struct AnalysisFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
