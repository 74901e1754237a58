import AngioDICOM
import Foundation
import QCA

/// Per-file archive QA: readability and decodability (via the decoder), then the attribute
/// checks of an X-ray angiography object. Metadata only, unless `decode` asks for every frame.
public enum QAFileChecker {
    /// Angiography SOP classes (PS3.4 Annex B.5 / PS3.6): XA, Enhanced XA, XRF, Enhanced XRF.
    public static let angiographySOPClasses: [String: String] = [
        "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image",
        "1.2.840.10008.5.1.4.1.1.12.1.1": "Enhanced XA Image",
        "1.2.840.10008.5.1.4.1.1.12.2": "X-Ray Radiofluoroscopic Image",
        "1.2.840.10008.5.1.4.1.1.12.2.1": "Enhanced XRF Image",
    ]
    static let enhancedSOPClasses: Set<String> = ["1.2.840.10008.5.1.4.1.1.12.1.1", "1.2.840.10008.5.1.4.1.1.12.2.1"]
    static let radiofluoroscopicSOPClasses: Set<String> = ["1.2.840.10008.5.1.4.1.1.12.2", "1.2.840.10008.5.1.4.1.1.12.2.1"]

    /// A few common non-angiography SOP classes, to name them in messages.
    static let otherSOPClassNames: [String: String] = [
        "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image", "1.2.840.10008.5.1.4.1.1.2": "CT Image",
        "1.2.840.10008.5.1.4.1.1.4": "MR Image", "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image",
        "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame Image", "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image",
        "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image", "1.2.840.10008.5.1.4.1.1.481.2": "RT Dose",
        "1.2.840.10008.5.1.4.1.1.481.5": "RT Plan", "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR",
        "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR", "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
        "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform", "1.2.840.10008.1.3.10": "Media Storage Directory",
        "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image", "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image",
        "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image",
    ]

    /// Transfer syntaxes that are always lossy (PS3.5 section 8 and Annex A.4): JPEG baseline and
    /// extended, JPEG-LS near-lossless, MPEG-2/4 and HEVC video.
    static let lossyTransferSyntaxes: Set<String> = [
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
    ]
    /// Transfer syntaxes that allow lossy or lossless coding (JPEG 2000 Part 1/2, HTJ2K): lossy
    /// only when Lossy Image Compression (0028,2110) says so.
    static let possiblyLossyTransferSyntaxes: Set<String> = ["1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.203"]

    /// Extensions of files that are plainly not DICOM (reported as info, not as an error).
    static let knownNonDICOMExtensions: Set<String> = [
        "txt", "md", "csv", "json", "xml", "html", "htm", "pdf", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff",
        "zip", "gz", "tar", "log", "ini", "sh", "py", "doc", "docx", "xls", "xlsx", "rtf", "exe", "dll", "inf", "sha256",
    ]

    /// The geometry of a file for the series consistency check.
    public struct Geometry: Sendable, Equatable, Hashable {
        var rows: Int?
        var columns: Int?
        var spacing: String?
        var description: String {
            "\(rows.map(String.init) ?? "?")x\(columns.map(String.init) ?? "?")" + (spacing.map { " @ \($0) mm" } ?? "")
        }
    }

