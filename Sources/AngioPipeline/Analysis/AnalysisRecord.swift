import Foundation
import QCA
import VesselCore

/// The per-file result, serialised as the schemaVersion 1 JSON documented in
/// `docs/analysis.schema.json`. Every key is always present (null when unknown), numbers are
/// rounded once when the record is built (4 decimals for px/mm, 2 for percentages) and keys
/// are sorted, so the same input gives byte-identical JSON.
public struct AnalysisRecord: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// "ok" or "error".
    public var status: String
    public var error: ErrorInfo?
    public var source: Source
    public var frame: FrameInfo?
    public var calibration: CalibrationInfo?
    public var lesions: [LesionRecord]
    /// Number of vessel segments measured (auto mode) or 1 (segment mode).
    public var measuredSegments: Int
    public var warnings: [String]
    public var software: Software
    public var options: OptionsEcho
    /// Only present (non-null) when `includePHI` was requested.
    public var patient: Patient?

    public struct ErrorInfo: Codable, Sendable, Equatable {
        /// A `DICOMError.Code` raw value passed through, or one of the analysis codes
        /// (`invalidOptions`, `segmentNotFound`, `catheterNotFound`, `analysisFailed`).
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public struct Source: Codable, Sendable, Equatable {
        /// The path as given by the caller (may be relative).
        public var path: String
        public var sopInstanceUID: String?
        public var transferSyntaxUID: String?
        public var modality: String?
        public var rows: Int?
        public var columns: Int?
        public var frames: Int?
        public init(path: String, sopInstanceUID: String? = nil, transferSyntaxUID: String? = nil,
                    modality: String? = nil, rows: Int? = nil, columns: Int? = nil, frames: Int? = nil) {
            self.path = path
            self.sopInstanceUID = sopInstanceUID
            self.transferSyntaxUID = transferSyntaxUID
            self.modality = modality
            self.rows = rows
            self.columns = columns
            self.frames = frames
        }
        enum CodingKeys: String, CodingKey { case path, sopInstanceUID, transferSyntaxUID, modality, rows, columns, frames }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(sopInstanceUID, forKey: .sopInstanceUID)
            try c.encode(transferSyntaxUID, forKey: .transferSyntaxUID)
            try c.encode(modality, forKey: .modality)
            try c.encode(rows, forKey: .rows)
            try c.encode(columns, forKey: .columns)
            try c.encode(frames, forKey: .frames)
        }
    }

    public struct FrameInfo: Codable, Sendable, Equatable {
        /// 0-based frame index.
        public var index: Int
        /// "auto" or "user".
        public var selection: String
        /// Mask subtraction applied: "none" or e.g. "AVG_SUB", "TID", "SUB".
        public var maskSubtraction: String
        /// "dark" (vessels darker than the background, as analysed) or "bright" (vessels
        /// brighter: the frames were inverted within their stored range before analysis).
        public var vesselPolarity: String
        public init(index: Int, selection: String, maskSubtraction: String = "none", vesselPolarity: String = "dark") {
            self.index = index
            self.selection = selection
            self.maskSubtraction = maskSubtraction
            self.vesselPolarity = vesselPolarity
        }
        enum CodingKeys: String, CodingKey { case index, selection, maskSubtraction, vesselPolarity }
        /// Records written before `vesselPolarity` existed read as "dark".
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            index = try c.decode(Int.self, forKey: .index)
            selection = try c.decode(String.self, forKey: .selection)
            maskSubtraction = try c.decode(String.self, forKey: .maskSubtraction)
            vesselPolarity = try c.decodeIfPresent(String.self, forKey: .vesselPolarity) ?? "dark"
        }
    }

    public struct CalibrationInfo: Codable, Sendable, Equatable {
        public var mmPerPixel: Double?
        /// `CalibrationSource` raw value.
        public var source: String
        public var pixelSpacingCalibrationType: String?
        /// Relative standard uncertainty of mmPerPixel (0.02 = 2 %), null when unknown.
        public var relativeUncertainty: Double?
        public init(mmPerPixel: Double?, source: String, pixelSpacingCalibrationType: String?, relativeUncertainty: Double?) {
            self.mmPerPixel = mmPerPixel
            self.source = source
            self.pixelSpacingCalibrationType = pixelSpacingCalibrationType
            self.relativeUncertainty = relativeUncertainty
        }
        enum CodingKeys: String, CodingKey { case mmPerPixel, source, pixelSpacingCalibrationType, relativeUncertainty }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mmPerPixel, forKey: .mmPerPixel)
            try c.encode(source, forKey: .source)
            try c.encode(pixelSpacingCalibrationType, forKey: .pixelSpacingCalibrationType)
            try c.encode(relativeUncertainty, forKey: .relativeUncertainty)
        }
    }

    /// A length in pixels and, when calibrated, millimetres.
    public struct Length: Codable, Sendable, Equatable {
        public var px: Double
        public var mm: Double?
        public init(px: Double, mm: Double?) {
            self.px = px
            self.mm = mm
        }
        enum CodingKeys: String, CodingKey { case px, mm }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(px, forKey: .px)
            try c.encode(mm, forKey: .mm)
        }
    }

    /// A pixel position: x = column, y = row, pixel centres at integer coordinates.
    public struct Position: Codable, Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public struct LesionUncertainty: Codable, Sendable, Equatable {
        /// Standard uncertainty (1 SD) of the MLD: fit covariance and local profile scatter
        /// (and, for mm, the calibration's relative uncertainty).
        public var minimalLumenDiameter: Length
        public var referenceDiameter: Length
        /// In percentage points.
        public var percentDiameterStenosis: Double
        public init(minimalLumenDiameter: Length, referenceDiameter: Length, percentDiameterStenosis: Double) {
            self.minimalLumenDiameter = minimalLumenDiameter
            self.referenceDiameter = referenceDiameter
            self.percentDiameterStenosis = percentDiameterStenosis
        }
    }

    public struct LesionRecord: Codable, Sendable, Equatable {
        public var rank: Int
        public var segmentId: Int
        public var percentDiameterStenosis: Double
        public var percentAreaStenosis: Double
        public var minimalLumenDiameter: Length
        public var referenceDiameter: Length
        public var lesionLength: Length
        /// Position of the MLD.
        public var location: Position
        public var start: Position
        public var end: Position
        public var uncertainty: LesionUncertainty
        public init(rank: Int, segmentId: Int, percentDiameterStenosis: Double, percentAreaStenosis: Double,
                    minimalLumenDiameter: Length, referenceDiameter: Length, lesionLength: Length,
                    location: Position, start: Position, end: Position, uncertainty: LesionUncertainty) {
            self.rank = rank
            self.segmentId = segmentId
            self.percentDiameterStenosis = percentDiameterStenosis
            self.percentAreaStenosis = percentAreaStenosis
            self.minimalLumenDiameter = minimalLumenDiameter
            self.referenceDiameter = referenceDiameter
            self.lesionLength = lesionLength
            self.location = location
            self.start = start
            self.end = end
            self.uncertainty = uncertainty
        }
    }

    public struct Software: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public init(name: String = "angio", version: String = AngioVersion.current) {
            self.name = name
            self.version = version
        }
    }

    public struct OptionsEcho: Codable, Sendable, Equatable {
        public var frameIndex: Int?
        public var mmPerPixel: Double?
        /// `--catheter` as "X0,Y0,X1,Y1:F".
        public var catheter: String?
        /// `--segment` as "X0,Y0,X1,Y1".
        public var segment: String?
        public var maxLesions: Int
        public var includePHI: Bool
        /// `--vessel-polarity`: "auto", "dark" or "bright".
        public var vesselPolarity: String
        public init(_ options: AnalysisOptions) {
            frameIndex = options.frameIndex
            mmPerPixel = options.mmPerPixelOverride
            catheter = options.catheter?.description
            segment = options.segment.map { SegmentSpec(start: $0.start, end: $0.end).description }
            maxLesions = options.maxLesions
            includePHI = options.includePHI
            vesselPolarity = options.vesselPolarity.rawValue
        }
        enum CodingKeys: String, CodingKey { case frameIndex, mmPerPixel, catheter, segment, maxLesions, includePHI, vesselPolarity }
        /// Records written before `vesselPolarity` existed read as "auto".
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            frameIndex = try c.decodeIfPresent(Int.self, forKey: .frameIndex)
            mmPerPixel = try c.decodeIfPresent(Double.self, forKey: .mmPerPixel)
            catheter = try c.decodeIfPresent(String.self, forKey: .catheter)
            segment = try c.decodeIfPresent(String.self, forKey: .segment)
            maxLesions = try c.decode(Int.self, forKey: .maxLesions)
            includePHI = try c.decode(Bool.self, forKey: .includePHI)
            vesselPolarity = try c.decodeIfPresent(String.self, forKey: .vesselPolarity) ?? "auto"
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(frameIndex, forKey: .frameIndex)
            try c.encode(mmPerPixel, forKey: .mmPerPixel)
            try c.encode(catheter, forKey: .catheter)
            try c.encode(segment, forKey: .segment)
            try c.encode(maxLesions, forKey: .maxLesions)
            try c.encode(includePHI, forKey: .includePHI)
            try c.encode(vesselPolarity, forKey: .vesselPolarity)
        }
    }

    public struct Patient: Codable, Sendable, Equatable {
        public var name: String?
        public var id: String?
        public var birthDate: String?
        public init(name: String?, id: String?, birthDate: String?) {
            self.name = name
            self.id = id
            self.birthDate = birthDate
        }
        enum CodingKeys: String, CodingKey { case name, id, birthDate }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(id, forKey: .id)
            try c.encode(birthDate, forKey: .birthDate)
        }
    }

    public init(status: String, error: ErrorInfo?, source: Source, frame: FrameInfo?, calibration: CalibrationInfo?,
                lesions: [LesionRecord], measuredSegments: Int, warnings: [String], options: OptionsEcho,
                patient: Patient? = nil) {
        self.schemaVersion = Self.currentSchemaVersion
        self.status = status
        self.error = error
        self.source = source
        self.frame = frame
        self.calibration = calibration
        self.lesions = lesions
        self.measuredSegments = measuredSegments
        self.warnings = warnings
        self.software = Software()
        self.options = options
        self.patient = patient
    }

    /// A failed analysis: `status: "error"` with the code and message.
    public static func failure(path: String, code: String, message: String, options: AnalysisOptions,
                               source: Source? = nil, warnings: [String] = []) -> AnalysisRecord {
        AnalysisRecord(status: "error", error: ErrorInfo(code: code, message: message),
                       source: source ?? Source(path: path), frame: nil, calibration: nil, lesions: [],
                       measuredSegments: 0, warnings: warnings, options: OptionsEcho(options))
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion, status, error, source, frame, calibration, lesions, measuredSegments, warnings, software, options, patient
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encode(source, forKey: .source)
        try c.encode(frame, forKey: .frame)
        try c.encode(calibration, forKey: .calibration)
        try c.encode(lesions, forKey: .lesions)
        try c.encode(measuredSegments, forKey: .measuredSegments)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(software, forKey: .software)
        try c.encode(options, forKey: .options)
        // PHI stays out of the file entirely unless asked for.
        if let patient { try c.encode(patient, forKey: .patient) }
    }

    /// Deterministic JSON: sorted keys, two-space pretty printing, trailing newline.
    public func jsonData() -> Data {
        AnalysisJSON.encode(self)
    }
}

/// Version string written into records.
public enum AngioVersion {
    public static let current = "0.1.0"
}

/// Shared deterministic JSON encoding for analysis and compare records.
public enum AnalysisJSON {
    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            var data = try encoder.encode(value)
            data.append(0x0A)
            return data
        } catch {
            // Encoding plain structs of strings and numbers cannot fail; keep a valid document anyway.
            return Data("{\"schemaVersion\":1,\"status\":\"error\",\"error\":{\"code\":\"analysisFailed\",\"message\":\"JSON encoding failed\"}}\n".utf8)
        }
    }

    /// Rounds to `decimals` places (half away from zero) so the printed value is stable.
    public static func rounded(_ value: Double, _ decimals: Int) -> Double {
        guard value.isFinite else { return 0 }
        let scale = pow(10, Double(decimals))
        let result = (value * scale).rounded(.toNearestOrAwayFromZero) / scale
        return result == 0 ? 0 : result  // no "-0"
    }
}
