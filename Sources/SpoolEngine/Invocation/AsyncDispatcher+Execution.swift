import Logging
import NIOCore
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Running one claimed event and settling what came of it.
extension AsyncDispatcher {
    /// Runs one claimed event and settles what came of it. The caller counted it in `executing`.
    func execute(_ invocation: ClaimedInvocation, slot: FunctionRunner.Slot) async {
        defer {
            eventEnded()
            wakeups.signal()
        }
        var definition = slot.definition
        let name = invocation.functionName
        let started = registry.clock.now()
        var config = (try? await configs.effective(for: name, qualifier: invocation.qualifier)) ?? .defaults(for: name)
        if state.withLock({ $0.abandoned }) || Task.isCancelled {
            // The stop's grace period ended before this event started: it stays for the next start.
            runner.release(slot)
            await settle(AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: started)
                .released(started: false), function: name)
            return
        }
        // An event for a version or an alias runs that version (through an alias, the one its weights pick now); one
        // whose version or alias is gone fails without running, as one whose function is gone.
        if let qualifier = invocation.qualifier, qualifier != "$LATEST" {
            do {
                definition = try await registry.invocationTarget(FunctionReference(name: name, qualifier: qualifier))
            } catch let error as SpoolError where error.code == .resourceNotFound {
                runner.release(slot)
                SpoolMetrics.asyncEventDropped(name, .functionDeleted)
                await settle(AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: nil, now: started)
                    .failed(.functionDeleted, failure: nil, functionRan: false), function: name)
                return
            } catch {
                // The store could not be read: the event stays, claimable again.
                runner.release(slot)
                logger.error("cannot read the event's function version", metadata: ["function": "\(name)", "qualifier": "\(qualifier)", "error": "\(error)"])
                await settle(AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: started)
                    .released(started: false), function: name)
                return
            }
        }
        if case .fail(let condition)? = AsyncDecision.beforeRunning(enqueuedAt: invocation.enqueuedAt, now: started, config: config,
                                                                    reservedConcurrency: definition.reservedConcurrency) {
            runner.release(slot)
            let settlement = AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: started)
            SpoolMetrics.asyncEventDropped(name, condition)
            await settle(settlement.failed(condition, failure: nil, functionRan: false), function: name)
            return
        }
        var arn = registry.identity.functionARN(name)
        if let qualifier = invocation.qualifier { arn += ":" + qualifier }
        let request = InvocationRequest(requestID: invocation.requestID, function: definition, invokedFunctionARN: arn,
                                        payload: ByteBuffer(string: invocation.payload), origin: .async)
        let outcome: InvocationOutcome
        switch await runner.run(request, in: slot) {
        case .finished(let finished):
            outcome = finished
        case .throttled:
            outcome = .error(.systemFailure(.atCapacity), type: "TooManyRequestsException", message: "Rate Exceeded.")
        case .cutOff:
            // Spool cut it off (the stop's grace period ended): no attempt used, claimable again at once. The runner
            // cannot tell whether the function had started; counting it as started keeps the count an upper bound.
            await settle(AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition,
                                         now: registry.clock.now()).released(started: true), function: name)
            return
        }
        let failure = AsyncOutcome.failure(from: outcome)
        let ran = AsyncOutcome.functionRan(outcome)
        let now = registry.clock.now()
        config = (try? await configs.effective(for: name, qualifier: invocation.qualifier)) ?? config
        let settlement = AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: now)
        let decision = AsyncDecision.after(failure: failure, enqueuedAt: invocation.enqueuedAt, now: now, functionErrors: invocation.functionErrors,
                                           systemRetries: invocation.systemRetries, config: config, policy: settings.retryPolicy, unit: random())
        logger.debug("event attempted", metadata: ["function": "\(name)", "requestId": "\(invocation.requestID)", "status": "\(outcome.status)",
                                                   "decision": "\(decision)"])
        SpoolMetrics.asyncEventAge(name, millis: started - invocation.enqueuedAt)
        if invocation.invokeCount <= 1 { SpoolMetrics.ingestToStart(name, origin: .async, millis: started - invocation.enqueuedAt) }
        switch decision {
        case .succeed:
            await settle(settlement.succeeded(response: String(buffer: outcome.payload)), function: name)
        case .retry(let visibleAt, let consumesAttempt):
            SpoolMetrics.asyncRetry(name, consumesAttempt: consumesAttempt)
            await settle(settlement.retry(at: visibleAt, after: failure!, functionRan: ran), function: name)
        case .fail(let condition):
            SpoolMetrics.asyncEventDropped(name, condition)
            await settle(settlement.failed(condition, failure: failure, functionRan: ran), function: name)
        }
    }

    /// Stores a settle and wakes whoever it concerns. A failed settle leaves the lease to expire: the
    /// event runs again (at-least-once).
    func settle(_ params: SettleInvocationParams, function name: String) async {
        do {
            let outcome = try await store.settleInvocation(params)
            guard outcome.settled else {
                logger.warning("lease expired before the event was settled; it runs again", metadata: ["function": "\(name)"])
                return
            }
            for queue in outcome.queuesSent { queueSignals.signal(queue) }
            if outcome.postsQueued > 0 { deliveryWakeups.signal() }
            for target in outcome.functionsInvoked { notify(function: target, visibleAt: params.now) }
            // http(s) deliveries count when their endpoint answers 2xx (`DestinationDeliverer`).
            for _ in 0..<(outcome.queuesSent.count + outcome.functionsInvoked.count) {
                SpoolMetrics.destinationDelivery(name, failed: false)
            }
            for problem in outcome.undelivered {
                SpoolMetrics.destinationDelivery(name, failed: true)
                logger.error("destination not delivered; the record is kept as a dead letter (DestinationUnreachable)",
                             metadata: ["function": "\(name)", "problem": "\(problem)"])
            }
            switch params.transition {
            case .retry(let visibleAt, _, _): notify(function: name, visibleAt: visibleAt)
            case .release: notify(function: name, visibleAt: params.now)
            case .finish: break
            }
            progress.signal()
        } catch {
            logger.error("settle failed; the event runs again when its lease ends", metadata: ["function": "\(name)", "error": "\(error)"])
        }
    }
}