    public static func check(path: String, relativePath: String, decode: Bool) -> (report: QAFileReport, geometry: Geometry?) {
        var report = QAFileReport(path: relativePath)
        let name = (path as NSString).lastPathComponent
        if name.uppercased() == "DICOMDIR" {
            report.findings.append(QAFinding(.info, .mediaDirectory, "DICOMDIR media directory (PS3.10 section 8); its folder is checked file by file"))
            return (report, nil)
        }
        switch DICOMSniffer.classify(path: path) {
        case .unreadable:
            report.findings.append(QAFinding(.error, .unreadable, "\(name): cannot be opened or read (permissions or I/O error)"))
            return (report, nil)
        case .notDICOM:
            let ext = (name as NSString).pathExtension.lowercased()
            if knownNonDICOMExtensions.contains(ext) {
                report.findings.append(QAFinding(.info, .nonDICOMFile, "\(name): not a DICOM file (.\(ext)); ignored by analysis"))
            } else if looksLikeText(path) {
                report.findings.append(QAFinding(.info, .nonDICOMFile, "\(name): a text file, not DICOM; ignored by analysis"))
            } else {
                report.findings.append(QAFinding(.error, .notDICOM, "\(name): not DICOM (no 'DICM' at byte 128, PS3.10 section 7.1, and no recognisable data set)"))
            }
            return (report, nil)
        case .dicom:
            break
        }

        let metadata: DICOMMetadata
        do {
            metadata = try AngiogramFile.readMetadata(path: path)
        } catch {
            report.findings.append(finding(for: error))
            return (report, nil)
        }
        report.sopClassUID = metadata.sopClassUID
        report.sopInstanceUID = metadata.sopInstanceUID
        report.seriesInstanceUID = metadata.seriesInstanceUID
        report.modality = metadata.modality
        report.transferSyntaxUID = metadata.transferSyntaxUID
        report.rows = metadata.rows
        report.columns = metadata.columns
        report.frames = metadata.numberOfFrames

        // Decodability: opening validates transfer syntax, photometric interpretation and the
        // declared size against the pixel data present (without decoding).
        do {
            let file = try AngiogramFile(path: path)
            report.decodable = true
            report.frames = file.frameCount
            // The decoder's "not angiography" note repeats the SOP class finding below.
            for warning in file.warnings.sorted() where !warning.contains("not X-ray angiography") {
                report.findings.append(QAFinding(.info, .decoderWarning, warning))
            }
            if decode {
                report.decodeChecked = true
                for index in 0..<file.frameCount {
                    do {
                        _ = try file.storedFrame(index)
                    } catch {
                        report.decodable = false
                        report.findings.append(QAFinding(.error, .decodeFailed, tag: "(7FE0,0010)",
                                                         "frame \(index) of \(file.frameCount) does not decode: \(error.message)"))
                        break
                    }
                }
            }
        } catch {
            report.findings.append(finding(for: error))
        }

        report.findings += attributeFindings(metadata)
        report.findings.sort(by: QAFinding.ordered)
        let spacing = (metadata.pixelSpacing ?? metadata.imagerPixelSpacing).map { $0.map { String(format: "%.4f", $0) }.joined(separator: "\\") }
        return (report, Geometry(rows: metadata.rows, columns: metadata.columns, spacing: spacing))
    }

