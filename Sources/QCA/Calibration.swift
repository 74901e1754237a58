/// Inputs for the pixel-size calibration, read from DICOM by the caller (QCA does not depend
/// on the decoder). All values in mm unless stated.
public struct CalibrationInputs: Sendable, Equatable {
    /// Pixel Spacing (0028,0030): row spacing, column spacing (mm) in the patient plane.
    public var pixelSpacing: [Double]?
    /// Pixel Spacing Calibration Type (0028,0A02), e.g. "GEOMETRY" or "FIDUCIAL".
    public var pixelSpacingCalibrationType: String?
    /// Imager Pixel Spacing (0018,1164): spacing at the detector front plane (mm).
    public var imagerPixelSpacing: [Double]?
    /// Estimated Radiographic Magnification Factor (0018,1114).
    public var estimatedRadiographicMagnificationFactor: Double?
    /// Distance Source to Detector (0018,1110), mm.
    public var distanceSourceToDetector: Double?
    /// Distance Source to Patient (0018,1111), mm (source to isocenter).
    public var distanceSourceToPatient: Double?
    /// `--mm-per-pixel` override.
    public var userMMPerPixel: Double?
    /// Catheter measured on the image (takes precedence over DICOM tags).
    public var catheter: CatheterCalibrationInput?

    public init(pixelSpacing: [Double]? = nil, pixelSpacingCalibrationType: String? = nil,
                imagerPixelSpacing: [Double]? = nil, estimatedRadiographicMagnificationFactor: Double? = nil,
                distanceSourceToDetector: Double? = nil, distanceSourceToPatient: Double? = nil,
                userMMPerPixel: Double? = nil, catheter: CatheterCalibrationInput? = nil) {
        self.pixelSpacing = pixelSpacing
        self.pixelSpacingCalibrationType = pixelSpacingCalibrationType
        self.imagerPixelSpacing = imagerPixelSpacing
        self.estimatedRadiographicMagnificationFactor = estimatedRadiographicMagnificationFactor
        self.distanceSourceToDetector = distanceSourceToDetector
        self.distanceSourceToPatient = distanceSourceToPatient
        self.userMMPerPixel = userMMPerPixel
        self.catheter = catheter
    }
}

/// A catheter width measured in pixels with the lumen profile method, and its nominal size.
public struct CatheterCalibrationInput: Sendable, Equatable {
    /// French size; outer diameter = F / 3 mm.
    public var frenchSize: Double
    /// Measured catheter width (px), e.g. the median diameter along the catheter path.
    public var measuredDiameterPixels: Double
    /// Standard uncertainty of the measured width (px).
    public var measuredDiameterUncertaintyPixels: Double

    public init(frenchSize: Double, measuredDiameterPixels: Double, measuredDiameterUncertaintyPixels: Double) {
        self.frenchSize = frenchSize
        self.measuredDiameterPixels = measuredDiameterPixels
        self.measuredDiameterUncertaintyPixels = measuredDiameterUncertaintyPixels
    }

    /// Nominal outer diameter in mm (1 French = 1/3 mm).
    public var nominalDiameterMM: Double { frenchSize / 3 }
}

public enum CalibrationSource: String, Sendable, Codable, CaseIterable {
    /// `--mm-per-pixel` given by the user.
    case user
    /// Catheter of known French size measured on the image.
    case catheter
    /// Pixel Spacing (0028,0030).
    case pixelSpacing
    /// Imager Pixel Spacing (0018,1164) / Estimated Radiographic Magnification Factor (0018,1114).
    case imagerPixelSpacingMagnification
    /// Imager Pixel Spacing (0018,1164) / (SID (0018,1110) / SOD (0018,1111)).
    case imagerPixelSpacingGeometry
    /// No usable calibration: only pixel values are reported.
    case none
}

public struct Calibration: Sendable, Equatable {
    /// Millimetres per pixel in the plane of the vessel, nil when uncalibrated.
    public var mmPerPixel: Double?
    public var source: CalibrationSource
    /// Pixel Spacing Calibration Type (0028,0A02) when `source == .pixelSpacing`.
    public var pixelSpacingCalibrationType: String?
    /// Relative standard uncertainty of `mmPerPixel` (0.02 = 2 %), nil when unknown.
    public var relativeUncertainty: Double?
    /// Inputs that were present but ignored, and other caveats.
    public var warnings: [String]

    public init(mmPerPixel: Double?, source: CalibrationSource, pixelSpacingCalibrationType: String? = nil,
                relativeUncertainty: Double? = nil, warnings: [String] = []) {
        self.mmPerPixel = mmPerPixel
        self.source = source
        self.pixelSpacingCalibrationType = pixelSpacingCalibrationType
        self.relativeUncertainty = relativeUncertainty
        self.warnings = warnings
    }

    /// Converts pixels to mm, nil when uncalibrated.
    public func millimetres(_ pixels: Double) -> Double? { mmPerPixel.map { $0 * pixels } }
}

