// Warn before an idle session ends, offer "stay signed in", and say when it has ended.
// Reads #session-timeout (sessions/_timeout.html): seconds left, when to warn, the texts. Before
// warning it asks the server (without counting as activity) how long is really left, so work in
// another tab or an htmx request that kept the session alive does not cause a false warning.
(function () {
  "use strict";

  var timer = null;
  var current = null;

  function box() {
    return document.getElementById("session-timeout");
  }

  function csrfToken() {
    // The token the page gives htmx: <body hx-headers='{"X-CSRFToken": "…"}'>.
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function later(seconds, action) {
    window.clearTimeout(timer);
    timer = window.setTimeout(action, Math.max(0, seconds) * 1000);
  }

  function show(el, message, canStay) {
    el.querySelector("[data-text]").textContent = message;
    el.querySelector("[data-keep-alive]").hidden = !canStay;
    if (el.hidden) {
      el.hidden = false;
      el.focus();
    }
  }

  function status(onAnswer) {
    var el = current;
    fetch(el.getAttribute("data-status-url"), {
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-Session-Background": "1"}
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      onAnswer(data.signed_in ? data.seconds : 0);
    }).catch(function () {
      onAnswer(null);  // no answer: go by the page's own clock
    });
  }

  function schedule(secondsLeft) {
    var el = current;
    var warn = parseInt(el.getAttribute("data-warn-seconds"), 10) || 120;
    var endsAt = Date.now() + secondsLeft * 1000;
    if (secondsLeft > warn) {
      el.hidden = true;
      later(secondsLeft - warn, check);
    } else if (secondsLeft > 0) {
      show(el, el.getAttribute("data-msg-warning"), true);
      later(secondsLeft, check);
    } else {
      ended();
    }
    el.setAttribute("data-ends-at", String(endsAt));
  }

  function check() {
    var el = current;
    status(function (seconds) {
      if (el !== current) {
        return;
      }
      if (seconds === null) {
        var left = (parseInt(el.getAttribute("data-ends-at"), 10) - Date.now()) / 1000;
        schedule(Math.max(0, Math.round(left)));
      } else {
        schedule(seconds);
      }
    });
  }

  function ended() {
    window.clearTimeout(timer);
    show(current, current.getAttribute("data-msg-ended"), false);
  }

  function stay(event) {
    event.preventDefault();
    var form = event.target;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": csrfToken()},
      body: new FormData(form)
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then(function (data) {
      schedule(data.seconds);
    }).catch(function () {
      ended();
    });
  }

  function start() {
    var el = box();
    if (el === current) {
      return;  // the same warning (an htmx fragment swap elsewhere on the page)
    }
    window.clearTimeout(timer);
    current = el;
    if (!el) {
      return;
    }
    el.querySelector("[data-keep-alive]").addEventListener("submit", stay);
    schedule(parseInt(el.getAttribute("data-seconds-left"), 10) || 0);
  }

  document.addEventListener("DOMContentLoaded", start);
  // Boosted navigation swaps the body's content: the new page brings its own deadline.
  document.addEventListener("htmx:afterSettle", start);
})();
