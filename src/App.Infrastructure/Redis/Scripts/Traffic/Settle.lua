-- Replaces a call's reservation with what it used: the token window (KEYS[1]) and the day's and month's ledgers
-- (KEYS[2], KEYS[3]), each written only while it exists (an expired one has nothing left to correct).
-- Every argument is an integer string computed by the caller and passed through as is (see Admit.lua).
-- ARGV[1] corrects the token window; ARGV[2..9] are the increments of the fields below, in order; a field whose
-- increment is zero is not written (a cache hit bills no tokens and no cost; a call admitted by Admit.lua was
-- counted in 'requests' there, one admitted from a lease is counted here). ARGV[10] is 1 when the tenant has a
-- budget. Answer: the day's and the month's tokens and cost after this call, -1 where nobody reads them.
if ARGV[1] ~= '0' and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
local fields = {'rtokens', 'rcost', 'tokens', 'input', 'output', 'cached', 'cost', 'requests'}
local totals = {}
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local t, c = nil, nil
    for f = 1, 8 do
      if ARGV[f + 1] ~= '0' then
        local v = redis.call('HINCRBY', KEYS[i], fields[f], ARGV[f + 1])
        if f == 3 then t = v elseif f == 7 then c = v end
      end
    end
    -- The period's totals feed the budget-utilization gauge; without a budget (ARGV[10] = 0) nobody reads them.
    if ARGV[10] == '0' then
      t, c = -1, -1
    elseif t == nil or c == nil then
      local v = redis.call('HMGET', KEYS[i], 'tokens', 'cost')
      t, c = v[1] or 0, v[2] or 0
    end
    table.insert(totals, t)
    table.insert(totals, c)
  else
    table.insert(totals, -1)
    table.insert(totals, -1)
  end
end
return totals
