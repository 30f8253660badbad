"""boto3 clients that speak SQS's query protocol (form-encoded requests, XML answers), as every SDK did until 2023.

Current botocore describes SQS in its JSON protocol only, so the query clients load the SQS service model of
botocore 1.31.60, the last release before SQS moved to JSON. It is fetched once with pip (as the other test
requirements are) into .venv/sqs-query-model and put first on botocore's search path for these clients only.
"""
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import boto3
import botocore.session
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
MODEL_RELEASE = "botocore==1.31.60"


def query_model_dir() -> Path:
    target = ROOT / ".venv" / "sqs-query-model"
    if (target / "sqs" / "2012-11-05" / "service-2.json").exists():
        return target
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "--dest", download, MODEL_RELEASE], check=True)
        wheel = next(Path(download).glob("botocore-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("botocore/data/sqs/"):
                    destination = target / name.removeprefix("botocore/data/")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.read(name))
    return target


def query_client(endpoint: str, key="test", secret="test", region="us-east-1"):
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(query_model_dir()))
    client = boto3.Session(botocore_session=session).client(
        "sqs", endpoint_url=endpoint, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, read_timeout=60))
    assert client.meta.service_model.protocol == "query"
    return client


def system_attributes(sqs, *names):
    """ReceiveMessage's system attributes to return, as each protocol's model names the member (the query model
    predates MessageSystemAttributeNames and has AttributeNames, which both protocols take)."""
    key = "AttributeNames" if sqs.meta.service_model.protocol == "query" else "MessageSystemAttributeNames"
    return {key: list(names)}
