-- A small workload for the riscv64 lua5.4 interpreter under the process VM (read on stdin as
-- `lua -`): closures, tables and sort, metatables, string patterns, integer and float formatting,
-- an error caught by pcall (a C longjmp) and coroutines.
local squares = {}
for i = 1, 40 do squares[i] = (i * 37) % 41 end
table.sort(squares)
print("sorted: " .. table.concat(squares, ",", 1, 10))

local function counter(step)
  local total = 0
  return function() total = total + step; return total end
end
local by3 = counter(3)
for _ = 1, 9 do by3() end
print("closure: " .. by3())

local Point = {}
Point.__index = Point
Point.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, Point) end
Point.__tostring = function(p) return string.format("(%g, %g)", p.x, p.y) end
local p = setmetatable({x = 1, y = 2}, Point) + setmetatable({x = 0.5, y = -4}, Point)
print("point: " .. tostring(p))

local words = {}
for word in ("one two three two one two"):gmatch("%a+") do words[word] = (words[word] or 0) + 1 end
print(string.format("words: one=%d two=%d three=%d", words.one, words.two, words.three))
print("gsub: " .. ("hello world"):gsub("o", "0"))

local ok, message = pcall(function() error({code = 42}) end)
print("pcall: " .. tostring(ok) .. " " .. message.code)
ok, message = pcall(function() return nil + 1 end)
print("arith error: " .. tostring(ok) .. " " .. message:gsub("^.-:%d+: ", ""))

local producer = coroutine.wrap(function()
  for i = 1, 3 do coroutine.yield(i * 10) end
  return "end"
end)
print("coroutine: " .. producer() .. " " .. producer() .. " " .. producer() .. " " .. producer())

print(string.format("numbers: %d %d %.5f %s %s %d", 17 // 5, -17 % 5, math.pi, 7 / 2, 2^53, math.maxinteger))
print(_VERSION .. " done")
