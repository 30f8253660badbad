/// What the mapping supervisor runs for one enabled mapping: a queue poller or a stream poller.
protocol MappingPoller: AnyObject, Sendable {
    var uuid: String { get }
    /// New settings take effect from the next batch.
    func update(_ mapping: EventSourceMapping)
    /// No new batch starts; batches already handed to the function finish and settle.
    func stop()
    var isStopped: Bool { get }
    func run() async
}

import SpoolModel

extension QueuePoller: MappingPoller {}
