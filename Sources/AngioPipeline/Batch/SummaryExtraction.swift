import AngioReport
import Foundation

extension SummaryRow {
    /// The summary row of one analysis record. `inputRelativePath` is the input's path relative
    /// to its root; `stem` locates the outputs; `linkPrefix` is prepended to output links (e.g.
    /// "../shard-2/" when a merged index lives in another folder).
    public init(record: AnalysisRecord, inputRelativePath: String, stem: String, linkPrefix: String = "",
                thumbnailSize: (width: Int, height: Int)? = nil) {
        self.init(relativePath: inputRelativePath, status: record.status)
        errorCode = record.error?.code
        errorMessage = record.error?.message
        frameIndex = record.frame?.index
        frameCount = record.source.frames
        lesionCount = record.status == "ok" ? record.lesions.count : nil
        mmPerPixel = record.calibration?.mmPerPixel
        calibrationSource = record.calibration?.source
        if let top = record.lesions.min(by: { $0.rank < $1.rank }) {
            percentDiameterStenosis = top.percentDiameterStenosis
            percentAreaStenosis = top.percentAreaStenosis
            mldPx = top.minimalLumenDiameter.px
            mldMM = top.minimalLumenDiameter.mm
            referencePx = top.referenceDiameter.px
            referenceMM = top.referenceDiameter.mm
            lesionLengthPx = top.lesionLength.px
            lesionLengthMM = top.lesionLength.mm
        }
        jsonLink = linkPrefix + stem + ".json"
        if let thumbnailSize {
            pngLink = linkPrefix + stem + ".png"
            thumbnailLink = linkPrefix + stem + ".thumb.png"
            thumbnailWidth = thumbnailSize.width
            thumbnailHeight = thumbnailSize.height
        }
    }
}

/// Reading results back from an output folder (for `--resume` and `angio summarize`).
public enum ResultReader {
    /// Decodes an analysis JSON; nil when the file is not an analysis record.
    public static func record(atPath path: String) -> AnalysisRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(AnalysisRecord.self, from: data)
    }

    /// Size of a PNG from its IHDR chunk (PNG spec section 11.2.2), without decoding it.
    public static func pngSize(atPath path: String) -> (width: Int, height: Int)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 24), head.count == 24 else { return nil }
        let bytes = [UInt8](head)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard Array(bytes[0..<8]) == signature, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44, bytes[15] == 0x52 else { return nil }
        func be32(_ offset: Int) -> Int {
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        return (be32(16), be32(20))
    }

    /// The input's relative path as recorded: the folder of the JSON within the output tree plus
    /// the input's file name from `source.path`.
    public static func inputRelativePath(record: AnalysisRecord, jsonRelative: String) -> String {
        let folder = (jsonRelative as NSString).deletingLastPathComponent
        let name = (record.source.path as NSString).lastPathComponent
        guard !name.isEmpty else { return (jsonRelative as NSString).deletingPathExtension }
        return folder.isEmpty ? name : folder + "/" + name
    }
}
