"""deploy/nginx.conf served by this machine's nginx on local ports, with a certificate from
deploy/self-signed-certificate.sh: plain HTTP only redirects, every answer forbids framing and pins HTTPS, and the
cookies Streamlit sets leave as Secure (HttpOnly but for the XSRF cookie its JavaScript reads), up to a real sign-in
in Chromium."""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.commands.serve import LOOPBACK, free_port, running_app, running_provider, write_demo_secrets
from dashboard.scratch import prepared_engine
from dashboard.settings import PROJECT_ROOT
from tests.test_login_browser import PAGE_TITLES, TIMEOUT_MS, log_in, settle

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
SITE = PROJECT_ROOT / "deploy" / "nginx.conf"
CERTIFICATE_SCRIPT = PROJECT_ROOT / "deploy" / "self-signed-certificate.sh"
# What the official nginx image's own nginx.conf wraps conf.d/default.conf in; temporary files in the test's folder.
MAIN_CONF = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/default.conf;
}}
"""
# Streamlit 1.67's own cookies, as its Starlette routes set them (starlette_auth_routes._set_single_cookie, the XSRF
# cookie of starlette_routes, Starlette's SessionMiddleware for the sign-in state): none of them Secure.
STREAMLIT_COOKIES = (
    "_streamlit_xsrf=2|5f0c|9e8d|1765000000; Path=/; SameSite=Lax",
    "_streamlit_session=eyJzdGF0ZSI6IHt9fQ==; path=/; Max-Age=1209600; httponly; samesite=lax",
    "_streamlit_user=InsiZW1haWwiOiAiYUBiLmMifSI.aGk.c2ln; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax",
    "_streamlit_user_tokens=InsiaWRfdG9rZW4iOiAiZXlKIn0i.aGk.c2ln; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax",
    "_streamlit_user_tokens_1=c2Vjb25kIGNodW5r; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax",
)
HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def make_certificate(directory: Path, *hosts: str) -> tuple[Path, Path]:
    """The trial certificate and key, made by the documented script."""
    done = subprocess.run(["bash", str(CERTIFICATE_SCRIPT), str(directory), *hosts], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return directory / "certificate.pem", directory / "key.pem"


def local_site(certificates: Path, http_port: int, https_port: int, app_port: int) -> str:
    """deploy/nginx.conf with compose's ports, service name and mounted paths replaced by this machine's."""
    site = SITE.read_text(encoding="utf-8")
    for shipped, local, count in (("listen 80;", f"listen {LOOPBACK}:{http_port};", 1),
                                  ("listen 443 ssl;", f"listen {LOOPBACK}:{https_port} ssl;", 1),
                                  ("server app:8501;", f"server {LOOPBACK}:{app_port};", 1),
                                  ("/etc/nginx/tls/", f"{certificates}/", 2)):
        assert site.count(shipped) == count, shipped
        site = site.replace(shipped, local)
    return site


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "nginx exited at start"
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nginx does not listen on {port}")


@contextmanager
def running_nginx(folder: Path, certificates: Path, app_port: int) -> Iterator[tuple[int, int]]:
    """nginx with the shipped site on two free local ports, until the block ends: (http port, https port)."""
    http_port, https_port = free_port(), free_port()
    (folder / "default.conf").write_text(local_site(certificates, http_port, https_port, app_port), encoding="utf-8")
    configuration = folder / "nginx.conf"
    configuration.write_text(MAIN_CONF.format(folder=folder), encoding="utf-8")
    checked = subprocess.run([NGINX, "-t", "-c", str(configuration)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(configuration), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(https_port, process)
        yield http_port, https_port
    finally:
        process.terminate()
        process.wait(timeout=10)


class _StreamlitLike(BaseHTTPRequestHandler):
    """Answers / as Streamlit answers a sign-in, with its cookies; anything else is 404."""

    def do_GET(self) -> None:
        found = self.path == "/"
        self.send_response(200 if found else 404)
        for cookie in STREAMLIT_COOKIES if found else ():
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def streamlit_like_upstream() -> Iterator[int]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _StreamlitLike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, host: str, context: ssl.SSLContext | None = None) -> http.client.HTTPResponse:
    if context is None:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    else:
        connection = http.client.HTTPSConnection(LOOPBACK, port, timeout=10, context=context)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _attributes(set_cookie: str) -> tuple[str, set[str]]:
    """A Set-Cookie header's cookie name and its attributes, lowercased (`samesite=lax`, `secure`, ...)."""
    name_value, *attributes = [part.strip() for part in set_cookie.split(";")]
    return name_value.split("=", 1)[0], {attribute.lower() for attribute in attributes}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tls")
    make_certificate(directory, "relais.example.org")
    return directory


