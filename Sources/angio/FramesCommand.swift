import AngioDICOM
import AngioReport
import ArgumentParser
import Foundation

/// `angio frames FILE --out DIR [--frame N] [--raw]`: frames as PNG files.
struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Write the frames of a DICOM file as PNG images.",
        discussion: """
            Files are named <name>_f0000.png, <name>_f0001.png, ... (0-based frame index). By default \
            each frame is an 8-bit display image windowed with the file's first Window Center/Width \
            (0028,1050/1051) when present, otherwise the frame's own min...max; MONOCHROME1 is shown \
            inverted (low values bright) and colour stays colour. --raw writes the stored values \
            unmodified as 16-bit grey PNG (signed values keep their Bits Stored two's complement pattern).
            """)

    @Argument(help: "The DICOM file.")
    var file: String

    @Option(name: .long, help: "Output folder (created if missing).")
    var out: String

    @Option(name: .long, help: "Only this frame (0-based).")
    var frame: Int?

    @Flag(name: .long, help: "16-bit PNG of the stored values instead of a windowed 8-bit display image.")
    var raw = false

    func validate() throws {
        if let frame, frame < 0 { throw ValidationError("--frame must be 0 or more") }
    }

    func run() throws {
        let angiogram: AngiogramFile
        do {
            angiogram = try AngiogramFile(path: file)
        } catch {
            FileHandle.standardError.write(Data("angio frames: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        for warning in angiogram.warnings {
            FileHandle.standardError.write(Data("angio frames: warning: \(warning)\n".utf8))
        }
        let indices: [Int]
        if let frame {
            guard frame < angiogram.frameCount else {
                FileHandle.standardError.write(Data(
                    "angio frames: \((file as NSString).lastPathComponent): frame \(frame) does not exist (the file has \(angiogram.frameCount) frame(s), 0...\(angiogram.frameCount - 1))\n".utf8))
                throw ExitCode(1)
            }
            indices = [frame]
        } else {
            indices = Array(0..<angiogram.frameCount)
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            FileHandle.standardError.write(Data("angio frames: cannot create \(out): \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let renderer = FrameRenderer(file: angiogram)
        var failures = 0
        for index in indices {
            let name = String(format: "%@_f%04d.png", base, index)
            let destination = (out as NSString).appendingPathComponent(name)
            do {
                let stored = try angiogram.storedFrame(index)
                if raw {
                    try renderer.writeRaw(stored, to: destination)
                } else {
                    try renderer.writeDisplay(stored, to: destination)
                }
                print(destination)
            } catch let error as DICOMError {
                failures += 1
                FileHandle.standardError.write(Data("angio frames: \(error.message)\n".utf8))
            } catch let error as PNGError {
                failures += 1
                FileHandle.standardError.write(Data("angio frames: \(error.description)\n".utf8))
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("angio frames: \(name): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// Display and raw rendering of stored frames.
struct FrameRenderer {
    let file: AngiogramFile

    /// 16-bit grey of the stored bits; 8-bit colour (RGB) for three-sample images of <= 8 bits.
    func writeRaw(_ frame: StoredFrame, to path: String) throws {
        guard frame.bitsStored <= 16 else {
            throw DICOMError(code: .decodeFailed, path: file.path,
                             cause: "--raw: \(frame.bitsStored)-bit stored values do not fit a 16-bit PNG")
        }
        let mask = (1 << frame.bitsStored) - 1
        if frame.samplesPerPixel == 1 {
            let pixels = frame.values.map { UInt16(truncatingIfNeeded: Int($0) & mask) }
            try PNGFile.writeGray16(path: path, width: frame.width, height: frame.height, pixels: pixels)
        } else if frame.bitsStored <= 8 {
            let pixels = frame.values.map { UInt8(truncatingIfNeeded: Int($0) & 0xFF) }
            try PNGFile.writeRGB8(path: path, width: frame.width, height: frame.height, pixels: pixels)
        } else {
            throw DICOMError(code: .decodeFailed, path: file.path,
                             cause: "--raw supports colour images only up to 8 bits per sample")
        }
    }

    /// 8-bit display image: VOI window (PS3.3 C.11.2.1.2.1, linear) on modality values.
    func writeDisplay(_ frame: StoredFrame, to path: String) throws {
        let metadata = file.metadata
        let count = frame.width * frame.height
        if frame.samplesPerPixel == 3 {
            var rgb = [UInt8](repeating: 0, count: count * 3)
            let top = Double((1 << frame.bitsStored) - 1)
            let scale = 255.0 / max(top, 1)
            for i in 0..<count {
                var r = Double(frame.values[3 * i]), g = Double(frame.values[3 * i + 1]), b = Double(frame.values[3 * i + 2])
                if frame.colorModel == "YBR_FULL" {
                    // PS3.3 C.7.6.3.1.2 YBR_FULL -> RGB (ITU-R BT.601 full range).
                    let half = (top + 1) / 2
                    let y = r, cb = g - half, cr = b - half
                    r = y + 1.402 * cr
                    g = y - 0.344136 * cb - 0.714136 * cr
                    b = y + 1.772 * cb
                }
                rgb[3 * i] = UInt8(max(0, min(255, (r * scale).rounded())))
                rgb[3 * i + 1] = UInt8(max(0, min(255, (g * scale).rounded())))
                rgb[3 * i + 2] = UInt8(max(0, min(255, (b * scale).rounded())))
            }
            try PNGFile.writeRGB8(path: path, width: frame.width, height: frame.height, pixels: rgb)
            return
        }
        if file.photometricInterpretation == "PALETTE COLOR", let palette = file.palette {
            var rgb = [UInt8](repeating: 0, count: count * 3)
            for i in 0..<count {
                let (r, g, b) = palette.rgb8(of: frame.values[i])
                rgb[3 * i] = r
                rgb[3 * i + 1] = g
                rgb[3 * i + 2] = b
            }
            try PNGFile.writeRGB8(path: path, width: frame.width, height: frame.height, pixels: rgb)
            return
        }
        // Modality rescale only for display of non-X-ray images (CT HU windows); XA/XRF as stored.
        let isXRay = ["XA", "RF", "XRF"].contains(metadata.modality ?? "")
        let slope = isXRay ? 1 : (metadata.rescaleSlope ?? 1)
        let intercept = isXRay ? 0 : (metadata.rescaleIntercept ?? 0)
        let values = frame.values.map { Double($0) * slope + intercept }
        let (low, high): (Double, Double)
        if let center = metadata.windowCenter?.first, let width = metadata.windowWidth?.first, width >= 1 {
            low = center - 0.5 - (width - 1) / 2
            high = center - 0.5 + (width - 1) / 2
        } else {
            low = values.min() ?? 0
            high = values.max() ?? 0
        }
        let span = max(high - low, 1e-9)
        let invert = file.photometricInterpretation == "MONOCHROME1"
        var grey = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let level = (values[i] - low) / span
            var byte = max(0, min(255, (level * 255).rounded()))
            if invert { byte = 255 - byte }
            grey[i] = UInt8(byte)
        }
        try PNGFile.writeGray8(path: path, width: frame.width, height: frame.height, pixels: grey)
    }
}
