"""The sandbox of each execution environment, as a Lambda environment is isolated (the developer guide's "Lambda
execution environment", "Configuring ephemeral storage" and "Memory and computing power"): the code read-only at
/var/task, layers at /opt, a private /tmp of EphemeralStorage, a memory limit of MemorySize that ends in
Runtime.OutOfMemory, CPU in proportion to memory (1,769 MB = one vCPU) and a process limit; and the status that says
which isolation is in force. Runs where the host allows the sandbox (Linux as root, as CI does)."""
import base64
import json
import os
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import make_client, served
from functions import ROLE, create_python, function_name, package


def status(server):
    import urllib.request
    with urllib.request.urlopen(server.endpoint + "/spool/v1/status") as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def sandboxed(server):
    isolation = status(server)["isolation"]
    if isolation["mode"] != "sandbox" and (os.geteuid() != 0 or not os.path.exists("/sys/fs/cgroup")):
        pytest.skip(f"this host does not allow the sandbox: {isolation.get('reason')}")
    assert isolation["mode"] == "sandbox", isolation
    assert isolation["cgroup"] in ("v1", "v2")
    return isolation


@pytest.fixture()
def lam(server, sandboxed):
    return make_client(server.endpoint, "lambda")


def invoke(lam, name, event=None):
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    return answer, json.loads(answer["Payload"].read() or b"null"), base64.b64decode(answer.get("LogResult", "")).decode()


FILES = """import json, os
def handler(event, context):
    if event.get("write"):
        with open("/tmp/" + event["write"], "w") as marker:
            marker.write("mine")
    try:
        open("/var/task/new-file", "w")
        task_writable = True
    except OSError:
        task_writable = False
    statvfs = os.statvfs("/tmp")
    return {
        "tmp": sorted(os.listdir("/tmp")),
        "cwd": os.getcwd(),
        "task": sorted(os.listdir("/var/task")),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "task_writable": task_writable,
        "tmp_mb": statvfs.f_blocks * statvfs.f_frsize // 1048576,
        "host_file": os.path.exists(event.get("host_file", "/nonexistent")),
        "pid": os.getpid(),
    }
"""


def test_each_environment_has_its_own_tmp_and_a_read_only_task_folder(lam, tmp_path):
    host_marker = f"/tmp/spool-host-{uuid.uuid4().hex}"
    with open(host_marker, "w") as marker:
        marker.write("host")
    try:
        first = create_python(lam, FILES)
        second = create_python(lam, FILES)
        _, one, _ = invoke(lam, first, {"write": "first-was-here", "host_file": host_marker})
        assert one["tmp"] == ["first-was-here"], "a fresh /tmp holds only what the environment wrote"
        assert one["cwd"] == "/var/task" and one["task_root"] == "/var/task" and one["task"] == ["app.py"]
        assert one["task_writable"] is False
        assert one["host_file"] is False, "the host's /tmp is not visible"
        _, two, _ = invoke(lam, second, {"host_file": host_marker})
        assert two["tmp"] == [], "another environment's /tmp is not visible"
        # The same environment keeps its /tmp between warm invocations, as on Lambda.
        _, again, _ = invoke(lam, first)
        assert again["pid"] == one["pid"] and again["tmp"] == ["first-was-here"]
    finally:
        os.remove(host_marker)


def test_tmp_is_limited_to_ephemeral_storage(lam):
    source = """import errno
def handler(event, context):
    written = 0
    chunk = b"x" * 1048576
    try:
        with open("/tmp/fill", "wb") as fill:
            while written < event["mb"]:
                fill.write(chunk)
                fill.flush()
                written += 1
    except OSError as error:
        return {"written": written, "error": errno.errorcode[error.errno]}
    return {"written": written, "error": None}
"""
    name = create_python(lam, source, MemorySize=2048, Timeout=60, EphemeralStorage={"Size": 600})
    assert lam.get_function_configuration(FunctionName=name)["EphemeralStorage"] == {"Size": 600}
    _, payload, _ = invoke(lam, name, {"mb": 700})
    assert payload["error"] == "ENOSPC" and 590 <= payload["written"] <= 600, payload
    sized = create_python(lam, FILES, EphemeralStorage={"Size": 1024})
    assert invoke(lam, sized)[1]["tmp_mb"] == 1024
    assert invoke(lam, create_python(lam, FILES))[1]["tmp_mb"] == 512


def test_ephemeral_storage_is_validated_as_lambda_does(lam, server):
    import boto3
    from botocore.config import Config
    unchecked = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                             aws_secret_access_key="test", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    for size, bound in [(511, "greater than or equal to 512"), (10241, "less than or equal to 10240")]:
        with pytest.raises(ClientError) as refused:
            create_python(unchecked, FILES, EphemeralStorage={"Size": size})
        assert refused.value.response["Error"]["Code"] == "ValidationException" and bound in refused.value.response["Error"]["Message"]
    name = create_python(lam, FILES)
    assert lam.get_function_configuration(FunctionName=name)["EphemeralStorage"] == {"Size": 512}
    assert lam.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": 10240})["EphemeralStorage"] == {"Size": 10240}


