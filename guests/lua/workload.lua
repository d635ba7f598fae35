-- The lua guest's workload (read on stdin as `lua -`): string ops, tables, closures, metatables,
-- a sort and integer/float math. It raises no errors and uses no coroutines: the wasm32-wasi build
-- cannot unwind the stack (guests/lua/wasi/setjmp.h).

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
local primes = sieve(5000)
print(string.format("%d primes below 5000, the last three: %s", #primes,
  table.concat(primes, " ", #primes - 2, #primes)))

local function counter(step)
  local total = 0
  return function() total = total + step; return total end
end
local by3, by7 = counter(3), counter(7)
for _ = 1, 99 do by3(); by7() end
print("closures: " .. by3() .. " " .. by7())

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
print("fib(90) = " .. fib(90))

-- A small deterministic pseudo-random list, sorted two ways.
local seed, list = 12345, {}
for i = 1, 300 do
  seed = (seed * 1103515245 + 12345) % 2147483648
  list[i] = seed % 1000
end
table.sort(list)
local checksum = 0
for i, v in ipairs(list) do checksum = (checksum * 31 + v * i) % 1000000007 end
print(string.format("sorted: min %d max %d median %d checksum %d", list[1], list[#list], list[150], checksum))
table.sort(list, function(a, b) return a > b end)
print("descending head: " .. table.concat(list, ",", 1, 8))

local Vector = {}
Vector.__index = Vector
function Vector.new(x, y) return setmetatable({x = x, y = y}, Vector) end
function Vector.__add(a, b) return Vector.new(a.x + b.x, a.y + b.y) end
function Vector.__tostring(v) return string.format("(%g, %g)", v.x, v.y) end
function Vector:length() return math.sqrt(self.x * self.x + self.y * self.y) end
local sum = Vector.new(0, 0)
for i = 1, 100 do sum = sum + Vector.new(i, i * 0.25) end
print("vector sum " .. tostring(sum) .. string.format(", length %.6f", sum:length()))

local text = string.rep("the quick brown fox jumps over the lazy dog and the cat ", 20)
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
for i = 1, 5 do report[i] = words[i] .. "=" .. counts[words[i]] end
print("word counts: " .. table.concat(report, ", "))
print("gsub: " .. (text:sub(1, 43):gsub("(%a+)", function(w) return w:sub(1, 1):upper() .. w:sub(2) end)))
print("reversed: " .. text:sub(1, 19):reverse():upper() .. ", find " .. text:find("lazy", 1, true))
local bytes = {}
for i = 1, 8 do bytes[i] = string.format("%02x", ("wasm-lua"):byte(i)) end
print("bytes: " .. table.concat(bytes) .. ", packed " .. #string.pack("<i4i8d", 1, 2, 3.0))
print(string.format("integers %d // %d = %d, %d %% %d = %d, 2^62 = %d, maxint %d",
  17, 5, 17 // 5, -17, 5, -17 % 5, 1 << 62, math.maxinteger))
print(string.format("floats %.10f %.3e %s %s", math.pi, 6.02214076e23, tostring(7 / 2), tostring(2^53)))
print(_VERSION .. " done")
