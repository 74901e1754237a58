import Foundation
import VesselCore

// Ground truth of a rendered phantom. Geometry is exact (it is the geometry the renderer draws),
// in pixel coordinates (x = column, y = row, pixel centres at integers) and in mm at the true
// object-plane pixel size. See docs/phantom.md for the definitions.

public struct PhantomTruth: Codable, Sendable, Equatable {
    /// Schema version of this JSON.
    public var truthVersion: Int
    /// mm per pixel a reader derives from the calibration tags written in the file, or nil when
    /// the file carries none (then only a catheter or a user value can calibrate).
    public var mmPerPixel: Double?
    /// The true object-plane pixel size, always present.
    public var trueMmPerPixel: Double
    public var width: Int
    public var height: Int
    public var frames: Int
    /// Frame with the highest contrast concentration (the one to analyse).
    public var mostOpacifiedFrame: Int
    /// Contrast concentration per frame (1 at the peak).
    public var contrastConcentration: [Double]
    public var vessels: [PhantomVesselTruth]
    public var catheter: PhantomCatheterTruth?
    public var seed: UInt64
    /// Transmission mapped to full scale (linear: v = maxValue * T / whiteLevel); 1.15 x the
    /// brightest background pixel.
    public var whiteLevelTransmission: Double
    /// Background mean transmission (0...1) and grey value at the most opacified frame, and the
    /// noise SD in grey values there: what a reader can expect of the image statistics.
    public var backgroundMeanStoredValue: Double
    public var noiseSDStoredValue: Double
    public var spec: PhantomSpec
}

public struct PhantomVesselTruth: Codable, Sendable, Equatable {
    /// Index in `PhantomSpec.vessels`.
    public var id: Int
    public var kind: PhantomVesselKind
    public var parentId: Int?
    /// Total centreline arc length, px and mm.
    public var lengthPx: Double
    public var lengthMm: Double
    /// Lumen centre line (midpoint between the two walls), sampled every
    /// `spec.truthSampleSpacingPx` of reference-centreline arc length; the last sample is the end.
    public var centerline: [Point2D]
    /// Arc length along the reference centreline at each sample, px.
    public var arcLengthPx: [Double]
    /// True lumen diameter at each sample, measured along the centreline normal (px and mm).
    public var diameterPx: [Double]
    public var diameterMm: [Double]
    /// Reference (disease-free, tapered) diameter at each sample, mm: D0 - taper * s.
    public var referenceDiameterMm: [Double]
    /// True where another vessel or the catheter overlaps this lumen (within 1 px of its walls):
    /// profiles there are not clean and should be excluded from accuracy statistics.
    public var overlapped: [Bool]
    /// Reference diameter function: D_ref(s_mm) = referenceDiameterStartMm - taperMmPerMm * s_mm.
    public var referenceDiameterStartMm: Double
    public var taperMmPerMm: Double
    public var stenosis: PhantomStenosisTruth?
}

public struct PhantomStenosisTruth: Codable, Sendable, Equatable {
    /// Minimal lumen diameter, mm and px.
    public var mldMm: Double
    public var mldPx: Double
    /// Reference diameter (tapered, disease-free) at the MLD position.
    public var referenceDiameterAtMldMm: Double
    /// 100 * (1 - MLD / reference) from the rendered geometry.
    public var percentDiameterStenosis: Double
    /// 100 * (1 - (MLD / reference)^2): circular lumen areas.
    public var percentAreaStenosis: Double
    /// Lumen centre at the MLD, pixels.
    public var location: Point2D
    public var mldArcLengthPx: Double
    /// Lesion extent (where the narrowing profile is non-zero), arc length px, and its length.
    public var startArcLengthPx: Double
    public var endArcLengthPx: Double
    public var lengthMm: Double
    /// The two wall points at the MLD (lumen centre -/+ radius along the normal).
    public var wallPoints: [Point2D]
}

public struct PhantomCatheterTruth: Codable, Sendable, Equatable {
    public var frenchSize: Double
    /// Outer diameter, mm (= French / 3) and px.
    public var diameterMm: Double
    public var diameterPx: Double
    /// Centreline sampled every `spec.truthSampleSpacingPx`.
    public var path: [Point2D]
}

// Optional fields are written as explicit nulls (not omitted) so readers see every key.
extension PhantomTruth {
    private enum CodingKeys: String, CodingKey {
        case truthVersion, mmPerPixel, trueMmPerPixel, width, height, frames, mostOpacifiedFrame
        case contrastConcentration, vessels, catheter, seed, whiteLevelTransmission
        case backgroundMeanStoredValue, noiseSDStoredValue, spec
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(truthVersion, forKey: .truthVersion)
        try c.encode(mmPerPixel, forKey: .mmPerPixel)
        try c.encode(trueMmPerPixel, forKey: .trueMmPerPixel)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(frames, forKey: .frames)
        try c.encode(mostOpacifiedFrame, forKey: .mostOpacifiedFrame)
        try c.encode(contrastConcentration, forKey: .contrastConcentration)
        try c.encode(vessels, forKey: .vessels)
        try c.encode(catheter, forKey: .catheter)
        try c.encode(seed, forKey: .seed)
        try c.encode(whiteLevelTransmission, forKey: .whiteLevelTransmission)
        try c.encode(backgroundMeanStoredValue, forKey: .backgroundMeanStoredValue)
        try c.encode(noiseSDStoredValue, forKey: .noiseSDStoredValue)
        try c.encode(spec, forKey: .spec)
    }
}

extension PhantomVesselTruth {
    private enum CodingKeys: String, CodingKey {
        case id, kind, parentId, lengthPx, lengthMm, centerline, arcLengthPx, diameterPx, diameterMm
        case referenceDiameterMm, overlapped, referenceDiameterStartMm, taperMmPerMm, stenosis
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(parentId, forKey: .parentId)
        try c.encode(lengthPx, forKey: .lengthPx)
        try c.encode(lengthMm, forKey: .lengthMm)
        try c.encode(centerline, forKey: .centerline)
        try c.encode(arcLengthPx, forKey: .arcLengthPx)
        try c.encode(diameterPx, forKey: .diameterPx)
        try c.encode(diameterMm, forKey: .diameterMm)
        try c.encode(referenceDiameterMm, forKey: .referenceDiameterMm)
        try c.encode(overlapped, forKey: .overlapped)
        try c.encode(referenceDiameterStartMm, forKey: .referenceDiameterStartMm)
        try c.encode(taperMmPerMm, forKey: .taperMmPerMm)
        try c.encode(stenosis, forKey: .stenosis)
    }
}

extension PhantomTruth {
    /// Deterministic JSON: sorted keys, compact (the sample arrays are long), newline-terminated.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
