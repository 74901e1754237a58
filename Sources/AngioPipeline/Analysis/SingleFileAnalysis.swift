import AngioDICOM
import Dispatch
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

/// A failure of the measurement stage with a stable code (see `AnalysisRecord.ErrorInfo`).
public struct AnalysisFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Everything measured on one image, before it becomes a record.
public struct ImageAnalysis: Sendable {
    public var measurements: [VesselMeasurement]
    public var lesions: [Lesion]
    public var calibration: Calibration
    public var mask: BinaryMask
    public var centerlines: CenterlineGraph
    public var warnings: [String]
    public var psfSigma: Double
    public var vesselnessSeconds: Double
    public var measureSeconds: Double
}

public enum SingleFileAnalysis {
    /// Centerline segments shorter than this (px) are not profiled in automatic mode.
    public static let minimumSegmentLength = 24.0
    /// Cine runs longer than this are scored on every k-th frame first (then refined around
    /// the best), so frame selection decodes at most ~2 x this many frames.
    public static let frameSelectionBudget = 24

    /// Analyses one DICOM file. Never throws: failures become `status: "error"` records with
    /// the DICOM error code passed through or one of `invalidOptions`, `segmentNotFound`,
    /// `catheterNotFound`, `analysisFailed`.
    public static func analyze(path: String, options: AnalysisOptions) -> AnalysisOutcome {
        var timings = StageTimings()
        var clock = Stopwatch()
        let file: AngiogramFile
        do {
            file = try AngiogramFile(path: path)
        } catch {
            return failure(path: path, code: error.code.rawValue, message: error.message, options: options, timings: timings)
        }
        let metadata = file.metadata
        let source = AnalysisRecord.Source(path: path, sopInstanceUID: metadata.sopInstanceUID,
                                           transferSyntaxUID: metadata.transferSyntaxUID, modality: metadata.modality,
                                           rows: file.rows, columns: file.columns, frames: file.frameCount)
        var warnings = file.warnings
        if options.maxLesions < 1 {
            return failure(path: path, code: "invalidOptions", message: "\(path): maxLesions must be at least 1", options: options,
                           timings: timings, source: source)
        }

        // Vessel polarity: vessels brighter than the background (an inverted export, a
        // contrast map) are analysed with every frame inverted within its stored range.
        var invertFrames = false
        func analysisImage(_ index: Int) throws(DICOMError) -> GrayImage {
            let analysis = try file.analysisFrame(index)
            let image = GrayImage(width: analysis.width, height: analysis.height, pixels: analysis.pixels)
            return invertFrames ? Self.inverted(image, bitsStored: file.bitsStored, signed: file.isSigned) : image
        }
        do {
            switch options.vesselPolarity {
            case .dark: invertFrames = false
            case .bright: invertFrames = true
            case .auto:
                let candidates = Self.polarityFrames(count: file.frameCount, requested: options.frameIndex)
                var evidences: [PolarityDetection.Evidence] = []
                for index in candidates { evidences.append(PolarityDetection.evidence(try analysisImage(index))) }
                if let decisive = PolarityDetection.decisive(evidences), decisive.vesselsAreBright {
                    invertFrames = true
                    warnings.append("vessels are brighter than their background (thin bright structures carry "
                                    + String(format: "%.1f", decisive.brightToDarkRatio)
                                    + "x the energy of dark ones): frames inverted before analysis; use --vessel-polarity dark to prevent this")
                }
            }
        } catch {
            return failure(path: path, code: error.code.rawValue, message: error.message, options: options,
                           timings: timings, source: source, warnings: warnings)
        }

        // Frame choice.
        var frameIndex: Int
        let selection: String
        var decoded: [Int: GrayImage] = [:]
        func frame(_ index: Int) throws(DICOMError) -> GrayImage {
            if let cached = decoded[index] { return cached }
            let image = try analysisImage(index)
            // Keep only the frames needed again (the chosen one and masks): bounded memory.
            if decoded.count < 4 { decoded[index] = image }
            return image
        }
        do {
            if let requested = options.frameIndex {
                guard requested >= 0 && requested < file.frameCount else {
                    return failure(path: path, code: DICOMError.Code.frameOutOfRange.rawValue,
                                   message: "\((path as NSString).lastPathComponent): frame \(requested) requested but the file has \(file.frameCount) frame(s) (numbered from 0)",
                                   options: options, timings: timings, source: source, warnings: warnings)
                }
                frameIndex = requested
                selection = "user"
            } else {
                frameIndex = try selectFrame(count: file.frameCount) { index throws(DICOMError) in try analysisImage(index) }
                selection = "auto"
            }
            timings.select = clock.lap()
        } catch {
            return failure(path: path, code: error.code.rawValue, message: error.message, options: options,
                           timings: timings, source: source, warnings: warnings)
        }

        // Decode, then mask subtraction when the file asks for it (PS3.3 C.7.6.10).
        var image: GrayImage
        var subtractionName = "none"
        do {
            image = try frame(frameIndex)
            let plan = SubtractionPlan.decide(
                recommendedViewingMode: metadata.recommendedViewingMode,
                maskOperations: (metadata.maskSubtraction ?? []).map { $0.operation ?? "" },
                maskFrameNumbers: (metadata.maskSubtraction ?? []).map { $0.maskFrameNumbers ?? [] })
            if plan.shouldSubtract {
                let maskIndices = plan.maskFrames(forLiveFrame: frameIndex, frameCount: file.frameCount)
                if maskIndices.isEmpty {
                    warnings.append("mask subtraction requested (\(plan.reason)) but no usable mask frame for frame \(frameIndex); analysed unsubtracted")
                } else {
                    var masks: [GrayImage] = []
                    for index in maskIndices.prefix(16) { masks.append(try frame(index)) }
                    if let mask = VesselCore.MaskSubtraction.averageFrames(masks) {
                        image = subtracted(live: image, mask: mask, logarithmic: metadata.pixelIntensityRelationship?.uppercased() == "LOG")
                        subtractionName = plan.mode == .timeIntervalDifferencing ? "TID" : "AVG_SUB"
                        warnings.append("mask subtraction applied: \(plan.reason)")
                    }
                }
            }
            timings.decode = clock.lap()
        } catch {
            return failure(path: path, code: error.code.rawValue, message: error.message, options: options,
                           timings: timings, source: source, warnings: warnings)
        }
        decoded.removeAll()

        let inputs = CalibrationInputs(pixelSpacing: metadata.pixelSpacing,
                                       pixelSpacingCalibrationType: metadata.pixelSpacingCalibrationType,
                                       imagerPixelSpacing: metadata.imagerPixelSpacing,
                                       estimatedRadiographicMagnificationFactor: metadata.estimatedRadiographicMagnificationFactor,
                                       distanceSourceToDetector: metadata.distanceSourceToDetector,
                                       distanceSourceToPatient: metadata.distanceSourceToPatient,
                                       userMMPerPixel: options.mmPerPixelOverride)
        let analysis: ImageAnalysis
        do {
            analysis = try measure(image: image, calibration: inputs, options: options, name: path)
        } catch {
            return failure(path: path, code: error.code, message: error.message, options: options,
                           timings: timings, source: source, warnings: warnings)
        }
        timings.vesselness = analysis.vesselnessSeconds
        timings.measure = analysis.measureSeconds
        warnings.append(contentsOf: analysis.warnings)

        var patient: AnalysisRecord.Patient?
        if options.includePHI {
            patient = AnalysisRecord.Patient(name: metadata.patient?.name, id: metadata.patient?.id,
                                             birthDate: metadata.patient?.birthDate)
        }
        let record = makeRecord(source: source, frame: AnalysisRecord.FrameInfo(index: frameIndex, selection: selection,
                                                                                maskSubtraction: subtractionName,
                                                                                vesselPolarity: invertFrames ? "bright" : "dark"),
                                analysis: analysis, warnings: warnings, options: options, patient: patient)
        let visual = AnalysisVisual(frame: image, mask: analysis.mask, measurements: analysis.measurements,
                                    lesions: analysis.lesions, mmPerPixel: analysis.calibration.mmPerPixel)
        return AnalysisOutcome(record: record, visual: visual, timings: timings)
    }

