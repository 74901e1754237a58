/// Patient identifiers, kept apart so they can be left out of outputs (PHI).
public struct PatientIdentity: Sendable, Codable, Equatable {
    /// Patient's Name (0010,0010), DICOM PN form ("Family^Given").
    public var name: String?
    /// Patient ID (0010,0020).
    public var id: String?
    /// Patient's Birth Date (0010,0030), YYYYMMDD.
    public var birthDate: String?

    public init(name: String? = nil, id: String? = nil, birthDate: String? = nil) {
        self.name = name
        self.id = id
        self.birthDate = birthDate
    }
}

/// One item of the Mask Subtraction Sequence (0028,6100), PS3.3 C.7.6.10.
public struct MaskSubtraction: Sendable, Codable, Equatable {
    /// Mask Operation (0028,6101): AVG_SUB, TID, REV_TID or ...
    public var operation: String?
    /// Mask Frame Numbers (0028,6110), 1-based as in DICOM.
    public var maskFrameNumbers: [Int]?
    /// Applicable Frame Range (0028,6102): pairs of 1-based first/last frame numbers.
    public var applicableFrameRange: [Int]?
    /// Contrast Frame Averaging (0028,6112).
    public var contrastFrameAveraging: Int?
    /// Mask Sub-pixel Shift (0028,6114): row, column shift.
    public var maskSubPixelShift: [Double]?

    public init(operation: String? = nil, maskFrameNumbers: [Int]? = nil, applicableFrameRange: [Int]? = nil,
                contrastFrameAveraging: Int? = nil, maskSubPixelShift: [Double]? = nil) {
        self.operation = operation
        self.maskFrameNumbers = maskFrameNumbers
        self.applicableFrameRange = applicableFrameRange
        self.contrastFrameAveraging = contrastFrameAveraging
        self.maskSubPixelShift = maskSubPixelShift
    }
}

/// What a DICOM file says about itself. Every field is nil when the attribute is absent (or
/// unparseable); keys are camelCase in JSON. Patient identifiers live in `patient` only.
public struct DICOMMetadata: Sendable, Codable, Equatable {
    // Identification (PS3.3 C.12.1 SOP Common, C.7.2.1, C.7.3.1)
    public var sopClassUID: String?
    public var sopInstanceUID: String?
    public var studyInstanceUID: String?
    public var seriesInstanceUID: String?
    public var modality: String?
    public var imageType: [String]?
    public var studyDate: String?
    public var studyTime: String?
    public var studyDescription: String?
    public var seriesDescription: String?
    public var seriesNumber: Int?
    public var instanceNumber: Int?
    public var manufacturer: String?
    public var manufacturerModelName: String?

    // Encoding (PS3.10 7.1)
    public var transferSyntaxUID: String?
    public var transferSyntaxName: String?

    // Image Pixel module (PS3.3 C.7.6.3)
    public var rows: Int?
    public var columns: Int?
    /// Frames this file holds: Number of Frames, or 1 for an image without it.
    public var numberOfFrames: Int?
    /// Number of Frames (0028,0008) exactly as declared; nil when absent.
    public var numberOfFramesDeclared: Int?
    public var bitsAllocated: Int?
    public var bitsStored: Int?
    public var highBit: Int?
    public var pixelRepresentation: Int?
    public var samplesPerPixel: Int?
    public var photometricInterpretation: String?

    // Calibration (PS3.3 C.7.6.3 Pixel Spacing, C.8.7.1 X-Ray Image, C.8.7.5 XA Acquisition)
    /// Pixel Spacing (0028,0030): row spacing, column spacing in mm.
    public var pixelSpacing: [Double]?
    /// Pixel Spacing Calibration Type (0028,0A02): GEOMETRY or FIDUCIAL.
    public var pixelSpacingCalibrationType: String?
    /// Pixel Spacing Calibration Description (0028,0A04).
    public var pixelSpacingCalibrationDescription: String?
    /// Imager Pixel Spacing (0018,1164): at the detector plane, mm.
    public var imagerPixelSpacing: [Double]?
    /// Estimated Radiographic Magnification Factor (0018,1114).
    public var estimatedRadiographicMagnificationFactor: Double?
    /// Distance Source to Detector (0018,1110), mm.
    public var distanceSourceToDetector: Double?
    /// Distance Source to Patient (0018,1111), mm.
    public var distanceSourceToPatient: Double?
    /// Intensifier Size (0018,1162), mm.
    public var intensifierSize: Double?

    // Cine / frame timing (PS3.3 C.7.6.5)
    /// Frame Time (0018,1063), ms.
    public var frameTime: Double?
    /// Frame Time Vector (0018,1065), ms.
    public var frameTimeVector: [Double]?
    /// Frame Increment Pointer (0028,0009) as tags, e.g. ["(0018,1063)"].
    public var frameIncrementPointer: [String]?
    /// Cine Rate (0018,0040), frames/s.
    public var cineRate: Double?
    /// Recommended Display Frame Rate (0008,2144).
    public var recommendedDisplayFrameRate: Double?

    // Geometry and acquisition (PS3.3 C.8.7.5, C.8.7.2)
    /// Positioner Primary Angle (0018,1510), degrees (LAO +, RAO -).
    public var positionerPrimaryAngle: Double?
    /// Positioner Secondary Angle (0018,1511), degrees (cranial +, caudal -).
    public var positionerSecondaryAngle: Double?
    /// KVP (0018,0060).
    public var kvp: Double?
    /// X-Ray Tube Current (0018,1151), mA.
    public var xRayTubeCurrent: Double?
    /// Exposure Time (0018,1150), ms.
    public var exposureTime: Double?

    // Presentation (PS3.3 C.7.6.10, C.8.7.1, C.7.6.1, C.11.2)
    /// Recommended Viewing Mode (0028,1090): SUB or NAT.
    public var recommendedViewingMode: String?
    public var maskSubtraction: [MaskSubtraction]?
    /// Pixel Intensity Relationship (0028,1040): LIN, LOG or DISP.
    public var pixelIntensityRelationship: String?
    /// Pixel Intensity Relationship Sign (0028,1041).
    public var pixelIntensityRelationshipSign: Int?
    /// Burned In Annotation (0028,0301): YES or NO.
    public var burnedInAnnotation: String?
    /// Lossy Image Compression (0028,2110): "00" or "01".
    public var lossyImageCompression: String?
    public var lossyImageCompressionRatio: [Double]?
    public var lossyImageCompressionMethod: [String]?
    /// Window Center (0028,1050) / Width (0028,1051), first values are the default window.
    public var windowCenter: [Double]?
    public var windowWidth: [Double]?
    /// Rescale Intercept (0028,1052) / Slope (0028,1053): reported, never applied to XA/XRF
    /// analysis (used only to window non-XA images for display).
    public var rescaleIntercept: Double?
    public var rescaleSlope: Double?

    /// Patient's name, ID and birth date (PHI); omit from outputs unless asked.
    public var patient: PatientIdentity?

    public init() {}

    /// A copy without patient identifiers.
    public var withoutPHI: DICOMMetadata {
        var copy = self
        copy.patient = nil
        return copy
    }
}
