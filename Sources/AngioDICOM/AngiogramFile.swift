import DicomShim
import Foundation

/// An X-ray angiogram (or any single/multi-frame DICOM image) opened for reading.
///
/// Opening parses the data set but leaves the pixel data on disk, after checking the declared
/// size against the bytes present; frames are decoded one at a time on request.
/// Thread safety: `storedFrame`/`analysisFrame` may be called concurrently; each concurrent
/// caller decodes through its own DCMTK handle (a small pool, one handle per worker), so frames
/// of one file decode in parallel without sharing DCMTK state.
public final class AngiogramFile: @unchecked Sendable {
    public let path: String
    public let metadata: DICOMMetadata
    public let frameCount: Int
    public let rows: Int
    public let columns: Int
    public let samplesPerPixel: Int
    public let bitsStored: Int
    public let isSigned: Bool
    /// Photometric Interpretation as declared (MONOCHROME2 when absent on a one-sample image).
    public let photometricInterpretation: String
    /// Non-fatal findings, e.g. a colour image reduced to luminance for analysis.
    public let warnings: [String]

    /// The PALETTE COLOR lookup tables, when the image has them.
    public let palette: PaletteLUT?

    private let options: DecodeOptions
    private let poolLock = NSLock()
    private var idleHandles: [OpaquePointer]
    private let maxIdleHandles = max(2, ProcessInfo.processInfo.activeProcessorCount)

    /// Opens `path` and reads its metadata; no pixel data is decoded. Throws when the file is
    /// not a decodable image (every reason has its own `DICOMError.Code`).
    public init(path: String, options: DecodeOptions = .init()) throws(DICOMError) {
        self.path = path
        self.options = options
        let handle = try ShimFile.open(path: path, mode: ANGIO_DCM_OPEN_IMAGE, options: options)
        var info = angio_dcm_image_info()
        _ = angio_dcm_image_info_get(handle, &info)
        let reader = AttributeReader(handle: handle)
        metadata = reader.metadata(info: info, isImage: true)
        rows = Int(info.rows)
        columns = Int(info.columns)
        frameCount = Int(info.frames)
        samplesPerPixel = Int(info.samples_per_pixel)
        bitsStored = Int(info.bits_stored)
        isSigned = info.pixel_representation == 1
        photometricInterpretation = ShimFile.string(from: info.photometric)

        var notes: [String] = []
        var lut: PaletteLUT? = nil
        switch photometricInterpretation {
        case "MONOCHROME1", "MONOCHROME2":
            break
        case "PALETTE COLOR":
            do {
                lut = try PaletteLUT(reader: reader, path: path)
            } catch {
                angio_dcm_close(handle)
                throw error
            }
            notes.append("PALETTE COLOR image: the analysis image is the luminance of the palette colours")
        default:
            notes.append("colour image (\(photometricInterpretation)): the analysis image is its luminance (ITU-R BT.601 weights)")
        }
        if let declared = reader.text(0x0028, 0x0008), metadata.numberOfFramesDeclared != frameCount {
            notes.append("Number of Frames (0028,0008) '\(declared)' is not a positive integer; reading \(frameCount) frame(s)")
        }
        if let modality = metadata.modality, !["XA", "RF", "XRF"].contains(modality) {
            notes.append("modality \(modality) is not X-ray angiography or fluoroscopy")
        }
        palette = lut
        warnings = notes
        idleHandles = [handle]
    }

    deinit {
        for handle in idleHandles { angio_dcm_close(handle) }
    }

    /// Reads only the metadata, without validating the pixel data: works for files that are
    /// not decodable images (no pixel data, unsupported transfer syntax, ...).
    public static func readMetadata(path: String) throws(DICOMError) -> DICOMMetadata {
        let handle = try ShimFile.open(path: path, mode: ANGIO_DCM_OPEN_METADATA, options: .init())
        defer { angio_dcm_close(handle) }
        var info = angio_dcm_image_info()
        _ = angio_dcm_image_info_get(handle, &info)
        return AttributeReader(handle: handle).metadata(info: info, isImage: false)
    }

