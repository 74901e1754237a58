import Foundation
import VesselCore

// The full description of one synthetic angiogram. Every field has a documented default so a
// partial JSON spec (`angio phantom --spec`) decodes; the physics is described in docs/phantom.md.

/// Everything needed to render one phantom run deterministically.
public struct PhantomSpec: Codable, Sendable, Equatable {
    /// Drives every random choice (background, noise). Same spec -> identical output bytes.
    public var seed: UInt64
    /// Seed of the quantum-noise stream; `nil` uses `seed`. A post-dilation run of a pre/post
    /// pair keeps the geometry seed and changes this one so the two runs have independent noise.
    public var noiseSeed: UInt64?
    /// Seed from which patient and study identifiers derive; `nil` uses `seed`. Runs sharing it
    /// belong to the same patient and study (a pre/post pair).
    public var studySeed: UInt64?
    /// Series Number (0020,0011); a post run of a pair uses 2.
    public var seriesNumber: Int
    public var width: Int
    public var height: Int
    /// True size of one pixel in the object plane (the vessel), in mm. Default 0.16.
    public var mmPerPixel: Double
    public var vessels: [PhantomVessel]
    public var catheter: PhantomCatheter?
    public var background: PhantomBackground
    /// Linear attenuation of fully opacified blood, per mm of chord (iodinated contrast).
    public var contrastAttenuationPerMm: Double
    /// Gaussian focal-spot / detector blur sigma in pixels, applied in the transmission domain.
    public var focalSpotBlurSigmaPx: Double
    public var noise: PhantomNoise
    /// 8...16. Stored values span 0 ... 2^bitsStored - 1.
    public var bitsStored: Int
    public var photometric: PhantomPhotometric
    /// How transmission maps to stored values.
    public var intensityEncoding: PhantomIntensityEncoding
    /// 1 = single frame; > 1 = cine run with contrast wash-in (see `PhantomContrastTiming`).
    public var frames: Int
    public var frameTimeMs: Double
    public var contrastTiming: PhantomContrastTiming
    public var calibration: PhantomCalibration
    /// Transfer syntax name, mapped to AngioDICOM's WritableTransferSyntax when written:
    /// explicit, implicit, rle, jpeg-lossless, jpeg-ls, jpeg-ls-near, jpeg-baseline, jpeg-extended.
    public var transferSyntax: String
    /// Positioner Primary / Secondary Angle (0018,1510)/(0018,1511), degrees.
    public var positionerPrimaryAngle: Double
    public var positionerSecondaryAngle: Double
    /// Sub-pixel samples per axis for the area integral of each pixel; pixels crossed by a lumen
    /// edge are re-integrated with `4 * supersampling` per axis.
    public var supersampling: Int
    /// Spacing of the truth centreline samples along the arc, in pixels.
    public var truthSampleSpacingPx: Double

    public init(
        seed: UInt64, width: Int = 512, height: Int = 512, mmPerPixel: Double = 0.16,
        vessels: [PhantomVessel] = [], catheter: PhantomCatheter? = nil,
        background: PhantomBackground = PhantomBackground(),
        contrastAttenuationPerMm: Double = PhantomSpec.defaultContrastAttenuationPerMm,
        focalSpotBlurSigmaPx: Double = 1.0, noise: PhantomNoise = PhantomNoise(),
        bitsStored: Int = 12, photometric: PhantomPhotometric = .monochrome2,
        intensityEncoding: PhantomIntensityEncoding = .linear,
        frames: Int = 1, frameTimeMs: Double = 66.7,
        contrastTiming: PhantomContrastTiming = PhantomContrastTiming(),
        calibration: PhantomCalibration = .imagerPixelSpacingWithMagnification(1.2),
        transferSyntax: String = "explicit",
        noiseSeed: UInt64? = nil, studySeed: UInt64? = nil, seriesNumber: Int = 1,
        positionerPrimaryAngle: Double = -30, positionerSecondaryAngle: Double = 20,
        supersampling: Int = 4, truthSampleSpacingPx: Double = 0.5
    ) {
        self.seed = seed
        self.noiseSeed = noiseSeed
        self.studySeed = studySeed
        self.seriesNumber = seriesNumber
        self.width = width
        self.height = height
        self.mmPerPixel = mmPerPixel
        self.vessels = vessels
        self.catheter = catheter
        self.background = background
        self.contrastAttenuationPerMm = contrastAttenuationPerMm
        self.focalSpotBlurSigmaPx = focalSpotBlurSigmaPx
        self.noise = noise
        self.bitsStored = bitsStored
        self.photometric = photometric
        self.intensityEncoding = intensityEncoding
        self.frames = frames
        self.frameTimeMs = frameTimeMs
        self.contrastTiming = contrastTiming
        self.calibration = calibration
        self.transferSyntax = transferSyntax
        self.positionerPrimaryAngle = positionerPrimaryAngle
        self.positionerSecondaryAngle = positionerSecondaryAngle
        self.supersampling = supersampling
        self.truthSampleSpacingPx = truthSampleSpacingPx
    }

