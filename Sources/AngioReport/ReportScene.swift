import VesselCore

/// Everything the annotated PNG shows, as plain data in image pixel coordinates.
///
/// The pipeline fills this from an analysis (frame, mask, centerlines, QCA measurements and
/// lesions); keeping it free of the measurement types lets the renderer be tested with
/// hand-built geometry.
public struct ReportScene: Sendable {
    /// The analysed frame (vessels dark), windowed for display by the renderer.
    public var frame: GrayImage
    /// Segmented vessel lumen; its boundary is drawn faintly.
    public var vesselMask: BinaryMask?
    /// Centerline polylines (e.g. all segments of the skeleton graph).
    public var centerlines: [[Point2D]]
    /// Measured vessel segments with their detected edges and diameter profiles.
    public var vessels: [VesselOverlay]
    /// Lesions, most severe first; `rank` 1 is the top lesion.
    public var lesions: [LesionOverlay]
    /// Calibration factor, when known; labels switch from px to mm and a scale bar appears.
    public var mmPerPixel: Double?
    /// File name (shown in the header).
    public var title: String
    public var frameIndex: Int?
    public var frameCount: Int?
    /// How the calibration was obtained (e.g. "imager pixel spacing / magnification").
    public var calibrationSource: String?
    /// Extra header notes (warnings); shown after the calibration line.
    public var notes: [String]

    public init(frame: GrayImage, vesselMask: BinaryMask? = nil, centerlines: [[Point2D]] = [],
                vessels: [VesselOverlay] = [], lesions: [LesionOverlay] = [], mmPerPixel: Double? = nil,
                title: String, frameIndex: Int? = nil, frameCount: Int? = nil,
                calibrationSource: String? = nil, notes: [String] = []) {
        self.frame = frame
        self.vesselMask = vesselMask
        self.centerlines = centerlines
        self.vessels = vessels
        self.lesions = lesions
        self.mmPerPixel = mmPerPixel
        self.title = title
        self.frameIndex = frameIndex
        self.frameCount = frameCount
        self.calibrationSource = calibrationSource
        self.notes = notes
    }
}

/// One measured vessel segment, sampled along its centerline. All arrays are indexed by sample;
/// lengths in pixels.
public struct VesselOverlay: Sendable {
    public var centerline: [Point2D]
    public var leftEdge: [Point2D]
    public var rightEdge: [Point2D]
    /// Cumulative arc length along the centerline (px).
    public var arcLength: [Double]
    /// Measured lumen diameter per sample (px); non-finite where no edge was found.
    public var diameter: [Double]
    /// Interpolated reference (healthy) diameter per sample (px); may be empty.
    public var reference: [Double]

    public init(centerline: [Point2D], leftEdge: [Point2D], rightEdge: [Point2D], arcLength: [Double],
                diameter: [Double], reference: [Double]) {
        self.centerline = centerline
        self.leftEdge = leftEdge
        self.rightEdge = rightEdge
        self.arcLength = arcLength
        self.diameter = diameter
        self.reference = reference
    }
}

/// One lesion on a vessel, located by sample indices into `VesselOverlay` arrays.
public struct LesionOverlay: Sendable {
    public var rank: Int
    public var vesselIndex: Int
    /// Percent diameter stenosis, 0...100.
    public var percentDiameterStenosis: Double
    public var minimalLumenDiameterPx: Double
    public var referenceDiameterPx: Double
    public var lengthPx: Double?
    public var startIndex: Int
    public var endIndex: Int
    public var mldIndex: Int

    public init(rank: Int, vesselIndex: Int, percentDiameterStenosis: Double, minimalLumenDiameterPx: Double,
                referenceDiameterPx: Double, lengthPx: Double?, startIndex: Int, endIndex: Int, mldIndex: Int) {
        self.rank = rank
        self.vesselIndex = vesselIndex
        self.percentDiameterStenosis = percentDiameterStenosis
        self.minimalLumenDiameterPx = minimalLumenDiameterPx
        self.referenceDiameterPx = referenceDiameterPx
        self.lengthPx = lengthPx
        self.startIndex = startIndex
        self.endIndex = endIndex
        self.mldIndex = mldIndex
    }
}