    /// Frames whose top-hat evidence decides the vessel polarity: up to five spread over the
    /// run (first, last and three between) plus the requested frame. Out-of-range requests are
    /// left to the frame check that follows.
    static func polarityFrames(count: Int, requested: Int?) -> [Int] {
        guard count > 1 else { return [0] }
        var indices = Set((0..<5).map { Int((Double($0) * Double(count - 1) / 4).rounded()) })
        if let requested, requested >= 0, requested < count { indices.insert(requested) }
        return indices.sorted()
    }

    /// The frame inverted within the stored range of its pixels (lowest value becomes the
    /// highest, as `AngiogramFile.analysisImage` does for MONOCHROME1).
    static func inverted(_ image: GrayImage, bitsStored: Int, signed: Bool) -> GrayImage {
        let range = AngiogramFile.storedRange(bitsStored: bitsStored, signed: signed)
        return image.mapped { range.low + range.high - $0 }
    }

    /// Frame with maximal opacification; long runs are scored on a stride first and refined
    /// around the best scored frame.
    static func selectFrame(count: Int, frame: (Int) throws(DICOMError) -> GrayImage) throws(DICOMError) -> Int {
        guard count > 1 else { return 0 }
        let stride = max(1, (count + frameSelectionBudget - 1) / frameSelectionBudget)
        var bestIndex = 0, bestScore = -Double.infinity
        func consider(_ index: Int) throws(DICOMError) {
            let score = FrameSelection.opacificationScore(try frame(index))
            if score > bestScore || (score == bestScore && index < bestIndex) { bestScore = score; bestIndex = index }
        }
        for index in Swift.stride(from: 0, to: count, by: stride) { try consider(index) }
        if stride > 1 {
            let centre = bestIndex
            for index in max(0, centre - stride + 1)...min(count - 1, centre + stride - 1) where index != centre && index % stride != 0 {
                try consider(index)
            }
        }
        return bestIndex
    }