    /// exp(-0.12 * 3 mm) = 0.70: a fully opacified 3 mm vessel darkens the background by ~30 %
    /// at its centre, in the 25-40 % range of clinical coronary angiograms.
    public static let defaultContrastAttenuationPerMm = 0.12

    private enum CodingKeys: String, CodingKey {
        case seed, noiseSeed, studySeed, seriesNumber, width, height, mmPerPixel, vessels, catheter
        case background, contrastAttenuationPerMm, focalSpotBlurSigmaPx, noise, bitsStored
        case photometric, intensityEncoding, frames, frameTimeMs, contrastTiming, calibration
        case transferSyntax, positionerPrimaryAngle, positionerSecondaryAngle, supersampling
        case truthSampleSpacingPx
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PhantomSpec(seed: 0)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
        noiseSeed = try c.decodeIfPresent(UInt64.self, forKey: .noiseSeed)
        studySeed = try c.decodeIfPresent(UInt64.self, forKey: .studySeed)
        seriesNumber = try c.decodeIfPresent(Int.self, forKey: .seriesNumber) ?? d.seriesNumber
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? d.height
        mmPerPixel = try c.decodeIfPresent(Double.self, forKey: .mmPerPixel) ?? d.mmPerPixel
        vessels = try c.decodeIfPresent([PhantomVessel].self, forKey: .vessels) ?? []
        catheter = try c.decodeIfPresent(PhantomCatheter.self, forKey: .catheter)
        background = try c.decodeIfPresent(PhantomBackground.self, forKey: .background) ?? d.background
        contrastAttenuationPerMm = try c.decodeIfPresent(Double.self, forKey: .contrastAttenuationPerMm)
            ?? d.contrastAttenuationPerMm
        focalSpotBlurSigmaPx = try c.decodeIfPresent(Double.self, forKey: .focalSpotBlurSigmaPx)
            ?? d.focalSpotBlurSigmaPx
        noise = try c.decodeIfPresent(PhantomNoise.self, forKey: .noise) ?? d.noise
        bitsStored = try c.decodeIfPresent(Int.self, forKey: .bitsStored) ?? d.bitsStored
        photometric = try c.decodeIfPresent(PhantomPhotometric.self, forKey: .photometric) ?? d.photometric
        intensityEncoding = try c.decodeIfPresent(PhantomIntensityEncoding.self, forKey: .intensityEncoding)
            ?? d.intensityEncoding
        frames = try c.decodeIfPresent(Int.self, forKey: .frames) ?? d.frames
        frameTimeMs = try c.decodeIfPresent(Double.self, forKey: .frameTimeMs) ?? d.frameTimeMs
        contrastTiming = try c.decodeIfPresent(PhantomContrastTiming.self, forKey: .contrastTiming)
            ?? d.contrastTiming
        calibration = try c.decodeIfPresent(PhantomCalibration.self, forKey: .calibration) ?? d.calibration
        transferSyntax = try c.decodeIfPresent(String.self, forKey: .transferSyntax) ?? d.transferSyntax
        positionerPrimaryAngle = try c.decodeIfPresent(Double.self, forKey: .positionerPrimaryAngle)
            ?? d.positionerPrimaryAngle
        positionerSecondaryAngle = try c.decodeIfPresent(Double.self, forKey: .positionerSecondaryAngle)
            ?? d.positionerSecondaryAngle
        supersampling = try c.decodeIfPresent(Int.self, forKey: .supersampling) ?? d.supersampling
        truthSampleSpacingPx = try c.decodeIfPresent(Double.self, forKey: .truthSampleSpacingPx)
            ?? d.truthSampleSpacingPx
    }

