"""Dead-lettered jobs (retries exhausted), for operators: list them with secrets redacted, retry
one (it goes back on its queue with a fresh retry budget) or discard it.

Redis keeps them in `<namespace>:<queue>.XQ` (ids by time) and `.XQ.msgs` (the messages); the
in-process stub broker keeps a list per queue. Blocking calls: run them in a thread.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name

SECRET_KEY = re.compile(r"pass|secret|token|key|authori[sz]ation|cookie|credential|signature", re.IGNORECASE)
JWT_LIKE = re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
REDACTED = "[redacted]"


def redact(value: Any, key: str | None = None) -> Any:
    """Arguments as an operator may see them: secrets (by key name or shape) and email addresses hidden."""
    if key is not None and SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if JWT_LIKE.match(value) or len(value) > 200:
            return REDACTED
        return EMAIL.sub(REDACTED, value)
    return value


@dataclass(frozen=True)
class DeadLetter:
    id: str  # "<queue>/<message id>"
    queue: str
    actor: str
    args: list[Any]
    kwargs: dict[str, Any]
    retries: int
    last_error: str | None
    failed_at: dt.datetime | None


def _last_error(options: dict[str, Any]) -> str | None:
    trace = options.get("traceback")
    if not trace:
        return None
    lines = [line for line in str(trace).strip().splitlines() if line.strip()]
    return str(redact(lines[-1][:500])) if lines else None


def _of(message: Message, queue: str, failed_ms: float | None) -> DeadLetter:
    stamp = failed_ms or message.options.get("requeue_timestamp") or message.message_timestamp
    return DeadLetter(
        id=f"{queue}/{message.message_id}", queue=queue, actor=message.actor_name,
        args=redact(list(message.args)), kwargs=redact(dict(message.kwargs)),
        retries=int(message.options.get("retries", 0)), last_error=_last_error(message.options),
        failed_at=dt.datetime.fromtimestamp(stamp / 1000, dt.UTC) if stamp else None,
    )


def _queues(broker: dramatiq.Broker) -> list[str]:
    return sorted(q for q in broker.get_declared_queues() if not q.endswith(".DQ"))


def list_dead_letters(limit: int = 100) -> list[DeadLetter]:
    broker = dramatiq.get_broker()
    found: list[DeadLetter] = []
    if isinstance(broker, RedisBroker):
        for queue in _queues(broker):
            key = f"{broker.namespace}:{queue}.XQ"
            for message_id, score in broker.client.zrevrange(key, 0, limit - 1, withscores=True):
                raw = broker.client.hget(f"{key}.msgs", message_id)
                if raw is not None:
                    found.append(_of(Message.decode(raw), queue, score))
    else:
        for queue, messages in getattr(broker, "dead_letters_by_queue", {}).items():
            found.extend(_of(proxy._message if hasattr(proxy, "_message") else proxy, queue.removesuffix(".DQ"), None)
                         for proxy in messages)
    found.sort(key=lambda d: d.failed_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return found[:limit]


def _take(dead_id: str) -> Message | None:
    """Remove one dead letter; return its message (None if no such letter)."""
    queue, _, message_id = dead_id.partition("/")
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        key = f"{broker.namespace}:{queue}.XQ"
        raw = broker.client.hget(f"{key}.msgs", message_id)
        if raw is None:
            return None
        pipe = broker.client.pipeline()
        pipe.zrem(key, message_id)
        pipe.hdel(f"{key}.msgs", message_id)
        removed, _ = pipe.execute()
        return Message.decode(raw) if removed else None
    for name in (queue, dq_name(queue)):
        messages = getattr(broker, "dead_letters_by_queue", {}).get(name, [])
        for index, proxy in enumerate(messages):
            message = proxy._message if hasattr(proxy, "_message") else proxy
            if message.message_id == message_id:
                del messages[index]
                return message
    return None


def peek(dead_id: str) -> DeadLetter | None:
    return next((d for d in list_dead_letters(limit=10_000) if d.id == dead_id), None)


def retry(dead_id: str) -> DeadLetter | None:
    """Put the job back on its queue with its retries reset; None if it is no longer dead-lettered."""
    message = _take(dead_id)
    if message is None:
        return None
    letter = _of(message, dead_id.partition("/")[0], None)
    options = {k: v for k, v in message.options.items() if k not in ("retries", "traceback", "eta")}
    fresh = Message(queue_name=message.queue_name.removesuffix(".DQ"), actor_name=message.actor_name,
                    args=message.args, kwargs=message.kwargs, options=options, message_id=message.message_id,
                    message_timestamp=message.message_timestamp)
    dramatiq.get_broker().enqueue(fresh)
    return letter


def discard(dead_id: str) -> DeadLetter | None:
    message = _take(dead_id)
    return None if message is None else _of(message, dead_id.partition("/")[0], None)
