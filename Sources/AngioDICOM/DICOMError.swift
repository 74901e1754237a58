import Foundation

/// The one error type of AngioDICOM. `message` (and `description`) names the file and the
/// cause, e.g. `WG04_XA1_J2KR.dcm: JPEG 2000 decode: ...`; `code` is stable for programs.
public struct DICOMError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// No DICOM structure at all (no `DICM` preamble, no recognisable data set start).
        case notDICOM
        /// The file ends before the data set (or the pixel data) is complete.
        case truncated
        /// DICOM structure present but broken or self-contradictory (bad VR/sequence, missing meta
        /// Transfer Syntax UID, Rows 0, Bits Stored > Bits Allocated, ...).
        case malformed
        /// No (integer) Pixel Data (7FE0,0010), e.g. SR, waveform or RT plan objects.
        case noPixelData
        /// The transfer syntax is named in the message (e.g. MPEG-4, JPIP).
        case unsupportedTransferSyntax
        /// e.g. YBR_PARTIAL_420, CMYK, ARGB, HSV.
        case unsupportedPhotometricInterpretation
        /// Declared Rows x Columns x Frames x Bits Allocated disagrees with the pixel data present.
        case sizeInconsistent
        /// Declared image exceeds `DecodeOptions.maxPixelBytes`.
        case imageTooLarge
        /// The codec failed on this frame (corrupt codestream, unsupported Bits Allocated, ...).
        case decodeFailed
        /// DCMTK's data dictionary (dicom.dic) could not be found (set DCMDICTPATH).
        case dictionaryMissing
        /// The file could not be opened or read (missing, permission, directory).
        case ioError
        /// A frame index outside 0..<frameCount was requested.
        case frameOutOfRange
        /// DICOMWriter could not encode or write the file.
        case writeFailed
    }

    public var code: Code
    /// The file concerned, as given by the caller.
    public var path: String
    /// Human-readable, starting with the file name: "<file name>: <cause>".
    public var message: String

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// Builds the error from a cause, prefixing the file's name.
    public init(code: Code, path: String, cause: String) {
        let name = (path as NSString).lastPathComponent
        self.init(code: code, path: path, message: "\(name.isEmpty ? path : name): \(cause)")
    }

    public var description: String { message }
}
