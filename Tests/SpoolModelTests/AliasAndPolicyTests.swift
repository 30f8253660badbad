import SpoolModel
import Testing

@Suite("Aliases, function policies and layer ARNs")
struct AliasAndPolicyTests {
    @Test("an alias routes by its weight and spreads its provisioned environments the same way")
    func routing() throws {
        var alias = FunctionAlias(functionName: "f", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.25], revisionID: "r")
        #expect(alias.pickVersion(random: 0.1) == "2")
        #expect(alias.pickVersion(random: 0.25) == "1")
        #expect(alias.pickVersion(random: 0.9) == "1")
        alias.provisionedConcurrency = 8
        #expect(alias.provisionedShares == ["1": 6, "2": 2])
        alias.additionalVersionWeights = [:]
        #expect(alias.provisionedShares == ["1": 8])
        alias.provisionedConcurrency = nil
        #expect(alias.provisionedShares.isEmpty)
    }

    @Test("alias names and routing are checked as Lambda checks them")
    func checks() {
        #expect(FunctionAlias.isValidName("live") && FunctionAlias.isValidName("v2-canary_1"))
        #expect(!FunctionAlias.isValidName("123") && !FunctionAlias.isValidName("") && !FunctionAlias.isValidName("a b"))
        #expect(FunctionAlias.isVersionNumber("12") && !FunctionAlias.isVersionNumber("$LATEST") && !FunctionAlias.isVersionNumber("1a"))
        #expect(throws: SpoolError.self) { try FunctionAlias.checkRouting(["2": 0.5], functionVersion: "$LATEST") }
        #expect(throws: SpoolError.self) { try FunctionAlias.checkRouting(["1": 0.5], functionVersion: "1") }
        #expect(throws: SpoolError.self) { try FunctionAlias.checkRouting(["2": 1.5], functionVersion: "1") }
        #expect(throws: SpoolError.self) { try FunctionAlias.checkRouting(["2": 0.1, "3": 0.1], functionVersion: "1") }
        #expect(throws: Never.self) { try FunctionAlias.checkRouting(["2": 0.1], functionVersion: "1") }
    }

    @Test("a public function URL needs lambda:InvokeFunctionUrl for everyone, without source conditions")
    func publicURL() {
        #expect(FunctionPolicy.Statement(id: "a", action: "lambda:InvokeFunctionUrl", principal: "*", functionURLAuthType: "NONE").grantsPublicURL)
        #expect(FunctionPolicy.Statement(id: "a", action: "lambda:*", principal: "*").grantsPublicURL)
        #expect(!FunctionPolicy.Statement(id: "a", action: "lambda:InvokeFunction", principal: "*").grantsPublicURL)
        #expect(!FunctionPolicy.Statement(id: "a", action: "lambda:InvokeFunctionUrl", principal: "123456789012").grantsPublicURL)
        #expect(!FunctionPolicy.Statement(id: "a", action: "lambda:InvokeFunctionUrl", principal: "*", sourceAccount: "123456789012").grantsPublicURL)
        #expect(!FunctionPolicy.Statement(id: "a", action: "lambda:InvokeFunctionUrl", principal: "*", functionURLAuthType: "AWS_IAM").grantsPublicURL)
    }

    @Test("layer ARNs name their region and version")
    func layerARNs() {
        let identity = AWSIdentity()
        #expect(identity.layerARN("libs") == "arn:aws:lambda:us-east-1:000000000000:layer:libs")
        #expect(identity.layerARN("eu-west-1/libs") == "arn:aws:lambda:eu-west-1:000000000000:layer:libs")
        #expect(identity.layer(fromARN: "arn:aws:lambda:us-east-1:000000000000:layer:libs:3")! == ("libs", 3))
        #expect(identity.layer(fromARN: "arn:aws:lambda:eu-west-1:000000000000:layer:libs:3")! == ("eu-west-1/libs", 3))
        #expect(identity.layer(fromARN: "arn:aws:lambda:us-east-1:000000000000:layer:libs")! == ("libs", nil))
        #expect(identity.layer(fromARN: "arn:aws:lambda:us-east-1:111111111111:layer:libs:3") == nil)
        #expect(identity.layer(fromARN: "arn:aws:lambda:us-east-1:000000000000:layer:libs:0") == nil)
        #expect(identity.layer(fromARN: "arn:aws:lambda:us-east-1:000000000000:function:libs:3") == nil)
    }
}
