import AngioDICOM
import AngioPhantom
import Foundation

/// Why a phantom could not be written: names the file and the cause.
public struct PhantomWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Writes a rendered phantom as an X-Ray Angiographic Image (PS3.3 A.14) through the project's
/// DCMTK shim (`DICOMWriter.writeXA`), plus its truth JSON.
///
/// Identifiers are deterministic (PS3.5 B.2 "2.25." UIDs hashed from the seeds and the spec), so
/// regenerating a phantom gives the same file. Runs sharing `studySeed` share Patient Name/ID and
/// Study Instance UID (a pre/post pair); Series and SOP Instance UIDs hash the whole spec.
/// Patient identity is deliberately present ("PHANTOM^<seed>") so PHI stripping is testable.
public enum PhantomWriter {
    /// Maps `PhantomSpec.transferSyntax` names to the writer's transfer syntaxes.
    public static func transferSyntax(named name: String) -> WritableTransferSyntax? {
        switch name {
        case "explicit": return .explicitVRLittleEndian
        case "implicit": return .implicitVRLittleEndian
        case "rle": return .rleLossless
        case "jpeg-lossless": return .jpegLosslessSV1
        case "jpeg-ls": return .jpegLSLossless
        case "jpeg-ls-near": return .jpegLSNearLossless
        case "jpeg-baseline": return .jpegBaseline
        case "jpeg-extended": return .jpegExtended
        default: return nil
        }
    }

    /// Writes `rendering` to `dicomPath` and, when given, its truth to `truthPath` (sorted-key
    /// JSON, atomic replace). The DICOM file is written first, also atomically.
    public static func write(_ rendering: PhantomRendering, spec: PhantomSpec? = nil, to dicomPath: String,
                             truthPath: String? = nil) throws(PhantomWriteError) {
        let spec = spec ?? rendering.spec
        guard let syntax = transferSyntax(named: spec.transferSyntax) else {
            throw PhantomWriteError(path: dicomPath, message: "unknown transfer syntax '\(spec.transferSyntax)' (one of \(PhantomGenerator.transferSyntaxNames.joined(separator: ", ")))")
        }
        let request = XAWriteRequest(
            rows: spec.height, columns: spec.width, bitsStored: spec.bitsStored,
            photometric: spec.photometric.rawValue, frames: rendering.storedFrames,
            transferSyntax: syntax, attributes: attributes(for: spec, rendering: rendering))
        do {
            try DICOMWriter.writeXA(request, to: dicomPath)
        } catch {
            throw PhantomWriteError(path: dicomPath, message: error.description)
        }
        if let truthPath {
            do {
                let data = try rendering.truth.jsonData()
                try data.write(to: URL(fileURLWithPath: truthPath), options: .atomic)
            } catch {
                throw PhantomWriteError(path: truthPath, message: "cannot write truth JSON: \(error.localizedDescription)")
            }
        }
    }