    /// The noise stream seed actually used.
    public var effectiveNoiseSeed: UInt64 { noiseSeed ?? seed }
    /// The patient/study seed actually used.
    public var effectiveStudySeed: UInt64 { studySeed ?? seed }
}

/// Photometric Interpretation (0028,0004). MONOCHROME2: low values dark, so opacified vessels
/// have low stored values; MONOCHROME1 stores the inversion (maxValue - v).
public enum PhantomPhotometric: String, Codable, Sendable, CaseIterable {
    case monochrome1 = "MONOCHROME1"
    case monochrome2 = "MONOCHROME2"
}

/// Mapping from detected transmission T (1 = unattenuated beam) to the MONOCHROME2 grey value.
public enum PhantomIntensityEncoding: String, Codable, Sendable, CaseIterable {
    /// v = maxValue * T (detector-linear).
    case linear
    /// v = maxValue * (1 + ln(T) / 4): log-amplified video as many XA systems store it;
    /// attenuation 0...4 spans the full range.
    case logarithmic
}

/// Which calibration tags the DICOM file carries (PS3.3 C.7.6.3 / C.8.7.1 / C.8.19.6).
/// In every case the true object-plane pixel size is `PhantomSpec.mmPerPixel`.
public enum PhantomCalibration: Sendable, Equatable, Codable {
    /// Pixel Spacing (0028,0030) = mmPerPixel with Pixel Spacing Calibration Type (0028,0A02)
    /// GEOMETRY, plus Imager Pixel Spacing (0018,1164) = mmPerPixel * 1.2 (detector plane).
    case pixelSpacing
    /// Imager Pixel Spacing = mmPerPixel * magnification and Estimated Radiographic
    /// Magnification Factor (0018,1114) = magnification.
    case imagerPixelSpacingWithMagnification(Double)
    /// Imager Pixel Spacing = mmPerPixel * sid / sod with Distance Source to Detector
    /// (0018,1110) = sid and Distance Source to Patient (0018,1111) = sod, in mm.
    case imagerPixelSpacingWithDistances(sid: Double, sod: Double)
    /// No calibration tags; the truth's `mmPerPixel` is null.
    case none

    /// Detector-plane magnification used for the Imager Pixel Spacing written with `.pixelSpacing`.
    public static let nominalMagnificationForPixelSpacing = 1.2

    /// Kind names used in JSON and on the command line.
    public var kindName: String {
        switch self {
        case .pixelSpacing: return "pixel-spacing"
        case .imagerPixelSpacingWithMagnification: return "imager-magnification"
        case .imagerPixelSpacingWithDistances: return "imager-distances"
        case .none: return "none"
        }
    }

    private enum CodingKeys: String, CodingKey { case kind, magnification, sid, sod }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "pixel-spacing": self = .pixelSpacing
        case "imager-magnification":
            self = .imagerPixelSpacingWithMagnification(try c.decodeIfPresent(Double.self, forKey: .magnification) ?? 1.2)
        case "imager-distances":
            self = .imagerPixelSpacingWithDistances(
                sid: try c.decodeIfPresent(Double.self, forKey: .sid) ?? 1000,
                sod: try c.decodeIfPresent(Double.self, forKey: .sod) ?? 750)
        case "none": self = .none
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c,
                debugDescription: "unknown calibration kind '\(kind)' (pixel-spacing, imager-magnification, imager-distances, none)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kindName, forKey: .kind)
        switch self {
        case .imagerPixelSpacingWithMagnification(let m): try c.encode(m, forKey: .magnification)
        case .imagerPixelSpacingWithDistances(let sid, let sod):
            try c.encode(sid, forKey: .sid)
            try c.encode(sod, forKey: .sod)
        case .pixelSpacing, .none: break
        }
    }
}

