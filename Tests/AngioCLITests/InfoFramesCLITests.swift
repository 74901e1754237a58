import AngioReport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end tests of `angio info` and `angio frames` on the shared corpus (skipped when absent).
final class InfoFramesCLITests: XCTestCase {
    private func corpus(_ relative: String) throws -> String {
        guard let root = CLIHarness.sharedCorpus else { throw XCTSkip("shared DICOM corpus not present") }
        return root.appendingPathComponent(relative).path
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testInfoPrintsOneSortedObjectWithoutPHI() throws {
        let path = try corpus("xa/rubo_0002_XA_cine96_JPEGBaseline.dcm")
        let result = try CLIHarness.run(["info", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try json(result.stdout) as? [String: Any])
        XCTAssertEqual(object["status"] as? String, "ok")
        XCTAssertEqual(object["file"] as? String, path)
        XCTAssertEqual(object["rows"] as? Int, 512)
        XCTAssertEqual(object["numberOfFrames"] as? Int, 96)
        XCTAssertEqual(object["frameTime"] as? Double, 33)
        XCTAssertEqual(object["positionerPrimaryAngle"] as? Double, -32)
        XCTAssertNotNil(object["maskSubtraction"])
        XCTAssertNil(object["patient"], "PHI omitted by default")
        XCTAssertFalse(result.stdout.contains("Rubo DEMO"))
        XCTAssertFalse(result.stdout.contains("19951025"))
        // Keys come out sorted, and the output is byte-identical from run to run.
        let keys = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  \"") }
            .compactMap { $0.split(separator: "\"").dropFirst().first.map(String.init) }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertEqual(try CLIHarness.run(["info", path]).stdout, result.stdout)

        let withPHI = try CLIHarness.run(["info", "--include-phi", path])
        XCTAssertEqual(withPHI.status, 0)
        let patient = try XCTUnwrap((try json(withPHI.stdout) as? [String: Any])?["patient"] as? [String: Any])
        XCTAssertEqual(patient["name"] as? String, "Rubo DEMO")
        XCTAssertEqual(patient["id"] as? String, "556342B")
        XCTAssertEqual(patient["birthDate"] as? String, "19951025")
    }

    func testInfoOnSeveralFilesGivesAnArrayAndReportsFailures() throws {
        let good = try corpus("xa/WG04_XA1_J2KR.dcm")
        let noPixels = try corpus("other/pydicom_test-SR.dcm")
        let oversized = try corpus("malformed/orthanc_2026-05-26-oob-monochrome-65535.dcm")
        let result = try CLIHarness.run(["info", good, noPixels, oversized])
        XCTAssertEqual(result.status, 1, "exit 1 when any file fails")
        let array = try XCTUnwrap(try json(result.stdout) as? [[String: Any]])
        XCTAssertEqual(array.count, 3)
        XCTAssertEqual(array[0]["status"] as? String, "ok")
        XCTAssertEqual(array[0]["transferSyntaxUID"] as? String, "1.2.840.10008.1.2.4.90")
        XCTAssertEqual(array[1]["status"] as? String, "error")
        XCTAssertEqual(array[1]["error"] as? String, "noPixelData")
        XCTAssertEqual(array[2]["error"] as? String, "sizeInconsistent")
        XCTAssertTrue((array[2]["message"] as? String ?? "").hasPrefix("orthanc_2026-05-26-oob-monochrome-65535.dcm: "))
        XCTAssertTrue(result.stderr.contains("pydicom_test-SR.dcm"), result.stderr)
        XCTAssertTrue(result.stderr.contains("orthanc_2026-05-26-oob-monochrome-65535.dcm"), result.stderr)
    }

    func testMissingDictionaryIsReported() throws {
        let path = try corpus("xa/WG04_XA1_UNC.dcm")
        var environment = ProcessInfo.processInfo.environment
        environment["DCMDICTPATH"] = "/nonexistent/angio-test/dicom.dic"
        let result = try CLIHarness.run(["info", path], environment: environment)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual((try json(result.stdout) as? [String: Any])?["error"] as? String, "dictionaryMissing")
    }

