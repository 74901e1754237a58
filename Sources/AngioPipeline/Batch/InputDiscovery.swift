import AngioDICOM
import Foundation

/// One file to analyse.
public struct BatchInput: Sendable, Equatable {
    /// Path used to open the file (the user's root joined with the relative part).
    public var path: String
    /// Path relative to its root, `/`-separated; outputs mirror it and shards hash it. With
    /// several roots it starts with the root folder's name.
    public var relativePath: String
    /// Output stem relative to the output folder: the relative path without its extension, or
    /// with it when two inputs would otherwise collide ("a.dcm" and "a.DCM").
    public var outputStem: String

    public init(path: String, relativePath: String, outputStem: String) {
        self.path = path
        self.relativePath = relativePath
        self.outputStem = outputStem
    }
}

/// What the folder walk found.
public struct DiscoveryResult: Sendable {
    /// DICOM inputs (and explicitly named files, whatever their content), sorted by relative path.
    public var inputs: [BatchInput]
    /// Files under the given folders that are not DICOM (skipped, counted).
    public var skippedNonDICOM: [String]
    /// DICOMDIR files seen (the directory index itself is not an image; the folder around it is walked).
    public var dicomdirs: [String]
}

/// Expands command-line paths into the list of inputs.
///
/// - Folders are walked recursively in sorted order. Hidden folders (".git", our own state
///   folder) are not entered, symbolic links to folders are not followed (no cycles), and the
///   output folder is never walked even when it sits inside an input folder.
/// - Files in folders are kept when their content looks like DICOM (PS3.10 preamble + "DICM",
///   or a bare data set starting with a group 0002/0008 element) — extensions do not matter.
///   Anything else is skipped and counted.
/// - A DICOMDIR (PS3.10 section 8: the media directory, file ID "DICOMDIR") marks an exported
///   media folder: the DICOMDIR itself is skipped and its folder is walked, which reaches every
///   file its directory records reference (they must live below it, PS3.10 section 8.2) without
///   parsing the directory records.
/// - A file named explicitly is always an input; if it is not DICOM its analysis fails with a
///   specific error instead of being silently dropped. A DICOMDIR named explicitly stands for
///   its folder.
public enum InputDiscovery {
    /// - Parameter includeNonDICOM: keep every file (archive QA reports non-DICOM files itself).
    public static func discover(_ paths: [String], excluding outputDirectory: String? = nil,
                                includeNonDICOM: Bool = false) throws(BatchError) -> DiscoveryResult {
        let excluded = outputDirectory.map(canonical)
        var candidates: [(path: String, relative: String)] = []
        var skipped: [String] = []
        var dicomdirs: [String] = []
        let multipleRoots = paths.count > 1
        for root in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
                throw BatchError(code: .inputNotFound, path: root, message: "no such file or folder")
            }
            var folder = root
            if !isDirectory.boolValue {
                if isDICOMDIR(root) {
                    dicomdirs.append(root)
                    folder = (root as NSString).deletingLastPathComponent
                    if folder.isEmpty { folder = "." }
                } else {
                    candidates.append((root, (root as NSString).lastPathComponent))
                    continue
                }
            }
            let prefix = multipleRoots ? rootName(folder) + "/" : ""
            var files: [String] = []
            try walk(folder, relative: "", excluded: excluded, into: &files)
            for relative in files {
                let full = folder == "." && !root.hasPrefix("./") ? relative : (folder as NSString).appendingPathComponent(relative)
                let name = (relative as NSString).lastPathComponent
                if name.uppercased() == "DICOMDIR" {
                    dicomdirs.append(full)
                    continue
                }
                switch DICOMSniffer.classify(path: full) {
                case .dicom, .unreadable: candidates.append((full, prefix + relative))
                case .notDICOM:
                    if includeNonDICOM { candidates.append((full, prefix + relative)) } else { skipped.append(full) }
                }
            }
        }
        // The same file reached twice (overlapping roots) is analysed once.
        var seen = Set<String>()
        candidates = candidates.filter { seen.insert(canonical($0.path)).inserted }
        var byRelative: [String: String] = [:]
        for candidate in candidates {
            if let other = byRelative[candidate.relative] {
                throw BatchError(code: .outputCollision, path: candidate.path,
                                 message: "maps to the same output as \(other) (relative path '\(candidate.relative)'); analyse the two roots separately")
            }
            byRelative[candidate.relative] = candidate.path
        }
        let inputs = assignOutputStems(candidates).sorted {
            $0.relativePath.unicodeScalars.lexicographicallyPrecedes($1.relativePath.unicodeScalars)
        }
        return DiscoveryResult(inputs: inputs, skippedNonDICOM: skipped.sorted(), dicomdirs: dicomdirs.sorted())
    }

    /// Output stems drop the extension unless that makes two inputs collide (case-insensitively,
    /// for case-insensitive file systems), in which case the colliding ones keep their full name.
    static func assignOutputStems(_ candidates: [(path: String, relative: String)]) -> [BatchInput] {
        func stripped(_ relative: String) -> String {
            let name = (relative as NSString).lastPathComponent
            let directory = (relative as NSString).deletingLastPathComponent
            let ext = (name as NSString).pathExtension
            // Keep names like ".hidden" or "IM0001" whole; strip one short extension.
            guard !ext.isEmpty, ext.count <= 5, name.count > ext.count + 1 else { return relative }
            let base = (name as NSString).deletingPathExtension
            return directory.isEmpty ? base : directory + "/" + base
        }
        var counts: [String: Int] = [:]
        for candidate in candidates { counts[stripped(candidate.relative).lowercased(), default: 0] += 1 }
        // A stripped stem may also equal another input's full relative path ("a" and "a.dcm").
        let fullNames = Set(candidates.map { $0.relative.lowercased() })
        return candidates.map { candidate in
            let stem = stripped(candidate.relative)
            let collides = counts[stem.lowercased(), default: 0] > 1 || (stem != candidate.relative && fullNames.contains(stem.lowercased()))
            return BatchInput(path: candidate.path, relativePath: candidate.relative, outputStem: collides ? candidate.relative : stem)
        }
    }

    private static func walk(_ folder: String, relative: String, excluded: String?, into files: inout [String]) throws(BatchError) {
        let directory = relative.isEmpty ? folder : (folder as NSString).appendingPathComponent(relative)
        // The output folder is skipped when it lies inside an input folder (not when it is the
        // input folder itself: then outputs sit beside inputs and are skipped as non-DICOM).
        if let excluded, !relative.isEmpty, canonical(directory) == excluded { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            if relative.isEmpty { throw BatchError(code: .inputNotFound, path: directory, message: "cannot list folder: \(AtomicFile.describe(error))") }
            // An unreadable subfolder is reported as an input error rather than aborting the run.
            files.append(relative)
            return
        }
        for name in names.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            let full = (directory as NSString).appendingPathComponent(name)
            var status = stat()
            guard lstat(full, &status) == 0 else { files.append(childRelative); continue }
            let type = status.st_mode & S_IFMT
            if type == S_IFDIR {
                if name.hasPrefix(".") { continue }
                try walk(folder, relative: childRelative, excluded: excluded, into: &files)
            } else if type == S_IFREG {
                // Hidden files (.DS_Store, markers, our temporaries) are not inputs.
                if name.hasPrefix(".") || AtomicFile.isTemporaryName(name) { continue }
                files.append(childRelative)
            } else if type == S_IFLNK {
                // Follow links to files; do not descend into linked folders (avoids cycles).
                var target = stat()
                if stat(full, &target) == 0, target.st_mode & S_IFMT == S_IFREG { files.append(childRelative) }
            }
        }
    }

    static func isDICOMDIR(_ path: String) -> Bool {
        (path as NSString).lastPathComponent.uppercased() == "DICOMDIR"
    }

    static func rootName(_ folder: String) -> String {
        let name = (canonical(folder) as NSString).lastPathComponent
        return name.isEmpty || name == "/" ? "root" : name
    }

    /// Absolute, standardised path (symlinks in the prefix resolved) for identity comparisons.
    static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return URL(fileURLWithPath: absolute).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

/// Content sniffing: is this file DICOM? Reads at most a few hundred bytes. The decision is
/// the decoder's own (`AngiogramFile.isLikelyDICOM`: PS3.10 section 7.1 preamble + "DICM", or a
/// bare data set starting with a group 0002/0008 element), so the batch and the decoder agree.
public enum DICOMSniffer {
    public enum Kind: Sendable, Equatable { case dicom, notDICOM, unreadable }

    public static func classify(path: String) -> Kind {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unreadable }
        defer { try? handle.close() }
        // An empty file reads as nil (not an error): it is simply not DICOM.
        do { _ = try handle.read(upToCount: 1) } catch { return .unreadable }
        return AngiogramFile.isLikelyDICOM(path: path) ? .dicom : .notDICOM
    }
}
