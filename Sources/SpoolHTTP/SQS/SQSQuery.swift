import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolModel
import XMLCoder

/// SQS's query protocol, the wire older SDKs and tools speak: parameters form-encoded in a `POST` body or a `GET`
/// query string, lists and maps flattened (`Attribute.1.Name`, `SendMessageBatchRequestEntry.2.Id`), answers and
/// errors in XML. A query request is turned into the JSON input the handlers decode, and their JSON output into
/// AWS's XML, so both protocols run the same operations.
enum SQSQuery {
    static let namespace = "http://queue.amazonaws.com/doc/2012-11-05/"
    static let contentType = "text/xml"

    // MARK: Requests

    /// A request's parameters: those of its query string, then (for a `POST`) those of its form-encoded body.
    static func parameters(query: String?, body: ByteBuffer?) -> [(name: String, value: String)] {
        parameters(query ?? "") + (body.map { parameters(String(buffer: $0)) } ?? [])
    }

    /// The `Action` the parameters name (the last one, when several do).
    static func action(in parameters: [(name: String, value: String)]) -> String? {
        parameters.last { $0.name == "Action" }?.value
    }

    /// The parameters of a form-encoded string (`a=1&b=x+y`): `+` is a space, `%XX` a byte of UTF-8.
    static func parameters(_ encoded: String) -> [(name: String, value: String)] {
        encoded.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Parameters that sign a request or address the protocol rather than the operation.
    static func isOperationParameter(_ name: String) -> Bool {
        !(name == "Action" || name == "Version" || name.hasPrefix("X-Amz-") || name == "AWSAccessKeyId" || name.hasPrefix("Signature")
            || name == "Timestamp" || name == "Expires" || name == "SecurityToken")
    }

    /// A flattened list's member name and the JSON member it fills (`AttributeName.1` → `AttributeNames`).
    static let lists: [String: String] = [
        "AttributeName": "AttributeNames", "MessageSystemAttributeName": "MessageSystemAttributeNames",
        "MessageAttributeName": "MessageAttributeNames", "TagKey": "TagKeys", "AWSAccountId": "AWSAccountIds", "ActionName": "Actions",
        "StringListValue": "StringListValues", "BinaryListValue": "BinaryListValues",
    ]

    /// A flattened map's entry name, the JSON member it fills and the name of its key (`Attribute.1.Name`/`.Value`).
    static let maps: [String: (member: String, key: String)] = [
        "Attribute": ("Attributes", "Name"), "MessageAttribute": ("MessageAttributes", "Name"),
        "MessageSystemAttribute": ("MessageSystemAttributes", "Name"), "Tag": ("Tags", "Key"),
    ]

    /// The entries of the three batch actions, each a structure read by the same rules.
    static let entries: Set<String> = [
        "SendMessageBatchRequestEntry", "DeleteMessageBatchRequestEntry", "ChangeMessageVisibilityBatchRequestEntry",
    ]

    /// Members whose JSON value is a number.
    static let integers: Set<String> = [
        "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds", "DelaySeconds", "MaxResults", "MaxNumberOfMessagesPerSecond",
    ]

    /// The JSON input of `action` from its query parameters; `queueURL` (the request's path, when it was sent to a queue's
    /// URL) stands for a missing `QueueUrl`, as SQS takes it.
    static func jsonInput(action: String, parameters: [(name: String, value: String)], queueURL: String?) throws -> Data {
        let operation = parameters.filter { isOperationParameter($0.name) }
        var object = try structure(operation.map { (path: $0.name.split(separator: ".", omittingEmptySubsequences: false), value: $0.value) })
        if object["QueueUrl"] == nil, let queueURL { object["QueueUrl"] = queueURL }
        // CreateQueue's tags are the one lower-case member of the JSON model.
        if action == "CreateQueue", let tags = object.removeValue(forKey: "Tags") { object["tags"] = tags }
        return try JSONSerialization.data(withJSONObject: object)
    }

    private typealias Parameter = (path: [Substring], value: String)

    private static func structure(_ parameters: [Parameter]) throws -> [String: Any] {
        var object: [String: Any] = [:]
        let groups = Dictionary(grouping: parameters, by: { String($0.path[0]) })
        for (name, group) in groups {
            if let scalar = group.last(where: { $0.path.count == 1 }) {
                guard integers.contains(name) else {
                    object[name] = scalar.value
                    continue
                }
                guard let number = Int(scalar.value) else {
                    throw SpoolError.invalidParameter(name, value: scalar.value, reason: "Must be an integer.")
                }
                object[name] = number
                continue
            }
            // `Value.DataType`: a structure's members, named after a period.
            if group.allSatisfy({ Int($0.path[1]) == nil }) {
                object[name] = try structure(group.map { (Array($0.path.dropFirst()), $0.value) })
                continue
            }
            let items = try indexed(group, name)
            if let member = lists[name] {
                object[member] = items.map { $0.last(where: { $0.path.isEmpty })?.value ?? "" }
            } else if let map = maps[name] {
                var entries: [String: Any] = [:]
                for item in items {
                    let entry = try structure(item.filter { !$0.path.isEmpty })
                    guard let key = entry[map.key] as? String else { throw SpoolError.missingParameter("\(name).N.\(map.key)") }
                    entries[key] = entry["Value"] ?? ""
                }
                object[map.member] = entries
            } else if entries.contains(name) {
                object["Entries"] = try items.map { try structure($0.filter { !$0.path.isEmpty }) }
            }
            // Anything else is not a member of any SQS action and is ignored, as unknown JSON members are.
        }
        return object
    }

    /// The members of a flattened collection in index order, each with the rest of its parameters' paths.
    private static func indexed(_ group: [Parameter], _ name: String) throws -> [[Parameter]] {
        var byIndex: [Int: [Parameter]] = [:]
        for parameter in group {
            guard let index = Int(parameter.path[1]), index >= 1 else {
                throw SpoolError.invalidParameter(parameter.path.joined(separator: "."), value: parameter.value,
                                                  reason: "\(name) members are numbered from 1.")
            }
            byIndex[index, default: []].append((Array(parameter.path.dropFirst(2)), parameter.value))
        }
        return byIndex.keys.sorted().map { byIndex[$0]! }
    }

    // MARK: Answers

    /// The actions whose answer carries an `<ActionResult>` element.
    static let actionsWithResults: Set<String> = [
        "CreateQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "ListQueueTags", "SendMessage", "SendMessageBatch",
        "ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "ListDeadLetterSourceQueues",
        "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask",
    ]

    /// `json`, the answer of `action` in the JSON protocol, as SQS writes it in XML.
    static func response(action: String, json: Data, requestID: String) -> Response {
        var root = Element()
        if actionsWithResults.contains(action) {
            let value = (try? JSONDecoder().decode(JSONTree.self, from: json)) ?? .object([])
            root.append("\(action)Result", element(value, action: action))
        }
        root.append("ResponseMetadata", Element(children: [("RequestId", .text(requestID))]))
        return xmlResponse(.ok, root: "\(action)Response", root, requestID: requestID)
    }

    /// An error as SQS's query protocol answers it, with the legacy code.
    static func errorResponse(_ error: SpoolError, requestID: String) -> Response {
        let shape = AWSErrorShape.sqs(error)
        let detail = Element(children: [
            ("Type", .text(shape.fault)), ("Code", .text(shape.queryCode)), ("Message", .text(error.message)), ("Detail", .element(Element())),
        ])
        let root = Element(children: [("Error", .element(detail)), ("RequestId", .text(requestID))])
        return xmlResponse(shape.status, root: "ErrorResponse", root, requestID: requestID)
    }

    private static func xmlResponse(_ status: HTTPResponse.Status, root name: String, _ root: Element, requestID: String) -> Response {
        let encoder = XMLEncoder()
        // A carriage return would be read back as a line feed; SQS writes it as a character reference.
        encoder.charactersEscapedInElements.append(("\r", "&#xD;"))
        let data = (try? encoder.encode(root, withRootKey: name, rootAttributes: ["xmlns": namespace],
                                        header: XMLHeader(version: 1.0, encoding: "UTF-8"))) ?? Data()
        return Response(status: status, headers: [.contentType: contentType, AWSJSON.requestID: requestID],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// The element name each member of a JSON answer takes in XML, where the query protocol's name differs: flattened
    /// lists repeat their member's name, flattened maps repeat an entry with a key and a `Value`.
    private static func member(_ name: String, action: String) -> (element: String, mapKey: String?) {
        switch name {
        case "Attributes": ("Attribute", "Name")
        case "MessageAttributes": ("MessageAttribute", "Name")
        case "Tags": ("Tag", "Key")
        case "QueueUrls", "queueUrls": ("QueueUrl", nil)
        case "Messages": ("Message", nil)
        case "Successful": ("\(action)ResultEntry", nil)
        case "Failed": ("BatchResultErrorEntry", nil)
        case "Results": ("\(action)ResultEntry", nil)
        case "StringListValues": ("StringListValue", nil)
        case "BinaryListValues": ("BinaryListValue", nil)
        default: (name, nil)
        }
    }

    private static func element(_ value: JSONTree, action: String) -> Element {
        guard case .object(let members) = value else { return Element() }
        var element = Element()
        for (name, value) in members {
            let (tag, mapKey) = member(name, action: action)
            switch value {
            case .null:
                continue
            case .array(let items):
                for item in items { element.append(tag, content(item, action: action)) }
            case .object(let entries) where mapKey != nil:
                for (key, entry) in entries {
                    element.append(tag, Element(children: [(mapKey!, .text(key)), ("Value", content(entry, action: action))]))
                }
            default:
                element.append(tag, content(value, action: action))
            }
        }
        return element
    }

    /// A member's value as XML carries it: every scalar as its text (`true`, `12`, a base64 blob), a structure as an element.
    private static func content(_ value: JSONTree, action: String) -> Element.Content {
        switch value {
        case .string(let text): .text(text)
        case .bool(let flag): .text(flag ? "true" : "false")
        case .integer(let number): .text(String(number))
        case .double(let number): .text(String(number))
        case .bytes(let bytes): .text(Data(bytes).base64EncodedString())
        case .object: .element(element(value, action: action))
        case .array, .null: .element(Element())
        }
    }

    /// `text` with every character XML 1.0 cannot carry, even as a reference (controls other than tab, line feed and
    /// carriage return; U+FFFE, U+FFFF), replaced by U+FFFD. Message bodies and attribute values cannot hold them (SQS
    /// refuses them at send); error messages that quote a malformed request can.
    static func xmlText(_ text: String) -> String {
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.value {
            case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
            default: false
            }
        }
        guard !text.unicodeScalars.allSatisfy(allowed) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { allowed($0) ? $0 : "\u{FFFD}" }))
    }

    /// An XML element: its children in order, each a text or an element; names may repeat.
    struct Element: Encodable {
        enum Content {
            case text(String)
            case element(Element)
        }

        var children: [(name: String, content: Content)] = []

        mutating func append(_ name: String, _ child: Element) { children.append((name, .element(child))) }
        mutating func append(_ name: String, _ content: Content) { children.append((name, content)) }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DynamicCodingKey.self)
            for (name, content) in children {
                switch content {
                case .text(let text): try container.encode(SQSQuery.xmlText(text), forKey: DynamicCodingKey(stringValue: name))
                case .element(let child): try container.encode(child, forKey: DynamicCodingKey(stringValue: name))
                }
            }
        }
    }
}
