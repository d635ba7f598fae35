-- The Lua guest's demo script: tables, closures, string library, metatables, integer and float math.
-- It raises no errors and uses no coroutines (the wasm32-wasi build cannot unwind the stack).

local function sieve(limit)
  local composite, primes = {}, {}
  for i = 2, limit do
    if not composite[i] then
      primes[#primes + 1] = i
      for j = i * i, limit, i do composite[j] = true end
    end
  end
  return primes
end

local primes = sieve(1000)
print(string.format("%d primes below 1000, the last five: %s", #primes,
  table.concat(primes, " ", #primes - 4, #primes)))

local function memoize(f)
  local cache = {}
  return function(n)
    local value = cache[n]
    if value == nil then value = f(n); cache[n] = value end
    return value
  end
end

local fib
fib = memoize(function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end)
print("fib(80) = " .. fib(80))

local Vector = {}
Vector.__index = Vector
function Vector.new(x, y) return setmetatable({x = x, y = y}, Vector) end
function Vector.__add(a, b) return Vector.new(a.x + b.x, a.y + b.y) end
function Vector.__tostring(v) return string.format("(%g, %g)", v.x, v.y) end
function Vector:length() return math.sqrt(self.x * self.x + self.y * self.y) end
local sum = Vector.new(0, 0)
for i = 1, 10 do sum = sum + Vector.new(i, i * 0.5) end
print("vector sum " .. tostring(sum) .. string.format(", length %.6f", sum:length()))

local text = "the quick brown fox jumps over the lazy dog the end"
local counts, words = {}, {}
for word in text:gmatch("%a+") do
  if not counts[word] then words[#words + 1] = word end
  counts[word] = (counts[word] or 0) + 1
end
table.sort(words, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
local report = {}
for i = 1, 4 do report[i] = words[i] .. "=" .. counts[words[i]] end
print("word counts: " .. table.concat(report, ", "))
print("reversed: " .. text:sub(1, 19):reverse():upper())
print(string.format("integers %d // %d = %d, %d %% %d = %d, 2^62 = %d", 17, 5, 17 // 5, 17, 5, 17 % 5, 1 << 62))
print(string.format("floats %.10f %.3e %s", math.pi, 6.02214076e23, tostring(7 / 2)))
print(_VERSION .. " done")