def test_layers_are_merged_read_only_at_opt(lam):
    first = lam.publish_layer_version(LayerName=function_name("base"), Content={"ZipFile": package({
        "python/shared.py": "WHO = 'first'\n", "data/only-first.txt": "1"})})
    second = lam.publish_layer_version(LayerName=function_name("top"), Content={"ZipFile": package({
        "python/shared.py": "WHO = 'second'\n", "data/only-second.txt": "2"})})
    source = """import os, shared
def handler(event, context):
    try:
        open("/opt/new-file", "w")
        writable = True
    except OSError:
        writable = False
    return {"who": shared.WHO, "origin": shared.__file__, "data": sorted(os.listdir("/opt/data")), "writable": writable}
"""
    name = create_python(lam, source, Layers=[first["LayerVersionArn"], second["LayerVersionArn"]])
    _, payload, _ = invoke(lam, name)
    assert payload == {"who": "second", "origin": "/opt/python/shared.py", "data": ["only-first.txt", "only-second.txt"], "writable": False}
    bare = create_python(lam, "import os\ndef handler(event, context):\n    return os.listdir('/opt')\n")
    assert invoke(lam, bare)[1] == [], "without layers /opt is empty"


def test_memory_beyond_memory_size_ends_in_out_of_memory(lam):
    source = """def handler(event, context):
    hoard = []
    for _ in range(event["mb"]):
        hoard.append(bytearray(1048576))
    return len(hoard)
"""
    name = create_python(lam, source, MemorySize=128, Timeout=30)
    answer, payload, log = invoke(lam, name, {"mb": 40})
    assert payload == 40 and "FunctionError" not in answer
    used = int(re.search(r"Max Memory Used: (\d+) MB", log).group(1))
    assert 40 <= used <= 128, log
    answer, payload, log = invoke(lam, name, {"mb": 400})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory", payload
    assert int(re.search(r"Max Memory Used: (\d+) MB", log).group(1)) <= 128
    # The environment was replaced: the function works again.
    assert invoke(lam, name, {"mb": 10})[1] == 10


def cgroup_folder(pid, controller):
    """The folder of `pid`'s cgroup for `controller` (v1) or its unified cgroup (v2), from /proc and mountinfo."""
    paths = {}
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        number, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    for line in open("/proc/self/mountinfo").read().splitlines():
        before, after = line.split(" - ")
        fields, (fstype, _, options) = before.split(), after.split()[:3]
        root, point = fields[3], fields[4]
        if fstype == "cgroup" and controller in options.split(","):
            path = paths[controller]
        elif fstype == "cgroup2" and controller not in paths:
            path = paths[""]
        else:
            continue
        relative = path[len(root):] if root != "/" and path.startswith(root) else path
        return point + relative
    raise AssertionError(f"no cgroup for {controller}")


@pytest.mark.parametrize("memory", [128, 1769, 3008])
def test_the_cgroup_limits_follow_memory_size(lam, sandboxed, memory):
    name = create_python(lam, FILES, MemorySize=memory)
    _, payload, _ = invoke(lam, name)
    pid = payload["pid"]
    expected_quota = round(memory / 1769 * 100_000)
    if sandboxed["cgroup"] == "v1":
        memory_folder, cpu_folder, pids_folder = (cgroup_folder(pid, c) for c in ("memory", "cpu", "pids"))
        assert int(open(f"{memory_folder}/memory.limit_in_bytes").read()) == memory * 1048576
        assert int(open(f"{cpu_folder}/cpu.cfs_period_us").read()) == 100_000
        assert int(open(f"{cpu_folder}/cpu.cfs_quota_us").read()) == expected_quota
        assert int(open(f"{pids_folder}/pids.max").read()) == 1024
    else:
        folder = cgroup_folder(pid, "memory")
        assert int(open(f"{folder}/memory.max").read()) == memory * 1048576
        assert open(f"{folder}/cpu.max").read().split() == [str(expected_quota), "100000"]
        assert int(open(f"{folder}/pids.max").read()) == 1024


def test_without_the_sandbox_the_status_says_so_and_ephemeral_storage_is_refused(binary, tmp_path_factory):
    with served(binary, tmp_path_factory, "nosandbox", SPOOL_FUNCTIONS_ISOLATION="none") as plain:
        isolation = status(plain)["isolation"]
        assert isolation == {"mode": "none", "reason": "functions.isolation is none"}
        lam = make_client(plain.endpoint, "lambda")
        with pytest.raises(ClientError) as refused:
            create_python(lam, FILES, EphemeralStorage={"Size": 1024})
        assert "EphemeralStorage other than 512 MB without the sandbox" in refused.value.response["Error"]["Message"]
        name = create_python(lam, FILES)
        _, payload, _ = invoke(lam, name)
        assert payload["cwd"] != "/var/task" and payload["task_writable"] is True
