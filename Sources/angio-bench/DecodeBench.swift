import AngioDICOM
import Foundation

/// `angio-bench decode --file F [--threads T] [--repeat K]`: opens F and decodes every frame to
/// stored values, K times; prints one JSON line with the median wall time of one full pass
/// (open + all frames) and the time per frame. With T > 1 the frames are split into T
/// contiguous bands decoded concurrently (AngiogramFile gives each worker its own DCMTK handle).
func runDecodeBench(_ arguments: [String]) -> Int32 {
    var file: String?
    var threads = 1
    var repeats = 5
    var index = 0
    func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data(
            "angio-bench decode: \(message)\nusage: angio-bench decode --file F [--threads T] [--repeat K]\n".utf8))
        return 2
    }
    while index < arguments.count {
        let argument = arguments[index]
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch argument {
        case "--file": file = value; index += 2
        case "--threads":
            guard let text = value, let parsed = Int(text), parsed >= 1 else { return fail("--threads needs a positive integer") }
            threads = parsed; index += 2
        case "--repeat":
            guard let text = value, let parsed = Int(text), parsed >= 1 else { return fail("--repeat needs a positive integer") }
            repeats = parsed; index += 2
        default: return fail("unknown argument '\(argument)'")
        }
    }
    guard let file else { return fail("--file is required") }

    var times: [Double] = []
    var frameCount = 0, width = 0, height = 0
    var checksum: Int64 = 0
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = decodeAllFrames(path: file, threads: threads)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        switch outcome {
        case .failure(let error):
            FileHandle.standardError.write(Data("angio-bench decode: \(error.message)\n".utf8))
            return 1
        case .success(let result):
            frameCount = result.frames
            width = result.width
            height = result.height
            checksum = result.checksum
        }
        times.append(seconds)
    }
    times.sort()
    let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    let line: [String: Any] = [
        "workload": "decode",
        "file": (file as NSString).lastPathComponent,
        "size": "\(width)x\(height)",
        "frames": frameCount,
        "threads": threads,
        "repeat": repeats,
        "medianSeconds": (median * 1e6).rounded() / 1e6,
        "minSeconds": ((times.first ?? 0) * 1e6).rounded() / 1e6,
        "perFrameMs": (median * 1e3 / Double(max(frameCount, 1)) * 1e4).rounded() / 1e4,
        "checksum": checksum,
    ]
    if let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) {
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
    return 0
}

private struct DecodePass: Sendable {
    var frames: Int
    var width: Int
    var height: Int
    /// Sum of all stored values: proves every frame was decoded, identical for any thread count.
    var checksum: Int64
}

private func decodeAllFrames(path: String, threads: Int) -> Result<DecodePass, DICOMError> {
    let file: AngiogramFile
    do {
        file = try AngiogramFile(path: path)
    } catch {
        return .failure(error)
    }
    let count = file.frameCount
    let workers = max(1, min(threads, count))
    var sums = [Int64](repeating: 0, count: count)
    var errors = [DICOMError?](repeating: nil, count: count)
    sums.withUnsafeMutableBufferPointer { sumBuffer in
        errors.withUnsafeMutableBufferPointer { errorBuffer in
            nonisolated(unsafe) let sumOutput = sumBuffer
            nonisolated(unsafe) let errorOutput = errorBuffer
            let work: @Sendable (Int) -> Void = { worker in
                // Contiguous bands of frames; each worker writes only its own slots.
                let first = worker * count / workers, last = (worker + 1) * count / workers
                for frame in first..<last {
                    do throws(DICOMError) {
                        let values = try file.storedFrame(frame).values
                        var sum: Int64 = 0
                        for value in values { sum &+= Int64(value) }
                        sumOutput[frame] = sum
                    } catch {
                        errorOutput[frame] = error
                    }
                }
            }
            if workers == 1 {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers, execute: work)
            }
        }
    }
    if let error = errors.compactMap({ $0 }).first { return .failure(error) }
    return .success(DecodePass(frames: count, width: file.columns, height: file.rows,
                               checksum: sums.reduce(0, &+)))
}