/// Quantum (photon) noise. Detected counts are Poisson(N0 * T) with N0 photons per pixel for the
/// unattenuated beam; `relativeSDAtBackground`, when set, chooses N0 so the noise SD is that
/// fraction of the mean background signal. Both nil or zero -> noise-free.
public struct PhantomNoise: Codable, Sendable, Equatable {
    public var photonsPerPixel: Double?
    public var relativeSDAtBackground: Double?

    public init(photonsPerPixel: Double? = 4000, relativeSDAtBackground: Double? = nil) {
        self.photonsPerPixel = photonsPerPixel
        self.relativeSDAtBackground = relativeSDAtBackground
    }

    public static let none = PhantomNoise(photonsPerPixel: nil, relativeSDAtBackground: nil)
}

/// Smooth anatomical background attenuation (dimensionless, i.e. mu * thickness):
/// base + linear gradient + large soft Gaussian blobs (soft tissue / bone) + low-frequency
/// texture + optional diaphragm (a smooth, curved step in attenuation).
public struct PhantomBackground: Codable, Sendable, Equatable {
    /// Attenuation at the image centre (T = exp(-base) before blobs; 1.2 -> T = 0.30).
    public var baseAttenuation: Double
    /// Total attenuation change across the image diagonal from the gradient.
    public var gradientAttenuation: Double
    public var blobCount: Int
    /// Peak attenuation of the largest blob; blobs draw from 0.3...1 times this, either sign.
    public var blobAttenuation: Double
    /// Amplitude of the low-frequency texture (sum of random plane waves of 15-80 px period).
    public var textureAttenuation: Double
    public var diaphragm: Bool
    /// Extra attenuation below the diaphragm edge.
    public var diaphragmAttenuation: Double

    /// Long bone shadows (0...4): cylinders of bone running roughly along the image columns
    /// (tibia / fibula in a below-the-knee view), attenuation = boneAttenuationPerPx * chord.
    public var boneCount: Int
    public var boneAttenuationPerPx: Double
    /// Collimator shutters: outside a rounded-octagon field (the iris and wedge shutters of a
    /// cardiac system) the beam is blocked (attenuation +4, nearly black), with a 1.5 px soft edge.
    public var collimator: Bool

    public init(baseAttenuation: Double = 1.2, gradientAttenuation: Double = 0.35, blobCount: Int = 5,
                blobAttenuation: Double = 0.30, textureAttenuation: Double = 0.02,
                diaphragm: Bool = true, diaphragmAttenuation: Double = 0.45,
                boneCount: Int = 0, boneAttenuationPerPx: Double = 0.004, collimator: Bool = false) {
        self.collimator = collimator
        self.boneCount = boneCount
        self.boneAttenuationPerPx = boneAttenuationPerPx
        self.baseAttenuation = baseAttenuation
        self.gradientAttenuation = gradientAttenuation
        self.blobCount = blobCount
        self.blobAttenuation = blobAttenuation
        self.textureAttenuation = textureAttenuation
        self.diaphragm = diaphragm
        self.diaphragmAttenuation = diaphragmAttenuation
    }

    private enum CodingKeys: String, CodingKey {
        case baseAttenuation, gradientAttenuation, blobCount, blobAttenuation, textureAttenuation
        case diaphragm, diaphragmAttenuation, boneCount, boneAttenuationPerPx, collimator
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PhantomBackground()
        baseAttenuation = try c.decodeIfPresent(Double.self, forKey: .baseAttenuation) ?? d.baseAttenuation
        gradientAttenuation = try c.decodeIfPresent(Double.self, forKey: .gradientAttenuation) ?? d.gradientAttenuation
        blobCount = try c.decodeIfPresent(Int.self, forKey: .blobCount) ?? d.blobCount
        blobAttenuation = try c.decodeIfPresent(Double.self, forKey: .blobAttenuation) ?? d.blobAttenuation
        textureAttenuation = try c.decodeIfPresent(Double.self, forKey: .textureAttenuation) ?? d.textureAttenuation
        diaphragm = try c.decodeIfPresent(Bool.self, forKey: .diaphragm) ?? d.diaphragm
        diaphragmAttenuation = try c.decodeIfPresent(Double.self, forKey: .diaphragmAttenuation) ?? d.diaphragmAttenuation
        boneCount = try c.decodeIfPresent(Int.self, forKey: .boneCount) ?? d.boneCount
        boneAttenuationPerPx = try c.decodeIfPresent(Double.self, forKey: .boneAttenuationPerPx) ?? d.boneAttenuationPerPx
        collimator = try c.decodeIfPresent(Bool.self, forKey: .collimator) ?? d.collimator
    }

