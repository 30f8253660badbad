import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pipe for a child's standard output or error, read line by line on a thread of its own.
///
/// It can say whether everything written to it so far has been handed on (`isDrained`), which lets an
/// environment finish an invocation's log as soon as the runtime's lines are in, rather than guessing
/// from a quiet period (a busy machine can leave a reader behind by more than any short guess).
final class OutputPipe: Sendable {
    /// The end the child writes to; the spawner closes it in this process once the child has it.
    let writeDescriptor: Int32
    private let readDescriptor: Int32
    /// True from the moment the reader sees data until every complete line in it was handed on.
    private let busy = Atomic<Bool>(false)
    private let ended = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Creates the pipe, both ends close-on-exec so no other child inherits them.
    init() throws {
        var descriptors: [Int32] = [-1, -1]
        guard systemPipe2(&descriptors, O_CLOEXEC) == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "pipe2 failed: errno \(errno)"])
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    /// Starts the reader; `onLine` gets every line without its newline, in order. A last line without a
    /// newline is handed on at the end of the stream.
    func start(onLine: @escaping @Sendable (String) -> Void) {
        let thread = Thread { [self] in
            read(onLine)
        }
        thread.name = "spool-output-\(readDescriptor)"
        thread.start()
    }

    private func read(_ onLine: @escaping @Sendable (String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var waiting = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&waiting, 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            // Marked busy before the bytes leave the pipe, so that `isDrained` never sees them in neither place.
            busy.store(true, ordering: .sequentiallyConsistent)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(readDescriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR || errno == EAGAIN {
                busy.store(false, ordering: .sequentiallyConsistent)
                continue
            }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            var start = 0
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                onLine(String(decoding: pending[start..<newline], as: UTF8.self))
                start = newline + 1
            }
            pending.removeFirst(start)
            busy.store(false, ordering: .sequentiallyConsistent)
        }
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        close(readDescriptor)
        busy.store(false, ordering: .sequentiallyConsistent)
        let waiters = ended.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether every byte written so far has been read and its complete lines handed on.
    var isDrained: Bool {
        if ended.withLock({ $0.done }) { return true }
        // The pipe first, then the reader: bytes gone from the pipe were taken by a read that set `busy` first.
        var available: Int32 = 0
        guard ioctl(readDescriptor, UInt(FIONREAD), &available) == 0 else { return true }
        return available == 0 && !busy.load(ordering: .sequentiallyConsistent)
    }

    /// Waits until the writing side closed and everything was read.
    func finished() async {
        await withCheckedContinuation { continuation in
            let done = ended.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// `pipe2(2)`, which Glibc's Swift module does not export (it sits behind `_GNU_SOURCE`): creating both
/// ends close-on-exec in one call leaves no moment in which a child spawned by another thread inherits them.
@_silgen_name("pipe2")
private func systemPipe2(_ descriptors: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
