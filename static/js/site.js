/* First touch of this visit, kept in sessionStorage (no cookie) and sent with the booking form. */
(function () {
  "use strict";
  var KEY = "clinic.firstTouch";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var touch = {};
  try {
    touch = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (!touch) {
      var params = new URLSearchParams(location.search);
      touch = { landing_page: location.pathname + location.search, referrer: document.referrer };
      UTM.forEach(function (name) { touch[name] = params.get(name) || ""; });
      sessionStorage.setItem(KEY, JSON.stringify(touch));
    }
  } catch (error) {
    return; /* storage blocked: the server-side fields still carry the source article */
  }
  var form = document.querySelector("form.booking-form");
  if (!form) { return; }
  Object.keys(touch).forEach(function (name) {
    var input = form.elements[name];
    if (input && input.type === "hidden" && touch[name]) { input.value = String(touch[name]).slice(0, 500); }
  });
})();
