-- Claims an idempotency key (KEYS[1]) for a request's fingerprint (ARGV[1]) and a lease of ARGV[2] ms, or says why not:
-- another fingerprint holds it, its request is still running, or its stored answer is to be replayed.
local v = redis.call('HMGET', KEYS[1], 'fp', 'state', 'status', 'ctype', 'location', 'body')
if not v[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'pending')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'claimed'}
end
if v[1] ~= ARGV[1] then return {'mismatch'} end
if v[2] == 'pending' then return {'pending'} end
return {'done', v[3], v[4] or '', v[5] or '', v[6] or ''}
