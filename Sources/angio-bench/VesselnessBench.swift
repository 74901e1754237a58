import Dispatch
import Foundation
import VesselCore

/// `angio-bench vesselness --size N --scales 1,2,3,4 --repeat K [--threads T] [--write-frame PATH]
///  [--write-response PATH]`
///
/// Times `Vesselness.frangi` (dark ridges, automatic c, sigma^2 normalisation) on a
/// deterministic synthetic N x N frame and prints one JSON line:
/// {"workload","size","threads","scales","repeat","medianSeconds","minSeconds","maxSeconds",
///  "medianCPUSeconds","megapixelsPerSecond","checksum"}. CPU seconds (all threads of the process)
/// are reported too because on a shared machine wall time also measures the other load. One untimed warm-up run precedes the K timed runs.
/// `--write-frame` also writes the frame as float32 little-endian raw so that
/// scripts/bench-vesselness.sh feeds exactly the same pixels to scikit-image and ITK;
/// `--write-response` writes the response computed with scikit-image's conventions
/// (unnormalised Hessian, `scaleNormalizationExponent = 0`) for the agreement check.
/// Returns the process exit code (2 on a usage error).
func runVesselnessBench(_ arguments: [String]) -> Int32 {
    var size = 1024, repeatCount = 10, threads: Int? = nil
    var scales: [Double] = [1, 2, 3, 4]
    var framePath: String?
    var responsePath: String?
    var index = 0
    func usage(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("""
            angio-bench vesselness: \(message)
            usage: angio-bench vesselness --size N --scales 1,2,3,4 --repeat K [--threads T] [--write-frame PATH] [--write-response PATH]

            """.utf8))
        return 2
    }
    while index < arguments.count {
        let flag = arguments[index]
        guard index + 1 < arguments.count else { return usage("missing value after \(flag)") }
        let value = arguments[index + 1]
        switch flag {
        case "--size":
            guard let n = Int(value), n >= 8, n <= 16_384 else { return usage("--size must be an integer in 8...16384, got '\(value)'") }
            size = n
        case "--repeat":
            guard let n = Int(value), n >= 1, n <= 10_000 else { return usage("--repeat must be in 1...10000, got '\(value)'") }
            repeatCount = n
        case "--threads":
            guard let n = Int(value), n >= 1, n <= 1024 else { return usage("--threads must be in 1...1024, got '\(value)'") }
            threads = n
        case "--scales":
            let parsed = value.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
                return usage("--scales must be a comma-separated list of positive numbers, got '\(value)'")
            }
            scales = parsed.compactMap { $0 }
        case "--write-frame":
            framePath = value
        case "--write-response":
            responsePath = value
        default:
            return usage("unknown option '\(flag)'")
        }
        index += 2
    }

    let frame = syntheticAngiogram(size: size)
    if let framePath {
        let data = frame.pixels.withUnsafeBufferPointer { Data(buffer: $0) } // little-endian on x86_64 / arm64
        do { try data.write(to: URL(fileURLWithPath: framePath)) } catch {
            FileHandle.standardError.write(Data("angio-bench vesselness: cannot write frame to \(framePath): \(error.localizedDescription)\n".utf8))
            return 1
        }
    }
    let parameters = VesselnessParameters(scales: scales, polarity: .darkOnBright)
    if let responsePath {
        var skimageConvention = parameters
        skimageConvention.scaleNormalizationExponent = 0
        let response = Vesselness.frangi(frame, parameters: skimageConvention, threads: threads).response
        let data = response.pixels.withUnsafeBufferPointer { Data(buffer: $0) }
        do { try data.write(to: URL(fileURLWithPath: responsePath)) } catch {
            FileHandle.standardError.write(Data("angio-bench vesselness: cannot write response to \(responsePath): \(error.localizedDescription)\n".utf8))
            return 1
        }
    }
    let threadCount = RowBands.threadCount(threads)
    var checksum = Vesselness.frangi(frame, parameters: parameters, threads: threadCount).response.pixels
        .reduce(0.0) { $0 + Double($1) } // warm-up (page faults, caches)
    var times: [Double] = [], cpuTimes: [Double] = []
    for _ in 0..<repeatCount {
        let cpuStart = processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = Vesselness.frangi(frame, parameters: parameters, threads: threadCount)
        let stop = DispatchTime.now().uptimeNanoseconds
        cpuTimes.append(processCPUSeconds() - cpuStart)
        times.append(Double(stop - start) / 1e9)
        checksum = Double(result.response.pixels[result.response.count / 3])
    }
    times.sort()
    cpuTimes.sort()
    let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    let scaleText = scales.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: ",")
    let megapixels = Double(size * size) / 1e6
    print("""
        {"workload":"vesselness","size":\(size),"threads":\(threadCount),"scales":"\(scaleText)",\
        "repeat":\(repeatCount),"medianSeconds":\(String(format: "%.6f", median)),\
        "minSeconds":\(String(format: "%.6f", times.first ?? 0)),"maxSeconds":\(String(format: "%.6f", times.last ?? 0)),\
        "medianCPUSeconds":\(String(format: "%.6f", cpuTimes[cpuTimes.count / 2])),\
        "megapixelsPerSecond":\(String(format: "%.1f", megapixels / median)),"checksum":\(String(format: "%.6g", checksum))}
        """)
    return 0
}

/// Deterministic synthetic angiogram: bright, slowly varying background with dark curved
/// Gaussian-profile vessels of several widths and hash-based uniform noise. Pure function of
/// `size`.
func syntheticAngiogram(size: Int) -> GrayImage {
    let n = Double(size)
    var pixels = [Float](repeating: 0, count: size * size)
    // (centre height as a fraction, amplitude, frequency, width px, depth)
    let vessels: [(Double, Double, Double, Double, Double)] = [
        (0.2, 0.05, 3, 2.0, 120), (0.35, 0.08, 5, 3.5, 160), (0.5, 0.04, 2, 6.0, 200),
        (0.65, 0.06, 7, 1.5, 90), (0.8, 0.03, 4, 4.5, 150),
    ]
    for y in 0..<size {
        let fy = Double(y)
        for x in 0..<size {
            let fx = Double(x)
            var value = 1500 + 300 * fx / n - 200 * fy / n + 100 * sin(fx / n * 4) * cos(fy / n * 3)
            for (centre, amplitude, frequency, width, depth) in vessels {
                let offset = fy - n * (centre + amplitude * sin(frequency * fx / n * 2 * .pi))
                if abs(offset) < 5 * width { value -= depth * exp(-offset * offset / (2 * width * width)) }
            }
            // Diagonal vessels crossing the others.
            let diagonal = (fx - fy * 0.7 - n * 0.2) / 1.22
            if abs(diagonal) < 20 { value -= 140 * exp(-diagonal * diagonal / 18) }
            var hash = UInt32(truncatingIfNeeded: x &* 73_856_093) ^ UInt32(truncatingIfNeeded: y &* 19_349_663)
            hash = (hash ^ (hash >> 13)) &* 0x5BD1_E995
            hash ^= hash >> 15
            value += (Double(hash & 0xFFFF) / 65_535 - 0.5) * 40
            pixels[y * size + x] = Float(value)
        }
    }
    return GrayImage(width: size, height: size, pixels: pixels)
}

/// CPU time consumed so far by this process, all threads (CLOCK_PROCESS_CPUTIME_ID).
func processCPUSeconds() -> Double {
    var spec = timespec()
    guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec) == 0 else { return 0 }
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
