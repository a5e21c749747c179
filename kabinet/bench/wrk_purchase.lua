-- wrk script for `kabinet bench pos`: every request is a new purchase with its own
-- Idempotency-Key and receipt number, 3-8 lines, some redeeming points. Mirrors
-- `purchase_body` in load.py.
--
--   wrk -t2 -c16 -d15s -s wrk_purchase.lua http://127.0.0.1:PORT -- DATA RUN_ID REDEEM_SHARE
--
-- DATA is a text file of "token <t>" and "card <n>" lines. done() prints one line
-- "KABINET-RESULT {json}" and up to three "KABINET-SAMPLE <status> <body>" lines.

local PATH = "/api/pos/v1/purchases"
local SKU_COUNT = 500
local MAX_REDEEM_POINTS = 50
local SAMPLES_KEPT = 3

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local tokens, cards = {}, {}
local run_id, redeem_share = "run", 0.2
local seq = 0
statuses = {}
samples = {}

function init(args)
   local fh = assert(io.open(args[1], "r"))
   for line in fh:lines() do
      local kind, value = line:match("^(%a+) (%S+)$")
      if kind == "token" then
         tokens[#tokens + 1] = value
      elseif kind == "card" then
         cards[#cards + 1] = value
      end
   end
   fh:close()
   run_id = args[2]
   redeem_share = tonumber(args[3])
   math.randomseed(os.time() * 1000 + tid)
end

local function money(kopecks)
   return string.format("%d.%02d", math.floor(kopecks / 100), kopecks % 100)
end

function request()
   seq = seq + 1
   local key = string.format("%s-w%d-%d", run_id, tid, seq)
   local token = tokens[(tid + seq) % #tokens + 1]
   local card = cards[math.random(#cards)]
   local lines, total = {}, 0
   for i = 1, math.random(3, 8) do
      local sku = math.random(1, SKU_COUNT)
      local price = math.random(50, 5000) * 10
      local quantity = math.random(1, 3)
      local amount = price * quantity
      total = total + amount
      lines[i] = string.format(
         '{"sku":"SKU-%05d","name":"Товар %d","quantity":"%d","price":"%s","amount":"%s"}',
         sku, sku, quantity, money(price), money(amount))
   end
   local redeem = 0
   if math.random() < redeem_share then
      redeem = math.random(1, math.max(1, math.min(MAX_REDEEM_POINTS, math.floor(total / 200)))) * 100
   end
   local body = string.format(
      '{"card":"%s","receipt":{"number":"%s","datetime":"%s","lines":[%s],"total":"%s"},"redeem":"%s"}',
      card, key, os.date("!%Y-%m-%dT%H:%M:%S+00:00"), table.concat(lines, ","), money(total),
      money(redeem))
   return wrk.format("POST", PATH, {
      ["Authorization"] = "Bearer " .. token,
      ["Idempotency-Key"] = key,
      ["Content-Type"] = "application/json",
   }, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status ~= 201 and #samples < SAMPLES_KEPT then
      samples[#samples + 1] = status .. " " .. string.sub(string.gsub(body or "", "%s+", " "), 1, 300)
   end
end

function done(summary, latency, requests)
   local counts, kept = {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      for _, sample in ipairs(thread:get("samples")) do
         if #kept < SAMPLES_KEPT then kept[#kept + 1] = sample end
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      parts[#parts + 1] = string.format('"%d":%d', status, n)
   end
   local e = summary.errors
   io.write(string.format(
      'KABINET-RESULT {"duration_us":%d,"requests":%d,"statuses":{%s},' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.duration, summary.requests, table.concat(parts, ","),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
   for _, sample in ipairs(kept) do
      io.write("KABINET-SAMPLE " .. sample .. "\n")
   end
end
