import AngioPhantom
import AngioPipeline
import ArgumentParser
import Foundation

/// `angio phantom --out FILE.dcm [--truth FILE.json] ...`: a synthetic XA run of known geometry.
struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Write a synthetic angiogram of known geometry (DICOM) and its ground truth (JSON).",
        discussion: """
            The vessel layout depends on --seed, --anatomy, --size, --diameter and the lesion's \
            position and length, never on the stenosis severity, noise, encoding or \
            calibration: runs differing only in those show the same artery. A pre/post dilation \
            pair: `angio phantom --seed 5 --stenosis 75 --out pre.dcm --truth pre.json` then \
            `angio phantom --post-of pre.json --stenosis 20 --out post.dcm --truth post.json` \
            (same patient, study and vessel; new series, independent noise). \
            --spec FILE renders a full PhantomSpec JSON (see docs/phantom.md); --print-spec \
            prints the spec that would be rendered. Exit status: 0 written, 1 write failed, 2 bad options.
            """)

    @Option(name: .long, help: "Output DICOM file.")
    var out: String?

    @Option(name: .long, help: "Output truth JSON file.")
    var truth: String?

    @Option(name: .long, help: "Seed (unsigned 64-bit integer). Default 1.")
    var seed: UInt64?

    @Option(name: .long, help: "Vessel layout: coronary or peripheral. Default coronary.")
    var anatomy: String?

    @Option(name: .long, help: "Image width and height in pixels (16...4096). Default 512.")
    var size: Int?

    @Option(name: .customLong("mm-per-pixel"), help: "True object-plane pixel size in mm. Default 0.16.")
    var mmPerPixel: Double?

    @Option(name: .long, help: "Reference diameter of the main vessel at its start, mm. Default 3.0.")
    var diameter: Double?

    @Option(name: .long, help: "Percent diameter stenosis of the main vessel (0...95). Default 50.")
    var stenosis: Double?

    @Option(name: .customLong("lesion-length"), help: "Lesion length in mm. Default 8.")
    var lesionLength: Double?

    @Option(name: .customLong("lesion-position"), help: "Lesion centre as a fraction (0...1) of the main vessel's length. Default: from the seed.")
    var lesionPosition: Double?

    @Option(name: .long, help: "Lesion eccentricity -1...1 (0 concentric, 1 one wall flat). Default 0.")
    var eccentricity: Double?

    @Option(name: .customLong("lesion-shape"), help: "Longitudinal lesion profile: cosine or flat-neck. Default cosine.")
    var lesionShape: String?

    @Option(name: .long, help: "Diameter taper in mm per mm of length. Default 0.")
    var taper: Double?

    @Option(name: .long, help: "Number of side branches of the main vessel (0...4). Default 1.")
    var branches: Int?

    @Flag(name: .long, help: "Add a vessel crossing the main one (overlap at a different depth).")
    var crossing = false

    @Option(name: .long, help: "Guide catheter French size (3...12), or 'none'. Default 6.")
    var catheter: String?

    @Option(name: .long, help: "Quantum noise: photons per pixel of the open beam (e.g. 4000), a relative SD at the background (0.02 or 2%), or 'none'. Default 4000.")
    var noise: String?

    @Option(name: .long, help: "Focal-spot blur sigma in pixels. Default 1.0.")
    var blur: Double?

    @Option(name: .long, help: "Bits stored (8...16). Default 12.")
    var bits: Int?

    @Option(name: .long, help: "MONOCHROME2 (vessels dark) or MONOCHROME1 (inverted). Default MONOCHROME2.")
    var photometric: String?

    @Option(name: .long, help: "Stored intensity: linear (proportional to transmission) or log. Default linear.")
    var encoding: String?

    @Option(name: .long, help: "Number of frames; > 1 makes a cine run with contrast wash-in. Default 1.")
    var frames: Int?

    @Option(name: .customLong("frame-time"), help: "Frame time in ms for cine runs. Default 66.7.")
    var frameTime: Double?

    @Option(name: .long, help: "Calibration tags: pixel-spacing, imager-magnification, imager-distances or none. Default imager-magnification.")
    var calibration: String?

    @Option(name: .long, help: "Magnification for --calibration imager-magnification. Default 1.2.")
    var magnification: Double?

    @Option(name: .long, help: "Source-detector distance (mm) for --calibration imager-distances. Default 1000.")
    var sid: Double?

    @Option(name: .long, help: "Source-patient (isocentre) distance (mm) for --calibration imager-distances. Default 750.")
    var sod: Double?

    @Option(name: .customLong("transfer-syntax"), help: "explicit, implicit, rle, jpeg-lossless, jpeg-ls, jpeg-ls-near, jpeg-baseline (8-bit only) or jpeg-extended (12-bit only). Default explicit.")
    var transferSyntax: String?

    @Option(name: .customLong("truth-spacing"), help: "Spacing of the truth centreline samples in pixels (0.05...10). Default 0.5.")
    var truthSpacing: Double?

    @Flag(name: .customLong("no-background"), help: "Flat background (no anatomy).")
    var noBackground = false

    @Flag(name: .long, help: "Add collimator shutters (a dark rounded-octagon border) as on cardiac systems.")
    var collimator = false

    @Flag(name: .long, help: "Draw every parameter from the accuracy-study ranges (seeded).")
    var random = false

    @Option(name: .long, help: "Render this PhantomSpec JSON instead of the options above.")
    var spec: String?

    @Option(name: .customLong("post-of"), help: "Truth JSON of a pre-dilation run: same patient, study and vessel; --stenosis sets the residual stenosis.")
    var postOf: String?

    @Flag(name: .customLong("print-spec"), help: "Print the spec JSON to stdout (with --out, after writing).")
    var printSpec = false

    /// Scenario options that conflict with --spec / --post-of.
    private var scenarioOptionsGiven: [String] {
        var given: [String] = []
        if anatomy != nil { given.append("--anatomy") }
        if size != nil { given.append("--size") }
        if mmPerPixel != nil { given.append("--mm-per-pixel") }
        if diameter != nil { given.append("--diameter") }
        if lesionLength != nil { given.append("--lesion-length") }
        if lesionPosition != nil { given.append("--lesion-position") }
        if eccentricity != nil { given.append("--eccentricity") }
        if lesionShape != nil { given.append("--lesion-shape") }
        if taper != nil { given.append("--taper") }
        if branches != nil { given.append("--branches") }
        if crossing { given.append("--crossing") }
        if catheter != nil { given.append("--catheter") }
        if noise != nil { given.append("--noise") }
        if blur != nil { given.append("--blur") }
        if bits != nil { given.append("--bits") }
        if photometric != nil { given.append("--photometric") }
        if encoding != nil { given.append("--encoding") }
        if frames != nil { given.append("--frames") }
        if frameTime != nil { given.append("--frame-time") }
        if calibration != nil { given.append("--calibration") }
        if magnification != nil { given.append("--magnification") }
        if sid != nil { given.append("--sid") }
        if sod != nil { given.append("--sod") }
        if noBackground { given.append("--no-background") }
        if collimator { given.append("--collimator") }
        return given
    }

    func validate() throws {
        if out == nil && !printSpec { throw ValidationError("give --out FILE.dcm (or --print-spec)") }
        let sources = [spec != nil, postOf != nil, random].filter { $0 }.count
        if sources > 1 { throw ValidationError("--spec, --post-of and --random exclude each other") }
        if spec != nil || postOf != nil {
            let conflicting = scenarioOptionsGiven + (spec != nil && stenosis != nil ? ["--stenosis"] : [])
                + (seed != nil ? ["--seed"] : [])
            if !conflicting.isEmpty {
                throw ValidationError("\(spec != nil ? "--spec" : "--post-of") cannot be combined with \(conflicting.joined(separator: ", "))")
            }
        }
        if postOf != nil && stenosis == nil {
            throw ValidationError("--post-of needs --stenosis (the residual stenosis after dilation)")
        }
        if random {
            let conflicting = scenarioOptionsGiven.filter { !["--size", "--mm-per-pixel", "--bits", "--photometric", "--encoding", "--frames", "--frame-time", "--calibration", "--magnification", "--sid", "--sod"].contains($0) }
                + (stenosis != nil ? ["--stenosis"] : [])
            if !conflicting.isEmpty {
                throw ValidationError("--random draws the geometry itself; remove \(conflicting.joined(separator: ", "))")
            }
        }
        if let transferSyntax, !PhantomGenerator.transferSyntaxNames.contains(transferSyntax) {
            throw ValidationError("--transfer-syntax '\(transferSyntax)' is not one of \(PhantomGenerator.transferSyntaxNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        let phantomSpec = try buildSpec()
        let rendering: PhantomRendering
        do {
            rendering = try PhantomGenerator.render(phantomSpec)
        } catch {
            throw ValidationError(error.description)
        }
        if let out {
            do {
                try PhantomWriter.write(rendering, spec: phantomSpec, to: out, truthPath: truth)
            } catch {
                FileHandle.standardError.write(Data("angio phantom: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
        }
        if printSpec {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(phantomSpec))
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
        if let out {
            FileHandle.standardError.write(Data((summary(rendering, path: out) + "\n").utf8))
        }
    }

    private func summary(_ rendering: PhantomRendering, path: String) -> String {
        let s = rendering.spec
        var text = "wrote \(path): \(s.width)x\(s.height), \(s.frames) frame\(s.frames == 1 ? "" : "s"), \(s.bitsStored)-bit \(s.photometric.rawValue), \(s.transferSyntax), calibration \(s.calibration.kindName)"
        if let lesion = rendering.truth.vessels.first?.stenosis {
            text += String(format: "; MLD %.3f mm, reference %.3f mm, DS %.1f %%", lesion.mldMm,
                           lesion.referenceDiameterAtMldMm, lesion.percentDiameterStenosis)
        }
        if let truth { text += "; truth \(truth)" }
        return text
    }

    // MARK: - Spec assembly

    func buildSpec() throws -> PhantomSpec {
        if let spec {
            var result = try decode(PhantomSpec.self, from: spec, what: "spec")
            if let transferSyntax { result.transferSyntax = transferSyntax }
            if let truthSpacing { result.truthSampleSpacingPx = truthSpacing }
            return try validated(result)
        }
        if let postOf {
            let pre = try decode(PhantomTruth.self, from: postOf, what: "pre-dilation truth")
            var result = pre.spec
            guard !result.vessels.isEmpty, result.vessels[0].stenosis != nil else {
                throw ValidationError("\(postOf): the pre-dilation run has no stenosis to dilate")
            }
            let residual = stenosis ?? 0
            guard residual.isFinite, (0...95).contains(residual) else {
                throw ValidationError("--stenosis must be 0...95 (got \(residual))")
            }
            result.vessels[0].stenosis?.percentDiameter = residual
            result.studySeed = pre.spec.effectiveStudySeed
            result.noiseSeed = pre.spec.effectiveNoiseSeed &+ 1
            result.seriesNumber = pre.spec.seriesNumber + 1
            if let transferSyntax { result.transferSyntax = transferSyntax }
            if let truthSpacing { result.truthSampleSpacingPx = truthSpacing }
            return try validated(result)
        }
        let seedValue = seed ?? 1
        var scenario = PhantomScenario()
        var result: PhantomSpec
        if random {
            var options = RandomPhantomOptions()
            if let size { options.size = size }
            if let mmPerPixel { options.mmPerPixel = mmPerPixel }
            try checkScenarioRanges()
            result = PhantomGenerator.randomSpec(seed: seedValue, options: options)
        } else {
            try checkScenarioRanges()
            if let anatomy {
                guard let value = PhantomAnatomy(rawValue: anatomy) else {
                    throw ValidationError("--anatomy must be coronary or peripheral (got '\(anatomy)')")
                }
                scenario.anatomy = value
            }
            if let size { scenario.size = size }
            if let mmPerPixel { scenario.mmPerPixel = mmPerPixel }
            if let diameter { scenario.diameterMm = diameter }
            if let stenosis { scenario.stenosisPercent = stenosis }
            if let lesionLength { scenario.lesionLengthMm = lesionLength }
            scenario.lesionPosition = lesionPosition
            if let eccentricity { scenario.eccentricity = eccentricity }
            if let lesionShape {
                switch lesionShape {
                case "cosine": scenario.lesionShape = .cosine
                case "flat-neck", "flatNeck": scenario.lesionShape = .flatNeck
                default: throw ValidationError("--lesion-shape must be cosine or flat-neck (got '\(lesionShape)')")
                }
            }
            if let taper { scenario.taperMmPerMm = taper }
            if let branches { scenario.branches = branches }
            scenario.crossing = crossing
            if let catheter {
                if catheter == "none" || catheter == "0" {
                    scenario.catheterFrench = nil
                } else if let french = Double(catheter), french.isFinite, (3...12).contains(french) {
                    scenario.catheterFrench = french
                } else {
                    throw ValidationError("--catheter must be a French size 3...12 or 'none' (got '\(catheter)')")
                }
            }
            if let noise { scenario.noise = try parseNoise(noise) }
            if let blur { scenario.blurSigmaPx = blur }
            scenario.background = !noBackground
            result = PhantomGenerator.spec(seed: seedValue, scenario: scenario)
            if collimator { result.background.collimator = true }
        }
        // Encoding options apply to --random too.
        if let bits { result.bitsStored = bits }
        if let photometric {
            guard let value = PhantomPhotometric(rawValue: photometric.uppercased()) else {
                throw ValidationError("--photometric must be MONOCHROME1 or MONOCHROME2 (got '\(photometric)')")
            }
            result.photometric = value
        }
        if let encoding {
            switch encoding {
            case "linear": result.intensityEncoding = .linear
            case "log", "logarithmic": result.intensityEncoding = .logarithmic
            default: throw ValidationError("--encoding must be linear or log (got '\(encoding)')")
            }
        }
        if let frames { result.frames = frames }
        if let frameTime { result.frameTimeMs = frameTime }
        if let calibration {
            switch calibration {
            case "pixel-spacing": result.calibration = .pixelSpacing
            case "imager-magnification": result.calibration = .imagerPixelSpacingWithMagnification(magnification ?? 1.2)
            case "imager-distances": result.calibration = .imagerPixelSpacingWithDistances(sid: sid ?? 1000, sod: sod ?? 750)
            case "none": result.calibration = .none
            default:
                throw ValidationError("--calibration must be pixel-spacing, imager-magnification, imager-distances or none (got '\(calibration)')")
            }
        } else if magnification != nil || sid != nil || sod != nil {
            if let magnification { result.calibration = .imagerPixelSpacingWithMagnification(magnification) }
            else { result.calibration = .imagerPixelSpacingWithDistances(sid: sid ?? 1000, sod: sod ?? 750) }
        }
        if let transferSyntax { result.transferSyntax = transferSyntax }
        if let truthSpacing { result.truthSampleSpacingPx = truthSpacing }
        if result.transferSyntax == "jpeg-baseline" && bits == nil { result.bitsStored = 8 }
        return try validated(result)
    }

    private func validated(_ spec: PhantomSpec) throws -> PhantomSpec {
        do {
            try PhantomGenerator.validate(spec)
        } catch {
            throw ValidationError(error.description)
        }
        return spec
    }

    private func checkScenarioRanges() throws {
        func check(_ value: Double?, _ name: String, _ range: ClosedRange<Double>) throws {
            if let value, !(value.isFinite && range.contains(value)) {
                throw ValidationError("\(name) must be \(range.lowerBound)...\(range.upperBound) (got \(value))")
            }
        }
        try check(mmPerPixel, "--mm-per-pixel", 0.01...5)
        try check(diameter, "--diameter", 0.2...20)
        try check(stenosis, "--stenosis", 0...95)
        try check(lesionLength, "--lesion-length", 0.5...200)
        try check(lesionPosition, "--lesion-position", 0...1)
        try check(eccentricity, "--eccentricity", -1...1)
        try check(taper, "--taper", 0...1)
        try check(blur, "--blur", 0...20)
        try check(frameTime, "--frame-time", 1...10_000)
        if let size, !(16...4096).contains(size) { throw ValidationError("--size must be 16...4096 (got \(size))") }
        if let branches, !(0...4).contains(branches) { throw ValidationError("--branches must be 0...4 (got \(branches))") }
        if let bits, !(8...16).contains(bits) { throw ValidationError("--bits must be 8...16 (got \(bits))") }
        if let frames, !(1...1000).contains(frames) { throw ValidationError("--frames must be 1...1000 (got \(frames))") }
    }

    private func parseNoise(_ text: String) throws -> PhantomNoise {
        if text == "none" || text == "0" { return .none }
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), percent.isFinite, percent > 0, percent <= 50 {
            return PhantomNoise(photonsPerPixel: nil, relativeSDAtBackground: percent / 100)
        }
        if let value = Double(text), value.isFinite {
            // Below one photon per pixel a count makes no sense: read 0 < x <= 0.5 as a relative SD.
            if value > 0 && value <= 0.5 { return PhantomNoise(photonsPerPixel: nil, relativeSDAtBackground: value) }
            if value >= 1 && value <= 1e9 { return PhantomNoise(photonsPerPixel: value) }
        }
        throw ValidationError("--noise must be photons per pixel (1...1e9), a relative SD (0.02 or 2%), or 'none' (got '\(text)')")
    }

    private func decode<T: Decodable>(_ type: T.Type, from path: String, what: String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("\(path): cannot read the \(what) file (\(error.localizedDescription))")
        }
        guard data.count <= 64 << 20 else { throw ValidationError("\(path): the \(what) file is larger than 64 MB") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw ValidationError("\(path): not a valid \(what) JSON: \(context.debugDescription)\(Self.codingPath(context.codingPath))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ValidationError("\(path): \(what) lacks '\(key.stringValue)'\(Self.codingPath(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ValidationError("\(path): \(what) has a wrong type: \(context.debugDescription)\(Self.codingPath(context.codingPath))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ValidationError("\(path): \(what) has a null value: \(context.debugDescription)\(Self.codingPath(context.codingPath))")
        } catch {
            throw ValidationError("\(path): not a valid \(what) JSON (\(error.localizedDescription))")
        }
    }

    private static func codingPath(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
