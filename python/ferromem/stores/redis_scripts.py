"""The Lua scripts of :class:`~ferromem.stores.redis.RedisStore` (layout: see ``redis_layout``).

A session script touches only the keys of one session (one hash tag, one cluster slot), so it
runs atomically on a single server and in a cluster alike; the global scripts touch only the
global keys. Checks come before the first write of a script (Redis does not roll a script back).
Scripts are sent by SHA (``EVALSHA``) and by source when the server does not know them yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["SCRIPTS", "WRITING", "Script"]

#: The scripts that write what a caller is told is stored ("list" only forgets expired names).
WRITING = frozenset({"put", "remove", "clear", "swap", "info", "touch"})


@dataclass(frozen=True)
class Script:
    """A Lua script and its SHA-1 (what ``EVALSHA`` names it by)."""

    name: str
    source: str

    @property
    def writes(self) -> bool:
        """Whether the script changes data that must survive a failover (see ``RedisLink``)."""
        return self.name in WRITING

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


# Shared helpers: the TTL of a session's keys (all of them, so they expire together), the id in a
# record's header, and the change log's upkeep.
_HELPERS = """
local function refresh(ttl)
  for k = 1, 6 do
    if ttl > 0 then redis.call('PEXPIRE', KEYS[k], ttl) else redis.call('PERSIST', KEYS[k]) end
  end
end
local function record_id(rec)
  if rec and #rec >= 5 and string.sub(rec, 1, 2) == 'FR' then
    local n = string.byte(rec, 4) * 256 + string.byte(rec, 5)
    if #rec >= 5 + n then return string.sub(rec, 6, 5 + n) end
  end
  return nil
end
local function id_of(rec, c)
  local id = record_id(rec)
  if id and redis.call('HGET', KEYS[3], id) == c then return id end
  local all = redis.call('HGETALL', KEYS[3])
  for k = 1, #all, 2 do
    if all[k + 1] == c then return all[k] end
  end
  return nil
end
local function log_write(entry, limit)
  redis.call('RPUSH', KEYS[5], entry)
  local pos = redis.call('HINCRBY', KEYS[1], 'pos', 1)
  local len = redis.call('LLEN', KEYS[5])
  if len > limit then
    local drop = len - math.floor(limit / 2)
    redis.call('LTRIM', KEYS[5], drop, -1)
    redis.call('HINCRBY', KEYS[1], 'floor', drop)
  end
  return pos
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: meta o i m log info. ARGV: ttl_ms, on_conflict, offered number ('' = none), new epoch,
# log limit, then (id, timestamp, record) per message.
# -> {'need'} | {'conflict', id} | {'full'} |
#    {'ok', num, epoch, before epoch, before pos, pos, created, expires (ms, 0 without a TTL),
#     {counter per message, 0 where skipped}, {removed counters}}
_PUT = (
    _HELPERS
    + """
local ttl, mode, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[5])
local n = (#ARGV - 5) / 3
local olds = {}
for j = 1, n do
  local old = redis.call('HGET', KEYS[3], ARGV[3 + 3 * j])
  if old then
    if mode == 'error' then return {'conflict', ARGV[3 + 3 * j]} end
    olds[j] = old
  end
end
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos', 'next')
local num, epoch, before_epoch, before_pos, nxt, created = v[1], v[2], v[2], v[3], v[4], 0
if not num then
  if ARGV[3] == '' then return {'need'} end
  num, epoch, before_epoch, before_pos, nxt, created = ARGV[3], ARGV[4], '', '0', '0', 1
end
local kept = 0
for j = 1, n do
  if not (olds[j] and mode == 'skip') then kept = kept + 1 end
end
local first = tonumber(nxt) + 1
if first + kept - 1 > 4294967294 then return {'full'} end
if created == 1 then
  redis.call('HSET', KEYS[1], 'num', num, 'epoch', epoch, 'next', 0, 'pos', 0, 'floor', 0)
end
local removed = {}
for j = 1, n do
  if olds[j] and mode == 'replace' then
    local id = ARGV[3 + 3 * j]
    redis.call('HDEL', KEYS[4], olds[j])
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    removed[#removed + 1] = olds[j]
  end
end
local c = first - 1
local assigned = {}
for j = 1, n do
  assigned[j] = 0
  if not (olds[j] and mode == 'skip') then
    c = c + 1
    assigned[j] = c
    local cs = string.format('%d', c)
    local id = ARGV[3 + 3 * j]
    redis.call('HSET', KEYS[4], cs, ARGV[5 + 3 * j])
    redis.call('HSET', KEYS[3], id, cs)
    redis.call('ZADD', KEYS[2], ARGV[4 + 3 * j], id)
  end
end
local pos = tonumber(before_pos)
if kept > 0 then redis.call('HSET', KEYS[1], 'next', string.format('%d', c)) end
if kept > 0 or #removed > 0 then
  pos = log_write(string.format('%d', first) .. '+' .. kept .. '|' .. table.concat(removed, ','),
                  limit)
end
refresh(ttl)
local expires = 0
if ttl > 0 then expires = now_ms() + ttl end
return {'ok', num, epoch, before_epoch, tonumber(before_pos), pos, created, expires, assigned,
        removed}
"""
)

