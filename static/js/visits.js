/* Count this page load without a cookie (what is sent: see the privacy notice). */
(function () {
  "use strict";
  if (!navigator.sendBeacon || navigator.doNotTrack === "1" || navigator.globalPrivacyControl) { return; }
  function host(url) { try { return new URL(url).hostname; } catch (e) { return ""; } }
  function send() {
    var touch = {}, query = new URLSearchParams(location.search), data = new URLSearchParams();
    try { touch = JSON.parse(sessionStorage.getItem("clinic.firstTouch")) || {}; } catch (e) { touch = {}; }
    var from = document.querySelector("form.booking-form input[name=from]");
    data.set("p", location.pathname);
    data.set("r", host("referrer" in touch ? touch.referrer : document.referrer));
    data.set("s", touch.utm_source || query.get("utm_source") || "");
    data.set("c", touch.utm_campaign || query.get("utm_campaign") || "");
    if (from) { data.set("a", from.value); }
    navigator.sendBeacon("/visits", data);
  }
  if (document.prerendering) { document.addEventListener("prerenderingchange", send, { once: true }); }
  else if (document.readyState === "complete") { send(); }
  else { addEventListener("load", send, { once: true }); }
})();
