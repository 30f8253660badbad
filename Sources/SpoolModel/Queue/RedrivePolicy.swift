import Foundation

/// A queue's `RedrivePolicy`: where a message goes once it has been received `maxReceiveCount` times.
public struct RedrivePolicy: Sendable, Equatable {
    public var deadLetterTargetARN: String
    /// 1–1000; a receive that would make the count exceed this moves the message instead.
    public var maxReceiveCount: Int

    public init(deadLetterTargetARN: String, maxReceiveCount: Int) {
        self.deadLetterTargetARN = deadLetterTargetARN
        self.maxReceiveCount = maxReceiveCount
    }

    /// Parses the JSON string clients send. `maxReceiveCount` may be a number or a numeric string and
    /// defaults to 10, as in AWS.
    public static func parse(_ text: String) throws(SpoolError) -> RedrivePolicy {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw .invalidAttributeValue("RedrivePolicy", reason: "Redrive policy is not a valid JSON map.")
        }
        for key in object.keys where key != "deadLetterTargetArn" && key != "maxReceiveCount" {
            throw .invalidAttributeValue("RedrivePolicy", reason: "Only following keys are allowed: deadLetterTargetArn, maxReceiveCount. Unknown key \(key).")
        }
        guard let arn = object["deadLetterTargetArn"] as? String, !arn.isEmpty else {
            throw .invalidAttributeValue("RedrivePolicy", reason: "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        }
        var count = 10
        if object["maxReceiveCount"] != nil {
            // JSONSerialization cannot tell 1 from true on Linux; decode the count on its own.
            struct Count: Decodable {
                let value: Int?
                init(from decoder: any Decoder) throws {
                    let container = try decoder.container(keyedBy: Key.self)
                    if let number = try? container.decode(Int.self, forKey: .maxReceiveCount) {
                        value = number
                    } else if let text = try? container.decode(String.self, forKey: .maxReceiveCount) {
                        value = Int(text)
                    } else {
                        value = nil
                    }
                }
                enum Key: String, CodingKey { case maxReceiveCount }
            }
            guard let parsed = (try? JSONDecoder().decode(Count.self, from: Data(text.utf8)))?.value else {
                throw .invalidAttributeValue("RedrivePolicy", reason: "Invalid value for maxReceiveCount: \(object["maxReceiveCount"]!), valid values are from 1 to 1000 both inclusive.")
            }
            count = parsed
        }
        guard (1...1000).contains(count) else {
            throw .invalidAttributeValue("RedrivePolicy", reason: "Invalid value for maxReceiveCount: \(count), valid values are from 1 to 1000 both inclusive.")
        }
        return RedrivePolicy(deadLetterTargetARN: arn, maxReceiveCount: count)
    }

    /// The canonical JSON form returned by GetQueueAttributes.
    public var json: String {
        "{\"deadLetterTargetArn\":\"\(deadLetterTargetARN)\",\"maxReceiveCount\":\(maxReceiveCount)}"
    }
}

/// A dead-letter queue's `RedriveAllowPolicy`: which source queues may name it as their target.
public struct RedriveAllowPolicy: Sendable, Equatable {
    public enum Permission: String, Sendable {
        case allowAll, denyAll, byQueue
    }

    public var permission: Permission
    public var sourceQueueARNs: [String]

    public init(permission: Permission = .allowAll, sourceQueueARNs: [String] = []) {
        self.permission = permission
        self.sourceQueueARNs = sourceQueueARNs
    }

    public static func parse(_ text: String) throws(SpoolError) -> RedriveAllowPolicy {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let raw = object["redrivePermission"] as? String
        else {
            throw .invalidAttributeValue("RedriveAllowPolicy", reason: "Redrive allow policy must contain redrivePermission.")
        }
        guard let permission = Permission(rawValue: raw) else {
            throw .invalidAttributeValue("RedriveAllowPolicy", reason: "Invalid value for redrivePermission: \(raw). Valid values are allowAll, denyAll and byQueue.")
        }
        let arns = object["sourceQueueArns"] as? [String] ?? []
        switch permission {
        case .byQueue:
            guard (1...10).contains(arns.count) else {
                throw .invalidAttributeValue("RedriveAllowPolicy", reason: "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.")
            }
        case .allowAll, .denyAll:
            guard arns.isEmpty else {
                throw .invalidAttributeValue("RedriveAllowPolicy", reason: "sourceQueueArns may only be given when redrivePermission is byQueue.")
            }
        }
        return RedriveAllowPolicy(permission: permission, sourceQueueARNs: arns)
    }

    /// Whether a queue with `sourceARN` may use the queue holding this policy as its dead-letter queue.
    public func allows(sourceARN: String) -> Bool {
        switch permission {
        case .allowAll: true
        case .denyAll: false
        case .byQueue: sourceQueueARNs.contains(sourceARN)
        }
    }

    public var json: String {
        if permission == .byQueue {
            let list = sourceQueueARNs.map { "\"\($0)\"" }.joined(separator: ",")
            return "{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":[\(list)]}"
        }
        return "{\"redrivePermission\":\"\(permission.rawValue)\"}"
    }
}
