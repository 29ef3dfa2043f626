/* Booking form: update the free times in place when the clinic or day changes. */
(function () {
  "use strict";
  var picker = document.querySelector("[data-slots-url]");
  if (!picker || !window.fetch) { return; }
  var form = picker.closest("form");
  var daySelect = picker.querySelector("[data-day-select]");
  var times = picker.querySelector("[data-times]");
  // Screen readers hear one short sentence per change, not every time read out.
  var status = picker.querySelector("[data-times-status]");
  picker.querySelectorAll("[data-no-js-only]").forEach(function (el) { el.hidden = true; });

  function clinic() {
    var fixed = form.querySelector("[data-fixed-clinic]");
    if (fixed) { return fixed.value; }
    var checked = form.querySelector("[data-clinic-radio]:checked");
    return checked ? checked.value : "";
  }

  function clear() {
    // The next free times after a refused booking give way to the chosen day's times.
    picker.querySelectorAll("[data-alternatives]").forEach(function (el) { el.remove(); });
    times.classList.remove("times-wide");
    times.replaceChildren();
  }

  function message(text) {
    clear();
    if (status) { status.textContent = text; }
    var p = document.createElement("p");
    p.className = "hint";
    p.textContent = text;
    times.appendChild(p);
  }

  function render(slots) {
    if (!slots.length) { message("There are no free times on this day. Please choose another day."); return; }
    clear();
    var day = daySelect.options[daySelect.selectedIndex];
    if (status) {
      status.textContent = slots.length + (slots.length === 1 ? " free time on " : " free times on ") +
        (day ? day.text : "this day") + ".";
    }
    slots.forEach(function (slot, i) {
      var wrap = document.createElement("div");
      wrap.className = "time-option";
      var input = document.createElement("input");
      input.type = "radio"; input.name = "slot"; input.id = "slot-" + i; input.value = slot.start;
      var label = document.createElement("label");
      label.htmlFor = input.id; label.textContent = slot.label;
      wrap.appendChild(input); wrap.appendChild(label);
      times.appendChild(wrap);
    });
  }

  var latest = 0;

  function refresh() {
    var slug = clinic();
    var request = ++latest;
    if (!slug) { message("Choose a clinic, then a day, to see the free times."); return; }
    message("Loading free times…");
    var url = picker.getAttribute("data-slots-url") + "?clinic=" + encodeURIComponent(slug) +
      "&date=" + encodeURIComponent(daySelect.value);
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { if (request === latest) { render(data.slots); } })
      .catch(function () {
        if (request === latest) { message("We could not load the times. Please try again, or call us."); }
      });
  }

  daySelect.addEventListener("change", refresh);
  form.querySelectorAll("[data-clinic-radio]").forEach(function (radio) {
    radio.addEventListener("change", refresh);
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
