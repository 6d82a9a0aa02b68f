-- Takes or renews a run's lease unless another worker holds it; with a message id, keeps that message too.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('XCLAIM', KEYS[2], ARGV[4], ARGV[1], 0, ARGV[3], 'JUSTID') end
return 1
