import Foundation

/// Crash-safe file writes: the bytes go to a temporary file in the destination's folder, are
/// flushed, and the temporary is renamed over the destination. rename(2) within one file system
/// is atomic (POSIX), so a reader — or a run resumed after SIGKILL — sees either the old file or
/// the complete new one, never a truncated file.
public enum AtomicFile {
    /// Marker in temporary names, so an interrupted run's leftovers can be recognised and swept.
    public static let temporaryMarker = ".angio-tmp-"

    public static func write(_ data: Data, to path: String) throws(BatchError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw BatchError(code: .writeFailed, path: path, message: "cannot create folder \(directory.path): \(describe(error))")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent)\(temporaryMarker)\(getpid())-\(UUID().uuidString)")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BatchError(code: .writeFailed, path: path, message: "cannot create temporary file: \(String(cString: strerror(errno)))")
        }
        var failure: String? = nil
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(String(cString: strerror(errno)))"
                    return
                }
                offset += written
            }
        }
        // fsync is skipped: the goal is "never a partial file", not durability across power loss,
        // and fsync per file would dominate the batch time on slow disks.
        if close(fd) != 0, failure == nil { failure = "close failed: \(String(cString: strerror(errno)))" }
        if failure == nil, rename(temporary.path, path) != 0 {
            failure = "cannot rename temporary file into place: \(String(cString: strerror(errno)))"
        }
        if let failure {
            unlink(temporary.path)
            throw BatchError(code: .writeFailed, path: path, message: failure)
        }
    }

    public static func write(_ text: String, to path: String) throws(BatchError) {
        try write(Data(text.utf8), to: path)
    }

    /// True for names of temporary files left by an interrupted write (ours or PNGFile's).
    public static func isTemporaryName(_ name: String) -> Bool {
        name.contains(temporaryMarker) || name.contains(".png.tmp-")  // PNGFile: "<name>.tmp-XXXXXX"
    }

    /// Removes temporaries left under `directory` by an interrupted run; returns how many.
    @discardableResult
    public static func sweepTemporaries(under directory: String) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var removed = 0
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if isTemporaryName(name) {
                let full = (directory as NSString).appendingPathComponent(relative)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                   (try? FileManager.default.removeItem(atPath: full)) != nil {
                    removed += 1
                }
            }
        }
        return removed
    }

    static func describe(_ error: Error) -> String {
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
