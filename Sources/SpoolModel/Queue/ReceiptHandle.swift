import Foundation

/// The receipt a ReceiveMessage hands out: which stored message, in which queue, under which lease.
///
/// `epoch` is the message's lease epoch at the time of the receive. Every later receive raises the
/// epoch, so a handle from an earlier receive can no longer delete or extend the message.
public struct ReceiptHandle: Sendable, Hashable {
    public var queueID: Int64
    public var rowID: Int64
    public var epoch: Int64
    public var messageID: String

    public init(queueID: Int64, rowID: Int64, epoch: Int64, messageID: String) {
        self.queueID = queueID
        self.rowID = rowID
        self.epoch = epoch
        self.messageID = messageID
    }

    /// The opaque string given to clients.
    public var encoded: String {
        Data("spool1:\(queueID):\(rowID):\(epoch):\(messageID)".utf8).base64EncodedString()
    }

    /// Decodes a handle, or throws `ReceiptHandleIsInvalid` for anything Spool did not issue.
    public static func decode(_ text: String) throws(SpoolError) -> ReceiptHandle {
        guard let data = Data(base64Encoded: text), let plain = String(data: data, encoding: .utf8) else {
            throw .receiptHandleIsInvalid(text)
        }
        let parts = plain.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "spool1", let queue = Int64(parts[1]), let row = Int64(parts[2]),
              let epoch = Int64(parts[3]), !parts[4].isEmpty
        else { throw .receiptHandleIsInvalid(text) }
        return ReceiptHandle(queueID: queue, rowID: row, epoch: epoch, messageID: String(parts[4]))
    }
}
