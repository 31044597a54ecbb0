"""Journey (d): with Redis stopped, sign-in keeps working on in-memory limits and /healthz says so.

A real `redis-server` on a free port, started and stopped by the test; the app counts sign-in attempts in
it while it is up, in memory while it is down, and in it again once it is back.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time

import pytest

from crm import create_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One throw-away redis-server process without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def keys(self) -> list[str]:
        import redis

        return [key.decode() for key in redis.Redis(port=self.port).keys("*")]


@pytest.fixture
def redis_server():
    server = RedisServer(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app(app_config, redis_server, world):
    return create_app({**app_config, "RATELIMIT_STORAGE_URI": redis_server.url,
                       "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
                       "CRM_LOGIN_LIMIT_PER_ADDRESS": "3 per 5 minutes"})


def _post_login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_with_redis_stopped_sign_in_works_limits_apply_in_memory_and_healthz_says_degraded(
        redis_app, redis_server, world, caplog):
    client = redis_app.test_client()
    # Redis up: failed attempts are counted in Redis (the flood guard, per address), sign-in works, /healthz is ok.
    assert _post_login(client, world.manager1.username, "wrong-password").status_code == 422
    assert any("127.0.0.1" in key for key in redis_server.keys())
    assert _post_login(client, world.manager1.username, PASSWORD).status_code == 303
    assert client.get("/healthz").json == {"status": "ok", "database": "ok", "ratelimit": "ok"}
    client.post("/logout")

    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        other = redis_app.test_client()
        assert _post_login(other, world.other_manager.username, PASSWORD).status_code == 303
    assert any("falling back to in-memory" in record.getMessage() for record in caplog.records)
    # The per-address flood guard (3) still applies, counted in this process's memory.
    lead = world.lead.username
    codes = [_post_login(redis_app.test_client(), lead, "wrong-password", "10.8.0.1").status_code
             for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    assert _post_login(redis_app.test_client(), lead, PASSWORD, "10.8.0.1").status_code == 429
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json == {"status": "degraded", "database": "ok", "ratelimit": "unreachable"}

    # Redis back on the same port: the limiter tries it again within seconds and counts there again.
    redis_server.start()
    assert client.get("/healthz").json["status"] == "ok"
    deadline = time.monotonic() + 45
    attempt = 0
    while True:
        attempt += 1
        address = f"10.9.{attempt // 250}.{attempt % 250 + 1}"
        assert _post_login(redis_app.test_client(), "nobody", "wrong-password", address).status_code == 422
        if any(address in key for key in redis_server.keys()):
            break
        assert time.monotonic() < deadline, "the limiter never went back to Redis"
        time.sleep(0.5)
    assert _post_login(redis_app.test_client(), world.manager1.username, PASSWORD).status_code == 303


def test_healthz_with_a_memory_store_does_not_list_a_rate_limit_store(client, world):
    assert "ratelimit" not in client.get("/healthz").json