/// Chooses the pixel size, in this order of precedence:
/// 1. the user's `--mm-per-pixel`;
/// 2. a catheter of known French size measured on the image;
/// 3. Pixel Spacing (0028,0030), reported with its Pixel Spacing Calibration Type (0028,0A02)
///    (PS3.3 C.7.6.3.1.7 / 10.7.1.3: spacing "in the patient" after a calibration);
/// 4. Imager Pixel Spacing (0018,1164) divided by the Estimated Radiographic Magnification
///    Factor (0018,1114) (PS3.3 C.8.11.x / 10.7.1.1: spacing at the detector, corrected to
///    the isocenter plane);
/// 5. Imager Pixel Spacing divided by SID/SOD, Distance Source to Detector (0018,1110) over
///    Distance Source to Patient (0018,1111) — the geometric magnification at the isocenter;
/// 6. none: every mm value is null and pixel values are still reported.
/// Implausible values (non-positive spacing or distances, magnification outside 1.0–2.5,
/// SID <= SOD) are ignored with a warning.
public enum CalibrationResolver {
    /// Magnification range accepted for projection angiography (isocentric C-arms: ~1.2–1.8).
    public static let plausibleMagnification: ClosedRange<Double> = 1.0...2.5
    /// Pixel sizes outside this range (mm) are not plausible for an angiogram.
    public static let plausiblePixelSize: ClosedRange<Double> = 0.01...5.0

    public static func resolve(_ inputs: CalibrationInputs) -> Calibration {
        var warnings: [String] = []

        if let user = inputs.userMMPerPixel {
            if user.isFinite, plausiblePixelSize.contains(user) {
                return Calibration(mmPerPixel: user, source: .user, warnings: warnings)
            }
            warnings.append("--mm-per-pixel \(user) is not a plausible pixel size (expected \(plausiblePixelSize.lowerBound)–\(plausiblePixelSize.upperBound) mm); ignored")
        }

        if let catheter = inputs.catheter {
            let width = catheter.measuredDiameterPixels
            if catheter.frenchSize.isFinite, catheter.frenchSize > 0, width.isFinite, width > 0 {
                let mmPerPixel = catheter.nominalDiameterMM / width
                if plausiblePixelSize.contains(mmPerPixel) {
                    let relative = max(catheter.measuredDiameterUncertaintyPixels, 0) / width
                    return Calibration(mmPerPixel: mmPerPixel, source: .catheter,
                                       relativeUncertainty: relative, warnings: warnings)
                }
                warnings.append("catheter calibration gives \(mmPerPixel) mm/pixel, which is implausible; ignored")
            } else {
                warnings.append("catheter could not be measured (width \(width) px, \(catheter.frenchSize) F); ignored")
            }
        }

        if let spacing = inputs.pixelSpacing {
            if let value = isotropicSpacing(spacing, name: "Pixel Spacing (0028,0030)", warnings: &warnings) {
                return Calibration(mmPerPixel: value, source: .pixelSpacing,
                                   pixelSpacingCalibrationType: inputs.pixelSpacingCalibrationType,
                                   warnings: warnings)
            }
        }

        guard let imagerSpacing = inputs.imagerPixelSpacing else {
            return Calibration(mmPerPixel: nil, source: .none, warnings: warnings)
        }
        guard let detectorSpacing = isotropicSpacing(imagerSpacing, name: "Imager Pixel Spacing (0018,1164)", warnings: &warnings) else {
            return Calibration(mmPerPixel: nil, source: .none, warnings: warnings)
        }

        if let factor = inputs.estimatedRadiographicMagnificationFactor {
            if factor.isFinite, plausibleMagnification.contains(factor) {
                return Calibration(mmPerPixel: detectorSpacing / factor, source: .imagerPixelSpacingMagnification,
                                   warnings: warnings)
            }
            warnings.append("Estimated Radiographic Magnification Factor (0018,1114) = \(factor) is outside \(plausibleMagnification.lowerBound)–\(plausibleMagnification.upperBound); ignored")
        }

        if let sid = inputs.distanceSourceToDetector, let sod = inputs.distanceSourceToPatient {
            if sid.isFinite, sod.isFinite, sid > 0, sod > 0, sid > sod {
                let factor = sid / sod
                if plausibleMagnification.contains(factor) {
                    return Calibration(mmPerPixel: detectorSpacing / factor, source: .imagerPixelSpacingGeometry,
                                       warnings: warnings)
                }
                warnings.append("SID/SOD magnification \(factor) from (0018,1110)/(0018,1111) is outside \(plausibleMagnification.lowerBound)–\(plausibleMagnification.upperBound); ignored")
            } else {
                warnings.append("Distance Source to Detector (0018,1110) = \(sid) and Distance Source to Patient (0018,1111) = \(sod) are implausible (need 0 < SOD < SID); ignored")
            }
        }

        warnings.append("Imager Pixel Spacing (0018,1164) is present but no usable magnification; pixel values only (detector-plane spacing would overestimate sizes)")
        return Calibration(mmPerPixel: nil, source: .none, warnings: warnings)
    }

    /// The mean of row and column spacing when both are plausible; anisotropic pixels are
    /// accepted with a warning when they differ by more than 1 % (diameters are measured in
    /// every direction, so one scale is used).
    private static func isotropicSpacing(_ spacing: [Double], name: String, warnings: inout [String]) -> Double? {
        let values = spacing.count >= 2 ? Array(spacing.prefix(2)) : spacing
        guard !values.isEmpty, values.allSatisfy({ $0.isFinite && plausiblePixelSize.contains($0) }) else {
            let text = spacing.map { String($0) }.joined(separator: "\\")
            warnings.append("\(name) = \(text.isEmpty ? "(empty)" : text) is implausible; ignored")
            return nil
        }
        let mean = values.reduce(0, +) / Double(values.count)
        if let lo = values.min(), let hi = values.max(), hi - lo > 0.01 * mean {
            warnings.append("\(name) is anisotropic (\(values[0]) x \(values[values.count - 1]) mm); the mean \(mean) mm is used")
        }
        return mean
    }
}
