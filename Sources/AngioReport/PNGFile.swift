import Foundation
import PNGShim

/// Why a PNG could not be written or read. `description` names the file and the cause.
public struct PNGError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        case invalidArgument, ioError, encodeFailed, decodeFailed, outOfMemory
    }
    public var code: Code
    public var path: String
    public var message: String

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\((path as NSString).lastPathComponent): \(message) (\(path))" }
}

/// A decoded PNG: interleaved samples (gray, RGB or RGBA) widened to UInt16.
public struct PNGImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 = gray, 3 = RGB, 4 = RGBA.
    public var channels: Int
    /// 8 or 16: the depth the samples were read at.
    public var bitDepth: Int
    /// Row-major, `channels` samples per pixel.
    public var samples: [UInt16]
}

/// PNG writing and reading over libpng's simplified API (see Sources/PNGShim).
/// All writes are atomic: a temporary file in the same folder renamed into place.
public enum PNGFile {
    public static func writeGray8(path: String, width: Int, height: Int, pixels: [UInt8]) throws(PNGError) {
        try write(path: path, width: width, height: height, format: ANGIO_PNG_GRAY8, count: pixels.count,
                  expected: 1) { pixels.withUnsafeBytes { $0.baseAddress } }
    }

    /// 16-bit gray; values are stored unmodified (libpng handles PNG's big-endian order).
    public static func writeGray16(path: String, width: Int, height: Int, pixels: [UInt16]) throws(PNGError) {
        try write(path: path, width: width, height: height, format: ANGIO_PNG_GRAY16, count: pixels.count,
                  expected: 1) { pixels.withUnsafeBytes { $0.baseAddress } }
    }

    /// 8-bit RGB, interleaved R,G,B per pixel.
    public static func writeRGB8(path: String, width: Int, height: Int, pixels: [UInt8]) throws(PNGError) {
        try write(path: path, width: width, height: height, format: ANGIO_PNG_RGB8, count: pixels.count,
                  expected: 3) { pixels.withUnsafeBytes { $0.baseAddress } }
    }

    /// 8-bit RGBA, interleaved R,G,B,A per pixel (straight, not premultiplied, alpha).
    public static func writeRGBA8(path: String, width: Int, height: Int, pixels: [UInt8]) throws(PNGError) {
        try write(path: path, width: width, height: height, format: ANGIO_PNG_RGBA8, count: pixels.count,
                  expected: 4) { pixels.withUnsafeBytes { $0.baseAddress } }
    }

    /// Reads a PNG in its native layout: gray 8/16-bit, RGB or RGBA (16-bit colour is read as 8-bit).
    public static func read(path: String) throws(PNGError) -> PNGImage {
        var width: UInt32 = 0, height: UInt32 = 0
        var format = ANGIO_PNG_GRAY8
        var message = [CChar](repeating: 0, count: 512)
        let infoStatus = angio_png_read_info(path, &width, &height, &format, &message, message.count)
        if infoStatus != ANGIO_PNG_OK { throw makeError(infoStatus, path: path, message: message) }
        let bytesPerPixel = Int(angio_png_bytes_per_pixel(format))
        let pixelCount = Int(width) * Int(height)
        let channels = format == ANGIO_PNG_GRAY16 ? 1 : bytesPerPixel
        if format == ANGIO_PNG_GRAY16 {
            var values = [UInt16](repeating: 0, count: pixelCount)
            let status = values.withUnsafeMutableBytes { buffer in
                angio_png_read(path, format, buffer.baseAddress, buffer.count, &message, message.count)
            }
            if status != ANGIO_PNG_OK { throw makeError(status, path: path, message: message) }
            return PNGImage(width: Int(width), height: Int(height), channels: 1, bitDepth: 16, samples: values)
        }
        var bytes = [UInt8](repeating: 0, count: pixelCount * bytesPerPixel)
        let status = bytes.withUnsafeMutableBytes { buffer in
            angio_png_read(path, format, buffer.baseAddress, buffer.count, &message, message.count)
        }
        if status != ANGIO_PNG_OK { throw makeError(status, path: path, message: message) }
        return PNGImage(width: Int(width), height: Int(height), channels: channels, bitDepth: 8,
                        samples: bytes.map { UInt16($0) })
    }

    private static func write(path: String, width: Int, height: Int, format: angio_png_format, count: Int,
                              expected channels: Int,
                              base: () -> UnsafeRawPointer?) throws(PNGError) {
        guard width > 0, height > 0, width <= 100_000, height <= 100_000 else {
            throw PNGError(code: .invalidArgument, path: path, message: "invalid image size \(width)x\(height)")
        }
        guard count == width * height * channels else {
            throw PNGError(code: .invalidArgument, path: path,
                           message: "pixel buffer holds \(count) samples, expected \(width)x\(height)x\(channels)")
        }
        var message = [CChar](repeating: 0, count: 512)
        let status = angio_png_write(path, UInt32(width), UInt32(height), format, base(), &message, message.count)
        if status != ANGIO_PNG_OK { throw makeError(status, path: path, message: message) }
    }

    private static func makeError(_ status: angio_png_status, path: String, message: [CChar]) -> PNGError {
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let code: PNGError.Code
        switch status {
        case ANGIO_PNG_INVALID_ARGUMENT: code = .invalidArgument
        case ANGIO_PNG_IO_ERROR: code = .ioError
        case ANGIO_PNG_ENCODE_FAILED: code = .encodeFailed
        case ANGIO_PNG_OUT_OF_MEMORY: code = .outOfMemory
        default: code = .decodeFailed
        }
        return PNGError(code: code, path: path, message: text.isEmpty ? "PNG error \(status.rawValue)" : text)
    }
}
