"""Node.js functions (nodejs18.x and later) as Lambda's Node.js runtimes run them, through boto3 against a real server
running real Node.js: handler resolution for CommonJS and ES modules, async and callback handlers with
`callbackWaitsForEmptyEventLoop`, the context object, AWS's error documents and init errors, unhandled rejections,
console lines in the text and JSON log formats, NODE_PATH for layers, response streaming, async invocation with a
destination and an SQS mapping with partial batch failures; the runtime's Node.js version check."""
import base64
import json
import re
import subprocess

import pytest
from botocore.exceptions import ClientError

from asyncfixtures import queue_arn, wait_until
from conftest import make_client, served
from functions import ROLE, function_name, package

NODE_MAJOR = int(subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()[1:].split(".")[0])
RUNTIME = f"nodejs{NODE_MAJOR}.x"


@pytest.fixture()
def lam(server):
    return make_client(server.endpoint, "lambda")


@pytest.fixture()
def sqs(server):
    return make_client(server.endpoint, "sqs")


def create_node(lam, files, handler="index.handler", name=None, **extra):
    name = name or function_name("node")
    lam.create_function(FunctionName=name, Runtime=extra.pop("Runtime", RUNTIME), Role=ROLE, Handler=handler,
                        Code={"ZipFile": package(files)}, **extra)
    return name


def invoke(lam, name, event=None, **extra):
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), LogType="Tail", **extra)
    payload = json.loads(answer["Payload"].read() or b"null")
    log = base64.b64decode(answer.get("LogResult", "")).decode()
    return answer, payload, log


CONTEXT_HANDLER = """
exports.handler = async (event, context) => {
  console.log('event', JSON.stringify(event));
  console.warn('careful\\nsecond line');
  return {
    event,
    requestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    name: context.functionName,
    version: context.functionVersion,
    memory: context.memoryLimitInMB,
    group: context.logGroupName,
    stream: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    clientContext: context.clientContext,
    waits: context.callbackWaitsForEmptyEventLoop,
    executionEnv: process.env.AWS_EXECUTION_ENV,
    nodeMajor: Number(process.versions.node.split('.')[0]),
    taskRoot: process.env.LAMBDA_TASK_ROOT,
    cwdIsRoot: process.cwd() === process.env.LAMBDA_TASK_ROOT,
  };
};
"""