    /// Stable 64-bit FNV-1a of the spec's sorted-key JSON: distinguishes any two specs.
    public static func specFingerprint(_ spec: PhantomSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(spec)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16)
    }

    /// Every attribute the phantom file carries beyond the writer's image essentials.
    public static func attributes(for spec: PhantomSpec, rendering: PhantomRendering) -> [DICOMAttribute] {
        func ds(_ value: Double) -> String { PhantomCalibrationTags.decimalString(value) }
        let study = spec.effectiveStudySeed
        let fingerprint = specFingerprint(spec)
        var list: [DICOMAttribute] = []
        func add(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: String) {
            list.append(DICOMAttribute(group: group, element: element, vr: vr, value: value))
        }
        // SOP Common / General Study / General Series (PS3.3 C.12.1, C.7.2.1, C.7.3.1).
        add(0x0008, 0x0018, "UI", DICOMWriter.deterministicUID(seed: "angio-phantom/instance/\(fingerprint)"))
        add(0x0020, 0x000D, "UI", DICOMWriter.deterministicUID(seed: "angio-phantom/study/\(study)"))
        add(0x0020, 0x000E, "UI", DICOMWriter.deterministicUID(seed: "angio-phantom/series/\(study)/\(spec.seriesNumber)/\(fingerprint)"))
        add(0x0020, 0x0010, "SH", "PH\(study % 100_000_000)")
        add(0x0020, 0x0011, "IS", String(spec.seriesNumber))
        add(0x0008, 0x0020, "DA", "20240102")
        add(0x0008, 0x0030, "TM", "101500")
        add(0x0008, 0x0021, "DA", "20240102")
        add(0x0008, 0x0031, "TM", String(format: "%06d", 101500 + 100 * spec.seriesNumber))
        add(0x0008, 0x0023, "DA", "20240102")
        add(0x0008, 0x0033, "TM", String(format: "%06d", 101500 + 100 * spec.seriesNumber))
        add(0x0008, 0x0050, "SH", "ACC\(study % 100_000_000)")
        add(0x0008, 0x1030, "LO", "ANGIO PHANTOM STUDY")
        add(0x0008, 0x103E, "LO", seriesDescription(spec))
        // Patient (PS3.3 C.7.1.1): synthetic but present, so de-identification can be verified.
        add(0x0010, 0x0010, "PN", "PHANTOM^\(study)")
        add(0x0010, 0x0020, "LO", "PHANTOM-\(study)")
        add(0x0010, 0x0030, "DA", "19600101")
        add(0x0010, 0x0040, "CS", "O")
        add(0x0008, 0x0090, "PN", "REFERRER^PHANTOM")
        add(0x0008, 0x0080, "LO", "ANGIO PHANTOM INSTITUTE")
        // Equipment (PS3.3 C.7.5.1).
        add(0x0008, 0x0070, "LO", "angio")
        add(0x0008, 0x1090, "LO", "AngioPhantom")
        add(0x0018, 0x1020, "LO", "truth v\(rendering.truth.truthVersion)")
        // X-Ray acquisition and positioner (PS3.3 C.8.7.2, C.8.7.5).
        add(0x0018, 0x0060, "DS", "80")
        add(0x0018, 0x1510, "DS", ds(spec.positionerPrimaryAngle))
        add(0x0018, 0x1511, "DS", ds(spec.positionerSecondaryAngle))
        add(0x0018, 0x1500, "CS", spec.frames > 1 ? "STATIC" : "")
        // Pixel Intensity Relationship (0028,1040): LIN = proportional to X-ray intensity,
        // LOG = logarithmic (PS3.3 C.8.7.1.1.9).
        add(0x0028, 0x1040, "CS", spec.intensityEncoding == .linear ? "LIN" : "LOG")
        add(0x0028, 0x1041, "SS", spec.photometric == .monochrome2 ? "1" : "-1")
        // VOI window (PS3.3 C.11.2.1.2) spanning the 0.5 ... 99.5 percentiles of the most
        // opacified frame, as an acquisition system would set it for display.
        let window = displayWindow(rendering)
        add(0x0028, 0x1050, "DS", ds(window.centre))
        add(0x0028, 0x1051, "DS", ds(window.width))
        // Cine (PS3.3 C.7.6.5): Frame Time; the writer adds Frame Increment Pointer -> Frame Time.
        if spec.frames > 1 {
            add(0x0018, 0x1063, "DS", ds(spec.frameTimeMs))
            add(0x0018, 0x0040, "IS", String(Int((1000 / spec.frameTimeMs).rounded())))
            add(0x0008, 0x2144, "IS", String(Int((1000 / spec.frameTimeMs).rounded())))
        }
        // Calibration (PS3.3 C.7.6.3.1.7 Pixel Spacing Calibration Type; C.8.7.1.1.3 Imager
        // Pixel Spacing; C.8.7.2 magnification and distances).
        let tags = PhantomCalibrationTags(spec: spec)
        if let v = tags.pixelSpacing { add(0x0028, 0x0030, "DS", v) }
        if let v = tags.pixelSpacingCalibrationType { add(0x0028, 0x0A02, "CS", v) }
        if tags.pixelSpacing != nil {
            add(0x0028, 0x0A04, "LO", "Geometry of the synthetic phantom (object plane)")
        }
        if let v = tags.imagerPixelSpacing { add(0x0018, 0x1164, "DS", v) }
        if let v = tags.estimatedRadiographicMagnificationFactor { add(0x0018, 0x1114, "DS", v) }
        if let v = tags.distanceSourceToDetector { add(0x0018, 0x1110, "DS", v) }
        if let v = tags.distanceSourceToPatient { add(0x0018, 0x1111, "DS", v) }
        return list
    }

    static func displayWindow(_ rendering: PhantomRendering) -> (centre: Double, width: Double) {
        let frameIndex = min(max(rendering.truth.mostOpacifiedFrame, 0), rendering.storedFrames.count - 1)
        // Collimated pixels (< 5 % of full scale in the MONOCHROME2 sense) are not part of the
        // field of view and would waste the window on the shutters.
        let maxValue = rendering.maxStoredValue
        let inverted = rendering.spec.photometric == .monochrome1
        let threshold = maxValue / 20
        var sorted = rendering.storedFrames[frameIndex].filter {
            (inverted ? maxValue - Int($0) : Int($0)) >= threshold
        }.sorted()
        if sorted.count < 100 { sorted = rendering.storedFrames[frameIndex].sorted() }
        guard !sorted.isEmpty else { return (Double(rendering.maxStoredValue + 1) / 2, Double(rendering.maxStoredValue + 1)) }
        let low = Double(sorted[min(sorted.count - 1, sorted.count / 200)])
        let high = Double(sorted[max(0, sorted.count - 1 - sorted.count / 200)])
        let width = max(2, (high - low).rounded() + 1)
        return (((low + high) / 2).rounded(), width)
    }

    static func seriesDescription(_ spec: PhantomSpec) -> String {
        var text = "PHANTOM seed \(spec.seed)"
        if let stenosis = spec.vessels.first?.stenosis {
            text += String(format: " DS %.0f%%", stenosis.percentDiameter)
        }
        return String(text.prefix(64))
    }
}
