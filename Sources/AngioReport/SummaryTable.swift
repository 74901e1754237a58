import Foundation

/// One row of `summary.csv` / `index.html`: the outcome of one input file, top lesion first.
/// Optional values are empty cells. Paths are relative to the output directory, with `/`.
public struct SummaryRow: Sendable, Equatable, Codable {
    public var relativePath: String
    /// "ok" or "error".
    public var status: String
    public var errorCode: String?
    public var errorMessage: String?
    public var frameIndex: Int?
    public var frameCount: Int?
    public var lesionCount: Int?
    public var percentDiameterStenosis: Double?
    public var percentAreaStenosis: Double?
    public var mldPx: Double?
    public var mldMM: Double?
    public var referencePx: Double?
    public var referenceMM: Double?
    public var lesionLengthPx: Double?
    public var lesionLengthMM: Double?
    public var mmPerPixel: Double?
    public var calibrationSource: String?
    /// Relative links to this input's outputs (nil when not written).
    public var jsonLink: String?
    public var pngLink: String?
    public var thumbnailLink: String?
    public var thumbnailWidth: Int?
    public var thumbnailHeight: Int?

    public init(relativePath: String, status: String) {
        self.relativePath = relativePath
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case relativePath, status, errorCode, errorMessage, frameIndex, frameCount, lesionCount
        case percentDiameterStenosis, percentAreaStenosis, mldPx, mldMM, referencePx, referenceMM
        case lesionLengthPx, lesionLengthMM, mmPerPixel, calibrationSource, jsonLink, pngLink, thumbnailLink
        case thumbnailWidth, thumbnailHeight
    }
}

/// The summary table: column set, deterministic number formatting, CSV rendering.
public enum SummaryTable {
    /// CSV header (snake_case; units in the names).
    public static let header = [
        "path", "status", "error_code", "error_message", "frame", "frame_count", "lesion_count",
        "top_ds_percent", "top_as_percent", "mld_px", "mld_mm", "reference_px", "reference_mm",
        "lesion_length_px", "lesion_length_mm", "mm_per_pixel", "calibration_source",
    ]

    /// Fixed decimals per quantity, so the CSV is byte-stable and readable:
    /// percentages 0.1 %, mm 0.001 mm, px 0.01 px, calibration 0.00001 mm/px.
    public static func fields(of row: SummaryRow) -> [String] {
        func number(_ value: Double?, _ decimals: Int) -> String {
            guard let value, value.isFinite else { return "" }
            let text = String(format: "%.\(decimals)f", value)
            // "-0.000" would differ from "0.000" for values that round to zero.
            return text.hasPrefix("-") && text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : text
        }
        return [
            row.relativePath, row.status, row.errorCode ?? "", singleLine(row.errorMessage ?? ""),
            row.frameIndex.map(String.init) ?? "", row.frameCount.map(String.init) ?? "",
            row.lesionCount.map(String.init) ?? "",
            number(row.percentDiameterStenosis, 1), number(row.percentAreaStenosis, 1),
            number(row.mldPx, 2), number(row.mldMM, 3), number(row.referencePx, 2), number(row.referenceMM, 3),
            number(row.lesionLengthPx, 2), number(row.lesionLengthMM, 3), number(row.mmPerPixel, 5),
            row.calibrationSource ?? "",
        ]
    }

    /// Sorts rows by relative path, comparing Unicode scalars so the order does not depend on
    /// the locale.
    public static func sorted(_ rows: [SummaryRow]) -> [SummaryRow] {
        rows.sorted { a, b in
            if a.relativePath != b.relativePath {
                return a.relativePath.unicodeScalars.lexicographicallyPrecedes(b.relativePath.unicodeScalars)
            }
            return a.status < b.status
        }
    }

    /// `summary.csv`: header plus one record per row, sorted by path.
    public static func csv(_ rows: [SummaryRow]) -> String {
        CSVWriter.document(header: header, rows: sorted(rows).map(fields(of:)))
    }

    static func singleLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }
}
