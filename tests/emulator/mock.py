"""moto itself: intercepting boto3 in this process, or running as a local server."""

from __future__ import annotations

import contextlib
import copy
import os
import socket
from collections.abc import Iterator

from moto import mock_aws


@contextlib.contextmanager
def moto(server: bool) -> Iterator[None]:
    """moto with Step Functions' execution on. With ``server`` moto runs as a server on
    127.0.0.1 (a free port), ``AWS_ENDPOINT_URL`` points every boto3 client of the process at
    it, and ``MOTO_PORT`` points Step Functions' own SDK calls there; otherwise moto intercepts
    boto3 in-process."""
    if not server:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield
        return
    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    saved_config = copy.deepcopy(default_user_config["stepfunctions"])
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    os.environ["MOTO_PORT"] = str(port)
    moto_server.start()
    try:
        yield
    finally:
        moto_server.stop()
        default_user_config["stepfunctions"] = saved_config
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
