import SpoolModel
import Testing

@Suite("Function names, runtimes and settings")
struct FunctionRulesTests {
    let identity = AWSIdentity()

    @Test("names, full ARNs, partial ARNs and qualifiers parse as Lambda accepts them", arguments: [
        ("my-fn", "my-fn", nil),
        ("my-fn:$LATEST", "my-fn", "$LATEST"),
        ("arn:aws:lambda:us-east-1:000000000000:function:my-fn", "my-fn", nil),
        ("arn:aws:lambda:us-east-1:000000000000:function:my-fn:prod", "my-fn", "prod"),
        ("000000000000:function:my_fn", "my_fn", nil),
        // Another region's function: its stored name carries the region.
        ("arn:aws:lambda:eu-west-1:000000000000:function:f", "eu-west-1/f", nil),
    ] as [(String, String, String?)])
    func parses(_ text: String, _ name: String, _ qualifier: String?) throws {
        let reference = try FunctionReference.parse(text, identity: identity)
        #expect(reference.name == name)
        #expect(reference.qualifier == qualifier)
    }

    @Test("malformed names fail validation and other accounts are not found", arguments: [
        ("bad name", SpoolError.Code.validation), ("a:b:c", .validation), (String(repeating: "x", count: 65), .validation),
        ("arn:aws:lambda:EU:000000000000:function:f", .validation), ("eu-west-1/f", .validation),
        ("arn:aws:lambda:us-east-1:111111111111:function:f", .resourceNotFound), ("111111111111:function:f", .resourceNotFound),
    ])
    func rejects(_ text: String, _ code: SpoolError.Code) {
        #expect(throws: SpoolError.self) { try FunctionReference.parse(text, identity: identity) }
        do { _ = try FunctionReference.parse(text, identity: identity) } catch { #expect(error.code == code) }
    }

    @Test("a Qualifier parameter must agree with the one in the name")
    func qualifierAgreement() throws {
        let named = try FunctionReference.parse("f:$LATEST", identity: identity)
        #expect(try named.resolvingQualifier("$LATEST").qualifier == "$LATEST")
        #expect(throws: SpoolError.self) { try named.resolvingQualifier("prod") }
        #expect(throws: SpoolError.self) { try FunctionReference.parse("f:1", identity: identity).requireLatest(identity: identity) }
    }

    @Test("runtimes: supported ones parse, known but unsupported and unknown ones are refused differently")
    func runtimes() throws {
        #expect(try FunctionRuntime.parse("python3.12") == .python("python3.12"))
        #expect(try FunctionRuntime.parse("provided.al2") == .provided("provided.al2"))
        do { _ = try FunctionRuntime.parse("java21"); Issue.record("java21 accepted") } catch { #expect(error.code == .invalidParameterValue) }
        do { _ = try FunctionRuntime.parse("cobol"); Issue.record("cobol accepted") } catch { #expect(error.code == .validation) }
        #expect(try FunctionRuntime.parse("nodejs22.x") == .node("nodejs22.x"))
        // A Node.js identifier Lambda adds later runs like the others; the retired ones stay refused.
        #expect(try FunctionRuntime.parse("nodejs26.x") == .node("nodejs26.x"))
        do { _ = try FunctionRuntime.parse("nodejs16.x"); Issue.record("nodejs16.x accepted") } catch { #expect(error.code == .invalidParameterValue) }
    }

    @Test("a Node.js runtime runs under the installed Node.js of its major version, or the one the operator mapped it to")
    func nodeInstallations() throws {
        let installed = NodeInstallations(configured: .init(executable: "node", version: "v20.20.2"),
                                          mapped: ["nodejs18.x": .init(executable: "/opt/node18/bin/node", version: "v18.19.0"),
                                                   "nodejs24.x": .init(executable: "/missing/node", version: nil)])
        #expect(try installed.executable(for: "nodejs20.x") == "node")
        #expect(try installed.executable(for: "nodejs18.x") == "/opt/node18/bin/node")
        do { _ = try installed.executable(for: "nodejs22.x"); Issue.record("nodejs22.x accepted") } catch {
            #expect(error.code == .invalidParameterValue && error.message.contains("needs Node.js 22") && error.message.contains("v20.20.2"))
        }
        do { _ = try installed.executable(for: "nodejs24.x"); Issue.record("unrunnable mapping accepted") } catch {
            #expect(error.message.contains("could not be run"))
        }
        do { _ = try NodeInstallations().executable(for: "nodejs20.x"); Issue.record("no Node.js accepted") } catch {
            #expect(error.message.contains("has no Node.js"))
        }
    }

    @Test("settings are validated against Lambda's limits before they are applied")
    func settings() throws {
        var definition = FunctionDefinition(name: "f", executor: .process, revisionID: "r", lastModified: 0)
        try FunctionSettings(timeoutSeconds: 900, memorySizeMB: 10_240, environment: ["A_B": "1"]).apply(to: &definition, identity: identity)
        #expect(definition.timeoutSeconds == 900 && definition.memorySizeMB == 10_240)
        let bad: [FunctionSettings] = [
            FunctionSettings(timeoutSeconds: 0), FunctionSettings(timeoutSeconds: 901), FunctionSettings(memorySizeMB: 127),
            FunctionSettings(environment: ["AWS_REGION": "x"]), FunctionSettings(environment: ["1X": "x"]),
            FunctionSettings(environment: ["BIG": String(repeating: "x", count: 4_100)]), FunctionSettings(role: "role"),
            FunctionSettings(deadLetterTargetARN: "arn:aws:sns:us-east-1:000000000000:topic"), FunctionSettings(logFormat: "XML"),
        ]
        for settings in bad {
            var copy = definition
            #expect(throws: SpoolError.self, "\(settings)") { try settings.apply(to: &copy, identity: identity) }
            #expect(copy == definition)
        }
    }
}
