-- Visit beacons as browsers send them: same-origin, a browser user agent, each from one of
-- many networks (X-Forwarded-For, read because the server trusts one proxy).
local paths = {"/", "/articles/does-amitriptyline-relax-muscles", "/articles/amitriptyline-for-back-pain",
               "/clinics/london", "/book"}
local agents = {
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Safari/604.1",
}
math.randomseed(os.time())
request = function()
  local path = paths[math.random(#paths)]
  local body = "p=" .. path .. "&r=www.google.com&s=&c=spring&a=does-amitriptyline-relax-muscles"
  local ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("POST", "/visits", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Sec-Fetch-Site"] = "same-origin",
    ["User-Agent"] = agents[math.random(#agents)],
    ["X-Forwarded-For"] = ip,
  }, body)
end
