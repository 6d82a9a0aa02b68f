-- Admits one call against a caller's rate windows and its tenant's budgets, reserving it in one step so that any
-- number of instances sharing this Redis enforce one limit; it may also count a lease of calls ahead of time.
-- KEYS: requests this minute, requests last minute, tokens this minute, tokens last minute, the day's ledger, the
-- month's ledger.
-- ARGV: 1 ms elapsed in this minute, 2 the window in ms, 3 requests per minute, 4 tokens per minute (-1: no limit),
-- 5 the call's estimated tokens, 6 its cost in nano-dollars, 7 and 8 the day's token and cost budgets, 9 and 10 the
-- month's (-1: none), 11 and 12 the day's and month's ledger lifetimes in seconds, 13 the headroom h, 14 1 when the
-- tenant has a budget, 15 to 18 the lease (below).
-- Answer: {reason, ms to wait, requests left, tokens left, room, lease granted}; reason 0 admits, 1 refuses for
-- requests, 2 for a call larger than the token limit, 3 for tokens, 4 to 7 for the day's tokens and cost and the
-- month's tokens and cost.
local elapsed, w = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, est, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
-- room: 1 when, after this call, every limit and budget still holds h more calls like it
local h, room = tonumber(ARGV[13]), 1
local weight = (w - elapsed) / w
local function num(v) return tonumber(v) or 0 end
-- ms until prev * (w - t) / w + cur + need <= limit, assuming no other call in between
local function wait(limit, cur, prev, need)
  if cur + need <= limit then
    if prev <= 0 then return 0 end
    return math.max(0, math.ceil(w * (1 - (limit - cur - need) / prev) - elapsed))
  end
  local t = 0
  if cur > 0 then t = math.max(0, w * (1 - (limit - need) / cur)) end
  return math.ceil((w - elapsed) + t)
end
local counts = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
local rc, rp, tc, tp = num(counts[1]), num(counts[2]), num(counts[3]), num(counts[4])
local rused, tused = rp * weight + rc, tp * weight + tc
if rpm >= 0 and rused + 1 > rpm then return {1, wait(rpm, rc, rp, 1), math.floor(rpm - rused), math.floor(tpm - tused)} end
if tpm >= 0 and est > tpm then return {2, 0, math.floor(rpm - rused), math.floor(tpm - tused)} end
if tpm >= 0 and tused + est > tpm then return {3, wait(tpm, tc, tp, est), math.floor(rpm - rused), math.floor(tpm - tused)} end
if rpm >= 0 and rpm - rused - 1 < h then room = 0 end
if tpm >= 0 and tpm - tused - est < h * est then room = 0 end
local function over(key, toklimit, costlimit, tokcode, costcode)
  if toklimit < 0 and costlimit < 0 then return 0 end
  local v = redis.call('HMGET', key, 'tokens', 'rtokens', 'cost', 'rcost')
  local tokens, spent = num(v[1]) + num(v[2]), num(v[3]) + num(v[4])
  if toklimit >= 0 and tokens + est > toklimit then return tokcode end
  if costlimit >= 0 and spent + cost > costlimit then return costcode end
  if toklimit >= 0 and toklimit - tokens - est < h * est then room = 0 end
  if costlimit >= 0 and costlimit - spent - cost < h * cost then room = 0 end
  return 0
end
local b = over(KEYS[5], tonumber(ARGV[7]), tonumber(ARGV[8]), 4, 5)
if b == 0 then b = over(KEYS[6], tonumber(ARGV[9]), tonumber(ARGV[10]), 6, 7) end
if b > 0 then return {b, 0, math.floor(rpm - rused), math.floor(tpm - tused)} end
-- A lease: ARGV[15] more calls like this one, counted now, that the instance admits on its own. Granted
-- only while, after this call and the lease, every limit still holds h more calls: near a limit every
-- call is decided here, one by one. ARGV[16] and ARGV[17] are the increments with the lease (own + lease
-- requests, est * (own + lease) tokens). Never for a tenant with a budget (the caller sends 0).
-- ARGV[18] = 0: no call of its own, a lease asked for ahead of need (nothing counted without one).
local lease, own = tonumber(ARGV[15]), tonumber(ARGV[18])
if lease > 0 and (room == 0 or (rpm >= 0 and rpm - rused - own - lease < h) or (tpm >= 0 and tpm - tused - est * (own + lease) < h * est)) then
  lease = 0
end
if own == 0 and lease == 0 then return {0, 0, math.floor(rpm - rused), math.floor(tpm - tused), room, 0} end
local rn, tn = '1', ARGV[5]
if lease > 0 then rn, tn = ARGV[16], ARGV[17] end
-- Increments are the arguments as sent (integer strings), never Lua numbers: Lua would format -0 or a
-- large value in a way Redis refuses as an integer.
-- A key's expiry is set by the call that creates it (its count is then this call's increment): windows and
-- periods are fixed, so it is the same moment every later call would set, and every redis.call a script
-- saves is Redis time saved on each admission (the limiter benchmark, docs/benchmarks.md).
if redis.call('INCRBY', KEYS[1], rn) == tonumber(rn) then redis.call('PEXPIRE', KEYS[1], ARGV[2] * 2) end
if redis.call('INCRBY', KEYS[3], tn) == tonumber(tn) then redis.call('PEXPIRE', KEYS[3], ARGV[2] * 2) end
-- The ledgers hold reservations only for a tenant with a budget (ARGV[14] = 1), the one reader of them.
-- A lease's calls are counted in the ledgers when they settle.
for i = 5, 6 do
  if own == 0 then break end
  if redis.call('HINCRBY', KEYS[i], 'requests', 1) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i + 6]) end
  if ARGV[14] == '1' then
    redis.call('HINCRBY', KEYS[i], 'rtokens', ARGV[5])
    redis.call('HINCRBY', KEYS[i], 'rcost', ARGV[6])
  end
end
return {0, 0, math.floor(rpm - rused - own), math.floor(tpm - tused - est * own), room, lease}
