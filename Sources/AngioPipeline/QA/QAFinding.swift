import Foundation

/// How bad a finding is. `error`: the file cannot be used for QCA as it stands (unreadable,
/// not angiography, undecodable, duplicate identity). `warning`: usable, but a number derived
/// from it may be wrong or unverifiable (no calibration, lossy, timing). `info`: worth knowing.
public enum QASeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case error, warning, info

    var rank: Int {
        switch self {
        case .error: return 0
        case .warning: return 1
        case .info: return 2
        }
    }

    public static func < (a: QASeverity, b: QASeverity) -> Bool { a.rank < b.rank }
}

/// Stable finding codes (raw values are part of qa.json / qa.csv; never renamed).
public enum QACode: String, Sendable, Codable, CaseIterable {
    // Readability (PS3.10 file format) — from the decoder's DICOMError codes.
    case unreadable, notDICOM, nonDICOMFile, truncated, malformed, noPixelData
    case unsupportedTransferSyntax, unsupportedPhotometricInterpretation
    case pixelDataSizeInconsistent, imageTooLarge, decodeFailed, dictionaryMissing
    // Identity and IOD.
    case notAngiographySOPClass, notAngiographyModality, modalitySOPClassMismatch
    case missingType1Attribute, missingType2Attribute
    // Multi-frame / cine timing (PS3.3 C.7.6.6, C.7.6.5).
    case frameCountInvalid, frameIncrementPointerMissing, frameTimingMissing, frameTimingInconsistent
    case frameTimeVectorLength
    // Calibration (PS3.3 C.8.7.1, C.8.11.x / 10.7.1).
    case calibrationMissing, pixelSpacingInvalid, magnificationImplausible, sourceDistancesInconsistent
    case calibrationSource
    // Image content flags.
    case burnedInAnnotation, lossyCompression, lossyFlagMissing
    // Archive-wide.
    case duplicateSOPInstanceUID, seriesMixedGeometry
    // Informational.
    case mediaDirectory, decoderWarning
}

/// One QA finding on one file.
public struct QAFinding: Sendable, Codable, Equatable {
    public var severity: QASeverity
    public var code: QACode
    /// The DICOM tag concerned, "(gggg,eeee)", when there is one.
    public var tag: String?
    /// Human-readable cause; never contains patient identifiers.
    public var message: String

    public init(_ severity: QASeverity, _ code: QACode, tag: String? = nil, _ message: String) {
        self.severity = severity
        self.code = code
        self.tag = tag
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case severity, code, tag, message }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(severity, forKey: .severity)
        try c.encode(code, forKey: .code)
        try c.encode(tag, forKey: .tag)
        try c.encode(message, forKey: .message)
    }

    /// Severity first, then code, tag and message: a total order, so output is deterministic.
    static func ordered(_ a: QAFinding, _ b: QAFinding) -> Bool {
        if a.severity != b.severity { return a.severity < b.severity }
        if a.code != b.code { return a.code.rawValue < b.code.rawValue }
        if (a.tag ?? "") != (b.tag ?? "") { return (a.tag ?? "") < (b.tag ?? "") }
        return a.message < b.message
    }
}

/// QA result of one file.
public struct QAFileReport: Sendable, Codable, Equatable {
    /// Path relative to its root, `/`-separated.
    public var path: String
    /// True when the file is a DICOM image (any SOP class) this build can decode: metadata and
    /// pixel data size check out, transfer syntax supported; with `--decode`, every frame decoded.
    public var decodable: Bool
    /// True when every frame was actually decoded (`--decode`).
    public var decodeChecked: Bool
    public var sopClassUID: String?
    public var sopInstanceUID: String?
    public var seriesInstanceUID: String?
    public var modality: String?
    public var transferSyntaxUID: String?
    public var rows: Int?
    public var columns: Int?
    public var frames: Int?
    public var findings: [QAFinding]

    public init(path: String) {
        self.path = path
        self.decodable = false
        self.decodeChecked = false
        self.findings = []
    }

    public var worstSeverity: QASeverity? { findings.map(\.severity).min() }

    enum CodingKeys: String, CodingKey {
        case path, decodable, decodeChecked, sopClassUID, sopInstanceUID, seriesInstanceUID, modality
        case transferSyntaxUID, rows, columns, frames, findings
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(decodable, forKey: .decodable)
        try c.encode(decodeChecked, forKey: .decodeChecked)
        try c.encode(sopClassUID, forKey: .sopClassUID)
        try c.encode(sopInstanceUID, forKey: .sopInstanceUID)
        try c.encode(seriesInstanceUID, forKey: .seriesInstanceUID)
        try c.encode(modality, forKey: .modality)
        try c.encode(transferSyntaxUID, forKey: .transferSyntaxUID)
        try c.encode(rows, forKey: .rows)
        try c.encode(columns, forKey: .columns)
        try c.encode(frames, forKey: .frames)
        try c.encode(findings, forKey: .findings)
    }
}
