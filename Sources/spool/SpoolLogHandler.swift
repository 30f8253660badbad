import Foundation
import Logging

/// Spool's log lines on standard error: `StreamLogHandler`'s human-readable format, or with `--log-format json`
/// one JSON object per line (`timestamp`, `level`, `label`, `message`, `source`, and the metadata as fields,
/// e.g. `requestId`).
///
/// `StreamLogHandler` formats its metadata every time the metadata changes; the HTTP server sets a
/// request id on a fresh logger for every request, so under load that formatting cost more CPU than
/// some routes. This handler keeps the metadata as given and formats it only when a line is actually written.
struct SpoolLogHandler: LogHandler {
    enum Format: String {
        case text, json
    }

    private var stream: StreamLogHandler
    private let format: Format
    private let label: String
    var metadata: Logger.Metadata = [:]

    init(label: String, format: Format) {
        self.label = label
        self.format = format
        stream = StreamLogHandler.standardError(label: label)
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        switch format {
        case .text:
            var stream = stream
            stream.metadata = metadata
            stream.log(event: event)
        case .json:
            FileHandle.standardError.write(Self.jsonLine(event, label: label, metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }

    static func jsonLine(_ event: LogEvent, label: String, metadata: Logger.Metadata) -> Data {
        var object: [String: Any] = [:]
        for (key, value) in metadata { object[key == "hb.request.id" ? "httpRequestId" : key] = Self.plain(value) }
        object["timestamp"] = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = event.message.description
        object["source"] = event.source
        var line = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        line.append(UInt8(ascii: "\n"))
        return line
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): values.map(plain)
        case .dictionary(let values): values.mapValues(plain)
        }
    }
}
