import SpoolModel

/// Durable storage of layer versions and their permission policies.
public protocol LayerStore: Sendable {
    /// PublishLayerVersion: stores `layer` under the layer's next version number (numbers are never used twice, even
    /// after every version was deleted) and returns it with its number.
    func publishLayerVersion(_ layer: LayerVersion) async throws -> LayerVersion
    /// One version, or `nil`.
    func layerVersion(_ name: String, version: Int) async throws -> LayerVersion?
    /// A layer's versions, newest first, below `before` when given.
    func layerVersions(_ name: String, before: Int?, limit: Int) async throws -> [LayerVersion]
    /// Every layer's newest version, by layer name, after `after`.
    func latestLayerVersions(after: String?, limit: Int) async throws -> [LayerVersion]
    /// Deletes a version; what it was, or `nil`.
    func deleteLayerVersion(_ name: String, version: Int) async throws -> LayerVersion?
    /// Replaces a version's policy if it is still at `expectedRevision` (`PreconditionFailedException` otherwise; any
    /// when `nil`); `ResourceNotFoundException` when the version does not exist.
    func setLayerPolicy(_ name: String, version: Int, statements: [LayerVersion.Statement], revisionID: String, expectedRevision: String?)
        async throws -> LayerVersion
}
