// Warn before leaving a page with text typed into a form marked data-warn-unsaved that was
// not sent, e.g. a half-written note when staff press "Save status" in the form beside it.
(function () {
  "use strict";
  var dirty = new Set();
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    form.addEventListener("input", function () { dirty.add(form); });
    form.addEventListener("submit", function () { dirty.delete(form); });
  });
  window.addEventListener("beforeunload", function (event) {
    var typed = Array.from(dirty).some(function (form) {
      return Array.from(form.elements).some(function (el) {
        return (el.tagName === "TEXTAREA" || el.type === "text" || el.type === "tel") &&
          el.value !== el.defaultValue;
      });
    });
    if (typed) { event.preventDefault(); event.returnValue = ""; }
  });
})();