    /// The live frame divided by the mask (log-domain subtraction for linear data, plain
    /// difference for LOG data), mapped back to a transmission-like image (background ~ 1,
    /// vessels dark) so the lumen model applies unchanged.
    static func subtracted(live: GrayImage, mask: GrayImage, logarithmic: Bool) -> GrayImage {
        if logarithmic {
            let difference = VesselCore.MaskSubtraction.subtractLinear(live: live, mask: mask)
            let finite = difference.pixels.filter { $0.isFinite }
            let low = finite.min() ?? 0, high = finite.max() ?? 1
            let span = max(high - low, 1e-6)
            return GrayImage(width: live.width, height: live.height,
                             pixels: difference.pixels.map { $0.isFinite ? ($0 - low) / span + 1 : 1 })
        }
        let difference = VesselCore.MaskSubtraction.subtractLogDomain(live: live, mask: mask)
        return GrayImage(width: live.width, height: live.height,
                         pixels: difference.pixels.map { $0.isFinite ? Float(exp(Double(max(min($0, 20), -20)))) : 1 })
    }

    /// Segmentation, centerlines, profiles, lesions and calibration on one grey image (vessels
    /// dark). `name` is used in error messages.
    public static func measure(image: GrayImage, calibration inputs: CalibrationInputs, options: AnalysisOptions,
                               name: String) throws(AnalysisFailure) -> ImageAnalysis {
        var clock = Stopwatch()
        let fileName = (name as NSString).lastPathComponent
        guard image.width >= 16, image.height >= 16 else {
            throw AnalysisFailure(code: "analysisFailed", message: "\(fileName): image \(image.width)x\(image.height) is too small to analyse")
        }
        var warnings: [String] = []
        var segmentationParameters = SegmentationParameters()
        segmentationParameters.threads = options.threads
        let segmentation = VesselSegmentation.segment(image, parameters: segmentationParameters)
        let graph = Centerlines.extract(from: segmentation.mask)
        let vesselnessSeconds = clock.lap()

        // Background transmission divided out (bone edges, diaphragm, texture), see
        // BackgroundNormalization; the displayed frame stays the original.
        let normalized = BackgroundNormalization.normalizeWithEdges(image, vesselMask: segmentation.mask, threads: options.threads)
        var analyzer = VesselAnalyzer(image: normalized.image, threads: options.threads, backgroundCurvature: normalized.curvature)
        let parameters = analyzer.parameters
        var costImage: GrayImage?
        func cost() -> GrayImage {
            if let costImage { return costImage }
            let made = MinimalPath.costImage(fromVesselness: segmentation.vesselness.response)
            costImage = made
            return made
        }
        // The exposed field the segmentation found, without a `longBridgeFieldMargin` px rim
        // (eroded only when a long gap is to be bridged).
        var fieldCore: BinaryMask??
        func inFieldCore(_ p: Point2D) -> Bool {
            if fieldCore == nil {
                fieldCore = .some(segmentation.exposureField.map {
                    Morphology.disc($0, radius: VesselPathBuilder.longBridgeFieldMargin, grow: false)
                })
            }
            guard let core = fieldCore ?? nil else { return true }
            let x = Int(p.x.rounded()), y = Int(p.y.rounded())
            guard x >= 0, y >= 0, x < core.width, y < core.height else { return false }
            return core.bits[y * core.width + x] != 0
        }
        let paths = VesselPathBuilder.paths(from: graph, cost: cost, minimumLength: minimumSegmentLength, inFieldCore: inFieldCore)
        // A straight background edge hidden under a vessel (a tibia cortex the artery runs
        // along) is found from the vessel's own profiles and modelled in the background; the
        // image is then normalised again (HiddenEdgeFinder, docs/qca.md section 2).
        // ANGIO_NO_HIDDEN=1 (developer aid, for before/after comparisons) turns this off.
        var vessels = analyzer.prepareVessels(paths)
        var debugNotes: [String] = []
        // A lumen painted with uniform depth instead of a cylinder's, or intensity already
        // log-encoded (see VesselAnalyzer.preferredLumenForm): measure everything in that form.
        var measuringParameters = parameters
        let form = analyzer.preferredLumenForm(vessels)
        debugNotes.append("lumen form: shape exponent \(form.shapeExponent), \(form.attenuationLaw.rawValue) law, from \(form.blocks) wide blocks; "
                          + "median residual ratios uniform depth \(String(format: "%.3f", form.uniformDepthRatio)), "
                          + "linear law \(String(format: "%.3f", form.linearLawRatio))")
        if form.shapeExponent != parameters.lumenShapeExponent {
            warnings.append("vessel profiles have a uniform depth across the lumen (as painted in some phantoms) rather than a "
                            + "contrast-filled cylinder's: lumens measured with a uniform-depth model")
        }
        if form.attenuationLaw != parameters.lumenAttenuationLaw {
            warnings.append("vessel contrast grows in proportion to the path length through the lumen (log-encoded intensity, "
                            + "or a phantom drawn that way) rather than by Beer–Lambert attenuation of detector-linear "
                            + "intensity: lumens measured with a linear attenuation law")
        }
        if form.shapeExponent != parameters.lumenShapeExponent || form.attenuationLaw != parameters.lumenAttenuationLaw {
            measuringParameters.lumenShapeExponent = form.shapeExponent
            measuringParameters.lumenAttenuationLaw = form.attenuationLaw
            analyzer = VesselAnalyzer(image: normalized.image, parameters: measuringParameters, threads: options.threads,
                                      backgroundCurvature: normalized.curvature)
            vessels = analyzer.prepareVessels(paths)
        }
        let debugDirectory = ProcessInfo.processInfo.environment["ANGIO_DEBUG_MEASUREMENTS"]
        if parameters.findHiddenEdges, !paths.isEmpty, ProcessInfo.processInfo.environment["ANGIO_NO_HIDDEN"] == nil {
            let hidden = analyzer.hiddenEdges(rawImage: image, paths: paths, psfSigma: vessels.estimate.psfSigma)
            func analyzerModelling(_ edges: [HiddenEdge]) -> VesselAnalyzer {
                let renormalized = BackgroundNormalization.normalizeWithEdges(image, vesselMask: segmentation.mask,
                                                                              threads: options.threads, hidden: edges)
                return VesselAnalyzer(image: renormalized.image, parameters: measuringParameters, threads: options.threads,
                                      backgroundCurvature: renormalized.curvature)
            }
            if !hidden.isEmpty {
                let modelled = analyzerModelling(hidden)
                let modelledVessels = modelled.prepareVessels(paths)
                // Kept only where modelling the edge made the vessel's fits near it better: a
                // wrong edge (a diaphragm dome, a marrow edge) makes them worse.
                let kept = hidden.filter {
                    let ratio = VesselAnalyzer.residualRatio(near: $0, before: vessels, after: modelledVessels) ?? .infinity
                    debugNotes.append("hidden \($0) residual ratio \(String(format: "%.3f", ratio))")
                    return ratio <= parameters.hiddenEdgeMaximumResidualRatio
                }
                if kept.count == hidden.count {
                    analyzer = modelled
                    vessels = modelledVessels
                } else if !kept.isEmpty {
                    analyzer = analyzerModelling(kept)
                    vessels = analyzer.prepareVessels(paths)
                }
            }
        }

        var measurements: [VesselMeasurement] = []
        var lesions: [Lesion] = []
        var estimate: ImagingEstimate
        func checkInside(_ point: Point2D, option: String) throws(AnalysisFailure) {
            guard point.x >= 0, point.y >= 0, point.x <= Double(image.width - 1), point.y <= Double(image.height - 1) else {
                throw AnalysisFailure(code: "invalidOptions",
                                      message: "\(fileName): \(option) point (\(point.x), \(point.y)) is outside the \(image.width)x\(image.height) image")
            }
        }

        if let segment = options.segment {
            try checkInside(segment.start, option: "--segment")
            try checkInside(segment.end, option: "--segment")
            estimate = vessels.estimate
            guard let route = segmentRoute(cost: cost(), from: segment.start, to: segment.end), route.count >= 2 else {
                throw AnalysisFailure(code: "segmentNotFound",
                                      message: "\(fileName): no vessel path between the --segment points (\(segment.start.x), \(segment.start.y)) and (\(segment.end.x), \(segment.end.y))")
            }
            let path = VesselPath(id: 0, points: route, startKind: .userPoint, endKind: .userPoint)
            if debugDirectory != nil {
                debugNotes.append("segment route " + route.map { String(format: "(%.1f,%.1f)", $0.x, $0.y) }.joined(separator: " "))
            }
            guard let measurement = analyzer.measure(path, estimate: estimate), measurement.valid.contains(true) else {
                throw AnalysisFailure(code: "segmentNotFound",
                                      message: "\(fileName): the path between the --segment points is too short or shows no measurable vessel")
            }
            measurements = [measurement]
            lesions = LesionFinder.segmentLesions(measurement, parameters: parameters, maxCount: options.maxLesions)
        } else {
            let result = analyzer.measure(vessels)
            measurements = result.measurements
            estimate = result.estimate
            // Developer aid: ANGIO_DEBUG_MEASUREMENTS=DIR also traces every lesion candidate.
            var traceLines: [String] = []
            lesions = LesionFinder.findLesions(in: measurements, parameters: parameters, maxCount: options.maxLesions,
                                               trace: debugDirectory == nil ? nil : { traceLines.append($0) })
            if let debugDirectory {
                try? (traceLines.joined(separator: "\n") + "\n").write(
                    toFile: (debugDirectory as NSString).appendingPathComponent("\(fileName).lesions.txt"), atomically: true, encoding: .utf8)
            }
            if paths.isEmpty { warnings.append("no vessel segment long enough to measure was found") }
        }

        var inputs = inputs
        if let catheter = options.catheter {
            try checkInside(catheter.start, option: "--catheter")
            try checkInside(catheter.end, option: "--catheter")
            guard let route = MinimalPath.find(cost: cost(), from: catheter.start, to: catheter.end), route.count >= 2 else {
                throw AnalysisFailure(code: "catheterNotFound",
                                      message: "\(fileName): no catheter path between the --catheter points")
            }
            let path = VesselPath(id: -1, points: route, startKind: .userPoint, endKind: .userPoint)
            guard let measured = analyzer.measure(path, estimate: estimate, freeAttenuation: true),
                  let width = CatheterWidth.estimate(measured) else {
                throw AnalysisFailure(code: "catheterNotFound",
                                      message: "\(fileName): the catheter between the --catheter points could not be measured")
            }
            inputs.catheter = CatheterCalibrationInput(frenchSize: catheter.frenchSize, measuredDiameterPixels: width.diameter,
                                                       measuredDiameterUncertaintyPixels: width.uncertainty)
        }
        let calibration = CalibrationResolver.resolve(inputs)
        warnings.append(contentsOf: calibration.warnings)
        if let directory = debugDirectory {
            // The image as measured (background divided out), as raw little-endian Float32.
            let normalizedData = analyzer.image.pixels.withUnsafeBufferPointer { Data(buffer: $0) }
            try? normalizedData.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(
                "\(fileName).normalized.\(analyzer.image.width)x\(analyzer.image.height).f32")))
            writeDebugFiles(directory: directory, fileName: fileName, measurements: measurements, graph: graph,
                            paths: paths, notes: debugNotes + ["psf sigma \(estimate.psfSigma)"])
        }
        return ImageAnalysis(measurements: measurements, lesions: lesions, calibration: calibration,
                             mask: segmentation.mask, centerlines: graph, warnings: warnings,
                             psfSigma: estimate.psfSigma, vesselnessSeconds: vesselnessSeconds, measureSeconds: clock.lap())
    }

    /// Developer aid (`ANGIO_DEBUG_MEASUREMENTS=DIR`, never used by the product): every measured
    /// path's diameter function as CSV (DIR/<file>.m<index>.csv), and the skeleton graph, the
    /// paths built from it and `notes` (hidden edges, PSF) as DIR/<file>.graph.txt.
    static func writeDebugFiles(directory: String, fileName: String, measurements: [VesselMeasurement],
                                graph: CenterlineGraph, paths: [VesselPath], notes: [String]) {
        for (index, m) in measurements.enumerated() {
            var text = "i,x,y,arc,raw,diameter,reference,uncertainty,valid,reason,junction,psf\n"
            for i in m.diameter.indices {
                let fields: [String] = [
                    "\(i)", String(format: "%.2f", m.centerline[i].x), String(format: "%.2f", m.centerline[i].y),
                    String(format: "%.2f", m.arcLength[i]), String(format: "%.3f", m.rawDiameter[i]),
                    String(format: "%.3f", m.diameter[i]),
                    String(format: "%.3f", m.referenceDiameter.indices.contains(i) ? m.referenceDiameter[i] : .nan),
                    String(format: "%.3f", m.diameterUncertainty.indices.contains(i) ? m.diameterUncertainty[i] : .nan),
                    m.valid[i] ? "1" : "0",
                    "\(m.rejectionReasons.indices.contains(i) ? m.rejectionReasons[i] : 0)",
                    (m.junctionZone.indices.contains(i) && m.junctionZone[i]) ? "1" : "0",
                    String(format: "%.3f", m.psfSigma)]
                text += fields.joined(separator: ",") + (m.measurableRange.contains(i) ? "" : ",outside") + "\n"
            }
            let file = (directory as NSString).appendingPathComponent("\(fileName).m\(index).csv")
            try? text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        // The skeleton graph and the paths built from it.
        var graphText = "segment,length,startNode,startKind,endNode,endKind,x0,y0,x1,y1\n"
        for s in graph.segments {
            func kind(_ id: Int) -> String { graph.nodes.first { $0.id == id }?.kind.rawValue ?? "?" }
            let a = s.points.first ?? Point2D(x: 0, y: 0), b = s.points.last ?? a
            graphText += "\(s.id),\(String(format: "%.1f", s.length)),\(s.startNode),\(kind(s.startNode)),\(s.endNode),\(kind(s.endNode)),"
                + String(format: "%.1f,%.1f,%.1f,%.1f", a.x, a.y, b.x, b.y) + "\n"
        }
        for p in paths {
            let a = p.points.first ?? Point2D(x: 0, y: 0), b = p.points.last ?? a
            graphText += "path \(p.id) \(p.startKind) -> \(p.endKind) " + String(format: "(%.1f,%.1f) -> (%.1f,%.1f)", a.x, a.y, b.x, b.y)
                + " junctions " + p.interiorJunctions.map { String(format: "(%.1f,%.1f)", $0.x, $0.y) }.joined(separator: " ")
                + (p.longBridges.isEmpty ? "" : " long bridges " + p.longBridges.map { bridge in
                    let s = bridge.first ?? a, e = bridge.last ?? a
                    return String(format: "(%.1f,%.1f)-(%.1f,%.1f)", s.x, s.y, e.x, e.y) }.joined(separator: " ")) + "\n"
        }
        graphText += notes.map { $0 + "\n" }.joined()
        try? graphText.write(toFile: (directory as NSString).appendingPathComponent("\(fileName).graph.txt"),
                             atomically: true, encoding: .utf8)
    }

    /// The minimal-cost path between the user's points. A tight or faint lesion has a high
    /// cost (low vesselness), so the cheapest route can detour through other vessels around
    /// it (a loop through a crossing vessel): then the lesion itself is not measured. When the
    /// route is much longer than the straight distance, the search is repeated on the cost
    /// capped at `detourCostCap` (a faint lumen then costs no more than a short stretch of
    /// weak vessel) and the shorter route is taken when it is close to the straight line.
    static func segmentRoute(cost: GrayImage, from start: Point2D, to end: Point2D) -> [Point2D]? {
        guard let route = MinimalPath.find(cost: cost, from: start, to: end) else { return nil }
        let straight = hypot(end.x - start.x, end.y - start.y)
        guard VesselPathBuilder.polylineLength(route) > detourFactor * straight + 10 else { return route }
        let capped = cost.mapped { min($0, detourCostCap) }
        guard let direct = MinimalPath.find(cost: capped, from: start, to: end), direct.count >= 2,
              VesselPathBuilder.polylineLength(direct) <= 1.25 * straight + 10 else { return route }
        return direct
    }
    static let detourFactor = 1.5
    static let detourCostCap: Float = 20

    /// The JSON record of a successful analysis.
    public static func makeRecord(source: AnalysisRecord.Source, frame: AnalysisRecord.FrameInfo, analysis: ImageAnalysis,
                                  warnings: [String], options: AnalysisOptions, patient: AnalysisRecord.Patient?) -> AnalysisRecord {
        let calibration = analysis.calibration
        let info = AnalysisRecord.CalibrationInfo(
            mmPerPixel: calibration.mmPerPixel.map { AnalysisJSON.rounded($0, 6) }, source: calibration.source.rawValue,
            pixelSpacingCalibrationType: calibration.pixelSpacingCalibrationType,
            relativeUncertainty: calibration.relativeUncertainty.map { AnalysisJSON.rounded($0, 4) })
        let lesions = analysis.lesions.map { LesionRecordBuilder.record($0, calibration: calibration) }
        return AnalysisRecord(status: "ok", error: nil, source: source, frame: frame, calibration: info, lesions: lesions,
                              measuredSegments: analysis.measurements.count, warnings: warnings,
                              options: AnalysisRecord.OptionsEcho(options), patient: patient)
    }

    static func failure(path: String, code: String, message: String, options: AnalysisOptions, timings: StageTimings,
                        source: AnalysisRecord.Source? = nil, warnings: [String] = []) -> AnalysisOutcome {
        AnalysisOutcome(record: AnalysisRecord.failure(path: path, code: code, message: message, options: options,
                                                       source: source, warnings: warnings),
                        visual: nil, timings: timings)
    }
}