def test_commonjs_async_handler_in_a_nested_folder_gets_the_full_context(lam):
    name = create_node(lam, {"src/handlers/app.js": CONTEXT_HANDLER}, handler="src/handlers/app.handler", Timeout=7, MemorySize=256)
    client_context = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}, "env": {"platform": "test"}}).encode()).decode()
    answer, payload, log = invoke(lam, name, {"hello": "node"}, ClientContext=client_context)
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    assert payload["event"] == {"hello": "node"}
    assert re.fullmatch(r"[0-9a-f-]{36}", payload["requestId"])
    assert payload["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert payload["name"] == name and payload["version"] == "$LATEST" and payload["memory"] == "256"
    assert payload["group"] == f"/aws/lambda/{name}" and re.match(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", payload["stream"])
    assert 5000 < payload["remaining"] <= 7000
    assert payload["clientContext"] == {"custom": {"tenant": "t1"}, "env": {"platform": "test"}}
    assert payload["waits"] is True
    assert payload["executionEnv"] == f"AWS_Lambda_{RUNTIME}" and payload["nodeMajor"] == NODE_MAJOR
    assert payload["cwdIsRoot"] is True
    # Lambda's text format: timestamp, request id, level, message; a message's line breaks become carriage returns.
    request_id = payload["requestId"]
    assert re.search(rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tINFO\tevent {{\"hello\":\"node\"}}$", log, re.M), log
    assert f"\t{request_id}\tWARN\tcareful\rsecond line" in log
    assert f"START RequestId: {request_id} Version: $LATEST" in log and f"REPORT RequestId: {request_id}" in log


def test_es_modules_by_extension_and_by_package_type(lam):
    mjs = create_node(lam, {"lib/handler.mjs": "const loaded = await Promise.resolve('top-level await');\n"
                                               "export const handler = async (event) => ({ kind: 'mjs', loaded, n: event.n * 2 });\n"},
                      handler="lib/handler.handler")
    assert invoke(lam, mjs, {"n": 21})[1] == {"kind": "mjs", "loaded": "top-level await", "n": 42}
    typed = create_node(lam, {"package.json": json.dumps({"type": "module"}),
                              "index.js": "import { double } from './math.js';\nexport async function handler(event) { return double(event.n); }\n",
                              "math.js": "export const double = (n) => n * 2;\n"})
    assert invoke(lam, typed, {"n": 4})[1] == 8
    cjs = create_node(lam, {"package.json": json.dumps({"type": "module"}),
                            "legacy.cjs": "module.exports.nested = { handler: async () => 'from cjs' };\n"},
                      handler="legacy.nested.handler")
    assert invoke(lam, cjs)[1] == "from cjs"


def test_callback_handlers_wait_for_the_event_loop_unless_told_not_to(lam):
    source = """
exports.handler = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = event.wait;
  setTimeout(() => console.log('timer fired'), 300);
  callback(null, { answered: true });
};
exports.failing = (event, context, callback) => callback(new RangeError('out of range'));
exports.silent = (event, context) => { setTimeout(() => {}, 10); };
"""
    name = create_node(lam, {"index.js": source})
    answer, payload, log = invoke(lam, name, {"wait": True})
    assert payload == {"answered": True}
    assert "timer fired" in log, "the response waits until the event loop is empty"
    answer, payload, log = invoke(lam, name, {"wait": False})
    assert payload == {"answered": True}
    assert "timer fired" not in log, "with callbackWaitsForEmptyEventLoop false the response does not wait"

    failing = create_node(lam, {"index.js": source}, handler="index.failing")
    answer, payload, log = invoke(lam, failing)
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "RangeError" and payload["errorMessage"] == "out of range"
    silent = create_node(lam, {"index.js": source}, handler="index.silent")
    answer, payload, _ = invoke(lam, silent)
    assert "FunctionError" not in answer and payload is None


def test_a_thrown_error_is_reported_as_lambda_reports_it(lam):
    name = create_node(lam, {"index.js": "class OrderError extends Error { constructor(m) { super(m); this.name = 'OrderError'; } }\n"
                                         "exports.handler = async () => { throw new OrderError('order 42 is invalid'); };\n"})
    answer, payload, log = invoke(lam, name)
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "OrderError" and payload["errorMessage"] == "order 42 is invalid"
    assert payload["trace"][0] == "OrderError: order 42 is invalid" and any("index.js" in line for line in payload["trace"])
    assert "\tERROR\tInvoke Error \t" in log and '"errorType":"OrderError"' in log
    # The environment survives a handled error: the next invocation runs in it.
    assert invoke(lam, name)[0]["FunctionError"] == "Unhandled"


@pytest.mark.parametrize("files, handler, error_type, message", [
    ({"index.js": "exports.handler = async () => 1;\n"}, "missing.handler", "Runtime.ImportModuleError", "Cannot find module"),
    ({"index.js": "exports.other = async () => 1;\n"}, "index.handler", "Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
    ({"index.js": "exports.handler = 42;\n"}, "index.handler", "Runtime.HandlerNotFound", "index.handler is not a function"),
    ({"index.js": "exports.handler = async () => {\n"}, "index.handler", "Runtime.UserCodeSyntaxError", "SyntaxError"),
    ({"index.mjs": "import { nothing } from './absent.mjs';\nexport const handler = () => 1;\n"}, "index.handler",
     "Runtime.ImportModuleError", "Cannot find module"),
    ({"index.js": "throw new TypeError('bad configuration');\n"}, "index.handler", "TypeError", "bad configuration"),
    ({"index.js": "exports.handler = async () => 1;\n"}, "nodots", "Runtime.MalformedHandlerName", "Bad handler"),
])
def test_init_errors(lam, files, handler, error_type, message):
    name = create_node(lam, files, handler=handler)
    answer, payload, log = invoke(lam, name)
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == error_type and message in payload["errorMessage"], payload
    assert isinstance(payload["trace"], list)


def test_an_unhandled_rejection_ends_the_invocation_and_the_environment(lam):
    source = """
let invocations = 0;
exports.handler = async (event) => {
  invocations += 1;
  if (event.reject) Promise.reject(new Error('nobody caught me'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { invocations };
};
"""
    name = create_node(lam, {"index.js": source})
    assert invoke(lam, name)[1] == {"invocations": 1}
    answer, payload, log = invoke(lam, name, {"reject": True})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.UnhandledPromiseRejection" and payload["errorMessage"] == "Error: nobody caught me"
    assert "Unhandled Promise Rejection" in log
    # The runtime exited: the next invocation starts a new environment.
    assert invoke(lam, name)[1] == {"invocations": 1}


def test_an_uncaught_exception_in_a_timer_fails_the_invocation(lam):
    source = "exports.handler = (event, context, callback) => { setTimeout(() => { throw new Error('from a timer'); }, 10); };\n"
    name = create_node(lam, {"index.js": source})
    answer, payload, log = invoke(lam, name)
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Error" and payload["errorMessage"] == "from a timer"
    assert "Uncaught Exception" in log


def test_json_log_format(lam):
    name = create_node(lam, {"index.js": "exports.handler = async () => { console.info('plain', 1); console.error(new Error('as error')); return 1; };\n"},
                       LoggingConfig={"LogFormat": "JSON"})
    answer, _, log = invoke(lam, name)
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    plain = next(r for r in records if r.get("message") == "plain 1")
    assert plain["level"] == "INFO" and plain["requestId"] == request_id and plain["timestamp"].endswith("Z")
    failed = next(r for r in records if r.get("errorType") == "Error")
    assert failed["level"] == "ERROR" and failed["errorMessage"] == "as error" and isinstance(failed["stackTrace"], list)


def test_layers_are_on_node_path(lam):
    layer = lam.publish_layer_version(LayerName=function_name("nodelayer"), CompatibleRuntimes=[RUNTIME], Content={"ZipFile": package({
        "nodejs/node_modules/greeter/index.js": "module.exports.greet = (who) => `hello ${who}`;\n",
        f"nodejs/node{NODE_MAJOR}/node_modules/versioned/index.js": "module.exports = 'versioned';\n",
    })})
    name = create_node(lam, {"index.js": "const { greet } = require('greeter');\nconst v = require('versioned');\n"
                                         "exports.handler = async (e) => ({ greeting: greet(e.who), v });\n"},
                       Layers=[layer["LayerVersionArn"]])
    assert invoke(lam, name, {"who": "layers"})[1] == {"greeting": "hello layers", "v": "versioned"}


def test_response_streaming_with_streamify_response(lam):
    source = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  for (const part of ['one ', 'two ', 'three']) {
    responseStream.write(part);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  responseStream.end();
});
"""
    name = create_node(lam, {"index.js": source})
    answer = lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
    chunks, complete = [], None
    for event in answer["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
        if "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    assert b"".join(chunks) == b"one two three"
    assert complete is not None and "ErrorCode" not in complete


def test_async_invocation_reaches_its_destination(lam, sqs):
    queue = function_name("node-dest")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    name = create_node(lam, {"index.mjs": "export const handler = async (event) => ({ doubled: event.n * 2 });\n"})
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn(queue)}})
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 5}))["StatusCode"] == 202
    messages = []
    wait_until(lambda: messages.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])) or messages, timeout=30)
    record = json.loads(messages[0]["Body"])
    assert record["responsePayload"] == {"doubled": 10} and record["requestContext"]["condition"] == "Success"


def test_sqs_mapping_with_partial_batch_failures(lam, sqs):
    queue = function_name("node-src")
    url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    source = """
exports.handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    if (record.body.startsWith('bad')) batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  console.log('batch', event.Records.map((r) => r.body).join(','));
  return { batchItemFailures };
};
"""
    name = create_node(lam, {"index.js": source})
    for body in ["ok-1", "bad-1", "ok-2"]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    mapping = lam.create_event_source_mapping(EventSourceArn=queue_arn(queue), FunctionName=name, BatchSize=10,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])

    def attributes():
        values = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(values["ApproximateNumberOfMessages"]), int(values["ApproximateNumberOfMessagesNotVisible"])
    # Only the reported failure stays in the queue (in flight until its visibility timeout ends, then retried).
    assert wait_until(lambda: sum(attributes()) == 1, timeout=30)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    messages = []
    assert wait_until(lambda: messages.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", []))
                      or messages, timeout=30)
    assert messages[0]["Body"] == "bad-1" and int(messages[0]["Attributes"]["ApproximateReceiveCount"]) >= 2


def test_a_runtime_of_another_node_version_is_refused_unless_mapped(lam, binary, tmp_path_factory):
    other = 18 if NODE_MAJOR != 18 else 22
    with pytest.raises(ClientError) as refused:
        create_node(lam, {"index.js": "exports.handler = async () => 1;\n"}, Runtime=f"nodejs{other}.x")
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert f"needs Node.js {other}" in error["Message"] and "functions.nodeVersions" in error["Message"]
    # Mapped by the operator to this machine's Node.js, the runtime is accepted and runs there.
    with served(binary, tmp_path_factory, "nodemap", SPOOL_FUNCTIONS_NODE_VERSIONS=f"nodejs{other}.x=node") as server:
        mapped = make_client(server.endpoint, "lambda")
        name = create_node(mapped, {"index.js": "exports.handler = async () => process.env.AWS_EXECUTION_ENV;\n"}, Runtime=f"nodejs{other}.x")
        assert invoke(mapped, name)[1] == f"AWS_Lambda_nodejs{other}.x"


def test_provisioned_environments_of_a_node_version(lam):
    source = "const started = Date.now();\nexports.handler = async () => ({ type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, started });\n"
    name = create_node(lam, {"index.js": source}, Publish=True)
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert wait_until(lambda: lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")["Status"] == "READY", timeout=30)
    answer, payload, log = invoke(lam, name, Qualifier="1")
    assert payload["type"] == "provisioned-concurrency" and answer["ExecutedVersion"] == "1"
    assert "Init Duration" not in log, "the environment was initialized ahead of the invocation"
