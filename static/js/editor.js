// Content editor, progressive enhancement only: live character counts for the SEO fields,
// and the cursor on the error summary when a save fails (as on the booking form), so that
// keyboard and screen reader users hear what to fix and can follow its links.
// Without JavaScript the server shows the count each time the form is shown.
(function () {
  "use strict";
  document.querySelectorAll("[data-count-for]").forEach(function (counter) {
    var input = document.getElementById(counter.getAttribute("data-count-for"));
    var limit = parseInt(counter.getAttribute("data-limit"), 10);
    if (!input || !limit) {
      return;
    }
    function update() {
      var length = input.value.length;
      counter.textContent = length + " of " + limit + " characters" +
        (length > limit ? ": " + (length - limit) + " too many, search engines may cut it." : ".");
      counter.classList.toggle("over-limit", length > limit);
    }
    input.addEventListener("input", update);
    update();
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
