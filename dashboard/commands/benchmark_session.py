"""One Streamlit session driven over the app's websocket protocol as the browser drives it, signed in for real."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.Common_pb2 import StringArray
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from dashboard.i18n import t

RUN_TIMEOUT_SECONDS = 60.0
HTTP_TIMEOUT_SECONDS = 30.0
XSRF_COOKIE = "_streamlit_xsrf"
USER_COOKIE = "_streamlit_user"
# What a browser in Quebec tells the server about itself with each rerun.
CONTEXT = {"timezone": "America/Toronto", "timezone_offset": 300, "locale": "fr-CA", "is_embedded": False,
           "color_scheme": "light"}
OK, EXCEPTION, TIMEOUT, DISCONNECTED, FAILED = "ok", "exception", "timeout", "disconnected", "failed"


class SignInFailed(Exception):
    """The provider or the app did not end in a signed-in session."""


@dataclass(frozen=True)
class PageRun:
    """One rerun as the browser sees it: from sending it to the script's end, and what came over the websocket."""

    page: str
    seconds: float
    received: int
    status: str = OK
    detail: str = ""


@dataclass
class _Run:
    """What the messages of the current run have said so far."""

    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    received: int = 0
    redirect: str | None = None
    finished: int | None = None
    page_hash: str = ""
    not_found: bool = False


