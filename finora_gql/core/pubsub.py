"""Broadcast of realtime events to subscribers: Redis pub/sub across processes, or in-process.

Each process keeps one Redis subscription connection and fans messages out to its local
subscribers, so a thousand websocket clients cost one Redis connection, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

log = logging.getLogger("finora.pubsub")

SUBSCRIBER_QUEUE_SIZE = 256


@dataclass
class Deliveries:
    """What a hub did with the messages it handed to its subscribers (for /metrics)."""

    direct: int = 0  # written straight to the subscriber's socket
    queued: int = 0  # put in the subscriber's stream
    dropped: int = 0  # refused: the subscriber's stream was full


class Subscription:
    """One local subscriber's stream of messages on one channel.

    `direct`, when set, may take a message without waking the consumer (see api/websocket.py):
    it is offered a message only while the consumer waits with nothing queued, so it cannot
    overtake a message still being handled, and it returns False to have the message queued.
    """

    def __init__(self, hub: LocalHub, channel: str) -> None:
        self._hub = hub
        self.channel = channel
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.loop = asyncio.get_running_loop()
        self.direct: Callable[[dict[str, Any]], bool] | None = None
        self._waiting = False  # the consumer is parked in `get`, done with every earlier message

    def _deliver(self, message: dict[str, Any] | None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is not self.loop:
            # Published from another thread's loop (an in-process worker): hand over safely.
            self.loop.call_soon_threadsafe(self._deliver, message, self.loop)
            return
        if message is not None and self.direct is not None and self._waiting and self._queue.empty():
            try:
                if self.direct(message):
                    self._hub.deliveries.direct += 1
                    return
            except Exception:  # the queue's path will meet (and report) the same problem
                log.exception("direct delivery failed on %s", self.channel)
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            # A consumer this far behind is stuck; dropping beats growing memory without bound.
            self._hub.deliveries.dropped += 1
            log.warning("dropping message for slow subscriber on %s", self.channel)
        else:
            if message is not None:
                self._hub.deliveries.queued += 1

    def close(self) -> None:
        self._deliver(None, _running_loop())

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            self._waiting = True
            try:
                message = await self._queue.get()
            finally:
                self._waiting = False
            if message is None:
                return
            yield message


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LocalHub:
    """Subscribers of this process, by channel. Publishers may run on other threads' loops."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        # Counted on the subscribers' loop (cross-thread messages are handed over first): in a
        # server, the app's one loop.
        self.deliveries = Deliveries()

    def add(self, channel: str) -> tuple[Subscription, bool]:
        subscription = Subscription(self, channel)
        with self._lock:
            first = not self._subscribers[channel]
            self._subscribers[channel].add(subscription)
        return subscription, first

    def remove(self, subscription: Subscription) -> bool:
        """Forget a subscriber; True when it was the channel's last one."""
        with self._lock:
            subscribers = self._subscribers.get(subscription.channel)
            if subscribers is None:
                return False
            subscribers.discard(subscription)
            if subscribers:
                return False
            del self._subscribers[subscription.channel]
            return True

    def subscriber_count(self, channel: str | None = None) -> int:
        """Subscribers of `channel`, or of every channel."""
        with self._lock:
            if channel is None:
                return sum(len(subscribers) for subscribers in self._subscribers.values())
            return len(self._subscribers.get(channel, ()))

    def fan_out(self, channel: str, message: dict[str, Any]) -> int:
        with self._lock:
            subscribers = tuple(self._subscribers.get(channel, ()))
        loop = _running_loop()
        for subscription in subscribers:
            subscription._deliver(message, loop)
        return len(subscribers)

    def close_channel(self, channel: str) -> None:
        with self._lock:
            subscribers = tuple(self._subscribers.get(channel, ()))
        for subscription in subscribers:
            subscription.close()

    def channels(self) -> list[str]:
        with self._lock:
            return list(self._subscribers)


# Without Redis, every runtime of the process (the app's, the in-process workers') shares one
# hub, so an event a background job publishes reaches the app's live subscribers.
_PROCESS_HUB = LocalHub()


class InProcessPubSub:
    def __init__(self, hub: LocalHub = _PROCESS_HUB) -> None:
        self.hub = hub
        self._mine: set[Subscription] = set()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for subscription in tuple(self._mine):
            subscription.close()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.hub.fan_out(channel, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription, _ = self.hub.add(channel)
        self._mine.add(subscription)
        try:
            yield subscription
        finally:
            self._mine.discard(subscription)
            self.hub.remove(subscription)


class RedisPubSub:
    def __init__(self, redis: Redis) -> None:
        self.hub = LocalHub()
        self._redis = redis
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        # Connecting happens in the reader, so a Redis outage at boot delays realtime events
        # (and fails /ready) instead of keeping the server down.
        self._reader = asyncio.create_task(self._read(), name="finora-pubsub-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for channel in self.hub.channels():
            self.hub.close_channel(channel)
        await self._pubsub.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, orjson.dumps(message))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        async with self._lock:
            subscription, first = self.hub.add(channel)
            if first:
                await self._pubsub.subscribe(channel)
        try:
            yield subscription
        finally:
            async with self._lock:
                if self.hub.remove(subscription):
                    await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                # A pub/sub connection with no channel cannot be read; a private one keeps it open.
                # Under the lock: redis-py's PubSub opens its connection on first use without one,
                # so a subscriber arriving at the same moment could open a second connection,
                # subscribe there, and never be read (seen as events lost under load).
                async with self._lock:
                    await self._pubsub.subscribe("finora:pubsub:keepalive")
                async for raw in self._pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    channel = raw["channel"].decode() if isinstance(raw["channel"], bytes) else raw["channel"]
                    self.hub.fan_out(channel, orjson.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pub/sub reader failed; reconnecting in 1 s")
                await asyncio.sleep(1)


PubSub = InProcessPubSub | RedisPubSub


def build_pubsub(redis: Redis | None) -> PubSub:
    return RedisPubSub(redis) if redis is not None else InProcessPubSub()
