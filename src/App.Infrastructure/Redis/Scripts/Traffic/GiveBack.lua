-- What a lease did not use (ARGV: requests and tokens, as negative increments), given back to the minute it was
-- counted in (KEYS: that minute's request and token windows) unless that has expired meanwhile.
for i = 1, 2 do
  if ARGV[i] ~= '0' and redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[i]) end
end
return 0