    /// True when the first 4 KiB are valid UTF-8 without control characters other than
    /// whitespace (README, checksum lists): such files are reported as info, not as broken DICOM.
    static func looksLikeText(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4096), !data.isEmpty else { return false }
        let bytes = [UInt8](data)
        if bytes.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) { return false }
        // A multi-byte character cut at the 4 KiB boundary is still text.
        for cut in 0...3 where bytes.count > cut {
            if String(validating: bytes[..<(bytes.count - cut)], as: UTF8.self) != nil { return true }
        }
        return false
    }

    /// The decoder's error as a finding (all error level).
    static func finding(for error: DICOMError) -> QAFinding {
        let code: QACode
        var tag: String? = nil
        switch error.code {
        case .notDICOM: code = .notDICOM
        case .truncated: code = .truncated
        case .malformed: code = .malformed
        case .noPixelData: code = .noPixelData; tag = "(7FE0,0010)"
        case .unsupportedTransferSyntax: code = .unsupportedTransferSyntax; tag = "(0002,0010)"
        case .unsupportedPhotometricInterpretation: code = .unsupportedPhotometricInterpretation; tag = "(0028,0004)"
        case .sizeInconsistent: code = .pixelDataSizeInconsistent; tag = "(7FE0,0010)"
        case .imageTooLarge: code = .imageTooLarge; tag = "(7FE0,0010)"
        case .decodeFailed, .frameOutOfRange: code = .decodeFailed; tag = "(7FE0,0010)"
        case .dictionaryMissing: code = .dictionaryMissing
        case .ioError: code = .unreadable
        case .writeFailed: code = .malformed
        }
        return QAFinding(.error, code, tag: tag, error.message)
    }

    /// Attribute checks. Angiography-specific checks run only on angiography objects, so a CT
    /// in the archive gets one clear "not angiography" error rather than a list of XA rules.
    static func attributeFindings(_ m: DICOMMetadata) -> [QAFinding] {
        var findings: [QAFinding] = []
        let modality = m.modality?.uppercased()
        var isAngiography: Bool
        // True for the XA/XRF IODs, whose X-Ray Image module rules apply; an angiogram stored
        // as Secondary Capture (modality XA, SC SOP class) is still checked for calibration,
        // timing and compression, but not for XA-module attributes it need not carry.
        var isAngiographyIOD = false
        if let sop = m.sopClassUID {
            isAngiography = angiographySOPClasses[sop] != nil
            isAngiographyIOD = isAngiography
            if !isAngiography {
                let name = otherSOPClassNames[sop].map { " (\($0))" } ?? ""
                if modality == "XA" || modality == "RF" {
                    findings.append(QAFinding(.warning, .notAngiographySOPClass, tag: "(0008,0016)",
                                              "SOP Class UID \(sop)\(name) with modality \(modality ?? ""): an angiogram stored without the XA/XRF IOD (no acquisition geometry attributes required)"))
                    isAngiography = true
                } else {
                    findings.append(QAFinding(.error, .notAngiographySOPClass, tag: "(0008,0016)",
                                              "SOP Class UID \(sop)\(name), modality \(modality ?? "absent"): not X-ray angiography (XA, Enhanced XA, XRF or Enhanced XRF)"))
                    return findings
                }
            }
        } else {
            findings.append(QAFinding(.error, .missingType1Attribute, tag: "(0008,0016)", "SOP Class UID is absent (type 1, SOP Common module, PS3.3 C.12.1)"))
            isAngiography = modality == "XA" || modality == "RF"
        }
        if let modality {
            if modality != "XA" && modality != "RF" {
                findings.append(QAFinding(.error, .notAngiographyModality, tag: "(0008,0060)", "Modality \(modality) is not XA or RF"))
                if m.sopClassUID == nil { return findings }
            } else if let sop = m.sopClassUID, isAngiographyIOD {
                let expected = radiofluoroscopicSOPClasses.contains(sop) ? "RF" : "XA"
                if modality != expected {
                    findings.append(QAFinding(.warning, .modalitySOPClassMismatch, tag: "(0008,0060)",
                                              "Modality \(modality) but SOP class \(angiographySOPClasses[sop] ?? sop) expects \(expected)"))
                }
            }
        } else {
            findings.append(QAFinding(.error, .missingType1Attribute, tag: "(0008,0060)", "Modality is absent (type 1, General Series module, PS3.3 C.7.3.1)"))
        }
        guard isAngiography else { return findings }
        let enhanced = m.sopClassUID.map(enhancedSOPClasses.contains) ?? false

        // Type 1 attributes of the modules every XA/XRF image carries: SOP Common (C.12.1),
        // General Study (C.7.2.1), General Series (C.7.3.1), Image Pixel (C.7.6.3) and the
        // X-Ray Image module (C.8.7.1: Image Type, Pixel Intensity Relationship, pixel
        // description). Absent and empty are not distinguished by the reader; both are reported.
        let type1: [(Bool, String, String, String)] = [
            (m.sopInstanceUID != nil, "(0008,0018)", "SOP Instance UID", "SOP Common, C.12.1"),
            (m.studyInstanceUID != nil, "(0020,000D)", "Study Instance UID", "General Study, C.7.2.1"),
            (m.seriesInstanceUID != nil, "(0020,000E)", "Series Instance UID", "General Series, C.7.3.1"),
            (m.imageType?.isEmpty == false, "(0008,0008)", "Image Type", "X-Ray Image, C.8.7.1"),
            (m.pixelIntensityRelationship != nil, "(0028,1040)", "Pixel Intensity Relationship", "X-Ray Image, C.8.7.1"),
            (m.samplesPerPixel != nil, "(0028,0002)", "Samples per Pixel", "Image Pixel, C.7.6.3"),
            (m.photometricInterpretation != nil, "(0028,0004)", "Photometric Interpretation", "Image Pixel, C.7.6.3"),
            (m.rows != nil, "(0028,0010)", "Rows", "Image Pixel, C.7.6.3"),
            (m.columns != nil, "(0028,0011)", "Columns", "Image Pixel, C.7.6.3"),
            (m.bitsAllocated != nil, "(0028,0100)", "Bits Allocated", "Image Pixel, C.7.6.3"),
            (m.bitsStored != nil, "(0028,0101)", "Bits Stored", "Image Pixel, C.7.6.3"),
            (m.highBit != nil, "(0028,0102)", "High Bit", "Image Pixel, C.7.6.3"),
            (m.pixelRepresentation != nil, "(0028,0103)", "Pixel Representation", "Image Pixel, C.7.6.3"),
        ]
        for (present, tag, name, module) in type1 where !present && (isAngiographyIOD || !module.contains("X-Ray Image")) {
            findings.append(QAFinding(.warning, .missingType1Attribute, tag: tag, "\(name) is absent or empty (type 1, \(module) in PS3.3)"))
        }
        // KVP is type 2 (must be present, may be empty) in the X-Ray Acquisition module
        // (C.8.7.2); Enhanced XA/XRF carry it per frame in functional groups instead.
        if isAngiographyIOD && !enhanced && m.kvp == nil {
            findings.append(QAFinding(.info, .missingType2Attribute, tag: "(0018,0060)", "KVP is absent or empty (type 2, X-Ray Acquisition module, PS3.3 C.8.7.2)"))
        }

        findings += timingFindings(m, enhanced: enhanced)
        findings += calibrationFindings(m)

        if m.burnedInAnnotation?.uppercased() == "YES" {
            findings.append(QAFinding(.warning, .burnedInAnnotation, tag: "(0028,0301)",
                                      "Burned In Annotation is YES: the pixels may show identifying text; de-identify before sharing images"))
        }
        let transferSyntax = m.transferSyntaxUID ?? ""
        let lossyFlag = m.lossyImageCompression
        if lossyFlag == "01" {
            var message = "Lossy Image Compression is 01: the pixels were lossy compressed at some point"
            if let ratio = m.lossyImageCompressionRatio?.first { message += String(format: " (ratio %.1f:1)", ratio) }
            if let method = m.lossyImageCompressionMethod?.first { message += " [\(method)]" }
            findings.append(QAFinding(.warning, .lossyCompression, tag: "(0028,2110)", message + "; edge-based diameters may be biased"))
        } else if lossyTransferSyntaxes.contains(transferSyntax) {
            findings.append(QAFinding(.warning, .lossyCompression, tag: "(0002,0010)",
                                      "transfer syntax \(m.transferSyntaxName ?? transferSyntax) is lossy; edge-based diameters may be biased"))
            findings.append(QAFinding(.warning, .lossyFlagMissing, tag: "(0028,2110)",
                                      "Lossy Image Compression is \(lossyFlag ?? "absent") although the transfer syntax is lossy (PS3.3 C.7.6.1.1.5 requires 01)"))
        } else if possiblyLossyTransferSyntaxes.contains(transferSyntax) && lossyFlag == nil {
            findings.append(QAFinding(.info, .lossyCompression, tag: "(0002,0010)",
                                      "transfer syntax \(m.transferSyntaxName ?? transferSyntax) may be lossy and Lossy Image Compression (0028,2110) is absent"))
        }
        return findings
    }

    /// Multi-frame and cine timing: Multi-frame module (PS3.3 C.7.6.6: Number of Frames and
    /// Frame Increment Pointer, type 1) and Cine module (C.7.6.5: Frame Time / Frame Time
    /// Vector, type 1C as pointed to; Frame Time Vector has one value per frame, C.7.6.5.1.2).
    static func timingFindings(_ m: DICOMMetadata, enhanced: Bool) -> [QAFinding] {
        var findings: [QAFinding] = []
        if let declared = m.numberOfFramesDeclared, declared <= 0 {
            findings.append(QAFinding(.error, .frameCountInvalid, tag: "(0028,0008)", "Number of Frames is \(declared); it must be 1 or more"))
            return findings
        }
        let frames = m.numberOfFrames ?? m.numberOfFramesDeclared ?? 1
        guard frames > 1 else { return findings }
        let pointer = (m.frameIncrementPointer ?? []).map { $0.uppercased() }
        let pointsToFrameTime = pointer.contains { $0.contains("0018,1063") }
        let pointsToVector = pointer.contains { $0.contains("0018,1065") }
        if !enhanced && pointer.isEmpty {
            findings.append(QAFinding(.warning, .frameIncrementPointerMissing, tag: "(0028,0009)",
                                      "multi-frame (\(frames) frames) without Frame Increment Pointer (type 1, Multi-frame module, PS3.3 C.7.6.6)"))
        }
        if m.frameTime == nil && m.frameTimeVector == nil && m.cineRate == nil && m.recommendedDisplayFrameRate == nil && !enhanced {
            findings.append(QAFinding(.warning, .frameTimingMissing, tag: "(0018,1063)",
                                      "multi-frame (\(frames) frames) without Frame Time, Frame Time Vector or Cine Rate: frame timing unknown"))
        }
        if pointsToFrameTime && m.frameTime == nil {
            findings.append(QAFinding(.warning, .frameTimingInconsistent, tag: "(0018,1063)",
                                      "Frame Increment Pointer points to Frame Time, which is absent (type 1C, Cine module, PS3.3 C.7.6.5)"))
        }
        if pointsToVector && m.frameTimeVector == nil {
            findings.append(QAFinding(.warning, .frameTimingInconsistent, tag: "(0018,1065)",
                                      "Frame Increment Pointer points to Frame Time Vector, which is absent (type 1C, Cine module, PS3.3 C.7.6.5)"))
        }
        if let frameTime = m.frameTime, !(frameTime.isFinite && frameTime > 0) {
            findings.append(QAFinding(.warning, .frameTimingInconsistent, tag: "(0018,1063)", "Frame Time is \(frameTime) ms; it must be positive"))
        }
        if let vector = m.frameTimeVector, vector.count != frames {
            findings.append(QAFinding(.warning, .frameTimeVectorLength, tag: "(0018,1065)",
                                      "Frame Time Vector has \(vector.count) values for \(frames) frames (one per frame, PS3.3 C.7.6.5.1.2)"))
        }
        return findings
    }

    /// Calibration: spacing plausibility, magnification 1.0–2.5, SID > SOD, then which source
    /// the analysis would use (the same resolver as `angio analyze`).
    static func calibrationFindings(_ m: DICOMMetadata) -> [QAFinding] {
        var findings: [QAFinding] = []
        for (values, tag, name) in [(m.pixelSpacing, "(0028,0030)", "Pixel Spacing"), (m.imagerPixelSpacing, "(0018,1164)", "Imager Pixel Spacing")] {
            guard let values else { continue }
            if values.isEmpty || !values.allSatisfy({ $0.isFinite && $0 > 0 }) {
                findings.append(QAFinding(.warning, .pixelSpacingInvalid, tag: tag,
                                          "\(name) \(values.map { String($0) }.joined(separator: "\\")) is not positive"))
            } else if !values.allSatisfy({ CalibrationResolver.plausiblePixelSize.contains($0) }) {
                findings.append(QAFinding(.warning, .pixelSpacingInvalid, tag: tag,
                                          "\(name) \(values.map { String($0) }.joined(separator: "\\")) mm is outside the plausible \(CalibrationResolver.plausiblePixelSize.lowerBound)–\(CalibrationResolver.plausiblePixelSize.upperBound) mm"))
            }
        }
        if let factor = m.estimatedRadiographicMagnificationFactor, !CalibrationResolver.plausibleMagnification.contains(factor) {
            findings.append(QAFinding(.warning, .magnificationImplausible, tag: "(0018,1114)",
                                      "Estimated Radiographic Magnification Factor \(factor) is outside 1.0–2.5"))
        }
        if let sid = m.distanceSourceToDetector, let sod = m.distanceSourceToPatient, !(sid > 0 && sod > 0 && sid > sod) {
            findings.append(QAFinding(.warning, .sourceDistancesInconsistent, tag: "(0018,1110)",
                                      "Distance Source to Detector \(sid) mm must exceed Distance Source to Patient \(sod) mm (both positive)"))
        }
        let calibration = CalibrationResolver.resolve(CalibrationInputs(
            pixelSpacing: m.pixelSpacing, pixelSpacingCalibrationType: m.pixelSpacingCalibrationType,
            imagerPixelSpacing: m.imagerPixelSpacing, estimatedRadiographicMagnificationFactor: m.estimatedRadiographicMagnificationFactor,
            distanceSourceToDetector: m.distanceSourceToDetector, distanceSourceToPatient: m.distanceSourceToPatient))
        if let mmPerPixel = calibration.mmPerPixel {
            findings.append(QAFinding(.info, .calibrationSource, String(format: "calibration from %@: %.4f mm/px", calibration.source.rawValue, mmPerPixel)))
        } else if m.pixelSpacing == nil && m.imagerPixelSpacing == nil {
            findings.append(QAFinding(.warning, .calibrationMissing, tag: "(0018,1164)",
                                      "no Pixel Spacing or Imager Pixel Spacing: diameters in pixels only unless calibrated on a catheter or with --mm-per-pixel"))
        } else {
            findings.append(QAFinding(.warning, .calibrationMissing, tag: "(0018,1114)",
                                      "no usable calibration: " + (calibration.warnings.last ?? "spacing present but unusable")))
        }
        return findings
    }
}
