"""Who this process is: the name job runs, outbox senders and heartbeats record."""
from __future__ import annotations

import os
import socket


def owner_name() -> str:
    """Who is running: host and process id, recorded on each claimed run."""
    return f"{socket.gethostname()}:{os.getpid()}"
