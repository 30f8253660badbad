/// Lambda's documented limits and defaults of asynchronous invocation.
public enum AsyncLimits {
    /// The largest `Event` payload (1 MB since late 2025; it was 256 KB before).
    public static let payloadBytes = 1_048_576
    /// `MaximumRetryAttempts` range and default.
    public static let retryAttempts = 0...2
    public static let defaultRetryAttempts = 2
    /// `MaximumEventAgeInSeconds` range and default (6 hours).
    public static let eventAgeSeconds = 60...21_600
    public static let defaultEventAgeSeconds = 21_600
    /// The first 1 KB of an error message goes into a dead-letter message's `ErrorMessage` attribute.
    public static let deadLetterErrorMessageBytes = 1_024
    /// `ListFunctionEventInvokeConfigs` page size range and default.
    public static let listMaxItems = 1...50
}