    /// Cheap check for folder sniffing: "DICM" at byte 128 (PS3.10 7.1), or a data set that
    /// starts with a plausible group 0002/0008 element (files without preamble).
    public static func isLikelyDICOM(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 132), head.count >= 8 else { return false }
        let bytes = [UInt8](head)
        if bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D {
            return true
        }
        let groupLE = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let groupBE = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let isLetter = { (b: UInt8) in b >= 0x41 && b <= 0x5A }
        let explicitVR = isLetter(bytes[4]) && isLetter(bytes[5])
        for group in [groupLE, groupBE] where group == 0x0002 || group == 0x0008 {
            if explicitVR { return true }
            // Implicit VR: a 4-byte length that fits a short header value.
            let length = UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24
            if length < 1024 { return true }
        }
        return false
    }

    /// Frame `index` (0-based) as stored values.
    public func storedFrame(_ index: Int) throws(DICOMError) -> StoredFrame {
        guard index >= 0, index < frameCount else {
            throw DICOMError(code: .frameOutOfRange, path: path,
                             cause: "frame \(index) does not exist (the file has \(frameCount) frame(s))")
        }
        let handle = try acquireHandle()
        let count = rows * columns * samplesPerPixel
        var model = [CChar](repeating: 0, count: 32)
        var status = ANGIO_DCM_OK
        let values = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = angio_dcm_decode_frame(handle, UInt32(index), buffer.baseAddress, count, &model, model.count)
            if status == ANGIO_DCM_OK {
                initialized = count
            } else {
                buffer.initialize(repeating: 0)
                initialized = count
            }
        }
        if status != ANGIO_DCM_OK {
            let cause = String(cString: angio_dcm_message(handle))
            // A handle that failed mid-decode is not reused.
            angio_dcm_close(handle)
            throw DICOMError(code: ShimFile.code(for: status), path: path, cause: cause)
        }
        releaseHandle(handle)
        return StoredFrame(width: columns, height: rows, bitsStored: bitsStored, isSigned: isSigned,
                           samplesPerPixel: samplesPerPixel, colorModel: ShimFile.string(from: model), values: values)
    }

    /// Frame `index` as the canonical analysis image: grey, vessels dark, stored-value units.
    /// MONOCHROME1 is inverted within the Bits Stored range; colour becomes luminance
    /// Y = 0.299 R + 0.587 G + 0.114 B (PS3.3 C.7.6.3.1.2, YBR_FULL); PALETTE COLOR goes through
    /// its lookup tables first (C.7.6.3.1.5).
    public func analysisFrame(_ index: Int) throws(DICOMError) -> AnalysisFrame {
        let frame = try storedFrame(index)
        return Self.analysisImage(from: frame, photometric: photometricInterpretation, palette: palette)
    }

    /// Lowest and highest values representable in `bitsStored` bits (two's complement when
    /// `signed`): the range a MONOCHROME1 frame, or a frame whose vessels are bright, is
    /// inverted within.
    public static func storedRange(bitsStored: Int, signed: Bool) -> (low: Float, high: Float) {
        let bits = min(max(bitsStored, 1), 32)
        let low: Float = signed ? -Float(pow(2.0, Double(bits - 1))) : 0
        let high: Float = signed ? Float(pow(2.0, Double(bits - 1)) - 1) : Float(pow(2.0, Double(bits)) - 1)
        return (low, high)
    }

    /// Turns any stored frame into the analysis image (exposed for tests and tools).
    static func analysisImage(from frame: StoredFrame, photometric: String, palette: PaletteLUT?) -> AnalysisFrame {
        let pixelCount = frame.width * frame.height
        var pixels = [Float](repeating: 0, count: pixelCount)
        let values = frame.values
        if frame.samplesPerPixel == 3 {
            if frame.colorModel == "YBR_FULL" {
                for i in 0..<pixelCount { pixels[i] = Float(values[3 * i]) }
            } else {
                for i in 0..<pixelCount {
                    pixels[i] = 0.299 * Float(values[3 * i]) + 0.587 * Float(values[3 * i + 1])
                        + 0.114 * Float(values[3 * i + 2])
                }
            }
        } else if photometric == "PALETTE COLOR", let palette {
            for i in 0..<pixelCount { pixels[i] = palette.luminance(of: values[i]) }
        } else if photometric == "MONOCHROME1" {
            // Invert within the representable range so that the lowest value becomes the brightest.
            let range = storedRange(bitsStored: frame.bitsStored, signed: frame.isSigned)
            for i in 0..<pixelCount { pixels[i] = range.low + range.high - Float(values[i]) }
        } else {
            for i in 0..<pixelCount { pixels[i] = Float(values[i]) }
        }
        return AnalysisFrame(width: frame.width, height: frame.height, pixels: pixels)
    }

    private func acquireHandle() throws(DICOMError) -> OpaquePointer {
        poolLock.lock()
        let handle = idleHandles.popLast()
        poolLock.unlock()
        if let handle { return handle }
        return try ShimFile.open(path: path, mode: ANGIO_DCM_OPEN_IMAGE, options: options)
    }

    private func releaseHandle(_ handle: OpaquePointer) {
        poolLock.lock()
        if idleHandles.count < maxIdleHandles {
            idleHandles.append(handle)
            poolLock.unlock()
        } else {
            poolLock.unlock()
            angio_dcm_close(handle)
        }
    }
}

/// Thin helpers over the C shim.
enum ShimFile {
    static func open(path: String, mode: angio_dcm_open_mode, options: DecodeOptions) throws(DICOMError) -> OpaquePointer {
        var message = [CChar](repeating: 0, count: 1024)
        var handle: OpaquePointer? = nil
        let cap = UInt64(max(0, options.maxPixelBytes))
        let status = angio_dcm_open(path, mode, cap, &handle, &message, message.count)
        guard status == ANGIO_DCM_OK, let handle else {
            throw DICOMError(code: code(for: status), path: path, cause: string(from: message))
        }
        return handle
    }

