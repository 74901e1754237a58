import DicomShim
import Foundation

/// Transfer syntaxes DICOMWriter can produce through DCMTK's encoders (PS3.5 A.4).
public enum WritableTransferSyntax: String, CaseIterable, Sendable {
    case explicitVRLittleEndian, implicitVRLittleEndian
    /// RLE Lossless (1.2.840.10008.1.2.5).
    case rleLossless
    /// JPEG Lossless, process 14, selection value 1 (1.2.840.10008.1.2.4.70).
    case jpegLosslessSV1
    /// JPEG-LS lossless (1.2.840.10008.1.2.4.80).
    case jpegLSLossless
    /// JPEG-LS near-lossless (1.2.840.10008.1.2.4.81), |error| <= `XAWriteRequest.jpegLSNear`.
    case jpegLSNearLossless
    /// JPEG baseline, process 1 (1.2.840.10008.1.2.4.50): 8-bit only, lossy.
    case jpegBaseline
    /// JPEG extended, process 2/4 (1.2.840.10008.1.2.4.51): 12 bits only, lossy.
    case jpegExtended

    public var uid: String {
        switch self {
        case .explicitVRLittleEndian: return "1.2.840.10008.1.2.1"
        case .implicitVRLittleEndian: return "1.2.840.10008.1.2"
        case .rleLossless: return "1.2.840.10008.1.2.5"
        case .jpegLosslessSV1: return "1.2.840.10008.1.2.4.70"
        case .jpegLSLossless: return "1.2.840.10008.1.2.4.80"
        case .jpegLSNearLossless: return "1.2.840.10008.1.2.4.81"
        case .jpegBaseline: return "1.2.840.10008.1.2.4.50"
        case .jpegExtended: return "1.2.840.10008.1.2.4.51"
        }
    }

    /// True when decoding gives back exactly the written values.
    public var isLossless: Bool {
        switch self {
        case .jpegLSNearLossless, .jpegBaseline, .jpegExtended: return false
        default: return true
        }
    }

    fileprivate var shimValue: angio_dcm_write_syntax {
        switch self {
        case .explicitVRLittleEndian: return ANGIO_DCM_WRITE_EXPLICIT_LE
        case .implicitVRLittleEndian: return ANGIO_DCM_WRITE_IMPLICIT_LE
        case .rleLossless: return ANGIO_DCM_WRITE_RLE
        case .jpegLosslessSV1: return ANGIO_DCM_WRITE_JPEG_LOSSLESS_SV1
        case .jpegLSLossless: return ANGIO_DCM_WRITE_JPEG_LS_LOSSLESS
        case .jpegLSNearLossless: return ANGIO_DCM_WRITE_JPEG_LS_NEAR_LOSSLESS
        case .jpegBaseline: return ANGIO_DCM_WRITE_JPEG_BASELINE
        case .jpegExtended: return ANGIO_DCM_WRITE_JPEG_EXTENDED
        }
    }
}

/// One data element to add to (or override in) a written file; multiple values joined by "\\".
public struct DICOMAttribute: Sendable, Equatable {
    public var group: UInt16
    public var element: UInt16
    /// Two-letter VR, e.g. "DS", "UI", "CS" (sequences are not supported).
    public var vr: String
    public var value: String

    public init(group: UInt16, element: UInt16, vr: String, value: String) {
        self.group = group
        self.element = element
        self.vr = vr
        self.value = value
    }
}

/// What to write: a multi-frame XA image with stored values `frames` (frame after frame,
/// row-major, each `rows * columns` values below 2^bitsStored).
public struct XAWriteRequest: Sendable {
    public var rows: Int
    public var columns: Int
    /// 8...16; Bits Allocated is 8 for 8 bits, else 16.
    public var bitsStored: Int
    /// "MONOCHROME1" or "MONOCHROME2".
    public var photometric: String
    public var frames: [[UInt16]]
    public var transferSyntax: WritableTransferSyntax
    /// Added to / overriding the generated attributes (UIDs, calibration, timing, patient...).
    public var attributes: [DICOMAttribute]
    /// Quality 1...100 for JPEG baseline / extended.
    public var jpegQuality: Int
    /// NEAR (maximum absolute error) for JPEG-LS near-lossless (PS3.5 A.4.3 / ITU T.87).
    public var jpegLSNear: Int

    public init(rows: Int, columns: Int, bitsStored: Int, photometric: String = "MONOCHROME2", frames: [[UInt16]],
                transferSyntax: WritableTransferSyntax = .explicitVRLittleEndian, attributes: [DICOMAttribute] = [],
                jpegQuality: Int = 90, jpegLSNear: Int = 2) {
        self.rows = rows
        self.columns = columns
        self.bitsStored = bitsStored
        self.photometric = photometric
        self.frames = frames
        self.transferSyntax = transferSyntax
        self.attributes = attributes
        self.jpegQuality = jpegQuality
        self.jpegLSNear = jpegLSNear
    }
}