def test_the_trial_certificate_names_this_machine_and_its_key_is_private(certificates):
    certificate, key = certificates / "certificate.pem", certificates / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    text = subprocess.run(["openssl", "x509", "-in", str(certificate), "-noout", "-ext", "subjectAltName", "-enddate"],
                          capture_output=True, text=True, check=True).stdout
    assert re.findall(r"(DNS:[\w.]+|IP Address:[\d.]+)", text) == ["DNS:localhost", "IP Address:127.0.0.1",
                                                                   "DNS:relais.example.org"]
    ends = datetime.strptime(re.search(r"notAfter=(.*)", text).group(1).strip(), "%b %d %H:%M:%S %Y GMT")
    assert abs(ends.replace(tzinfo=UTC) - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_nginx_serves_tls_only_forbids_framing_and_makes_streamlit_cookies_secure(certificates, tmp_path):
    trusted = ssl.create_default_context(cafile=str(certificates / "certificate.pem"))
    with streamlit_like_upstream() as app_port, running_nginx(tmp_path, certificates, app_port) as (http_port,
                                                                                                    https_port):
        redirected = _get(http_port, "/outreach?lang=en&period=2024-Q1", "relais.example.org")
        assert redirected.status == 301
        assert redirected.getheader("Location") == "https://relais.example.org/outreach?lang=en&period=2024-Q1"

        # The generated certificate verifies for the names it was made for, as a browser that trusts it checks.
        served = _get(https_port, "/", "relais.example.org", trusted)
        assert served.status == 200
        assert {name: served.getheader(name) for name in HEADERS} == HEADERS
        assert served.getheader("Server") == "nginx"  # no version
        cookies = dict(_attributes(value) for name, value in served.getheaders() if name.lower() == "set-cookie")
        assert set(cookies) == {"_streamlit_xsrf", "_streamlit_session", "_streamlit_user", "_streamlit_user_tokens",
                                "_streamlit_user_tokens_1"}
        for name, attributes in cookies.items():
            assert {"secure", "samesite=lax"} <= attributes, name
            # Streamlit's JavaScript reads the XSRF cookie and sends it back with its websocket and uploads.
            assert ("httponly" in attributes) == (name != "_streamlit_xsrf"), name

        # Errors carry the headers too (`always`).
        missing = _get(https_port, "/no-such-page", "relais.example.org", trusted)
        assert missing.status == 404
        assert {name: missing.getheader(name) for name in HEADERS} == HEADERS

        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"), \
                socket.create_connection((LOOPBACK, https_port), timeout=10) as raw:
            trusted.wrap_socket(raw, server_hostname="elsewhere.example.org")


def _https_secrets(directory: Path, app_port: int, https_port: int, issuer: str) -> Path:
    """The demo's secrets, the provider sending the browser back through nginx."""
    path = write_demo_secrets(directory, app_port, issuer)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"http://localhost:{app_port}/", f"https://localhost:{https_port}/"),
                    encoding="utf-8")
    return path


def test_a_sign_in_through_nginx_works_over_tls_with_secure_cookies_and_cannot_be_framed(certificates, tmp_path,
                                                                                         browser):
    database_url = f"sqlite:///{tmp_path / 'relais.db'}"
    prepared_engine(database_url).dispose()
    app_port = free_port()
    with running_provider(free_port(), log=tmp_path / "provider.log") as issuer, \
            running_nginx(tmp_path, certificates, app_port) as (_http_port, https_port):
        environment = {"STREAMLIT_SECRETS_FILES": str(_https_secrets(tmp_path, app_port, https_port, issuer)),
                       "DATABASE_URL": database_url}
        with running_app(app_port, environment, log=tmp_path / "app.log"):
            context = browser.new_context(ignore_https_errors=True, locale="fr-CA")
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            console = []
            page.on("console", lambda message: console.append(message.text))
            url = f"https://localhost:{https_port}"
            log_in(page, url, "capitaine")
            expect(page.get_by_role("heading", name=PAGE_TITLES["overview"], exact=True)).to_be_visible()
            settle(page)
            assert page.get_by_test_id("stException").count() == 0
            # Streamlit draws nothing of its own in a frame here, so DENY and frame-ancestors 'none' cost nothing.
            assert page.frames == [page.main_frame]
            assert not [text for text in console if "frame" in text.lower() or "refused" in text.lower()]

            cookies = {cookie["name"]: cookie for cookie in context.cookies() if cookie["name"].startswith("_st")}
            assert {"_streamlit_xsrf", "_streamlit_user", "_streamlit_user_tokens"} <= set(cookies)
            assert all(cookie["secure"] for cookie in cookies.values())
            assert [name for name, cookie in cookies.items() if not cookie["httpOnly"]] == ["_streamlit_xsrf"]
            readable = page.evaluate("document.cookie")
            assert "_streamlit_xsrf=" in readable and "_streamlit_user" not in readable

            # Another site framing Relais gets an error page in the frame, not the app.
            framing = context.new_page()
            refusals = []
            framing.on("console", lambda message: refusals.append(message.text))
            framing.set_content(f'<iframe src="{url}/" width="800" height="600"></iframe>')
            framing.wait_for_timeout(2000)
            (framed,) = framing.main_frame.child_frames
            assert framed.url == "chrome-error://chromewebdata/"
            assert any("frame-ancestors 'none'" in text for text in refusals)
            framing.close()

            # Signing out through nginx still removes the identity and the tokens from the browser.
            page.get_by_role("button", name="Se déconnecter").click()
            page.wait_for_url(re.compile(r".*/oauth2/end_session.*"))
            page.get_by_role("button", name="End session").click()
            expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
            assert not [cookie["name"] for cookie in context.cookies() if cookie["name"].startswith("_streamlit_user")]
            context.close()