class StreamlitSession:
    """A browser tab's conversation with the app: reruns out, deltas and script ends in."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=HTTP_TIMEOUT_SECONDS)
        self.socket: ClientConnection | None = None
        self.pages: dict[str, str] = {}  # URL path → page script hash, from the navigation message
        self.page = ""
        self.query = ""
        self.run = _Run()
        self._cached: dict[str, ForwardMsg] = {}

    # --- the websocket -------------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Open the app's stream with this tab's cookies, as the frontend does once its page has loaded."""
        await self._close_socket()
        if not self._cookie(XSRF_COOKIE):
            await self.http.get(self.base_url + "/_stcore/health")
        origin = self.base_url
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.http.cookies.jar
                            if cookie.domain.startswith(urlsplit(origin).hostname or ""))
        self.socket = await connect(
            "ws" + origin.removeprefix("http") + "/_stcore/stream", origin=origin,
            # Streamlit reads the XSRF token from the second subprotocol the frontend offers.
            subprotocols=["streamlit", self._cookie(XSRF_COOKIE)], additional_headers={"Cookie": cookies},
            max_size=None, open_timeout=HTTP_TIMEOUT_SECONDS,
        )

    def _cookie(self, name: str) -> str:
        return next((cookie.value for cookie in self.http.cookies.jar if cookie.name == name), "")

    async def _close_socket(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def close(self) -> None:
        """Close the tab."""
        await self._close_socket()
        await self.http.aclose()

    def _rerun(self, page_hash: str = "", page_name: str = "", *states: WidgetState) -> BackMsg:
        # Only the widget just changed: the others keep, in the session's state, the value the server last gave them.
        context = ContextInfo(url=f"{self.base_url}/{self.page}", **CONTEXT)
        return BackMsg(rerun_script=ClientState(
            query_string=self.query, widget_states=WidgetStates(widgets=states), page_script_hash=page_hash,
            page_name=page_name, cached_message_hashes=list(self._cached), context_info=context,
        ))

    async def _send(self, message: BackMsg, page: str, timeout: float = RUN_TIMEOUT_SECONDS) -> PageRun:
        """Send a rerun and read until the script has finished; the run as the browser would have timed it."""
        started = time.perf_counter()
        self.run = _Run()
        try:
            await self.socket.send(message.SerializeToString())
            async with asyncio.timeout(timeout):
                while not self._ended():
                    self._receive(await self.socket.recv())
        except TimeoutError:
            return PageRun(page, time.perf_counter() - started, self.run.received, TIMEOUT)
        except (WebSocketException, OSError) as error:
            return PageRun(page, time.perf_counter() - started, self.run.received, DISCONNECTED, str(error))
        seconds = time.perf_counter() - started
        self.page = next((path for path, key in self.pages.items() if key == self.run.page_hash), page)
        if exceptions := [element.exception for element in self.run.elements.values() if element.HasField("exception")]:
            return PageRun(self.page, seconds, self.run.received, EXCEPTION, exceptions[0].message)
        if self.run.not_found or self.run.finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            return PageRun(self.page, seconds, self.run.received, FAILED, "page not found or not compiled")
        return PageRun(self.page, seconds, self.run.received)

    def _ended(self) -> bool:
        return self.run.redirect is not None or self.run.finished in (
            ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)

    def _receive(self, data: bytes) -> None:
        self.run.received += len(data)
        message = ForwardMsg()
        message.ParseFromString(data)
        if message.metadata.cacheable:
            self._cached[message.hash] = message
        kind = message.WhichOneof("type")
        if kind == "ref_hash":
            # The browser already holds this message: it is drawn from its cache where the reference says.
            kind, metadata, message = "delta", message.metadata, self._cached[message.ref_hash]
        else:
            metadata = message.metadata
        if kind == "new_session":
            self.run.elements.clear()
            self.run.page_hash = message.new_session.page_script_hash
        elif kind == "delta" and message.delta.HasField("new_element"):
            self.run.elements[tuple(metadata.delta_path)] = message.delta.new_element
        elif kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            self.run.page_hash = message.navigation.page_script_hash or self.run.page_hash
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "page_not_found":
            self.run.not_found = True
        elif kind == "auth_redirect":
            self.run.redirect = message.auth_redirect.url
        elif kind == "script_finished":
            self.run.finished = message.script_finished

    # --- what a person does ------------------------------------------------------------------------------

    async def sign_in(self, subject: str) -> PageRun:
        """Sign in through the app's button and the provider's form; the first page the app then shows."""
        await self._connect()
        await self._send(self._rerun(), "")
        button = self._button(t("app.login.button", "fr"))
        if button is None:
            raise SignInFailed(f"{subject}: no sign-in button on the first page")
        await self._send(self._rerun("", "", WidgetState(id=button.id, trigger_value=True)), "")
        if self.run.redirect is None:
            raise SignInFailed(f"{subject}: the sign-in button did not redirect to the provider")
        form = await self.http.get(self.base_url + "/" + self.run.redirect.lstrip("/")
                                   if self.run.redirect.startswith("/") else self.run.redirect)
        # The provider's form posts to its own address: the subject typed, then "Authorize".
        answer = await self.http.post(str(form.url), data={"sub": subject})
        if not self._cookie(USER_COOKIE) or answer.status_code != 200:
            raise SignInFailed(f"{subject}: no identity cookie after the provider's answer ({answer.status_code})")
        await self._connect()
        return await self._send(self._rerun(), "")

    def _button(self, label: str):
        return next((element.button for element in self.run.elements.values()
                     if element.HasField("button") and element.button.label == label), None)

    async def open(self, page: str) -> PageRun:
        """Follow the navigation's link to a page."""
        if page not in self.pages:
            return PageRun(page, 0.0, 0, FAILED, f"{page} is not in the navigation")
        # As the frontend on a link of the navigation: the page's own query parameters and widgets stay behind.
        self.query = ""
        return await self._send(self._rerun(self.pages[page]), page)

    def widget(self, key: str) -> Element | None:
        """The widget with this key on the page last drawn."""
        return next((element for element in self.run.elements.values()
                     if _widget_id(element).endswith("-" + key)), None)

    def options(self, key: str) -> list[str]:
        """The options a select box or multiselect shows, as shown."""
        element = self.widget(key)
        return list(getattr(element, element.WhichOneof("type")).options) if element else []

    async def choose(self, key: str, value: str | list[str]) -> PageRun:
        """Pick an option of a select box (a string) or options of a multiselect (a list), as shown."""
        element = self.widget(key)
        state = WidgetState(id=_widget_id(element))
        if isinstance(value, list):
            state.string_array_value.CopyFrom(StringArray(data=value))
        else:
            state.string_value = value
        return await self._send(self._rerun(self.pages.get(self.page, ""), "", state), self.page)

    def metrics(self) -> dict[str, str]:
        """The tiles of the page last drawn: label → value, as shown."""
        return {element.metric.label: element.metric.body for _path, element in sorted(self.run.elements.items())
                if element.HasField("metric")}


def _widget_id(element: Element | None) -> str:
    kind = element.WhichOneof("type") if element is not None else None
    return getattr(getattr(element, kind), "id", "") if kind else ""