/// Writes X-Ray Angiographic Image Storage files (SOP Class 1.2.840.10008.5.1.4.1.1.12.1) for
/// test fixtures and synthetic phantoms. UIDs are generated unless given as attributes;
/// `deterministicUID(seed:)` makes reproducible ones.
public enum DICOMWriter {
    public static func writeXA(_ request: XAWriteRequest, to path: String) throws(DICOMError) {
        func invalid(_ cause: String) -> DICOMError { DICOMError(code: .writeFailed, path: path, cause: cause) }
        guard (1...65535).contains(request.rows), (1...65535).contains(request.columns) else {
            throw invalid("invalid image size \(request.columns)x\(request.rows)")
        }
        guard (8...16).contains(request.bitsStored) else { throw invalid("Bits Stored \(request.bitsStored) is not in 8...16") }
        guard !request.frames.isEmpty else { throw invalid("no frames to write") }
        let perFrame = request.rows * request.columns
        for (index, frame) in request.frames.enumerated() where frame.count != perFrame {
            throw invalid("frame \(index) holds \(frame.count) values, expected \(request.columns)x\(request.rows)")
        }
        let limit = UInt16((1 << request.bitsStored) - 1)
        var pixels: [UInt16] = []
        pixels.reserveCapacity(perFrame * request.frames.count)
        for frame in request.frames {
            if let bad = frame.first(where: { $0 > limit }) {
                throw invalid("pixel value \(bad) does not fit \(request.bitsStored) bits")
            }
            pixels.append(contentsOf: frame)
        }
        // C strings for the attributes must outlive the call: keep them in one array.
        let cStrings: [(vr: [CChar], value: [CChar])] = request.attributes.map {
            (Array($0.vr.utf8CString), Array($0.value.utf8CString))
        }
        var message = [CChar](repeating: 0, count: 1024)
        let status: angio_dcm_status = cStrings.withUnsafeBufferPointer { strings in
            var pointers: [[CChar]] = []
            pointers.reserveCapacity(strings.count * 2)
            for entry in strings {
                pointers.append(entry.vr)
                pointers.append(entry.value)
            }
            return withCStringArray(pointers) { cPointers in
                var attributes: [angio_dcm_attribute] = []
                for (index, attribute) in request.attributes.enumerated() {
                    attributes.append(angio_dcm_attribute(group: attribute.group, element: attribute.element,
                                                          vr: cPointers[2 * index], value: cPointers[2 * index + 1]))
                }
                return request.photometric.withCString { photometric in
                    pixels.withUnsafeBufferPointer { pixelBuffer in
                        attributes.withUnsafeBufferPointer { attributeBuffer in
                            var shimRequest = angio_dcm_xa_request(
                                rows: UInt32(request.rows), columns: UInt32(request.columns),
                                frames: UInt32(request.frames.count), bits_stored: UInt32(request.bitsStored),
                                photometric: photometric, pixels: pixelBuffer.baseAddress,
                                syntax: request.transferSyntax.shimValue,
                                jpeg_quality: UInt32(max(1, min(100, request.jpegQuality))),
                                jpeg_ls_near: UInt32(max(1, min(255, request.jpegLSNear))),
                                attributes: attributeBuffer.baseAddress, attribute_count: attributeBuffer.count)
                            return angio_dcm_write_xa(&shimRequest, path, &message, message.count)
                        }
                    }
                }
            }
        }
        guard status == ANGIO_DCM_OK else {
            let code: DICOMError.Code = status == ANGIO_DCM_DICTIONARY_MISSING ? .dictionaryMissing : .writeFailed
            throw DICOMError(code: code, path: path, cause: ShimFile.string(from: message))
        }
    }

    /// A UID of the form 2.25.<decimal> (PS3.5 B.2: UUID-derived UIDs) computed from `seed`,
    /// so that regenerated phantoms carry identical UIDs. Two FNV-1a 64-bit hashes make 128 bits.
    public static func deterministicUID(seed: String) -> String {
        var first: UInt64 = 0xcbf29ce484222325
        var second: UInt64 = 0x84222325cbf29ce4
        for byte in seed.utf8 {
            first = (first ^ UInt64(byte)) &* 0x100000001b3
            second = (second ^ UInt64(byte ^ 0x5A)) &* 0x100000001b3
        }
        // Decimal of the 128-bit value first:second, by repeated division.
        var words: [UInt64] = [first >> 1, second]  // keep it below 2^127 (UUID variant bits are not needed here)
        var digits: [Character] = []
        while words.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for index in words.indices {
                let (quotientHigh, remainderHigh) = (remainder << 32 | words[index] >> 32).quotientAndRemainder(dividingBy: 10)
                let (quotientLow, remainderLow) = (remainderHigh << 32 | (words[index] & 0xFFFF_FFFF)).quotientAndRemainder(dividingBy: 10)
                words[index] = quotientHigh << 32 | quotientLow
                remainder = remainderLow
            }
            digits.append(Character(String(remainder)))
        }
        return "2.25." + (digits.isEmpty ? "0" : String(digits.reversed()))
    }
}

/// Calls `body` with C string pointers valid for the duration of the call.
private func withCStringArray<R>(_ strings: [[CChar]], _ body: ([UnsafePointer<CChar>]) -> R) -> R {
    var buffers: [UnsafeMutablePointer<CChar>] = []
    buffers.reserveCapacity(strings.count)
    for string in strings {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: string.count)
        buffer.initialize(from: string, count: string.count)
        buffers.append(buffer)
    }
    defer { for buffer in buffers { buffer.deallocate() } }
    return body(buffers.map { UnsafePointer($0) })
}
