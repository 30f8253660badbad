"""Helpers to build deployment packages the way users do: zip files made in memory."""
import io
import uuid
import zipfile

ROLE = "arn:aws:iam::000000000000:role/spool-test"


def package(files: dict, modes: dict | None = None) -> bytes:
    """A zip of `files` (path -> text); `modes` sets Unix permissions, e.g. {"bootstrap": 0o755}."""
    modes = modes or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (modes.get(path, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


def function_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_python(client, source: str, name: str | None = None, **extra) -> str:
    name = name or function_name("py")
    client.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                           Code={"ZipFile": package({"app.py": source})}, **extra)
    return name


CURL_BOOTSTRAP = """#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  echo "bootstrap handling $ID"
  case "$EVENT" in
    *fail*) curl -sS -X POST "$API/invocation/$ID/error" -H "Lambda-Runtime-Function-Error-Type: Custom.Failure" \\
              -d '{"errorMessage":"asked to fail","errorType":"Custom.Failure"}' >/dev/null ;;
    *) curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"event\\":$EVENT,\\"handler\\":\\"$_HANDLER\\",\\"fn\\":\\"$AWS_LAMBDA_FUNCTION_NAME\\"}" >/dev/null ;;
  esac
done
"""


def create_bootstrap(client, script: str = CURL_BOOTSTRAP, name: str | None = None, extra_files: dict | None = None,
                     modes: dict | None = None, **extra) -> str:
    name = name or function_name("sh")
    files = {"bootstrap": script, **(extra_files or {})}
    all_modes = {"bootstrap": 0o755, **(modes or {})}
    client.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="function.handler",
                           Code={"ZipFile": package(files, all_modes)}, **extra)
    return name
