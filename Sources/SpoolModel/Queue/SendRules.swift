/// Checks a message against the queue it is sent to, as SendMessage does before storing anything.
public enum SendRules {
    /// Throws the AWS error for the first rule `message` breaks on a queue with `attributes`;
    /// returns the bytes the message counts toward the size limits.
    @discardableResult
    public static func validate(_ message: OutgoingMessage, queue attributes: QueueAttributes) throws(SpoolError) -> Int {
        guard !message.body.isEmpty else { throw SpoolError.missingParameter("MessageBody") }
        guard MessageBody.isValidText(message.body) else {
            throw SpoolError(.invalidMessageContents, "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
        }
        let size = message.body.utf8.count + (try MessageAttributes.validate(message.attributes))
        guard size <= attributes.maximumMessageSize else {
            throw SpoolError(.invalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than \(attributes.maximumMessageSize) bytes.")
        }
        for name in message.systemAttributes.keys where name != "AWSTraceHeader" {
            throw SpoolError(.invalidParameterValue, "Message system attribute name '\(name)' is invalid.")
        }
        if let trace = message.systemAttributes["AWSTraceHeader"], trace.dataType != "String" || (trace.stringValue ?? "").isEmpty {
            throw SpoolError(.invalidParameterValue, "Message system attribute AWSTraceHeader must be a non-empty String.")
        }
        // A FIFO queue takes no per-message delay, but an explicit 0 is no delay at all.
        if let delay = message.delaySeconds, delay != 0 || !attributes.fifoQueue {
            guard !attributes.fifoQueue else {
                throw .invalidParameter("DelaySeconds", value: String(delay), reason: "The request include parameter that is not valid for this queue type.")
            }
            guard (0...900).contains(delay) else {
                throw .invalidParameter("DelaySeconds", value: String(delay), reason: "Must be >= 0 and <= 900.")
            }
        }
        if attributes.fifoQueue {
            try requireFIFOIdentifiers(of: message, queue: attributes)
            if let group = message.groupID { try checkToken("MessageGroupId", group) }
            if let dedup = message.deduplicationID { try checkToken("MessageDeduplicationId", dedup) }
        } else {
            if let dedup = message.deduplicationID {
                throw .invalidParameter("MessageDeduplicationId", value: dedup, reason: "The request include parameter that is not valid for this queue type.")
            }
            if let group = message.groupID { try checkToken("MessageGroupId", group) }
        }
        return size
    }

    /// What a FIFO request must carry for every message, checked for a whole SendMessageBatch before any entry: an entry
    /// without a group id (or without a deduplication id where content-based deduplication is off) fails the request.
    public static func requireFIFOIdentifiers(_ messages: [OutgoingMessage], queue attributes: QueueAttributes) throws(SpoolError) {
        guard attributes.fifoQueue else { return }
        for message in messages { try requireFIFOIdentifiers(of: message, queue: attributes) }
    }

    /// A FIFO message's group id, and its deduplication id unless content-based deduplication is on.
    static func requireFIFOIdentifiers(of message: OutgoingMessage, queue attributes: QueueAttributes) throws(SpoolError) {
        guard message.groupID != nil else { throw SpoolError.missingParameter("MessageGroupId") }
        if message.deduplicationID == nil, !attributes.contentBasedDeduplication {
            throw SpoolError(.invalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
        }
    }

    /// Group, deduplication and receive-attempt ids: 1–128 characters of alphanumerics and punctuation.
    public static func checkToken(_ name: String, _ value: String) throws(SpoolError) {
        let valid = !value.isEmpty && value.utf8.count <= 128 && value.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
        guard valid else {
            throw .invalidParameter(name, value: value, reason: "\(name) can only include alphanumeric and punctuation characters. 1 to 128 in length.")
        }
    }
}
