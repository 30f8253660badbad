import Foundation

/// CBOR (RFC 8949), as AWS's SDKs send it to the JSON-protocol services that also accept `application/x-amz-cbor-1.1`
/// (Kinesis: the Java SDK and the KCL by default): maps with text keys, definite or indefinite lengths, integers,
/// floats of every width, text and byte strings, and tag 1 for timestamps. No Swift package of the set reads or
/// writes CBOR, hence this codec.
enum CBOR {
    struct Malformed: Error {
        var reason: String
    }

    /// Nesting deeper than this is refused: a request is a few levels deep.
    static let maximumDepth = 64

    /// A timestamp: tag 1 over the seconds or milliseconds since the epoch.
    static let timestampTag: UInt64 = 1

    // MARK: Reading

    /// The item `bytes` hold, which must be exactly one; `tagged` reads a tagged item (tag, item) into its value.
    static func decode(_ bytes: [UInt8], tagged: @escaping (UInt64, JSONTree) throws -> JSONTree = { _, value in value }) throws -> JSONTree {
        var reader = Reader(bytes: bytes, tagged: tagged)
        let value = try reader.item(depth: 0)
        guard reader.offset == bytes.count else { throw Malformed(reason: "\(bytes.count - reader.offset) bytes after the CBOR item") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        let tagged: (UInt64, JSONTree) throws -> JSONTree
        var offset = 0

        init(bytes: [UInt8], tagged: @escaping (UInt64, JSONTree) throws -> JSONTree) {
            self.bytes = bytes
            self.tagged = tagged
        }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw Malformed(reason: "the CBOR item ends early") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: UInt64) throws -> ArraySlice<UInt8> {
            guard count <= UInt64(bytes.count - offset) else { throw Malformed(reason: "a CBOR string is longer than the body") }
            defer { offset += Int(count) }
            return bytes[offset..<offset + Int(count)]
        }

        mutating func argument(_ info: UInt8) throws -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24: return UInt64(try byte())
            case 25, 26, 27:
                var value: UInt64 = 0
                for _ in 0..<(1 << (info - 24)) { value = value << 8 | UInt64(try byte()) }
                return value
            default: throw Malformed(reason: "CBOR additional information \(info) is reserved")
            }
        }

        /// `true` (and the break consumed) when the next byte ends an indefinite-length item.
        mutating func atBreak() throws -> Bool {
            guard offset < bytes.count else { throw Malformed(reason: "an indefinite-length CBOR item has no break") }
            if bytes[offset] == 0xFF {
                offset += 1
                return true
            }
            return false
        }

        mutating func string(_ major: UInt8, _ info: UInt8) throws -> [UInt8] {
            guard info == 31 else { return Array(try take(try argument(info))) }
            var chunks: [UInt8] = []
            while try !atBreak() {
                let head = try byte()
                guard head >> 5 == major, head & 0x1F != 31 else { throw Malformed(reason: "a chunk of an indefinite-length CBOR string has another type") }
                chunks += try take(try argument(head & 0x1F))
            }
            return chunks
        }

        mutating func item(depth: Int) throws -> JSONTree {
            guard depth < CBOR.maximumDepth else { throw Malformed(reason: "CBOR nested deeper than \(CBOR.maximumDepth) levels") }
            let head = try byte()
            let major = head >> 5
            let info = head & 0x1F
            switch major {
            case 0:
                let value = try argument(info)
                guard value <= UInt64(Int64.max) else { throw Malformed(reason: "a CBOR integer is out of range") }
                return .integer(Int64(value))
            case 1:
                let value = try argument(info)
                guard value <= UInt64(Int64.max) else { throw Malformed(reason: "a CBOR integer is out of range") }
                return .integer(-1 - Int64(value))
            case 2:
                return .bytes(try string(2, info))
            case 3:
                guard let text = String(validating: try string(3, info), as: UTF8.self) else { throw Malformed(reason: "a CBOR text string is not UTF-8") }
                return .string(text)
            case 4:
                var items: [JSONTree] = []
                if info == 31 {
                    while try !atBreak() { items.append(try item(depth: depth + 1)) }
                } else {
                    let count = try argument(info)
                    guard count <= UInt64(bytes.count - offset) else { throw Malformed(reason: "a CBOR array is longer than the body") }
                    for _ in 0..<count { items.append(try item(depth: depth + 1)) }
                }
                return .array(items)
            case 5:
                var members: [(String, JSONTree)] = []
                func member() throws {
                    guard case .string(let key) = try item(depth: depth + 1) else { throw Malformed(reason: "a CBOR map key is not a text string") }
                    members.append((key, try item(depth: depth + 1)))
                }
                if info == 31 {
                    while try !atBreak() { try member() }
                } else {
                    let count = try argument(info)
                    guard count <= UInt64(bytes.count - offset) else { throw Malformed(reason: "a CBOR map is longer than the body") }
                    for _ in 0..<count { try member() }
                }
                return .object(members)
            case 6:
                let tag = try argument(info)
                return try tagged(tag, try item(depth: depth + 1))
            default:
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22, 23: return .null
                case 25: return .double(Double(Float16(bitPattern: UInt16(try argument(info)))))
                case 26: return .double(Double(Float(bitPattern: UInt32(try argument(info)))))
                case 27: return .double(Double(bitPattern: try argument(info)))
                default: throw Malformed(reason: "CBOR simple value \(info) is not supported")
                }
            }
        }
    }

    // MARK: Writing

    /// `value` in CBOR with definite lengths; `tag` names the tag to put before a member (by its name), if any.
    static func encode(_ value: JSONTree, tag: (String) -> UInt64? = { _ in nil }) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out, tag: tag)
        return out
    }

    private static func head(_ major: UInt8, _ argument: UInt64, into out: inout [UInt8]) {
        let type = major << 5
        switch argument {
        case 0..<24: out.append(type | UInt8(argument))
        case 24...0xFF: out += [type | 24, UInt8(argument)]
        case 0x100...0xFFFF: out.append(type | 25); append(argument, bytes: 2, into: &out)
        case 0x1_0000...0xFFFF_FFFF: out.append(type | 26); append(argument, bytes: 4, into: &out)
        default: out.append(type | 27); append(argument, bytes: 8, into: &out)
        }
    }

    private static func append(_ value: UInt64, bytes: Int, into out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func write(_ value: JSONTree, into out: inout [UInt8], tag: (String) -> UInt64?) {
        switch value {
        case .null: out.append(0xF6)
        case .bool(let flag): out.append(flag ? 0xF5 : 0xF4)
        case .integer(let number):
            if number >= 0 { head(0, UInt64(number), into: &out) } else { head(1, UInt64(-(number + 1)), into: &out) }
        case .double(let number):
            out.append(0xFB)
            append(number.bitPattern, bytes: 8, into: &out)
        case .string(let text):
            let utf8 = Array(text.utf8)
            head(3, UInt64(utf8.count), into: &out)
            out += utf8
        case .bytes(let bytes):
            head(2, UInt64(bytes.count), into: &out)
            out += bytes
        case .array(let items):
            head(4, UInt64(items.count), into: &out)
            for item in items { write(item, into: &out, tag: tag) }
        case .object(let members):
            head(5, UInt64(members.count), into: &out)
            for (name, member) in members {
                write(.string(name), into: &out, tag: tag)
                if let number = tag(name) { head(6, number, into: &out) }
                write(member, into: &out, tag: tag)
            }
        }
    }
}
