import Foundation
import QCA
import VesselCore

/// Options of one single-file analysis (shared by `angio analyze`, `angio compare` and the
/// batch driver).
public struct AnalysisOptions: Sendable {
    /// 0-based frame to analyse; nil = automatic (most opacified frame).
    public var frameIndex: Int?
    /// `--mm-per-pixel` override.
    public var mmPerPixelOverride: Double?
    /// Catheter calibration: two points on the catheter and its French size.
    public var catheter: CatheterSpec?
    /// Segment mode: the minimal-cost path between these points is measured and its lesion
    /// reported first.
    public var segment: (start: Point2D, end: Point2D)?
    /// Number of lesions reported in automatic mode.
    public var maxLesions: Int
    /// Include patient name/ID/birth date in the record.
    public var includePHI: Bool
    /// Threads for per-frame parallel work (nil = all cores). Results do not depend on it.
    public var threads: Int?
    /// `--vessel-polarity`: whether vessels are darker than the background (every angiogram
    /// as displayed), brighter (an inverted export, a contrast map), or detected per file.
    public var vesselPolarity: VesselPolarityOption = .auto

    public init(frameIndex: Int? = nil, mmPerPixelOverride: Double? = nil, catheter: CatheterSpec? = nil,
                segment: (start: Point2D, end: Point2D)? = nil, maxLesions: Int = 5,
                includePHI: Bool = false, threads: Int? = nil, vesselPolarity: VesselPolarityOption = .auto) {
        self.frameIndex = frameIndex
        self.mmPerPixelOverride = mmPerPixelOverride
        self.catheter = catheter
        self.segment = segment
        self.maxLesions = maxLesions
        self.includePHI = includePHI
        self.threads = threads
        self.vesselPolarity = vesselPolarity
    }
}

/// `--vessel-polarity auto|dark|bright`.
public enum VesselPolarityOption: String, Sendable, CaseIterable, Codable {
    /// Detected per file from its frames (`VesselCore.PolarityDetection`).
    case auto
    /// Vessels darker than the background (the displayed angiogram after the Photometric
    /// Interpretation is applied).
    case dark
    /// Vessels brighter than the background: each frame is inverted within its stored range
    /// (as MONOCHROME1 would be) before analysis.
    case bright
}

/// A command-line option value that could not be parsed.
public struct AnalysisOptionError: Error, CustomStringConvertible, Equatable {
    public var option: String
    public var message: String
    public init(option: String, message: String) {
        self.option = option
        self.message = message
    }
    public var description: String { "\(option): \(message)" }
}

/// `--segment X0,Y0,X1,Y1`: two points (pixel x = column, y = row) on one vessel.
public struct SegmentSpec: Sendable, Equatable, CustomStringConvertible {
    public var start: Point2D
    public var end: Point2D

    public init(start: Point2D, end: Point2D) {
        self.start = start
        self.end = end
    }

    /// The tuple form used by `AnalysisOptions.segment`.
    public var points: (start: Point2D, end: Point2D) { (start, end) }

    public var description: String { "\(formatCoordinate(start.x)),\(formatCoordinate(start.y)),\(formatCoordinate(end.x)),\(formatCoordinate(end.y))" }

    /// Parses "X0,Y0,X1,Y1" (decimal numbers, optional spaces).
    public static func parse(_ text: String) throws(AnalysisOptionError) -> SegmentSpec {
        let points = try parsePointPair(text, option: "--segment", expected: "X0,Y0,X1,Y1")
        return SegmentSpec(start: points.0, end: points.1)
    }
}

/// `--catheter X0,Y0,X1,Y1:F`: two points along a contrast-filled catheter and its French
/// size (outer diameter F/3 mm).
public struct CatheterSpec: Sendable, Equatable, CustomStringConvertible {
    public var start: Point2D
    public var end: Point2D
    public var frenchSize: Double

    public init(start: Point2D, end: Point2D, frenchSize: Double) {
        self.start = start
        self.end = end
        self.frenchSize = frenchSize
    }

    public var description: String {
        "\(formatCoordinate(start.x)),\(formatCoordinate(start.y)),\(formatCoordinate(end.x)),\(formatCoordinate(end.y)):\(formatCoordinate(frenchSize))"
    }

    /// Diagnostic catheters are 4–8 F, guiding catheters up to 10 F; allow 2–12 F.
    public static let plausibleFrenchSizes: ClosedRange<Double> = 2...12

    /// Parses "X0,Y0,X1,Y1:F", e.g. "100,40,160,52:6".
    public static func parse(_ text: String) throws(AnalysisOptionError) -> CatheterSpec {
        let option = "--catheter"
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw AnalysisOptionError(option: option, message: "expected X0,Y0,X1,Y1:F (two points then ':' and the French size), got '\(text)'")
        }
        let points = try parsePointPair(String(parts[0]), option: option, expected: "X0,Y0,X1,Y1:F")
        let frenchText = parts[1].trimmingCharacters(in: .whitespaces)
        guard let french = Double(frenchText), french.isFinite else {
            throw AnalysisOptionError(option: option, message: "French size '\(frenchText)' is not a number (e.g. 6 for a 6 F catheter)")
        }
        guard plausibleFrenchSizes.contains(french) else {
            throw AnalysisOptionError(option: option, message: "French size \(frenchText) is outside \(Int(plausibleFrenchSizes.lowerBound))–\(Int(plausibleFrenchSizes.upperBound)) F")
        }
        return CatheterSpec(start: points.0, end: points.1, frenchSize: french)
    }
}

private func parsePointPair(_ text: String, option: String, expected: String) throws(AnalysisOptionError) -> (Point2D, Point2D) {
    let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard fields.count == 4 else {
        throw AnalysisOptionError(option: option, message: "expected \(expected) (four comma-separated pixel coordinates), got '\(text)'")
    }
    var values: [Double] = []
    for (index, field) in fields.enumerated() {
        guard let value = Double(field), value.isFinite else {
            let name = ["X0", "Y0", "X1", "Y1"][index]
            throw AnalysisOptionError(option: option, message: "\(name) '\(field)' is not a number in '\(text)'")
        }
        guard value >= 0 else {
            throw AnalysisOptionError(option: option, message: "coordinate \(field) is negative in '\(text)' (pixel x = column, y = row, from 0)")
        }
        values.append(value)
    }
    let start = Point2D(x: values[0], y: values[1]), end = Point2D(x: values[2], y: values[3])
    guard start != end else {
        throw AnalysisOptionError(option: option, message: "the two points are identical in '\(text)'")
    }
    return (start, end)
}

func formatCoordinate(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
