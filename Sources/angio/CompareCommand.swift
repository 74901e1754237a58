import ArgumentParser
import AngioPipeline
import Foundation
import QCA
import VesselCore

/// `angio compare PRE POST --out DIR`: the same vessel segment measured before and after an
/// intervention (and optionally at follow-up); writes DIR/compare.json (docs/compare.schema.json).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Measure the same segment on pre/post(/follow-up) runs: acute gain and late lumen loss.",
        discussion: """
        With --segment the minimal-cost path between the two points is measured in every run. \
        Without it, PRE is analysed automatically and its rank-1 lesion's vessel, from 4 mm \
        before to 4 mm after the lesion, becomes the segment measured in every run (the runs must \
        show the vessel in the same projection). Acute gain = post MLD - pre MLD; late lumen \
        loss = post MLD - follow-up MLD. Exit status: 0 compared, 1 a run could not be \
        analysed, 2 usage error.
        """)

    @Argument(help: "DICOM file before the intervention.") var pre: String
    @Argument(help: "DICOM file after the intervention.") var post: String
    @Option(help: "Output folder (compare.json is written there).") var out: String
    @Option(help: "Segment as X0,Y0,X1,Y1 (pixel x = column, y = row).") var segment: String?
    @Option(name: .customLong("follow-up"), help: "DICOM file at follow-up (late lumen loss).") var followUp: String?
    @Option(name: .customLong("frame-pre"), help: "0-based frame of PRE (default: most opacified).") var framePre: Int?
    @Option(name: .customLong("frame-post"), help: "0-based frame of POST (default: most opacified).") var framePost: Int?
    @Option(name: .customLong("frame-follow-up"), help: "0-based frame of the follow-up run.") var frameFollowUp: Int?
    @Option(name: .customLong("mm-per-pixel"), help: "Override the calibration of every run (mm per pixel).") var mmPerPixel: Double?
    @Option(help: "Catheter calibration X0,Y0,X1,Y1:F applied to every run.") var catheter: String?
    @Option(name: .customLong("vessel-polarity"), help: "Vessels dark, bright (frames inverted) or auto (detected per run).")
    var vesselPolarity: VesselPolarityOption = .auto

    func validate() throws {
        for (name, value) in [("--frame-pre", framePre), ("--frame-post", framePost), ("--frame-follow-up", frameFollowUp)] {
            if let value, value < 0 { throw ValidationError("\(name) must be 0 or more (frames are numbered from 0), got \(value)") }
        }
        if let mmPerPixel, !(mmPerPixel.isFinite && mmPerPixel > 0 && mmPerPixel <= 10) {
            throw ValidationError("--mm-per-pixel must be a positive number of mm per pixel (at most 10), got \(mmPerPixel)")
        }
        do {
            if let segment { _ = try SegmentSpec.parse(segment) }
            if let catheter { _ = try CatheterSpec.parse(catheter) }
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        var base = AnalysisOptions(mmPerPixelOverride: mmPerPixel, maxLesions: 1, vesselPolarity: vesselPolarity)
        if let catheter { base.catheter = try? CatheterSpec.parse(catheter) }
        let userSegment = segment.flatMap { try? SegmentSpec.parse($0) }
        let result = CompareRun.run(pre: pre, post: post, followUp: followUp, segment: userSegment,
                                    frames: (framePre, framePost, frameFollowUp), base: base)
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let url = URL(fileURLWithPath: out).appendingPathComponent("compare.json")
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".compare.json.\(getpid()).tmp")
            try AnalysisJSON.encode(result).write(to: temporary)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            FileHandle.standardError.write(Data("angio compare: cannot write \(out)/compare.json: \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        print(result.summaryLine)
        if result.status != "ok" {
            if let error = result.error { FileHandle.standardError.write(Data("angio compare: \(error.message)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}

/// The compare.json document.
struct CompareRecord: Encodable {
    /// One run: the measured lesion's fields (the same keys as an analysis lesion; null when
    /// the run was not measured) plus the run context (path, status, error, frame,
    /// calibration, warnings) on the same object, so `pre.minimalLumenDiameter.mm` works.
    struct Run: Encodable {
        var path: String
        var status: String
        var error: AnalysisRecord.ErrorInfo?
        var frame: AnalysisRecord.FrameInfo?
        var calibration: AnalysisRecord.CalibrationInfo?
        var lesion: AnalysisRecord.LesionRecord?
        var warnings: [String]
        enum CodingKeys: String, CodingKey {
            case path, status, error, frame, calibration, warnings
            case rank, segmentId, percentDiameterStenosis, percentAreaStenosis, minimalLumenDiameter,
                 referenceDiameter, lesionLength, location, start, end, uncertainty
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(status, forKey: .status)
            try c.encode(error, forKey: .error)
            try c.encode(frame, forKey: .frame)
            try c.encode(calibration, forKey: .calibration)
            try c.encode(warnings, forKey: .warnings)
            try c.encode(lesion?.rank, forKey: .rank)
            try c.encode(lesion?.segmentId, forKey: .segmentId)
            try c.encode(lesion?.percentDiameterStenosis, forKey: .percentDiameterStenosis)
            try c.encode(lesion?.percentAreaStenosis, forKey: .percentAreaStenosis)
            try c.encode(lesion?.minimalLumenDiameter, forKey: .minimalLumenDiameter)
            try c.encode(lesion?.referenceDiameter, forKey: .referenceDiameter)
            try c.encode(lesion?.lesionLength, forKey: .lesionLength)
            try c.encode(lesion?.location, forKey: .location)
            try c.encode(lesion?.start, forKey: .start)
            try c.encode(lesion?.end, forKey: .end)
            try c.encode(lesion?.uncertainty, forKey: .uncertainty)
        }
    }
    var schemaVersion = 1
    var status: String
    var error: AnalysisRecord.ErrorInfo?
    /// The segment measured in every run, "X0,Y0,X1,Y1".
    var segment: String?
    /// "user" (--segment) or "auto" (from PRE's rank-1 lesion).
    var segmentSource: String
    var pre: Run
    var post: Run
    var followUp: Run?
    var acuteGain: AnalysisRecord.Length?
    var lateLumenLoss: AnalysisRecord.Length?
    var software = AnalysisRecord.Software()

    enum CodingKeys: String, CodingKey {
        case schemaVersion, status, error, segment, segmentSource, pre, post, followUp, acuteGain, lateLumenLoss, software
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encode(segment, forKey: .segment)
        try c.encode(segmentSource, forKey: .segmentSource)
        try c.encode(pre, forKey: .pre)
        try c.encode(post, forKey: .post)
        try c.encode(followUp, forKey: .followUp)
        try c.encode(acuteGain, forKey: .acuteGain)
        try c.encode(lateLumenLoss, forKey: .lateLumenLoss)
        try c.encode(software, forKey: .software)
    }

    var summaryLine: String {
        func mld(_ run: Run) -> String {
            guard let lesion = run.lesion else { return "n/a" }
            return lesion.minimalLumenDiameter.mm.map { String(format: "%.2f mm", $0) } ?? String(format: "%.2f px", lesion.minimalLumenDiameter.px)
        }
        var line = "pre MLD \(mld(pre)), post MLD \(mld(post))"
        if let gain = acuteGain { line += ", acute gain " + (gain.mm.map { String(format: "%.2f mm", $0) } ?? String(format: "%.2f px", gain.px)) }
        if let followUp { line += ", follow-up MLD \(mld(followUp))" }
        if let loss = lateLumenLoss { line += ", late loss " + (loss.mm.map { String(format: "%.2f mm", $0) } ?? String(format: "%.2f px", loss.px)) }
        if status != "ok" { line = "compare failed: \(error?.message ?? "unknown error")" }
        return line
    }
}

enum CompareRun {
    /// Margin (mm, or px when uncalibrated at 0.2 mm/px) added on both sides of PRE's lesion.
    static let marginMm = 4.0

    static func run(pre: String, post: String, followUp: String?, segment userSegment: SegmentSpec?,
                    frames: (Int?, Int?, Int?), base: AnalysisOptions) -> CompareRecord {
        var segment = userSegment
        var source = "user"
        var preAutoWarnings: [String] = []
        if segment == nil {
            source = "auto"
            var options = base
            options.frameIndex = frames.0
            let auto = SingleFileAnalysis.analyze(path: pre, options: options)
            if auto.record.status != "ok" {
                return failed(pre: run(pre, auto.record), post: pending(post), followUp: followUp.map(pending), source: source,
                              code: auto.record.error?.code ?? "analysisFailed", message: auto.record.error?.message ?? "\(pre): analysis failed")
            }
            guard let visual = auto.visual, let lesion = visual.lesions.first,
                  visual.measurements.indices.contains(lesion.measurementIndex) else {
                return failed(pre: run(pre, auto.record), post: pending(post), followUp: followUp.map(pending), source: source,
                              code: "segmentNotFound",
                              message: "\((pre as NSString).lastPathComponent): no lesion found automatically; give --segment X0,Y0,X1,Y1")
            }
            segment = segmentAround(lesion, in: visual.measurements[lesion.measurementIndex], mmPerPixel: visual.mmPerPixel)
            preAutoWarnings.append("segment chosen around PRE's rank-1 lesion at (\(String(format: "%.1f", lesion.mldPosition.x)), \(String(format: "%.1f", lesion.mldPosition.y)))")
        }
        guard let segment else {
            return failed(pre: pending(pre), post: pending(post), followUp: nil, source: source, code: "segmentNotFound", message: "no segment")
        }
        func analyze(_ path: String, frame: Int?) -> AnalysisRecord {
            var options = base
            options.frameIndex = frame
            options.segment = segment.points
            return SingleFileAnalysis.analyze(path: path, options: options).record
        }
        let preRecord = analyze(pre, frame: frames.0)
        let postRecord = analyze(post, frame: frames.1)
        let followRecord = followUp.map { analyze($0, frame: frames.2) }
        var preRun = run(pre, preRecord)
        preRun.warnings.insert(contentsOf: preAutoWarnings, at: 0)
        let postRun = run(post, postRecord), followRun = followRecord.map { run(followUp ?? "", $0) }
        var record = CompareRecord(status: "ok", error: nil, segment: segment.description, segmentSource: source,
                                   pre: preRun, post: postRun, followUp: followRun)
        for candidate in [preRun, postRun] + (followRun.map { [$0] } ?? []) where candidate.status != "ok" || candidate.lesion == nil {
            record.status = "error"
            record.error = candidate.error ?? AnalysisRecord.ErrorInfo(code: "segmentNotFound",
                                                                       message: "\(candidate.path): the segment could not be measured")
            return record
        }
        record.acuteGain = difference(postRun.lesion, minus: preRun.lesion)
        if let followRun { record.lateLumenLoss = difference(postRun.lesion, minus: followRun.lesion) }
        return record
    }

    /// The segment from `marginMm` before the lesion start to `marginMm` after its end along
    /// the measured centerline.
    static func segmentAround(_ lesion: Lesion, in measurement: VesselMeasurement, mmPerPixel: Double?) -> SegmentSpec {
        let marginPx = marginMm / (mmPerPixel ?? 0.2)
        let arc = measurement.arcLength
        let startArc = arc[lesion.startIndex] - marginPx, endArc = arc[lesion.endIndex] + marginPx
        let first = arc.firstIndex { $0 >= startArc } ?? 0
        let last = arc.lastIndex { $0 <= endArc } ?? (arc.count - 1)
        func rounded(_ p: Point2D) -> Point2D { Point2D(x: (p.x * 100).rounded() / 100, y: (p.y * 100).rounded() / 100) }
        return SegmentSpec(start: rounded(measurement.centerline[max(0, first)]),
                           end: rounded(measurement.centerline[min(arc.count - 1, last)]))
    }

    static func difference(_ a: AnalysisRecord.LesionRecord?, minus b: AnalysisRecord.LesionRecord?) -> AnalysisRecord.Length? {
        guard let a, let b else { return nil }
        let px = AnalysisJSON.rounded(a.minimalLumenDiameter.px - b.minimalLumenDiameter.px, 4)
        var mm: Double?
        if let am = a.minimalLumenDiameter.mm, let bm = b.minimalLumenDiameter.mm { mm = AnalysisJSON.rounded(am - bm, 4) }
        return AnalysisRecord.Length(px: px, mm: mm)
    }

    static func run(_ path: String, _ record: AnalysisRecord) -> CompareRecord.Run {
        CompareRecord.Run(path: path, status: record.status, error: record.error, frame: record.frame,
                          calibration: record.calibration, lesion: record.lesions.first, warnings: record.warnings)
    }

    static func pending(_ path: String) -> CompareRecord.Run {
        CompareRecord.Run(path: path, status: "skipped", error: nil, frame: nil, calibration: nil, lesion: nil, warnings: [])
    }

    static func failed(pre: CompareRecord.Run, post: CompareRecord.Run, followUp: CompareRecord.Run?, source: String,
                       code: String, message: String) -> CompareRecord {
        CompareRecord(status: "error", error: AnalysisRecord.ErrorInfo(code: code, message: message), segment: nil,
                      segmentSource: source, pre: pre, post: post, followUp: followUp)
    }
}
