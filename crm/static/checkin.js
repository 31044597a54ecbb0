// Check-in (coverage/check_in.html): only when "share my approximate location" is ticked, ask the
// phone for its position and put it, rounded to two decimals, in the form's hidden latitude/longitude.
// Unticked (the default), or without JavaScript, the hidden fields stay empty and nothing is sent.
(function () {
  "use strict";

  function round2(value) {
    return (Math.round(value * 100) / 100).toFixed(2);
  }

  function say(status, key) {
    if (!status) { return; }
    status.hidden = !key;
    status.textContent = key ? (status.getAttribute("data-msg-" + key) || "") : "";
  }

  function setUp(form) {
    if (!form || form.getAttribute("data-checkin-ready")) { return; }
    form.setAttribute("data-checkin-ready", "1");
    var box = form.querySelector("input[name=share_location]");
    var lat = form.querySelector("input[name=latitude]");
    var lon = form.querySelector("input[name=longitude]");
    var status = document.getElementById("location-status");
    if (!box || !lat || !lon) { return; }

    function clear() {
      lat.value = "";
      lon.value = "";
    }

    box.addEventListener("change", function () {
      clear();
      if (!box.checked) { say(status, null); return; }
      if (!navigator.geolocation) { say(status, "failed"); return; }
      say(status, "waiting");
      navigator.geolocation.getCurrentPosition(function (position) {
        if (!box.checked) { return; }
        lat.value = round2(position.coords.latitude);
        lon.value = round2(position.coords.longitude);
        say(status, "found");
      }, function () {
        clear();
        say(status, "failed");
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
    });
    if (box.checked && !lat.value) { box.dispatchEvent(new Event("change")); }
  }

  function init() {
    setUp(document.getElementById("check-in-form"));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  document.addEventListener("htmx:load", init);
})();