    static func code(for status: angio_dcm_status) -> DICOMError.Code {
        switch status {
        case ANGIO_DCM_NOT_DICOM: return .notDICOM
        case ANGIO_DCM_TRUNCATED: return .truncated
        case ANGIO_DCM_MALFORMED: return .malformed
        case ANGIO_DCM_NO_PIXEL_DATA: return .noPixelData
        case ANGIO_DCM_UNSUPPORTED_TRANSFER_SYNTAX: return .unsupportedTransferSyntax
        case ANGIO_DCM_UNSUPPORTED_PHOTOMETRIC: return .unsupportedPhotometricInterpretation
        case ANGIO_DCM_SIZE_INCONSISTENT: return .sizeInconsistent
        case ANGIO_DCM_IMAGE_TOO_LARGE: return .imageTooLarge
        case ANGIO_DCM_DICTIONARY_MISSING: return .dictionaryMissing
        case ANGIO_DCM_IO_ERROR: return .ioError
        case ANGIO_DCM_FRAME_OUT_OF_RANGE: return .frameOutOfRange
        case ANGIO_DCM_WRITE_FAILED: return .writeFailed
        default: return .decodeFailed
        }
    }

    /// String from a NUL-terminated C buffer or fixed C array (no force unwraps).
    static func string(from buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func string<T>(from tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// PALETTE COLOR lookup tables (PS3.3 C.7.6.3.1.5): descriptor = entries (0 means 65536),
/// first mapped value, bits per entry.
public struct PaletteLUT: Sendable, Equatable {
    public var firstMapped: Int
    public var red: [UInt16]
    public var green: [UInt16]
    public var blue: [UInt16]
    /// Factor bringing table entries to 0...255.
    public var scale: Float

    init(reader: AttributeReader, path: String) throws(DICOMError) {
        let descriptors: [(UInt16, UInt16)] = [(0x0028, 0x1101), (0x0028, 0x1102), (0x0028, 0x1103)]
        let dataTags: [(UInt16, UInt16)] = [(0x0028, 0x1201), (0x0028, 0x1202), (0x0028, 0x1203)]
        var tables: [[UInt16]] = []
        var first = 0
        var bits = 16
        for (index, tag) in descriptors.enumerated() {
            guard let text = reader.string(tag.0, tag.1) else {
                throw DICOMError(code: .malformed, path: path,
                                 cause: "PALETTE COLOR without its Palette Color Lookup Table Descriptor (0028,110\(index + 1))")
            }
            let parts = text.split(separator: "\\").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3 else {
                throw DICOMError(code: .malformed, path: path, cause: "invalid palette descriptor '\(text)'")
            }
            // The first value is US/SS ambiguous; only its 16-bit pattern counts.
            var entries = parts[0] & 0xFFFF
            if entries == 0 { entries = 65536 }
            first = parts[1] & 0xFFFF
            bits = parts[2]
            var table = reader.uint16Values(dataTags[index].0, dataTags[index].1)
            if table.isEmpty {
                throw DICOMError(code: .unsupportedPhotometricInterpretation, path: path,
                                 cause: "PALETTE COLOR without Palette Color Lookup Table Data (segmented palettes are not supported)")
            }
            if bits == 8 && table.count * 2 >= entries && table.count < entries {
                // 8-bit entries packed two per 16-bit word (little endian order within the word).
                var unpacked: [UInt16] = []
                unpacked.reserveCapacity(table.count * 2)
                for word in table {
                    unpacked.append(word & 0xFF)
                    unpacked.append(word >> 8)
                }
                table = Array(unpacked.prefix(entries))
            }
            tables.append(table)
        }
        firstMapped = first
        red = tables[0]
        green = tables[1]
        blue = tables[2]
        let largest = max(red.max() ?? 0, green.max() ?? 0, blue.max() ?? 0)
        // Tables declared 16-bit but holding 8-bit values are common; scale to 0...255 either way.
        scale = bits <= 8 || largest <= 255 ? 1 : 1.0 / 257.0
    }

    /// Values below the first mapped value use the first entry, above the table the last.
    private func entry(_ value: Int32) -> Int? {
        let count = min(red.count, green.count, blue.count)
        guard count > 0 else { return nil }
        return max(0, min(count - 1, Int(value) - firstMapped))
    }

    /// Luminance (BT.601 weights) of the colour of `value`, on a 0...255 scale.
    public func luminance(of value: Int32) -> Float {
        guard let index = entry(value) else { return 0 }
        let y = 0.299 * Float(red[index]) + 0.587 * Float(green[index]) + 0.114 * Float(blue[index])
        return y * scale
    }

    /// The 8-bit colour of `value`.
    public func rgb8(of value: Int32) -> (UInt8, UInt8, UInt8) {
        guard let index = entry(value) else { return (0, 0, 0) }
        func byte(_ v: UInt16) -> UInt8 { UInt8(max(0, min(255, (Float(v) * scale).rounded()))) }
        return (byte(red[index]), byte(green[index]), byte(blue[index]))
    }
}
