/* Count this page load, without a cookie: see "Counting visits" in the privacy notice. */
(function () {
  "use strict";
  var n = navigator;
  if (!n.sendBeacon || n.doNotTrack === "1" || n.globalPrivacyControl) { return; }
  function send() {
    var t = {}, q = new URLSearchParams(location.search), d = new URLSearchParams();
    try { t = JSON.parse(sessionStorage.getItem("clinic.firstTouch")) || {}; } catch (e) { t = {}; }
    var from = document.querySelector("form.booking-form input[name=from]");
    var ref = "referrer" in t ? t.referrer : document.referrer;
    try { ref = ref ? new URL(ref).hostname : ""; } catch (e) { ref = ""; }
    d.set("p", location.pathname); d.set("r", ref);
    d.set("s", t.utm_source || q.get("utm_source") || "");
    d.set("c", t.utm_campaign || q.get("utm_campaign") || "");
    if (from) { d.set("a", from.value); }
    n.sendBeacon("/visits", d);
  }
  if (document.prerendering) { document.addEventListener("prerenderingchange", send, { once: true }); }
  else if (document.readyState === "complete") { send(); }
  else { addEventListener("load", send, { once: true }); }
})();
