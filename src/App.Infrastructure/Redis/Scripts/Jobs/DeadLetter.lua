-- The dead-letter feed entry goes with the message's acknowledgement, once per job (the marker): a worker that
-- died between PostgreSQL's record and this step leaves the message pending, and whoever takes it over writes it.
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'tenant', ARGV[5], 'job', ARGV[6], 'reason', ARGV[7])
end
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
