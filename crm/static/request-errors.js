// A failed htmx request is never silent: show the message for its status in the page's alert.
// The texts come translated from data attributes on #request-error (base.html); no inline script.
(function () {
  "use strict";

  function alertBox() {
    return document.getElementById("request-error");
  }

  function show(message) {
    var box = alertBox();
    if (!box || !message) {
      return;
    }
    box.querySelector("[data-text]").textContent = message;
    box.hidden = false;
    box.focus();
  }

  function messageFor(status) {
    var box = alertBox();
    if (!box) {
      return "";
    }
    var specific = box.getAttribute("data-msg-" + status);
    if (specific) {
      return specific;
    }
    return box.getAttribute(status >= 500 ? "data-msg-server" : "data-msg-default");
  }

  document.addEventListener("htmx:responseError", function (event) {
    show(messageFor(event.detail.xhr ? event.detail.xhr.status : 0));
  });
  document.addEventListener("htmx:sendError", function () {
    show(alertBox() && alertBox().getAttribute("data-msg-network"));
  });
  document.addEventListener("htmx:timeout", function () {
    show(alertBox() && alertBox().getAttribute("data-msg-network"));
  });
  // A new request (or a page swapped in by boosted navigation) starts without the old alert.
  document.addEventListener("htmx:beforeRequest", function () {
    var box = alertBox();
    if (box) {
      box.hidden = true;
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-dismiss-request-error]")) {
      alertBox().hidden = true;
    }
  });
})();
