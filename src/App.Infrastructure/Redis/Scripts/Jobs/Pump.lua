-- Moves the retries that are due (KEYS[1], scored by due time) to the job stream (KEYS[2]), a bounded number at a time.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local tenant, job = string.match(member, '^(.*)|(%x+)$')
  if tenant then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'tenant', tenant, 'job', job)
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