# KEYS: meta o i m log info. ARGV: ttl_ms, expected number, log limit, counters...
# -> {'absent'} | {'other', num, epoch, pos} | {'ok', num, epoch, before pos, pos (-1: the
#    session is now empty and gone), removed counters...}
_REMOVE = (
    _HELPERS
    + """
local ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos')
if not v[1] then return {'absent'} end
if v[1] ~= ARGV[2] then return {'other', v[1], v[2], tonumber(v[3])} end
local removed = {}
for j = 4, #ARGV do
  local c = ARGV[j]
  local rec = redis.call('HGET', KEYS[4], c)
  if rec then
    local id = id_of(rec, c)
    redis.call('HDEL', KEYS[4], c)
    if id then
      redis.call('ZREM', KEYS[2], id)
      redis.call('HDEL', KEYS[3], id)
    end
    removed[#removed + 1] = c
  end
end
local before = tonumber(v[3])
local pos = before
if #removed > 0 then
  if redis.call('HLEN', KEYS[4]) == 0 then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
    pos = -1
  else
    pos = log_write('0+0|' .. table.concat(removed, ','), limit)
    refresh(ttl)
  end
end
local out = {'ok', v[1], v[2], before, pos}
for k = 1, #removed do out[#out + 1] = removed[k] end
return out
"""
)