    /// A uniform background (for tests of the chord integral).
    public static func flat(attenuation: Double = 1.0) -> PhantomBackground {
        PhantomBackground(baseAttenuation: attenuation, gradientAttenuation: 0, blobCount: 0,
                          blobAttenuation: 0, textureAttenuation: 0, diaphragm: false, diaphragmAttenuation: 0)
    }
}

/// Contrast concentration over a cine run (multiplies the vessels' and catheter lumen's
/// attenuation): a gamma-variate bolus c(t) = (t/tp)^a * exp(a * (1 - t/tp)) with its unique
/// maximum 1 at the peak frame, floored at `baseline`. Frame 0 is nearly contrast-free.
public struct PhantomContrastTiming: Codable, Sendable, Equatable {
    /// Peak frame as a fraction of (frames - 1). Default 0.6.
    public var peakFraction: Double
    /// Shape exponent a (larger -> sharper bolus).
    public var sharpness: Double
    /// Residual concentration (0...1).
    public var baseline: Double

    public init(peakFraction: Double = 0.6, sharpness: Double = 3, baseline: Double = 0.02) {
        self.peakFraction = peakFraction
        self.sharpness = sharpness
        self.baseline = baseline
    }
}

/// A focal narrowing of the lumen.
public struct PhantomStenosis: Codable, Sendable, Equatable {
    /// Diameter reduction at the lesion centre relative to the local reference, 0...95 %.
    public var percentDiameter: Double
    /// Full length of the narrowing (mm of arc length).
    public var lengthMm: Double
    /// Lesion centre as a fraction of the vessel's arc length.
    public var position: Double
    /// -1...1. 0 = concentric. |e| shifts the lumen centre sideways by e * (Dref - D) / 2 so at
    /// |e| = 1 one wall stays on the reference wall (flat) and the other carries all the
    /// narrowing; the sign picks the side (+ = towards the left normal of the travel direction).
    public var eccentricity: Double
    public var shape: PhantomStenosisShape

    public init(percentDiameter: Double, lengthMm: Double = 8, position: Double = 0.5,
                eccentricity: Double = 0, shape: PhantomStenosisShape = .cosine) {
        self.percentDiameter = percentDiameter
        self.lengthMm = lengthMm
        self.position = position
        self.eccentricity = eccentricity
        self.shape = shape
    }
}

extension PhantomStenosis {
    private enum CodingKeys: String, CodingKey { case percentDiameter, lengthMm, position, eccentricity, shape }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(percentDiameter: try c.decode(Double.self, forKey: .percentDiameter),
                  lengthMm: try c.decodeIfPresent(Double.self, forKey: .lengthMm) ?? 8,
                  position: try c.decodeIfPresent(Double.self, forKey: .position) ?? 0.5,
                  eccentricity: try c.decodeIfPresent(Double.self, forKey: .eccentricity) ?? 0,
                  shape: try c.decodeIfPresent(PhantomStenosisShape.self, forKey: .shape) ?? .cosine)
    }
}

/// Longitudinal narrowing profile w(s), 1 at the lesion centre and 0 at both ends.
public enum PhantomStenosisShape: String, Codable, Sendable, CaseIterable {
    /// w = (1 + cos(2 pi (s - sc) / L)) / 2: smooth (C1) shoulders.
    case cosine
    /// w = 1 for the middle third, cosine shoulders over the outer thirds (a longer flat neck).
    case flatNeck
}

public enum PhantomVesselKind: String, Codable, Sendable, CaseIterable {
    case main
    /// Branches off `parentIndex` at `branchFraction` of the parent's arc length.
    case sideBranch
    /// Overlaps other vessels at a different depth: attenuation adds where they cross.
    case crossing
}

