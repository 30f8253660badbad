extension Duration {
    /// The duration in (fractional) milliseconds, as Lambda reports durations.
    package var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}
