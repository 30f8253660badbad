import Foundation
import Hummingbird
import SpoolEngine
import SpoolModel

/// ListTags, TagResource and UntagResource on function ARNs.
extension LambdaHandler {
    struct TagsInput: Decodable { var Tags: [String: String] }
    struct TagsOutput: Encodable { var Tags: [String: String] }

    func addTagRoutes(to router: Router<SpoolRequestContext>) {
        router.get("2017-03-31/tags/:arn") { _, context in
            try await self.respond(context) { id in
                let definition = try await self.registry.function(arn: self.arn(context))
                return Self.json(TagsOutput(Tags: definition.tags), id)
            }
        }
        router.post("2017-03-31/tags/:arn") { request, context in
            try await self.respond(context) { id in
                let input = try await Self.decode(TagsInput.self, request, limit: 65_536, operation: "TagResource")
                try await self.registry.tag(arn: self.arn(context), add: input.Tags, remove: [])
                return Self.empty(.noContent, id)
            }
        }
        router.delete("2017-03-31/tags/:arn") { request, context in
            try await self.respond(context) { id in
                let keys = request.uri.queryParameters.getAll("tagKeys").map { String($0) }
                try await self.registry.tag(arn: self.arn(context), add: [:], remove: keys)
                return Self.empty(.noContent, id)
            }
        }
    }

    func arn(_ context: SpoolRequestContext) -> String {
        let raw = context.parameters.get("arn") ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
