import Crypto
import Foundation
import SpoolModel
import ZIPFoundation

/// Unpacks deployment packages into the data directory, refusing any that could write outside their folder.
package enum CodePackage {
    /// What was unpacked.
    package struct Unpacked: Sendable {
        /// The folder the code is in.
        package var directory: String
        /// Base64 SHA-256 of the zip, Lambda's `CodeSha256`.
        package var sha256: String
        /// Size of the zip in bytes, Lambda's `CodeSize`.
        package var size: Int64
        /// Bytes the zip unpacked to (its files), counted toward the 250 MB limit.
        package var unzippedSize: Int64 = 0
    }

    /// Unpacks `zip` into a new folder under `root` and returns it.
    ///
    /// Rejected with `InvalidParameterValueException`: data that is not a zip, entries with absolute paths
    /// or `..` that would land outside the folder, symbolic links pointing outside it, and packages whose
    /// unzipped size passes 250 MB (counted while writing, so a lying header cannot get past it).
    /// A zip over 50 MB is `RequestEntityTooLargeException`.
    package static func unpack(zip: Data, under root: String, operation: String) throws(SpoolError) -> Unpacked {
        guard zip.count <= FunctionLimits.zippedPackageBytes else {
            throw SpoolError(.requestTooLarge, "Zipped size must be smaller than \(FunctionLimits.zippedPackageBytes) bytes for the \(operation) operation")
        }
        let digest = Self.digest(zip)
        let directory = (root as NSString).appendingPathComponent(UUID().uuidString.lowercased())
        var unzipped: UInt64 = 0
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            unzipped = try extract(zip, into: directory)
            // Kept beside the code for GetFunction's Code.Location.
            try zip.write(to: URL(fileURLWithPath: directory + ".zip"))
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + ".zip")
            if let error = error as? SpoolError { throw error }
            throw SpoolError(.invalidParameterValue, "Could not unzip uploaded file. Please check your file, then try to upload again.", underlying: error)
        }
        return Unpacked(directory: directory, sha256: digest, size: Int64(zip.count), unzippedSize: Int64(unzipped))
    }

    /// Unpacks a package kept in the shared store into `directory` (the folder the function's definition names), unless
    /// it is there already: into a temporary folder first, renamed into place, so that two invocations unpacking at once
    /// leave one complete copy.
    package static func restore(zip: Data, into directory: String) throws {
        let files = FileManager.default
        if files.fileExists(atPath: directory) { return }
        let parent = (directory as NSString).deletingLastPathComponent
        let temporary = (parent as NSString).appendingPathComponent(".unpacking-" + UUID().uuidString.lowercased())
        do {
            try files.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try extract(zip, into: temporary)
            try zip.write(to: URL(fileURLWithPath: temporary + ".zip"))
            if !files.fileExists(atPath: directory + ".zip") { try? files.moveItem(atPath: temporary + ".zip", toPath: directory + ".zip") }
            if !files.fileExists(atPath: directory) { try files.moveItem(atPath: temporary, toPath: directory) }
        } catch where files.fileExists(atPath: directory) {
            // Another unpacking got there first.
        }
        remove(temporary)
    }

    /// Lambda's `CodeSha256` of a package: base64 SHA-256 of the zip.
    package static func digest(_ zip: Data) -> String {
        Data(SHA256.hash(data: zip)).base64EncodedString()
    }

    /// Removes an unpacked package and its zip.
    package static func remove(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + ".zip")
    }

    /// Unpacks every entry; returns the bytes written.
    @discardableResult
    static func extract(_ zip: Data, into directory: String) throws -> UInt64 {
        let archive = try Archive(data: zip, accessMode: .read)
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        var written: UInt64 = 0
        for entry in archive {
            let destination = try contained(entry.path, in: base)
            switch entry.type {
            case .directory:
                try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            case .symlink:
                // ZIPFoundation refuses a link whose target lies outside the folder.
                do {
                    _ = try archive.extract(entry, to: destination)
                } catch Archive.ArchiveError.uncontainedSymlink {
                    throw SpoolError(.invalidParameterValue, "Could not unzip uploaded file: the symbolic link \(entry.path) points outside the package.")
                }
            case .file:
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: destination.path, contents: nil),
                      let handle = FileHandle(forWritingAtPath: destination.path)
                else { throw SpoolError(.invalidParameterValue, "Could not unzip uploaded file: cannot write \(entry.path).") }
                defer { try? handle.close() }
                _ = try archive.extract(entry) { chunk in
                    written += UInt64(chunk.count)
                    guard written <= UInt64(FunctionLimits.unzippedPackageBytes) else {
                        throw SpoolError(.invalidParameterValue, "Unzipped size must be smaller than \(FunctionLimits.unzippedPackageBytes) bytes")
                    }
                    try handle.write(contentsOf: chunk)
                }
                let mode = (entry.fileAttributes[.posixPermissions] as? NSNumber)?.int16Value ?? 0o644
                try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode & 0o777 | 0o400)], ofItemAtPath: destination.path)
            }
        }
        return written
    }

    /// The bytes of the files under `directory` (a package unpacked before its unzipped size was recorded).
    package static func unzippedSize(of directory: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total: Int64 = 0
        while let path = walker.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(path))
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
        }
        return total
    }

    /// The destination of an entry, or an error when its path would leave the folder.
    static func contained(_ path: String, in base: URL) throws -> URL {
        let escapes = SpoolError(.invalidParameterValue, "Could not unzip uploaded file: the entry \(path) would be written outside the package folder.")
        guard !path.hasPrefix("/"), !path.contains("\0") else { throw escapes }
        let url = base.appendingPathComponent(path).standardizedFileURL
        guard url.path == base.path || url.path.hasPrefix(base.path + "/") else { throw escapes }
        return url
    }
}
