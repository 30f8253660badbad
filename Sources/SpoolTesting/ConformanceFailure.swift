import SpoolModel

/// A broken promise found by a conformance check.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var message: String
    public var location: String

    public var description: String { "\(location): \(message)" }
}

/// Fails the running check unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws {
    if !condition { throw ConformanceFailure(message: message(), location: "\(file):\(line)") }
}

/// Fails the running check unless `body` throws a `SpoolError` with `code`.
func requireError<T>(_ code: SpoolError.Code, file: StaticString = #fileID, line: UInt = #line, _ body: () async throws -> T) async throws {
    do {
        _ = try await body()
    } catch let error as SpoolError where error.code == code {
        return
    } catch {
        throw ConformanceFailure(message: "expected \(code.rawValue), got \(error)", location: "\(file):\(line)")
    }
    throw ConformanceFailure(message: "expected \(code.rawValue), got success", location: "\(file):\(line)")
}
