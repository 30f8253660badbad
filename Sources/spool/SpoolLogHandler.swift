import Logging

/// Spool's log lines on standard error, in `StreamLogHandler`'s format.
///
/// `StreamLogHandler` formats its metadata every time the metadata changes; the HTTP server sets a
/// request id on a fresh logger for every request, so under load that formatting cost more CPU than
/// some routes. This handler keeps the metadata as given and lets the stream handler format it only
/// when a line is actually written.
struct SpoolLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String) {
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
        var stream = stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}