/// One contrast-filled vessel: a smooth centreline through control points (centripetal
/// Catmull-Rom spline, pixel coordinates), a circular lumen of linearly tapering diameter and
/// an optional stenosis.
public struct PhantomVessel: Codable, Sendable, Equatable {
    public var kind: PhantomVesselKind
    /// Spline control points (pixels; x = column, y = row). A side branch's centreline starts
    /// at its origin on the parent, followed by these points.
    public var controlPoints: [Point2D]
    /// Lumen diameter at the start of the centreline, mm.
    public var referenceDiameterMm: Double
    /// Diameter decrease per mm of arc length (>= 0 narrows distally).
    public var taperMmPerMm: Double
    public var stenosis: PhantomStenosis?
    /// For a side branch: index of the parent in `PhantomSpec.vessels` (must come earlier).
    public var parentIndex: Int?
    /// For a side branch: origin as a fraction of the parent's arc length.
    public var branchFraction: Double?
    /// Relative contrast concentration (1 = same as the other vessels).
    public var contrastScale: Double

    public init(kind: PhantomVesselKind = .main, controlPoints: [Point2D], referenceDiameterMm: Double,
                taperMmPerMm: Double = 0, stenosis: PhantomStenosis? = nil, parentIndex: Int? = nil,
                branchFraction: Double? = nil, contrastScale: Double = 1) {
        self.kind = kind
        self.controlPoints = controlPoints
        self.referenceDiameterMm = referenceDiameterMm
        self.taperMmPerMm = taperMmPerMm
        self.stenosis = stenosis
        self.parentIndex = parentIndex
        self.branchFraction = branchFraction
        self.contrastScale = contrastScale
    }

    private enum CodingKeys: String, CodingKey {
        case kind, controlPoints, referenceDiameterMm, taperMmPerMm, stenosis, parentIndex, branchFraction, contrastScale
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(PhantomVesselKind.self, forKey: .kind) ?? .main
        controlPoints = try c.decode([Point2D].self, forKey: .controlPoints)
        referenceDiameterMm = try c.decode(Double.self, forKey: .referenceDiameterMm)
        taperMmPerMm = try c.decodeIfPresent(Double.self, forKey: .taperMmPerMm) ?? 0
        stenosis = try c.decodeIfPresent(PhantomStenosis.self, forKey: .stenosis)
        parentIndex = try c.decodeIfPresent(Int.self, forKey: .parentIndex)
        branchFraction = try c.decodeIfPresent(Double.self, forKey: .branchFraction)
        contrastScale = try c.decodeIfPresent(Double.self, forKey: .contrastScale) ?? 1
    }
}

/// A contrast-filled guiding catheter: outer diameter French / 3 mm (1 Fr = 1/3 mm), a
/// radiopaque wall and a lumen holding contrast.
public struct PhantomCatheter: Codable, Sendable, Equatable {
    public var frenchSize: Double
    public var controlPoints: [Point2D]
    /// Wall thickness in mm (6 Fr guide: ~0.15 mm).
    public var wallThicknessMm: Double
    /// Wall attenuation relative to `contrastAttenuationPerMm`.
    public var wallAttenuationScale: Double

    public init(frenchSize: Double = 6, controlPoints: [Point2D], wallThicknessMm: Double = 0.15,
                wallAttenuationScale: Double = 0.8) {
        self.frenchSize = frenchSize
        self.controlPoints = controlPoints
        self.wallThicknessMm = wallThicknessMm
        self.wallAttenuationScale = wallAttenuationScale
    }

    private enum CodingKeys: String, CodingKey { case frenchSize, controlPoints, wallThicknessMm, wallAttenuationScale }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        frenchSize = try c.decodeIfPresent(Double.self, forKey: .frenchSize) ?? 6
        controlPoints = try c.decode([Point2D].self, forKey: .controlPoints)
        wallThicknessMm = try c.decodeIfPresent(Double.self, forKey: .wallThicknessMm) ?? 0.15
        wallAttenuationScale = try c.decodeIfPresent(Double.self, forKey: .wallAttenuationScale) ?? 0.8
    }

    /// Outer diameter in mm (French / 3).
    public var outerDiameterMm: Double { frenchSize / 3 }
}
