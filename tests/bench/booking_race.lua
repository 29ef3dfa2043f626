-- Booking clients racing for the same slots, driven by wrk: every connection of a thread
-- posts the booking form for the slot that thread is chasing. A refusal (409) lists the next
-- free times and the thread moves on to the first of them, as a person would; when a clinic
-- has nothing left the thread moves on to the next clinic.
-- Environment: BENCH_COOKIE and BENCH_CSRF (one session's cookie and its form token),
-- BENCH_TARGETS ("london=<start>,manchester=<start>,..."), BENCH_OUT (confirmations file),
-- BENCH_PAUSE_MS (optional: each client waits a random 0 to twice this before every POST, as
-- people do; wrk starts the clock after the pause, so it is not counted as latency).

local clinics, targets = {}, {}
local clinic_index, target, counter, token = 1, nil, 0, nil
booked, refused, other, confirmed = 0, 0, 0, ""

local threads = {}
local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "0")

if pause > 0 then
   function delay()
      return math.random(0, 2 * pause)
   end
end

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

local function encode(value)
   return (value:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function init(args)
   token = os.getenv("BENCH_CSRF")
   for clinic, start in os.getenv("BENCH_TARGETS"):gmatch("([%w-]+)=([^,]+)") do
      table.insert(clinics, clinic)
      targets[clinic] = start
   end
   target = targets[clinics[1]]
   wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   math.randomseed(os.time() * 100 + id)
end

function request()
   counter = counter + 1
   local body = table.concat({
      "csrf_token=" .. encode(token),
      "idempotency_key=t" .. id .. "-" .. counter .. "-" .. math.random(1000000000),
      "clinic=" .. clinics[clinic_index],
      "slot=" .. encode(target),
      "name=Bench+Client",
      "email=bench" .. id .. "-" .. (counter % 25) .. "%40example.com",
      "phone=07911+123456",
      "consent=y",
      "action=book",
   }, "&")
   return wrk.format("POST", "/book", nil, body)
end

function response(status, headers, body)
   if status == 303 then
      booked = booked + 1
      confirmed = confirmed .. (headers["Location"] or headers["location"] or "") .. "\n"
   elseif status == 409 then
      refused = refused + 1
      local next_free = body:match('name="slot" value="([^"]+)"')
      if next_free then
         target = next_free
      else
         clinic_index = clinic_index % #clinics + 1
         target = targets[clinics[clinic_index]]
      end
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local out = io.open(os.getenv("BENCH_OUT"), "w")
   local totals = { booked = 0, refused = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      out:write(thread:get("confirmed"))
   end
   out:close()
   local errors = summary.errors
   print(string.format(
      "RESULT booked=%d refused=%d other=%d errors=%d p50=%.2f p99=%.2f",
      totals.booked, totals.refused, totals.other,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
