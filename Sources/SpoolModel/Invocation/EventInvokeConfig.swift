/// A function's asynchronous invocation settings (PutFunctionEventInvokeConfig), for one qualifier.
///
/// Unset settings stay `nil` and are not echoed by the API; `effective…` gives the values that apply.
public struct EventInvokeConfig: Sendable, Equatable {
    public var functionName: String
    /// `$LATEST` for an unqualified function (the only version Spool has).
    public var qualifier: String
    public var maximumRetryAttempts: Int?
    public var maximumEventAgeSeconds: Int?
    /// Destination ARNs or URLs exactly as given.
    public var onSuccess: String?
    public var onFailure: String?
    public var lastModified: Millis

    public init(functionName: String, qualifier: String = "$LATEST", maximumRetryAttempts: Int? = nil, maximumEventAgeSeconds: Int? = nil,
                onSuccess: String? = nil, onFailure: String? = nil, lastModified: Millis) {
        self.functionName = functionName
        self.qualifier = qualifier
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeSeconds = maximumEventAgeSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
        self.lastModified = lastModified
    }

    /// The settings that apply to a function without any configuration: AWS's defaults, no destinations.
    public static func defaults(for functionName: String) -> EventInvokeConfig {
        EventInvokeConfig(functionName: functionName, lastModified: 0)
    }

    public var effectiveRetryAttempts: Int { maximumRetryAttempts ?? AsyncLimits.defaultRetryAttempts }
    public var effectiveEventAgeMillis: Millis { Millis(maximumEventAgeSeconds ?? AsyncLimits.defaultEventAgeSeconds) * 1000 }
}

/// The members of a Put or Update request; `nil` means "not given". Update merges them, Put replaces.
public struct EventInvokeSettings: Sendable, Equatable {
    public var maximumRetryAttempts: Int?
    public var maximumEventAgeSeconds: Int?
    /// `DestinationConfig` was present; its members say which destinations were given.
    public var destinationsGiven: Bool
    public var onSuccess: String?
    public var onFailure: String?

    public init(maximumRetryAttempts: Int? = nil, maximumEventAgeSeconds: Int? = nil, destinationsGiven: Bool = false,
                onSuccess: String? = nil, onFailure: String? = nil) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeSeconds = maximumEventAgeSeconds
        self.destinationsGiven = destinationsGiven
        self.onSuccess = onSuccess
        self.onFailure = onFailure
    }

    /// Checks the model constraints, with the messages AWS's validator gives.
    public func validate() throws(SpoolError) {
        if let value = maximumRetryAttempts, !AsyncLimits.retryAttempts.contains(value) {
            throw .validation(field: "maximumRetryAttempts", value: "\(value)",
                              constraint: value < 0 ? "Member must have value greater than or equal to 0" : "Member must have value less than or equal to 2")
        }
        if let value = maximumEventAgeSeconds, !AsyncLimits.eventAgeSeconds.contains(value) {
            throw .validation(field: "maximumEventAgeInSeconds", value: "\(value)",
                              constraint: value < 60 ? "Member must have value greater than or equal to 60" : "Member must have value less than or equal to 21600")
        }
        for (field, value) in [("destinationConfig.onSuccess.destination", onSuccess), ("destinationConfig.onFailure.destination", onFailure)] {
            guard let value else { continue }
            if value.count > Destination.maximumLength {
                throw .validation(field: field, value: value, constraint: "Member must have length less than or equal to 350")
            }
            if !Destination.matchesModelPattern(value) {
                throw .validation(field: field, value: value,
                                  constraint: "Member must satisfy regular expression pattern: ^$|kafka://([^.]([a-zA-Z0-9\\-_.]{0,61}))?[^.]|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)")
            }
        }
        if maximumRetryAttempts == nil, maximumEventAgeSeconds == nil, (onSuccess ?? "").isEmpty, (onFailure ?? "").isEmpty {
            throw SpoolError(.invalidParameterValue, "You must specify at least one of error handling or destination setting.")
        }
    }

    /// PutFunctionEventInvokeConfig: the request becomes the whole configuration.
    public func replacing(functionName: String, qualifier: String, now: Millis) -> EventInvokeConfig {
        EventInvokeConfig(functionName: functionName, qualifier: qualifier, maximumRetryAttempts: maximumRetryAttempts,
                          maximumEventAgeSeconds: maximumEventAgeSeconds, onSuccess: onSuccess.nonEmpty, onFailure: onFailure.nonEmpty,
                          lastModified: now)
    }

    /// UpdateFunctionEventInvokeConfig: given members replace the stored ones; a given destination config
    /// replaces both destinations.
    public func merging(into config: EventInvokeConfig, now: Millis) -> EventInvokeConfig {
        var merged = config
        if let maximumRetryAttempts { merged.maximumRetryAttempts = maximumRetryAttempts }
        if let maximumEventAgeSeconds { merged.maximumEventAgeSeconds = maximumEventAgeSeconds }
        if destinationsGiven {
            merged.onSuccess = onSuccess.nonEmpty
            merged.onFailure = onFailure.nonEmpty
        }
        merged.lastModified = now
        return merged
    }
}

extension Optional where Wrapped == String {
    /// The string unless it is `nil` or empty.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
