import DicomShim

/// Reads attribute values through the shim as strings and parses them per VR (PS3.5 6.2:
/// DS/IS are decimal strings, multiple values separated by backslash).
struct AttributeReader {
    let handle: OpaquePointer
    private static let capacity = 1 << 16

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    /// The value of a top-level attribute (or of item `item` of sequence `sequence`); nil when
    /// absent. Empty values come back as "".
    func string(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> String? {
        var buffer = [CChar](repeating: 0, count: Self.capacity)
        let found = angio_dcm_get_string(handle, sequence?.0 ?? 0, sequence?.1 ?? 0, UInt32(item), group, element,
                                         &buffer, buffer.count)
        guard found == 1 else { return nil }
        return ShimFile.string(from: buffer)
    }

    /// Non-empty string value, nil when absent or empty.
    func text(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> String? {
        guard let value = string(group, element, sequence: sequence, item: item), !value.isEmpty else { return nil }
        return value
    }

    func strings(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> [String]? {
        guard let value = text(group, element, sequence: sequence, item: item) else { return nil }
        return value.split(separator: "\\", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func doubles(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> [Double]? {
        guard let parts = strings(group, element, sequence: sequence, item: item) else { return nil }
        let numbers = parts.compactMap { Double($0) }.filter { $0.isFinite }
        return numbers.count == parts.count && !numbers.isEmpty ? numbers : nil
    }

    func double(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> Double? {
        doubles(group, element, sequence: sequence, item: item)?.first
    }

    func ints(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> [Int]? {
        guard let parts = strings(group, element, sequence: sequence, item: item) else { return nil }
        let numbers = parts.compactMap { Int($0) ?? Double($0).flatMap { $0.isFinite && $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil } }
        return numbers.count == parts.count && !numbers.isEmpty ? numbers : nil
    }

    func int(_ group: UInt16, _ element: UInt16, sequence: (UInt16, UInt16)? = nil, item: Int = 0) -> Int? {
        ints(group, element, sequence: sequence, item: item)?.first
    }

    func uint16Values(_ group: UInt16, _ element: UInt16) -> [UInt16] {
        let count = angio_dcm_get_uint16_values(handle, group, element, nil, 0)
        guard count > 0, count <= 1 << 20 else { return [] }
        var values = [UInt16](repeating: 0, count: count)
        _ = angio_dcm_get_uint16_values(handle, group, element, &values, count)
        return values
    }

    func sequenceCount(_ group: UInt16, _ element: UInt16) -> Int {
        Int(angio_dcm_sequence_item_count(handle, group, element))
    }

    /// Everything DICOMMetadata describes; `info` is the shim's pixel module summary.
    func metadata(info: angio_dcm_image_info, isImage: Bool) -> DICOMMetadata {
        var m = DICOMMetadata()
        m.sopClassUID = text(0x0008, 0x0016) ?? text(0x0002, 0x0002)
        m.sopInstanceUID = text(0x0008, 0x0018) ?? text(0x0002, 0x0003)
        m.studyInstanceUID = text(0x0020, 0x000D)
        m.seriesInstanceUID = text(0x0020, 0x000E)
        m.modality = text(0x0008, 0x0060)
        m.imageType = strings(0x0008, 0x0008)
        m.studyDate = text(0x0008, 0x0020)
        m.studyTime = text(0x0008, 0x0030)
        m.studyDescription = text(0x0008, 0x1030)
        m.seriesDescription = text(0x0008, 0x103E)
        m.seriesNumber = int(0x0020, 0x0011)
        m.instanceNumber = int(0x0020, 0x0013)
        m.manufacturer = text(0x0008, 0x0070)
        m.manufacturerModelName = text(0x0008, 0x1090)

        let syntaxUID = ShimFile.string(from: info.transfer_syntax_uid)
        let syntaxName = ShimFile.string(from: info.transfer_syntax_name)
        m.transferSyntaxUID = syntaxUID.isEmpty ? nil : syntaxUID
        m.transferSyntaxName = syntaxName.isEmpty ? nil : syntaxName

        m.rows = int(0x0028, 0x0010)
        m.columns = int(0x0028, 0x0011)
        m.numberOfFramesDeclared = int(0x0028, 0x0008)
        if isImage {
            m.numberOfFrames = Int(info.frames)
        } else if m.rows != nil {
            m.numberOfFrames = m.numberOfFramesDeclared ?? 1
        }
        m.bitsAllocated = int(0x0028, 0x0100)
        m.bitsStored = int(0x0028, 0x0101)
        m.highBit = int(0x0028, 0x0102)
        m.pixelRepresentation = int(0x0028, 0x0103)
        m.samplesPerPixel = int(0x0028, 0x0002)
        m.photometricInterpretation = text(0x0028, 0x0004)

        m.pixelSpacing = doubles(0x0028, 0x0030)
        m.pixelSpacingCalibrationType = text(0x0028, 0x0A02)
        m.pixelSpacingCalibrationDescription = text(0x0028, 0x0A04)
        m.imagerPixelSpacing = doubles(0x0018, 0x1164)
        m.estimatedRadiographicMagnificationFactor = double(0x0018, 0x1114)
        m.distanceSourceToDetector = double(0x0018, 0x1110)
        m.distanceSourceToPatient = double(0x0018, 0x1111)
        m.intensifierSize = double(0x0018, 0x1162)

        m.frameTime = double(0x0018, 0x1063)
        m.frameTimeVector = doubles(0x0018, 0x1065)
        m.frameIncrementPointer = strings(0x0028, 0x0009)
        m.cineRate = double(0x0018, 0x0040)
        m.recommendedDisplayFrameRate = double(0x0008, 0x2144)

        m.positionerPrimaryAngle = double(0x0018, 0x1510)
        m.positionerSecondaryAngle = double(0x0018, 0x1511)
        m.kvp = double(0x0018, 0x0060)
        m.xRayTubeCurrent = double(0x0018, 0x1151)
        m.exposureTime = double(0x0018, 0x1150)

        m.recommendedViewingMode = text(0x0028, 0x1090)
        let maskSequence: (UInt16, UInt16) = (0x0028, 0x6100)
        let maskItems = sequenceCount(maskSequence.0, maskSequence.1)
        if maskItems > 0 {
            m.maskSubtraction = (0..<maskItems).map { item in
                MaskSubtraction(
                    operation: text(0x0028, 0x6101, sequence: maskSequence, item: item),
                    maskFrameNumbers: ints(0x0028, 0x6110, sequence: maskSequence, item: item),
                    applicableFrameRange: ints(0x0028, 0x6102, sequence: maskSequence, item: item),
                    contrastFrameAveraging: int(0x0028, 0x6112, sequence: maskSequence, item: item),
                    maskSubPixelShift: doubles(0x0028, 0x6114, sequence: maskSequence, item: item))
            }
        }
        m.pixelIntensityRelationship = text(0x0028, 0x1040)
        m.pixelIntensityRelationshipSign = int(0x0028, 0x1041)
        m.burnedInAnnotation = text(0x0028, 0x0301)
        m.lossyImageCompression = text(0x0028, 0x2110)
        m.lossyImageCompressionRatio = doubles(0x0028, 0x2112)
        m.lossyImageCompressionMethod = strings(0x0028, 0x2114)
        m.windowCenter = doubles(0x0028, 0x1050)
        m.windowWidth = doubles(0x0028, 0x1051)
        m.rescaleIntercept = double(0x0028, 0x1052)
        m.rescaleSlope = double(0x0028, 0x1053)

        let patient = PatientIdentity(name: text(0x0010, 0x0010), id: text(0x0010, 0x0020),
                                      birthDate: text(0x0010, 0x0030))
        if patient.name != nil || patient.id != nil || patient.birthDate != nil { m.patient = patient }
        return m
    }
}
