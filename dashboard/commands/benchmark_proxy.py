"""nginx in front of several app processes for `benchmark load --replicas`: each browser kept on one replica."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dashboard.commands.serve import LOOPBACK, running_process

# deploy/nginx.conf keeps a browser on one replica by its address (ip_hash). Here every session comes from
# 127.0.0.1, so the affinity key is Streamlit's XSRF cookie instead: set on a browser's first request and sent with
# its websocket and its sign-in, it stays the same for the session's life.
AFFINITY_CONF = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream relais {{
        hash $cookie__streamlit_xsrf consistent;
{servers}
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen {address}:{port};
        location / {{
            proxy_pass http://relais;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 86400s;
            proxy_buffering off;
        }}
    }}
}}
"""


class ProxyMissing(RuntimeError):
    """nginx is not installed."""


def affinity_conf(folder: Path, port: int, upstream_ports: Sequence[int]) -> str:
    """An nginx configuration on 127.0.0.1:port in front of these app ports, a browser kept on one of them."""
    servers = "\n".join(f"        server {LOOPBACK}:{upstream};" for upstream in upstream_ports)
    return AFFINITY_CONF.format(folder=folder, address=LOOPBACK, port=port, servers=servers)


@contextmanager
def running_proxy(port: int, upstream_ports: Sequence[int], folder: Path) -> Iterator[str]:
    """nginx on 127.0.0.1:port in front of the app's replicas, until the block ends; yields the URL browsers use."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        raise ProxyMissing("benchmark load --replicas needs nginx (Debian: apt-get install nginx-light)")
    configuration = folder / "nginx.conf"
    configuration.write_text(affinity_conf(folder, port, upstream_ports), encoding="utf-8")
    url = f"http://localhost:{port}"
    with running_process([nginx, "-c", str(configuration), "-g", "daemon off;"], url + "/_stcore/health",
                         folder / "nginx.log"):
        yield url
