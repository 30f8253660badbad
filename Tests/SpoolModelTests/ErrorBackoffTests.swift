import SpoolModel
import Testing

@Suite("Back-off after store and source failures")
struct ErrorBackoffTests {
    @Test("doubles from the base to the maximum, with at most 20 % jitter")
    func doubles() {
        let backoff = ErrorBackoff(base: 500, maximum: 30_000)
        #expect((1...7).map { backoff.delay(failures: $0, unit: 0) } == [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000])
        #expect(backoff.delay(failures: 1_000, unit: 0) == 30_000)
        #expect(backoff.delay(failures: 2, unit: 0.999) == 1_199)
        #expect(backoff.delay(failures: 0, unit: 0) == 500)
    }
}
