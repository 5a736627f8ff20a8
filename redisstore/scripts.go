package redisstore

import "github.com/redis/go-redis/v9"

// prelude holds the Lua helpers every script shares; see codec.go for the
// record layout they read.
const prelude = `
local function u32(s, i)
  local a, b, c, d = string.byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function rec_id(v) return string.sub(v, 24, 23 + u32(v, 20)) end
local function rec_subject(v)
  local o = 24 + u32(v, 20)
  return string.sub(v, o + 4, o + 3 + u32(v, o))
end
local function head_end(v)
  local o = 24 + u32(v, 20)
  return o + 3 + u32(v, o)
end
-- expires_ms returns ExpiresAt in Unix ms, rounded up, or nil for the zero
-- time or a time before 1970 (then the key gets no expiry).
local function expires_ms(v)
  local b = {string.byte(v, 11, 18)}
  if b[1] >= 128 then return nil end
  local n = 0
  for i = 1, 8 do n = n * 256 + b[i] end
  return math.floor((n + 999) / 1000)
end
local function incr(s)
  local b = {string.byte(s, 1, 8)}
  for i = 8, 1, -1 do
    if b[i] < 255 then b[i] = b[i] + 1; break end
    b[i] = 0
  end
  return string.char(unpack(b))
end
-- tombstone writes under key the tombstone of v in state st (a one-byte
-- string) with the given tail, kept until the record's ExpiresAt.
local function tombstone(key, v, st, tail)
  local t = '\1' .. st .. incr(string.sub(v, 3, 10)) .. string.sub(v, 11, head_end(v)) .. tail
  local ms = expires_ms(t)
  if ms then redis.call('SET', key, t, 'PXAT', ms) else redis.call('SET', key, t) end
end
local function set_px(key, val, px)
  if px ~= '0' then return redis.call('SET', key, val, 'PXAT', px) end
  return redis.call('SET', key, val)
end
-- index_add adds member to the subject index idx with score (ExpiresAt ms)
-- and keeps the index until its latest member's ExpiresAt.
local function index_add(idx, score, member)
  redis.call('ZADD', idx, score, member)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > 0 then redis.call('PEXPIREAT', idx, top[2]) end
end
`

// updateScript: compare-and-swap of a live record.
// KEYS[1] record; ARGV[1] the expected version (8 bytes), ARGV[2] the new
// value, ARGV[3] PXAT ms ("0": none). Returns 0 not found (absent or
// tombstone), 1 conflict, 2 updated.
var updateScript = redis.NewScript(prelude + `
local v = redis.call('GET', KEYS[1])
if not v or string.byte(v, 2) ~= 0 then return 0 end
if string.sub(v, 3, 10) ~= ARGV[1] then return 1 end
set_px(KEYS[1], ARGV[2], ARGV[3])
return 2
`)

// mergeScript: apply value changes to a live record (storage.Merger) and
// record the activity, as storage.Merge.Apply defines it. The changes are
// appended to the record (format 2, see codec.go), replacing earlier
// changes of the same keys, so that the script never parses JSON.
// KEYS[1] record; ARGV[1] kind (one byte), ARGV[2] now (Unix µs), ARGV[3]
// the Manager's idle timeout (µs), then pairs: key, and "\1" followed by the
// raw JSON value to set, or "\0" to delete. Returns the new value, or false
// when the merge does not apply (or a time is beyond what Lua's numbers hold
// exactly: the caller then takes its usual path).
var mergeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.byte(v, 2) ~= 0 or string.sub(v, 19, 19) ~= ARGV[1] then return false end
local t = 24 + struct.unpack('>I4', v, 20)
t = t + 4 + struct.unpack('>I4', v, t)
-- t: CreatedAt. Times and IdleTimeout must be in [0, 2^53) to be exact here.
local now, big = tonumber(ARGV[2]), 9007199254740992
local exp, idle_exp, it = struct.unpack('>i8', v, 11), struct.unpack('>i8', v, t + 32), struct.unpack('>i8', v, t + 40)
if exp < 0 or exp >= big or idle_exp < 0 or it < 0 or it >= big or now >= exp or now >= idle_exp then return false end
local d = now + tonumber(ARGV[3])
if it > 0 then d = now + math.floor(it / 1000) end
if d > exp then d = exp end
-- Skip IP, UserAgent, Fingerprint, Data, Meta, Successor and GraceUntil.
local p = t + 49
for _ = 1, 3 do p = p + 4 + struct.unpack('>I4', v, p) end
for _ = 1, 2 do
  if string.byte(v, p) == 1 then p = p + 5 + struct.unpack('>I4', v, p + 1) else p = p + 1 end
