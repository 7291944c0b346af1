"""An S3-compatible server for tests: moto in server mode, a real HTTP endpoint in its own process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import Proc, free_port, python_module, wait_for

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-access-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str

    def client(self):  # type: ignore[no-untyped-def]
        """A plain boto3 client on the server (to look at what the platform stored)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def settings_env(self) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": self.bucket,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_REGION": REGION,
        }


def start_moto(env: dict[str, str], log_dir: Path) -> tuple[Proc, str]:
    """Start `python -m moto.server` on a free port; return it and its endpoint once it answers."""
    port = free_port()
    proc = Proc("moto-s3", python_module("moto.server", "-H", "127.0.0.1", "-p", str(port)), env, log_dir).start()
    endpoint = f"http://127.0.0.1:{port}"

    def _up() -> bool:
        assert proc.alive(), proc.log_tail()
        return requests.get(f"{endpoint}/moto-api/", timeout=2).status_code < 500

    wait_for(_up, timeout=30, what="moto S3 server")
    return proc, endpoint


@pytest.fixture(scope="module")
def s3_server(test_env: dict[str, str], proc_log_dir: Path) -> Iterator[S3Server]:
    """A moto S3 server with an empty bucket, for one test module."""
    env = {**test_env, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    proc, endpoint = start_moto(env, proc_log_dir)
    server = S3Server(endpoint_url=endpoint, bucket=f"kyc-{uuid.uuid4().hex[:8]}")
    server.client().create_bucket(Bucket=server.bucket)
    try:
        yield server
    finally:
        proc.stop()
