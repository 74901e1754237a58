import ArgumentParser
import AngioPipeline
import Foundation

/// `angio accuracy`: QCA accuracy on random phantoms, side by side with published phantom
/// validations of commercial QCA.
struct AccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accuracy",
        abstract: "Measure QCA accuracy on random phantoms of known geometry (DICOM round trip).",
        discussion: """
        Renders --count random phantoms (0.16 mm/px, reference 1.5-3.5 mm, 0-85 % stenosis, \
        quantum noise, focal-spot blur, anatomical background; variants MONOCHROME1, 8-bit, \
        JPEG-LS, JPEG baseline, normal vessels and pre/post pairs), writes each as DICOM, \
        analyses it and compares with the truth. Deterministic for a given --count, --seed and \
        --size whatever the number of threads. See docs/qca.md.
        """)

    @Option(help: "Number of phantoms.") var count: Int = 120
    @Option(help: "First seed (phantom i uses seed + i).") var seed: UInt64 = 1
    @Option(help: "Phantom width and height in pixels.") var size: Int = 384
    @Option(help: "Write the per-phantom results and summary as JSON to this file.") var out: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("only-seed"), parsing: .upToNextOption,
            help: "Re-run only these seeds of the study (each with its variant in the full study).")
    var onlySeeds: [UInt64] = []

    func validate() throws {
        if !(1...10_000).contains(count) { throw ValidationError("--count must be in 1...10000, got \(count)") }
        if !(192...2048).contains(size) { throw ValidationError("--size must be in 192...2048, got \(size)") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be in 1...256, got \(threads)") }
        for only in onlySeeds where only < seed || only - seed >= UInt64(count) {
            throw ValidationError("--only-seed \(only) is not in the study (seeds \(seed)...\(seed + UInt64(count) - 1))")
        }
    }

    func run() throws {
        let keep = ProcessInfo.processInfo.environment["ANGIO_ACCURACY_KEEP"] != nil
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(keep ? "angio-accuracy-kept" : "angio-accuracy-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: work) } }
        let only = onlySeeds.isEmpty ? nil : onlySeeds.map { Int($0 - seed) }
        let study = AccuracyStudy(count: count, seed: seed, size: size, threads: threads, onlyIndices: only)
        let cases = study.run(workDirectory: work.path)
        let summary = AccuracyStudy.summarize(cases)
        print(Self.report(summary))
        for failure in cases where failure.error != nil {
            print("  phantom seed \(failure.seed) (\(failure.variant.name)) failed: \(failure.error ?? "")")
        }
        if let out {
            struct Output: Encodable { var summary: AccuracyStudy.Summary; var cases: [AccuracyStudy.Case] }
            do {
                try AnalysisJSON.encode(Output(summary: summary, cases: cases)).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                FileHandle.standardError.write(Data("angio accuracy: cannot write \(out): \(error.localizedDescription)\n".utf8))
                throw ExitCode(1)
            }
        }
        if summary.failures > 0 { throw ExitCode(1) }
    }

    static func report(_ s: AccuracyStudy.Summary) -> String {
        func f(_ v: Double, _ digits: Int = 3) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "n/a" }
        func signed(_ v: Double) -> String { v.isFinite ? String(format: "%+.3f", v) : "n/a" }
        var lines: [String] = []
        lines.append("angio QCA accuracy on \(s.phantoms) phantoms (\(s.failures) failed)")
        lines.append("")
        lines.append("measure                                   angio                     published phantom studies")
        lines.append("MLD error, segment mode (>= 0.5 mm)       \(signed(s.mldErrorMeanMm)) +- \(f(s.mldErrorSDMm)) mm (n=\(s.mldCount))   CAAS II ~ -0.07 +- 0.14 mm (Haase et al. 1993)")
        lines.append("MLD error, automatic rank-1 lesion        \(signed(s.autoMLDErrorMeanMm)) +- \(f(s.autoMLDErrorSDMm)) mm (n=\(s.autoMLDCount))   10 QCA systems: accuracy ~ -0.2..+0.2 mm,")
        lines.append("                                                                              precision ~ 0.1-0.3 mm (Keane et al. 1995)")
        lines.append("%DS abs error median / worst              \(f(s.percentDSMedianAbsError, 2)) / \(f(s.percentDSWorstAbsError, 2)) points")
        lines.append("rank-1 within 2 mm (true %DS >= 30 %)     \(f(s.localisationRate * 100, 1)) % of \(s.localisationCount)")
        lines.append("normal vessels with a lesion > 15 %       \(s.normalWithFalseLesion) of \(s.normalVessels)")
        lines.append("acute gain error                          \(signed(s.acuteGainErrorMeanMm)) +- \(f(s.acuteGainErrorSDMm)) mm, worst \(f(s.acuteGainWorstAbsErrorMm)) mm (n=\(s.acuteGainCount))")
        lines.append("")
        lines.append("MLD mean error by variant (segment mode):")
        for (name, value) in s.mldErrorMeanByVariant.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(signed(value)) mm")
        }
        lines.append("")
        lines.append("Targets: MLD mean within +-0.05 mm, SD <= 0.10 mm; %DS median <= 3, worst <= 6 points;")
        lines.append("localisation >= 95 %; no lesion > 15 % on normal vessels; acute gain within 0.1 mm.")
        lines.append("Published figures are approximate, from phantom validations: Haase J, Keane D, et al.,")
        lines.append("Cathet Cardiovasc Diagn 1993 (CAAS II); Keane D, Haase J, Slager CJ, et al., Circulation 1995;91:2174-83.")
        return lines.joined(separator: "\n")
    }
}
