"""Service calls of the embedded graph as Zenoh queries, CDR in both directions.

A server is a queryable; ``server_callback`` decodes the request, runs the handler and
replies with the CDR response, or with an error text starting ``service <name>
failed:`` when the handler (or its response) fails. A handler may answer with a
``Future``: the query is held open and answered when it completes (a client-provided
service, an action's ``get_result``); if the server's process goes away first, Zenoh
ends the query and the caller gets an error at once. A call is a Zenoh ``get`` whose
reply callbacks complete a ``concurrent.futures.Future`` on a Zenoh thread, so the
caller never blocks; ``client_callbacks`` builds them.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import zenoh
from zenoh.handlers import Callback

from ..port import GraphError, Handler
from .convert import from_rosbridge, to_rosbridge

log = logging.getLogger(__name__)
SERVER_ERROR = "service "  # prefix of the errors a server sends


def server_callback(
    typestore: Any, name: str, types: tuple[str, str], handler: Handler,
) -> Callable[[zenoh.Query], None]:
    """A handler that returns a ``Future`` answers later: the query is kept, replied to
    from whichever thread completes the future, then dropped (which ends it for the
    caller)."""
    request_type, response_type = types

    def reply(query: zenoh.Query, answer: dict[str, Any]) -> None:
        try:
            response = from_rosbridge(typestore, response_type, answer)
            raw = bytes(typestore.serialize_cdr(response, response_type, little_endian=True))
        except Exception as exc:
            log.exception("service %s handler failed", name)
            query.reply_err(f"{SERVER_ERROR}{name} failed: {type(exc).__name__}: {exc}")
            return
        query.reply(query.key_expr, raw)

    def answer_later(query: zenoh.Query, future: Future) -> None:
        try:
            error = future.exception()
            if error is not None:  # the deferred answer's error says why by itself
                query.reply_err(f"{SERVER_ERROR}{name} failed: {error}")
            else:
                reply(query, future.result())
        except zenoh.ZError as exc:  # the session closed meanwhile
            log.warning("service %s: cannot reply: %s", name, exc)
        finally:
            query.drop()

    def on_query(query: zenoh.Query) -> None:
        try:
            payload = query.payload
            request = (
                to_rosbridge(typestore.deserialize_cdr(payload.to_bytes(), request_type))
                if payload else {}
            )
            answer = handler(request)
        except Exception as exc:
            log.exception("service %s handler failed", name)
            query.reply_err(f"{SERVER_ERROR}{name} failed: {type(exc).__name__}: {exc}")
            return
        if isinstance(answer, Future):
            answer.add_done_callback(lambda done: answer_later(query, done))
        else:
            reply(query, answer)

    return on_query


def client_callbacks(
    typestore: Any, name: str, response_type: str, future: Future[dict[str, Any]],
    no_answer: Callable[[], str],
) -> Callback:
    """Reply callbacks for one call; ``no_answer()`` words the error when none came."""
    settle = settler(future)

    def on_reply(reply: zenoh.Reply) -> None:
        if reply.ok is not None:
            try:
                msg = typestore.deserialize_cdr(reply.ok.payload.to_bytes(), response_type)
                settle(result=to_rosbridge(msg))
            except Exception as exc:
                settle(error=GraphError(f"service {name}: bad response: {exc}"))
            return
        text = reply.err.payload.to_string()
        # Zenoh's own errors (e.g. 'Timeout') mean no server answered in time.
        settle(error=GraphError(text if text.startswith(SERVER_ERROR) else no_answer()))

    def on_done() -> None:
        settle(error=GraphError(no_answer()))

    return Callback(on_reply, on_done)


def settler(future: Future[Any]) -> Callable[..., None]:
    """Complete ``future`` once; later results are ignored (first reply wins)."""
    lock = threading.Lock()

    def settle(result: Any = None, error: BaseException | None = None) -> None:
        with lock:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    return settle
