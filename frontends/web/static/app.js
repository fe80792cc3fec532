// Stack Advisor: small enhancements over pages that work without JavaScript.
"use strict";
(function () {
  // The Mini App: send Telegram's signed initData (from the page address's fragment, where
  // Telegram puts it) to the server, which checks it and opens the person's result.
  var form = document.getElementById("app-session");
  if (form) {
    var data = "";
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) {
      data = tg.initData;
    } else {
      var hash = new URLSearchParams(window.location.hash.slice(1));
      data = hash.get("tgWebAppData") || "";
    }
    if (data) {
      document.getElementById("init-data").value = data;
      history.replaceState(null, "", window.location.pathname); // no personal data kept in the address
      form.submit();
    } else {
      var status = document.getElementById("app-status");
      if (status) { status.textContent = status.dataset.needs || status.textContent; }
    }
  }
  // A share link: a button that copies it.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = button.dataset.copied || button.textContent;
      });
    });
  });
  // One tap sends a form once (a second tap while the page loads would send it again).
  document.querySelectorAll("form").forEach(function (f) {
    f.addEventListener("submit", function () {
      setTimeout(function () {
        f.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
