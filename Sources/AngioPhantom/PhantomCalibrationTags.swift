import Foundation

/// The calibration attributes a phantom file carries, as DICOM Decimal String values
/// (PS3.5 6.2: DS, at most 16 characters), and the mm/pixel a reader derives from them.
public struct PhantomCalibrationTags: Sendable, Equatable {
    /// Pixel Spacing (0028,0030), "row\\column" spacing in mm.
    public var pixelSpacing: String?
    /// Pixel Spacing Calibration Type (0028,0A02), "GEOMETRY" (PS3.3 C.7.6.3.1.7).
    public var pixelSpacingCalibrationType: String?
    /// Imager Pixel Spacing (0018,1164), detector-plane spacing (PS3.3 C.8.7.1.1.2).
    public var imagerPixelSpacing: String?
    /// Estimated Radiographic Magnification Factor (0018,1114).
    public var estimatedRadiographicMagnificationFactor: String?
    /// Distance Source to Detector (0018,1110) and Distance Source to Patient (0018,1111), mm.
    public var distanceSourceToDetector: String?
    public var distanceSourceToPatient: String?

    public init(spec: PhantomSpec) {
        let mm = spec.mmPerPixel
        switch spec.calibration {
        case .pixelSpacing:
            let ps = Self.decimalString(mm)
            pixelSpacing = "\(ps)\\\(ps)"
            pixelSpacingCalibrationType = "GEOMETRY"
            let imager = Self.decimalString(mm * PhantomCalibration.nominalMagnificationForPixelSpacing)
            imagerPixelSpacing = "\(imager)\\\(imager)"
        case .imagerPixelSpacingWithMagnification(let magnification):
            let imager = Self.decimalString(mm * magnification)
            imagerPixelSpacing = "\(imager)\\\(imager)"
            estimatedRadiographicMagnificationFactor = Self.decimalString(magnification)
        case .imagerPixelSpacingWithDistances(let sid, let sod):
            let imager = Self.decimalString(mm * sid / sod)
            imagerPixelSpacing = "\(imager)\\\(imager)"
            distanceSourceToDetector = Self.decimalString(sid)
            distanceSourceToPatient = Self.decimalString(sod)
        case .none:
            break
        }
    }

    /// Up to 10 significant digits, no exponent for the magnitudes used here (<= 16 chars).
    public static func decimalString(_ value: Double) -> String {
        var text = String(format: "%.10f", value)
        while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
        if text.count > 16 { text = String(format: "%.9g", value) }
        return text
    }

    private static func first(_ multiValue: String?) -> Double? {
        guard let multiValue, let head = multiValue.split(separator: "\\").first else { return nil }
        return Double(head)
    }

    /// Object-plane mm/pixel as a QCA reader should derive it from these tags: calibrated Pixel
    /// Spacing first, else Imager Pixel Spacing / magnification, else Imager Pixel Spacing *
    /// SOD / SID; nil when uncalibrated.
    public var readerMmPerPixel: Double? {
        if let ps = Self.first(pixelSpacing) { return ps }
        guard let imager = Self.first(imagerPixelSpacing) else { return nil }
        if let m = estimatedRadiographicMagnificationFactor.flatMap(Double.init), m > 0 { return imager / m }
        if let sid = distanceSourceToDetector.flatMap(Double.init), let sod = distanceSourceToPatient.flatMap(Double.init),
           sid > 0 { return imager * sod / sid }
        return imager
    }

    /// The truth's `mmPerPixel`: what the written tags give (nil without tags).
    public static func readableMmPerPixel(_ spec: PhantomSpec) -> Double? {
        PhantomCalibrationTags(spec: spec).readerMmPerPixel
    }
}
