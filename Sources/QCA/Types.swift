import VesselCore

/// One measured vessel segment: the centerline resampled at a fixed arc-length step, the
/// lumen edges found on each perpendicular profile, and the diameter and reference functions.
///
/// All arrays have one entry per sample (`centerline.count`). Lengths and diameters are in
/// pixels (x = column, y = row, pixel centres at integer coordinates).
public struct VesselMeasurement: Sendable, Equatable {
    /// Id of the centerline segment measured (`CenterlineSegment.id`), or -1 for a user path.
    public var segmentId: Int
    /// Resampled centerline positions (lumen centre as fitted, not the skeleton).
    public var centerline: [Point2D]
    /// Arc length from the first sample (px).
    public var arcLength: [Double]
    /// Unit normals used for the profiles (pointing from the left edge to the right edge).
    public var normals: [Point2D]
    public var leftEdge: [Point2D]
    public var rightEdge: [Point2D]
    /// Diameter after smoothing along the arc (px); the function lesions are measured on.
    public var diameter: [Double]
    /// Diameter of each individual profile fit before smoothing (px).
    public var rawDiameter: [Double]
    /// Interpolated reference diameter (px), PS3.17 Annex T.4 style.
    public var referenceDiameter: [Double]
    /// Standard uncertainty of `diameter` (px) from the fit covariance and local scatter.
    public var diameterUncertainty: [Double]
    /// Standard uncertainty of `referenceDiameter` (px), from the reference fit.
    public var referenceUncertainty: [Double] = []
    /// The sampled path the profiles were taken along (smoothed skeleton or route), one point
    /// per sample; empty when not recorded (then `centerline` stands in for it).
    public var profilePath: [Point2D] = []
    /// Per sample: 0 measured, else why the profile was rejected (see `VesselAnalyzer`).
    public var rejectionReasons: [Int] = []
    /// True near a junction the path runs through (excluded from lesion search and reference).
    public var junctionZone: [Bool] = []
    /// Samples on a route bridging a long gap of the segmentation (`VesselPath.longBridges`).
    public var longBridgeZone: [Bool] = []
    /// The path's own contrast (median attenuation of its informative blocks) over the image's;
    /// nil when the path has no informative block. See `QCAParameters.minimumRelativeContrast`.
    public var relativeContrast: Double? = nil
    /// False where the profile could not be measured (overlap, junction zone, failed fit).
    public var valid: [Bool]
    /// Samples in `[measurableRange]` are away from segment ends and junctions; lesions are
    /// only searched there.
    public var measurableRange: Range<Int>
    /// Gaussian point-spread sigma (px) used by the lumen model.
    public var psfSigma: Double

    public init(segmentId: Int, centerline: [Point2D], arcLength: [Double], normals: [Point2D],
                leftEdge: [Point2D], rightEdge: [Point2D], diameter: [Double], rawDiameter: [Double],
                referenceDiameter: [Double], diameterUncertainty: [Double], valid: [Bool],
                measurableRange: Range<Int>, psfSigma: Double) {
        self.segmentId = segmentId
        self.centerline = centerline
        self.arcLength = arcLength
        self.normals = normals
        self.leftEdge = leftEdge
        self.rightEdge = rightEdge
        self.diameter = diameter
        self.rawDiameter = rawDiameter
        self.referenceDiameter = referenceDiameter
        self.diameterUncertainty = diameterUncertainty
        self.valid = valid
        self.measurableRange = measurableRange
        self.psfSigma = psfSigma
    }

    /// Total arc length (px).
    public var length: Double { arcLength.last ?? 0 }
}

/// A localised narrowing found on a `VesselMeasurement`.
public struct Lesion: Sendable, Equatable {
    /// 1 = most severe (highest %DS).
    public var rank: Int
    public var segmentId: Int
    /// Index of the measurement in the list the lesion was found on.
    public var measurementIndex: Int
    /// Minimal lumen diameter (px).
    public var minimalLumenDiameter: Double
    /// Interpolated reference diameter at the MLD position (px).
    public var referenceDiameter: Double
    /// 100 * (1 - MLD / reference).
    public var percentDiameterStenosis: Double
    /// 100 * (1 - (MLD / reference)^2), assuming a circular lumen.
    public var percentAreaStenosis: Double
    public var mldIndex: Int
    public var startIndex: Int
    public var endIndex: Int
    public var mldPosition: Point2D
    public var startPosition: Point2D
    public var endPosition: Point2D
    /// Arc length between start and end (px).
    public var length: Double
    /// Arc length of the MLD from the first sample of the measurement (px).
    public var mldArcLength: Double
    /// Standard uncertainties (px, and %DS points).
    public var minimalLumenDiameterUncertainty: Double
    public var referenceDiameterUncertainty: Double
    public var percentDiameterStenosisUncertainty: Double

    public init(rank: Int, segmentId: Int, measurementIndex: Int, minimalLumenDiameter: Double,
                referenceDiameter: Double, mldIndex: Int, startIndex: Int, endIndex: Int,
                mldPosition: Point2D, startPosition: Point2D, endPosition: Point2D, length: Double,
                mldArcLength: Double, minimalLumenDiameterUncertainty: Double,
                referenceDiameterUncertainty: Double) {
        self.rank = rank
        self.segmentId = segmentId
        self.measurementIndex = measurementIndex
        self.minimalLumenDiameter = minimalLumenDiameter
        self.referenceDiameter = referenceDiameter
        let ratio = referenceDiameter > 0 ? minimalLumenDiameter / referenceDiameter : 1
        self.percentDiameterStenosis = 100 * (1 - ratio)
        self.percentAreaStenosis = 100 * (1 - ratio * ratio)
        self.mldIndex = mldIndex
        self.startIndex = startIndex
        self.endIndex = endIndex
        self.mldPosition = mldPosition
        self.startPosition = startPosition
        self.endPosition = endPosition
        self.length = length
        self.mldArcLength = mldArcLength
        self.minimalLumenDiameterUncertainty = minimalLumenDiameterUncertainty
        self.referenceDiameterUncertainty = referenceDiameterUncertainty
        // First-order propagation of %DS = 100 (1 - m / r), m and r independent.
        if referenceDiameter > 0 {
            let dm = minimalLumenDiameterUncertainty / referenceDiameter
            let dr = minimalLumenDiameter * referenceDiameterUncertainty / (referenceDiameter * referenceDiameter)
            self.percentDiameterStenosisUncertainty = 100 * (dm * dm + dr * dr).squareRoot()
        } else {
            self.percentDiameterStenosisUncertainty = 0
        }
    }
}