end
p = p + 40
local changed, out, n = {}, {}, 0
for i = 4, #ARGV, 2 do changed[ARGV[i]] = true end
if string.byte(v, 1) == 2 then
  local q = p + 4
  for _ = 1, struct.unpack('>I4', v, p) do
    local s = q
    local klen = struct.unpack('>I4', v, q)
    local k = string.sub(v, q + 4, q + 3 + klen)
    q = q + 4 + klen
    if string.byte(v, q) == 1 then q = q + 5 + struct.unpack('>I4', v, q + 1) else q = q + 1 end
    if not changed[k] then n = n + 1; out[n] = string.sub(v, s, q - 1) end
  end
end
for i = 4, #ARGV, 2 do
  local k, a = ARGV[i], ARGV[i + 1]
  n = n + 1
  if string.byte(a, 1) == 1 then
    out[n] = struct.pack('>I4', #k) .. k .. '\1' .. struct.pack('>I4', #a - 1) .. string.sub(a, 2)
  else
    out[n] = struct.pack('>I4', #k) .. k .. '\0'
  end
end
-- The version is a uint64 in 8 bytes: add one to the last 4 while they
-- hold below 2^32 - 1, else carry as the shared helper would.
local hi, lo = struct.unpack('>I4I4', v, 3)
if lo == 4294967295 then hi, lo = hi + 1, 0 else lo = lo + 1 end
local nv = '\2\0' .. struct.pack('>I4I4', hi, lo) .. string.sub(v, 11, t + 23) .. struct.pack('>i8i8', now, d) ..
  string.sub(v, t + 40, p - 1) .. struct.pack('>I4', n) .. table.concat(out)
redis.call('SET', KEYS[1], nv, 'PXAT', math.floor((d + 999) / 1000))
return nv
`)

// tombstoneScript: turn one live record into a tombstone, under conditions.
// KEYS[1] record; ARGV[1] state byte, ARGV[2] tail, ARGV[3] the expected
// version (8 bytes, "" any), ARGV[4] wanted ID ("" any), ARGV[5] "=" and
// the wanted subject ("" any), ARGV[6] ID to spare ("" none), ARGV[7] a destroyed
// tombstone to put in place when the key is absent ("" none).
// Returns {code, value}: code 0 absent, 1 conflict, 2 done, 3 tombstone
// (value: the stored tombstone), 4 another record (ID or subject differ),
// 5 spared, 6 placeholder written.
var tombstoneScript = redis.NewScript(prelude + `
local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[7] ~= '' then
    local ms = expires_ms(ARGV[7])
    if ms then redis.call('SET', KEYS[1], ARGV[7], 'PXAT', ms, 'NX') else redis.call('SET', KEYS[1], ARGV[7], 'NX') end
    return {6, ''}
  end
  return {0, ''}
end
if string.byte(v, 2) ~= 0 then return {3, v} end
if ARGV[4] ~= '' and rec_id(v) ~= ARGV[4] then return {4, ''} end
if ARGV[5] ~= '' and '=' .. rec_subject(v) ~= ARGV[5] then return {4, ''} end
if ARGV[6] ~= '' and rec_id(v) == ARGV[6] then return {5, ''} end
if ARGV[3] ~= '' and string.sub(v, 3, 10) ~= ARGV[3] then return {1, ''} end
tombstone(KEYS[1], v, ARGV[1], ARGV[2])
return {2, ''}
`)

// createScript (one node: standalone or Sentinel): create a record, claim
// its ID and add it to its subject index, atomically.
// KEYS[1] record, KEYS[2] ID key, KEYS[3] subject index (absent: anonymous);
// ARGV[1] value, ARGV[2] PXAT of the record, ARGV[3] PXAT of the ID key
// and index score (ExpiresAt), ARGV[4] record key name.
// Returns 0 exists, 1 created.
var createScript = redis.NewScript(prelude + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[2])
if cur then
  local cv = redis.call('GET', cur)
  if cv and string.byte(cv, 2) == 0 and rec_id(cv) == rec_id(ARGV[1]) then return 0 end
end
set_px(KEYS[1], ARGV[1], ARGV[2])
set_px(KEYS[2], ARGV[4], ARGV[3])
if KEYS[3] then index_add(KEYS[3], ARGV[3], ARGV[4]) end
return 1
`)

// rotateScript (one node): tombstone the old record by compare-and-swap and
// create its successor, moving the ID key and the subject index along.
// KEYS[1] old record, KEYS[2] next record, KEYS[3] ID key, KEYS[4] next
// subject index (absent: anonymous); ARGV[1] expected version, ARGV[2]
// rotated tail, ARGV[3] next value, ARGV[4] PXAT of next, ARGV[5] PXAT of
// the ID key and index score, ARGV[6] next record key name, ARGV[7] the
// subject old must have. Returns 0 not found, 1 conflict (version or
// subject), 2 rotated, 3 next exists.
var rotateScript = redis.NewScript(prelude + `
local v = redis.call('GET', KEYS[1])
if not v or string.byte(v, 2) ~= 0 then return 0 end
if string.sub(v, 3, 10) ~= ARGV[1] or rec_subject(v) ~= ARGV[7] then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 3 end
tombstone(KEYS[1], v, '\2', ARGV[2])
set_px(KEYS[2], ARGV[3], ARGV[4])
set_px(KEYS[3], ARGV[6], ARGV[5])
if KEYS[4] then index_add(KEYS[4], ARGV[5], ARGV[6]) end
return 2
`)

// deleteSubjectScript (one node): destroy every live record in a subject
// index, except one ID, and prune the index, atomically.
// KEYS[1] subject index; ARGV[1] subject, ARGV[2] ID to spare ("" none),
// ARGV[3] destroyed tail, ARGV[4] now (Unix ms).
// Returns the number destroyed.
var deleteSubjectScript = redis.NewScript(prelude + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', m)
  if v and string.byte(v, 2) == 0 and rec_subject(v) == ARGV[1] then
    if ARGV[2] == '' or rec_id(v) ~= ARGV[2] then
      tombstone(m, v, '\1', ARGV[3])
      redis.call('ZREM', KEYS[1], m)
      n = n + 1
    end
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return n
`)

// indexAddScript (Cluster): add a record key to a subject index.
// KEYS[1] index; ARGV[1] score, ARGV[2] record key name.
var indexAddScript = redis.NewScript(prelude + `
index_add(KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// claimIDScript (Cluster): point an ID key at a record key when it still
// holds what the caller saw (ARGV[1]; "" absent), else return 0.
// KEYS[1] ID key; ARGV[2] record key name, ARGV[3] PXAT ("0": none).
var claimIDScript = redis.NewScript(prelude + `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
set_px(KEYS[1], ARGV[2], ARGV[3])
return 1
`)

// releaseIDScript (Cluster): undo claimIDScript after a failed create:
// put back ARGV[2] ("" delete) when the key still holds ARGV[1].
var releaseIDScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1
`)

// getByIDScript (one node): read an ID key and the record it names in one
// round trip. KEYS[1] ID key. Returns {record key, value} or {} when either
// is missing. It reads a key it cannot declare, which Redis allows outside
// Cluster mode.
var getByIDScript = redis.NewScript(`
local k = redis.call('GET', KEYS[1])
if not k then return {} end
local v = redis.call('GET', k)
if not v then return {} end
return {k, v}
`)