/// Lesion -> JSON lesion object (rounded: 4 decimals for px/mm, 2 for percentages).
public enum LesionRecordBuilder {
    public static func record(_ lesion: Lesion, calibration: Calibration) -> AnalysisRecord.LesionRecord {
        func length(_ px: Double) -> AnalysisRecord.Length {
            AnalysisRecord.Length(px: AnalysisJSON.rounded(px, 4), mm: calibration.mmPerPixel.map { AnalysisJSON.rounded(px * $0, 4) })
        }
        // Uncertainty in mm combines the pixel uncertainty with the calibration's relative one.
        func uncertainty(_ px: Double, value: Double) -> AnalysisRecord.Length {
            let mm = calibration.mmPerPixel.map { scale -> Double in
                let relative = calibration.relativeUncertainty ?? 0
                let a = px * scale, b = value * scale * relative
                return AnalysisJSON.rounded((a * a + b * b).squareRoot(), 4)
            }
            return AnalysisRecord.Length(px: AnalysisJSON.rounded(px, 4), mm: mm)
        }
        func position(_ p: Point2D) -> AnalysisRecord.Position {
            AnalysisRecord.Position(x: AnalysisJSON.rounded(p.x, 2), y: AnalysisJSON.rounded(p.y, 2))
        }
        return AnalysisRecord.LesionRecord(
            rank: lesion.rank, segmentId: lesion.segmentId,
            percentDiameterStenosis: AnalysisJSON.rounded(lesion.percentDiameterStenosis, 2),
            percentAreaStenosis: AnalysisJSON.rounded(lesion.percentAreaStenosis, 2),
            minimalLumenDiameter: length(lesion.minimalLumenDiameter),
            referenceDiameter: length(lesion.referenceDiameter),
            lesionLength: length(lesion.length),
            location: position(lesion.mldPosition), start: position(lesion.startPosition), end: position(lesion.endPosition),
            uncertainty: AnalysisRecord.LesionUncertainty(
                minimalLumenDiameter: uncertainty(lesion.minimalLumenDiameterUncertainty, value: lesion.minimalLumenDiameter),
                referenceDiameter: uncertainty(lesion.referenceDiameterUncertainty, value: lesion.referenceDiameter),
                percentDiameterStenosis: AnalysisJSON.rounded(lesion.percentDiameterStenosisUncertainty, 2)))
    }
}

/// Catheter width from its measured profile: median of the valid raw diameters, with the
/// standard error of that median as uncertainty.
enum CatheterWidth {
    static func estimate(_ measurement: VesselMeasurement) -> (diameter: Double, uncertainty: Double)? {
        let range = measurement.measurableRange.isEmpty ? 0..<measurement.diameter.count : measurement.measurableRange
        let values = range.filter { measurement.valid[$0] }.map { measurement.rawDiameter[$0] }.filter { $0 > 0 }.sorted()
        guard values.count >= 5 else { return nil }
        let median = values[values.count / 2]
        let deviations = values.map { abs($0 - median) }.sorted()
        let spread = 1.4826 * deviations[deviations.count / 2]
        // Profiles 0.5 px apart overlap: about one independent profile per 1.5 px.
        let independent = max(1.0, Double(values.count) * 0.5 / 1.5)
        return (median, 1.2533 * spread / independent.squareRoot())
    }
}

/// Monotonic lap timer.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds
    init() {}
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}