# KEYS: meta o i m log info. -> {'absent'} | {'ok', num, epoch, pos, {counters}}
_CLEAR = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos')
if not v[1] then return {'absent'} end
local counters = redis.call('HKEYS', KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok', v[1], v[2], tonumber(v[3]), counters}
"""

# KEYS: meta m info. -> {num or '', epoch or '', pos, messages, has info, pttl of its keys}
_STATE = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos')
local info = redis.call('EXISTS', KEYS[3])
if not v[1] then
  local pttl = -2
  if info == 1 then pttl = redis.call('PTTL', KEYS[3]) end
  return {'', '', 0, 0, info, pttl}
end
return {v[1], v[2], tonumber(v[3]), redis.call('HLEN', KEYS[2]), info,
        redis.call('PTTL', KEYS[1])}
"""

# KEYS: meta log. ARGV: since epoch, since pos.
# -> {'absent'} | {'reset', num, epoch, pos} | {'ok', num, epoch, pos, {entries}}
_CHANGES = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos', 'floor')
if not v[1] then return {'absent'} end
local pos, floor, since = tonumber(v[3]), tonumber(v[4]), tonumber(ARGV[2])
if v[2] ~= ARGV[1] or since > pos or since < floor then return {'reset', v[1], v[2], pos} end
if since == pos then return {'ok', v[1], v[2], pos, {}} end
return {'ok', v[1], v[2], pos, redis.call('LRANGE', KEYS[2], since - floor, pos - floor - 1)}
"""

# KEYS: meta m. -> {'absent'} | {'ok', num, epoch, pos, {counter, record, ...}}
_LOAD = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch', 'pos')
if not v[1] then return {'absent'} end
return {'ok', v[1], v[2], tonumber(v[3]), redis.call('HGETALL', KEYS[2])}
"""

# KEYS: meta o i m. ARGV: min score, max score, '1' with records / '0' counters only, and how
# many of the newest to read ('0': all).
# -> {'absent'} | {'ok', num, epoch, {counter[, record or nil], ...}} (chronological, or newest
#    first when a count is given)
_READ = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch')
if not v[1] then return {'absent'} end
local ids
if ARGV[4] ~= '0' then
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], ARGV[2], ARGV[1], 'LIMIT', 0, ARGV[4])
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[2])
end
local out = {}
for k = 1, #ids do
  local c = redis.call('HGET', KEYS[3], ids[k])
  if c then
    out[#out + 1] = c
    if ARGV[3] == '1' then out[#out + 1] = redis.call('HGET', KEYS[4], c) end
  end
end
return {'ok', v[1], v[2], out}
"""

# KEYS: meta m. ARGV: counters. -> {'absent'} | {'ok', num, epoch, {records or false}}
_GET = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch')
if not v[1] then return {'absent'} end
return {'ok', v[1], v[2], redis.call('HMGET', KEYS[2], unpack(ARGV))}
"""

# KEYS: meta i. ARGV: ids. -> {'absent'} | {'ok', num, epoch, {counters or false}}
_KEYS_OF = """
local v = redis.call('HMGET', KEYS[1], 'num', 'epoch')
if not v[1] then return {'absent'} end
return {'ok', v[1], v[2], redis.call('HMGET', KEYS[2], unpack(ARGV))}
"""

# KEYS: meta o i m log info. ARGV: ttl_ms, info JSON ('' forgets it). -> whether it has messages
_INFO = (
    _HELPERS
    + """
if ARGV[2] == '' then redis.call('DEL', KEYS[6]) else redis.call('SET', KEYS[6], ARGV[2]) end
refresh(tonumber(ARGV[1]))
return redis.call('EXISTS', KEYS[1])
"""
)

# KEYS: meta m. ARGV: expected number, then (counter, old record, new record) triples: each
# record is replaced only when it is still the one read (another writer may have replaced it).
_SWAP = """
if redis.call('HGET', KEYS[1], 'num') ~= ARGV[1] then return 0 end
local done = 0
for j = 2, #ARGV, 3 do
  if redis.call('HGET', KEYS[2], ARGV[j]) == ARGV[j + 1] then
    redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 2])
    done = done + 1
  end
end
return done
"""

# Global. KEYS: global meta, registry. ARGV: ttl_ms, slack_ms, numbers wanted, settings count,
# (mode 'nx' or 'set', name, value) per setting, then session ids. Registers the sessions (scored
# by when they expire, +inf without a TTL; a score only grows), draws session numbers, records
# settings ('nx': unless recorded), and keeps both keys alive at least as long as any session.
# -> {now_ms, score or -1, first number drawn or 0}
_TOUCH = """
local ttl, slack, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local nset = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local existed = {redis.call('EXISTS', KEYS[1]), redis.call('EXISTS', KEYS[2])}
local first = 0
if want > 0 then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
  if cur + want > 4294967294 then
    return redis.error_reply('ferromem: the session numbers are exhausted')
  end
  first = redis.call('HINCRBY', KEYS[1], 'next', want) - want + 1
end
for k = 5, 4 + 3 * nset, 3 do
  if ARGV[k] == 'nx' then
    redis.call('HSETNX', KEYS[1], 'setting:' .. ARGV[k + 1], ARGV[k + 2])
  else
    redis.call('HSET', KEYS[1], 'setting:' .. ARGV[k + 1], ARGV[k + 2])
  end
end
local score = '+inf'
local reply_score = -1
if ttl > 0 then
  reply_score = now + ttl + slack
  score = string.format('%d', reply_score)
end
for k = 5 + 3 * nset, #ARGV do redis.call('ZADD', KEYS[2], 'GT', score, ARGV[k]) end
for k = 1, 2 do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    if ttl == 0 then
      redis.call('PERSIST', KEYS[k])
    else
      local cur = redis.call('PTTL', KEYS[k])
      if existed[k] == 0 or (cur >= 0 and cur < ttl + slack) then
        redis.call('PEXPIRE', KEYS[k], ttl + slack)
      end
    end
  end
end
return {now, reply_score, first}
"""

# Global. KEYS: registry. Forgets sessions whose time has passed; -> the others.
_LIST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

SCRIPTS: dict[str, Script] = {
    name: Script(name, source)
    for name, source in {
        "put": _PUT,
        "remove": _REMOVE,
        "clear": _CLEAR,
        "state": _STATE,
        "changes": _CHANGES,
        "load": _LOAD,
        "read": _READ,
        "get": _GET,
        "keys_of": _KEYS_OF,
        "info": _INFO,
        "swap": _SWAP,
        "touch": _TOUCH,
        "list": _LIST,
    }.items()
}
