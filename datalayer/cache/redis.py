"""L2: Redis with version-checked reads and fills done atomically in Lua scripts.

Layout under a key prefix (default ``dl:``):

- ``{prefix}s:{scope}``: hash ``v`` (version) and ``w`` (watermark: highest source position,
  e.g. a WAL LSN, of a write that invalidated the scope). A missing version is created from
  the server clock in microseconds and an invalidation sets ``max(v + 1, now)``, so a version
  evicted or expired and created again never repeats an old value.
- ``{prefix}e:{type}:{id}``: ``{tag}|{json}`` where ``tag`` joins the versions of the
  entry's scopes at the time its load started. A read returns the payload only when the tag
  still matches; a fill stores only when the versions have not moved since the load started
  and no scope's watermark is newer than the fill's source position.
- ``{prefix}l:{type}:{id}``: short lock so one process fills a missed key (taken by the
  read on a miss, released by the fill).
- ``{prefix}inv``: pub/sub channel; each invalidation publishes its scopes, and every
  subscriber pushes onto the message's ``{prefix}ack:{id}`` list once its L1 dropped them.

The scripts touch keys of several scopes, so the deployment must be Redis without cluster
mode (an ElastiCache replication group with one shard, as infra/ provisions).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

_SCOPE_TTL_S = 3 * 86_400  # longer than any entry TTL; recreation is safe anyway
_ACK_TTL_MS = 10_000

_READ = """
local parts = {}
for i = 3, #KEYS do
  local v = redis.call('HGET', KEYS[i], 'v')
  if not v then
    local t = redis.call('TIME')
    v = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('HSET', KEYS[i], 'v', v)
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
  parts[#parts + 1] = v
end
local tag = table.concat(parts, '.')
local raw = redis.call('GET', KEYS[1])
if raw and string.sub(raw, 1, #tag + 1) == tag .. '|' then
  return {tag, string.sub(raw, #tag + 2), 0}
end
if ARGV[2] ~= '' and redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {tag, '', 1}
end
return {tag, '', 0}
"""

_FILL = """
local function unlock()
  if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
end
local parts = {}
for i = 3, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'v', 'w')
  if not h[1] then unlock() return 0 end
  parts[#parts + 1] = h[1]
  if ARGV[2] ~= '' and h[2] and h[2] > ARGV[2] then unlock() return -1 end
end
if table.concat(parts, '.') ~= ARGV[1] then unlock() return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[4], 'PX', ARGV[3])
unlock()
return 1
"""

_INVALIDATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  local v = tonumber(redis.call('HGET', KEYS[i], 'v') or '0')
  redis.call('HSET', KEYS[i], 'v', string.format('%.0f', math.max(v + 1, now)))
  if ARGV[2] ~= '' then
    local w = redis.call('HGET', KEYS[i], 'w')
    if not w or ARGV[2] > w then redis.call('HSET', KEYS[i], 'w', ARGV[2]) end
  end
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return redis.call('PUBLISH', ARGV[3], ARGV[4])
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def position_text(position: int | None) -> str:
    """A source position as a fixed-width string, so Lua compares it exactly as text."""
    return "" if position is None else f"{position:020d}"


def connect(url: str, *, timeout_s: float, client_name: str = "datalayer-cache") -> Redis:
    """A client for ``url`` (``rediss://`` for TLS, credentials from the URL).

    Timeouts are short and retries off: a cache that waits is worse than no cache.
    """
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
        client_name=client_name,
    )


class RedisStore:
    """The L2 operations; every call may raise (the caller guards them)."""

    def __init__(self, client: Redis, *, prefix: str = "dl:") -> None:
        self.client = client
        self.prefix = prefix
        self.channel = f"{prefix}inv"
        self._read = client.register_script(_READ)
        self._fill = client.register_script(_FILL)
        self._invalidate = client.register_script(_INVALIDATE)
        self._unlock = client.register_script(_UNLOCK)

    def _keys(self, name: str, scopes: tuple[str, ...]) -> list[str]:
        return [
            f"{self.prefix}e:{name}",
            f"{self.prefix}l:{name}",
            *(f"{self.prefix}s:{scope}" for scope in scopes),
        ]

    async def read(
        self, name: str, scopes: tuple[str, ...], *, lock_ms: int | None = None
    ) -> tuple[str, bytes | None, str | None]:
        """``(tag, payload, lock_token)`` in one round trip.

        ``tag`` is the current tag of the scopes, ``payload`` the value if stored under that
        tag; on a miss with ``lock_ms``, the fill lock is taken when free (``lock_token``).
        """
        token = secrets.token_hex(8) if lock_ms else ""
        reply: list[Any] = await self._read(
            keys=self._keys(name, scopes), args=[_SCOPE_TTL_S, token, lock_ms or 0]
        )
        tag = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        payload = reply[1] or None
        return tag, payload, (token if int(reply[2]) == 1 else None)

    async def fill(
        self,
        name: str,
        scopes: tuple[str, ...],
        *,
        tag: str,
        payload: bytes,
        ttl_ms: int,
        position: int | None,
        lock_token: str | None = None,
    ) -> bool:
        """Store ``payload`` if the scopes are still at ``tag`` and not newer than ``position``.

        Releases the fill lock held with ``lock_token``, stored or not.
        """
        stored = await self._fill(
            keys=self._keys(name, scopes),
            args=[tag, position_text(position), ttl_ms, payload, lock_token or ""],
        )
        return int(stored) == 1

    async def invalidate(
        self, scopes: list[str], position: int | None, origin: str
    ) -> tuple[str, int]:
        """Bump the versions (and watermarks) of ``scopes`` and publish them.

        Returns the key subscribers acknowledge on and how many subscribers received it.
        """
        ack_key = f"{self.prefix}ack:{secrets.token_hex(8)}"
        message = json.dumps({"origin": origin, "scopes": scopes, "ack": ack_key})
        receivers = await self._invalidate(
            keys=[f"{self.prefix}s:{scope}" for scope in scopes],
            args=[_SCOPE_TTL_S, position_text(position), self.channel, message],
        )
        return ack_key, int(receivers)

    async def acknowledge(self, ack_key: str, origin: str) -> None:
        """Tell the invalidating process that this process has applied its invalidation."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(ack_key, origin)
            pipe.pexpire(ack_key, _ACK_TTL_MS)
            await pipe.execute()

    async def acknowledgements(self, ack_key: str) -> int:
        return int(await self.client.llen(ack_key))

    async def delete(self, names: list[str], prefixes: tuple[str, ...] = ()) -> None:
        """Delete the payloads of these entries and of every entry named with one of
        ``prefixes`` (an incremental SCAN; scope versions are untouched)."""
        doomed = [f"{self.prefix}e:{name}" for name in names]
        for prefix in prefixes:
            pattern = f"{self.prefix}e:{_glob_escape(prefix)}*"
            doomed += [key async for key in self.client.scan_iter(match=pattern, count=1000)]
        if doomed:
            await self.client.delete(*doomed)

    async def unlock(self, name: str, token: str) -> None:
        await self._unlock(keys=[f"{self.prefix}l:{name}"], args=[token])


def _glob_escape(text: str) -> str:
    """``text`` with Redis glob metacharacters escaped."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