    func testFramesWritesWindowedAndRawPNGs() throws {
        let path = try corpus("xa/WG04_XA1_JLSL.dcm")
        let out = try CLIHarness.temporaryDirectory("frames")
        defer { try? FileManager.default.removeItem(at: out) }
        var result = try CLIHarness.run(["frames", path, "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let display = try PNGFile.read(path: out.appendingPathComponent("WG04_XA1_JLSL_f0000.png").path)
        XCTAssertEqual(display.width, 1024)
        XCTAssertEqual(display.bitDepth, 8)
        XCTAssertEqual(display.channels, 1)
        // No window in the file: min...max of the frame spans 0...255.
        XCTAssertEqual(display.samples.min(), 0)
        XCTAssertEqual(display.samples.max(), 255)

        result = try CLIHarness.run(["frames", path, "--out", out.path, "--raw", "--frame", "0"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let raw = try PNGFile.read(path: out.appendingPathComponent("WG04_XA1_JLSL_f0000.png").path)
        XCTAssertEqual(raw.bitDepth, 16)
        // The stored 10-bit values, unmodified (the UNC reference holds 0...504).
        XCTAssertEqual(raw.samples.max(), 504)
        let unc = try CLIHarness.temporaryDirectory("unc")
        defer { try? FileManager.default.removeItem(at: unc) }
        XCTAssertEqual(try CLIHarness.run(["frames", try corpus("xa/WG04_XA1_UNC.dcm"), "--out", unc.path, "--raw"]).status, 0)
        XCTAssertEqual(try PNGFile.read(path: unc.appendingPathComponent("WG04_XA1_UNC_f0000.png").path).samples, raw.samples)
    }

    func testFramesSelectsOneFrameAndRejectsBadIndex() throws {
        let path = try corpus("xa/rubo_0002_XA_cine96_JPEGBaseline.dcm")
        let out = try CLIHarness.temporaryDirectory("frame")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLIHarness.run(["frames", path, "--out", out.path, "--frame", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path),
                       ["rubo_0002_XA_cine96_JPEGBaseline_f0003.png"])
        let bad = try CLIHarness.run(["frames", path, "--out", out.path, "--frame", "96"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("frame 96 does not exist"), bad.stderr)
        XCTAssertEqual(try CLIHarness.run(["frames", path, "--out", out.path, "--frame", "-1"]).status, 2)
        let failing = try CLIHarness.run(["frames", try corpus("other/pydicom_waveform_ecg.dcm"), "--out", out.path])
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stderr.contains("pydicom_waveform_ecg.dcm: "), failing.stderr)
    }

    /// The two files declaring 46341^2 and 65535^2 16-bit images (a few KB of data) are refused
    /// with less than 256 MB peak memory, measured on the child process (wait4 rusage).
    func testOversizedFilesStayWithinMemoryBudget() throws {
        let paths = [try corpus("malformed/orthanc_2026-05-26-oob-monochrome-46341.dcm"),
                     try corpus("malformed/orthanc_2026-05-26-oob-monochrome-65535.dcm")]
        for command in [["info"], ["frames", "--out", FileManager.default.temporaryDirectory.appendingPathComponent("angio-oob-\(UUID())").path]] {
            let (status, peakKB) = try Self.runMeasuringPeak([CLIHarness.binary.path] + command + [paths[0]])
            XCTAssertEqual(status, 1)
            XCTAssertLessThan(peakKB, 256 * 1024, "\(command) peak RSS \(peakKB) kB")
            let (status2, peak2) = try Self.runMeasuringPeak([CLIHarness.binary.path] + command + [paths[1]])
            XCTAssertEqual(status2, 1)
            XCTAssertLessThan(peak2, 256 * 1024, "\(command) peak RSS \(peak2) kB")
        }
    }

    /// posix_spawn + wait4: exit status and the child's own peak resident set (kB).
    static func runMeasuringPeak(_ arguments: [String]) throws -> (Int32, Int) {
        var pid: pid_t = 0
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        var cArguments = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        let spawned = posix_spawn(&pid, arguments[0], &fileActions, nil, &cArguments, environ)
        guard spawned == 0 else { throw XCTSkip("cannot spawn \(arguments[0]): \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid else { throw XCTSkip("wait4 failed") }
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
        return (exitStatus, usage.ru_maxrss)
    }
}

/// PNGFile (AngioReport/PNGShim) round trips: what `angio frames` relies on.
final class PNGFileRoundTripTests: XCTestCase {
    func testAllLayoutsRoundTripExactly() throws {
        let directory = try CLIHarness.temporaryDirectory("png")
        defer { try? FileManager.default.removeItem(at: directory) }
        let width = 7, height = 5
        let gray16: [UInt16] = (0..<(width * height)).map { [0, 1, 255, 256, 1023, 32767, 32768, 65534, 65535][$0 % 9] }
        let path16 = directory.appendingPathComponent("g16.png").path
        try PNGFile.writeGray16(path: path16, width: width, height: height, pixels: gray16)
        let read16 = try PNGFile.read(path: path16)
        XCTAssertEqual(read16.bitDepth, 16)
        XCTAssertEqual(read16.channels, 1)
        XCTAssertEqual(read16.samples, gray16, "16-bit values stored unmodified (no gamma, big-endian handled)")

        let gray8: [UInt8] = (0..<(width * height)).map { UInt8(($0 * 37) & 0xFF) }
        let path8 = directory.appendingPathComponent("g8.png").path
        try PNGFile.writeGray8(path: path8, width: width, height: height, pixels: gray8)
        XCTAssertEqual(try PNGFile.read(path: path8).samples, gray8.map { UInt16($0) })

        let rgb: [UInt8] = (0..<(width * height * 3)).map { UInt8(($0 * 53) & 0xFF) }
        let pathRGB = directory.appendingPathComponent("rgb.png").path
        try PNGFile.writeRGB8(path: pathRGB, width: width, height: height, pixels: rgb)
        let readRGB = try PNGFile.read(path: pathRGB)
        XCTAssertEqual(readRGB.channels, 3)
        XCTAssertEqual(readRGB.samples, rgb.map { UInt16($0) })

        let rgba: [UInt8] = (0..<(width * height * 4)).map { UInt8(($0 * 29) & 0xFF) | ($0 % 4 == 3 ? 0xFF : 0) }
        let pathRGBA = directory.appendingPathComponent("rgba.png").path
        try PNGFile.writeRGBA8(path: pathRGBA, width: width, height: height, pixels: rgba)
        let readRGBA = try PNGFile.read(path: pathRGBA)
        XCTAssertEqual(readRGBA.channels, 4)
        XCTAssertEqual(readRGBA.samples, rgba.map { UInt16($0) })

        // Atomic writes leave no temporary files behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(),
                       ["g16.png", "g8.png", "rgb.png", "rgba.png"])
    }

    func testErrorsNameTheFileAndCause() throws {
        let directory = try CLIHarness.temporaryDirectory("png-errors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("short.png").path
        XCTAssertThrowsError(try PNGFile.writeGray8(path: path, width: 4, height: 4, pixels: [1, 2, 3])) { error in
            let error = error as? PNGError
            XCTAssertEqual(error?.code, .invalidArgument)
            XCTAssertTrue(error?.description.hasPrefix("short.png: ") ?? false, error?.description ?? "")
        }
        let missingFolder = directory.appendingPathComponent("no/such/folder/x.png").path
        XCTAssertThrowsError(try PNGFile.writeGray8(path: missingFolder, width: 1, height: 1, pixels: [0])) { error in
            XCTAssertEqual((error as? PNGError)?.code, .ioError)
        }
        let text = directory.appendingPathComponent("text.png").path
        try "not a png".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PNGFile.read(path: text)) { error in
            XCTAssertEqual((error as? PNGError)?.code, .decodeFailed)
        }
        XCTAssertThrowsError(try PNGFile.read(path: directory.appendingPathComponent("absent.png").path)) { error in
            XCTAssertEqual((error as? PNGError)?.code, .ioError)
        }
    }
}
