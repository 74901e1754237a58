import Foundation
import QCA
import VesselCore

/// Wall-clock seconds spent in each stage of one analysis (not part of the JSON record, which
/// must be deterministic).
public struct StageTimings: Sendable, Equatable, Codable {
    public var decode: Double
    public var select: Double
    public var vesselness: Double
    public var measure: Double
    public init(decode: Double = 0, select: Double = 0, vesselness: Double = 0, measure: Double = 0) {
        self.decode = decode
        self.select = select
        self.vesselness = vesselness
        self.measure = measure
    }
    public var total: Double { decode + select + vesselness + measure }
}

/// What the report stage needs to draw the annotated PNG.
public struct AnalysisVisual: Sendable {
    /// The analysed frame in display grey (vessels dark).
    public var frame: GrayImage
    public var mask: BinaryMask
    public var measurements: [VesselMeasurement]
    public var lesions: [Lesion]
    public var mmPerPixel: Double?

    public init(frame: GrayImage, mask: BinaryMask, measurements: [VesselMeasurement],
                lesions: [Lesion], mmPerPixel: Double?) {
        self.frame = frame
        self.mask = mask
        self.measurements = measurements
        self.lesions = lesions
        self.mmPerPixel = mmPerPixel
    }
}

public struct AnalysisOutcome: Sendable {
    public var record: AnalysisRecord
    /// nil when the analysis failed.
    public var visual: AnalysisVisual?
    public var timings: StageTimings
    public init(record: AnalysisRecord, visual: AnalysisVisual?, timings: StageTimings) {
        self.record = record
        self.visual = visual
        self.timings = timings
    }
}

public enum SingleFileAnalysis {
    /// Analyses one DICOM file. Never throws: failures become `status: "error"` records.
    public static func analyze(path: String, options: AnalysisOptions) -> AnalysisOutcome {
        let record = AnalysisRecord.failure(path: path, code: "analysisFailed",
                                            message: "\(path): the analysis pipeline is not available yet",
                                            options: options)
        return AnalysisOutcome(record: record, visual: nil, timings: StageTimings())
    }
}
