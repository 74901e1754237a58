import AngioReport
import Foundation
import QCA
import VesselCore

/// Turns an analysis (visual + record) into the plain `ReportScene` the renderer draws.
public enum ReportSceneBuilder {
    public static func scene(visual: AnalysisVisual, record: AnalysisRecord, title: String) -> ReportScene {
        let vessels = visual.measurements.map { measurement in
            VesselOverlay(centerline: measurement.centerline, leftEdge: measurement.leftEdge,
                          rightEdge: measurement.rightEdge, arcLength: measurement.arcLength,
                          diameter: zip(measurement.diameter, measurement.valid.count == measurement.diameter.count
                                        ? measurement.valid : Array(repeating: true, count: measurement.diameter.count))
                              .map { $1 ? $0 : .nan },
                          reference: measurement.referenceDiameter)
        }
        let lesions = visual.lesions.map { lesion in
            LesionOverlay(rank: lesion.rank, vesselIndex: lesion.measurementIndex,
                          percentDiameterStenosis: lesion.percentDiameterStenosis,
                          minimalLumenDiameterPx: lesion.minimalLumenDiameter,
                          referenceDiameterPx: lesion.referenceDiameter, lengthPx: lesion.length,
                          startIndex: lesion.startIndex, endIndex: lesion.endIndex, mldIndex: lesion.mldIndex)
        }
        var notes: [String] = []
        if let subtraction = record.frame?.maskSubtraction, subtraction != "none" { notes.append("mask subtraction \(subtraction)") }
        // The frame is drawn as analysed: an inverted file's vessels appear dark.
        if record.frame?.vesselPolarity == "bright" { notes.append("inverted") }
        if let uncertainty = record.calibration?.relativeUncertainty, uncertainty > 0 {
            notes.append(String(format: "cal. +/-%.0f%%", uncertainty * 100))
        }
        return ReportScene(frame: visual.frame, vesselMask: visual.mask,
                           centerlines: visual.measurements.map(\.centerline), vessels: vessels, lesions: lesions,
                           mmPerPixel: visual.mmPerPixel, title: title, frameIndex: record.frame?.index,
                           frameCount: record.source.frames, calibrationSource: record.calibration?.source, notes: notes)
    }
}
