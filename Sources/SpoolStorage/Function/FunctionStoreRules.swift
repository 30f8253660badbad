import Foundation
import SpoolModel

/// What every `FunctionStore` backend answers the same way.
package enum FunctionStoreRules {
    package static func alreadyExists(_ name: String) -> SpoolError {
        SpoolError(.resourceConflict, "Function already exist: \(name)")
    }

    package static let revisionMismatch = SpoolError(
        .preconditionFailed,
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    )

    /// A stored definition (one JSON document).
    package static func definition(_ text: String) -> FunctionDefinition? {
        try? JSONDecoder().decode(FunctionDefinition.self, from: Data(text.utf8))
    }
}
