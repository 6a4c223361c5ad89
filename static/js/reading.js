// Offline-tolerant reading form: the typed value is kept in this browser until the server has
// confirmed it (a reload after a dropped connection brings it back), and a form submitted while
// offline is sent as soon as the connection is back.
(function () {
  "use strict";
  var form = document.getElementById("reading-form");
  if (!form || !window.localStorage) { return; }
  var key = form.dataset.storageKey;
  var input = form.querySelector("input[name=value]");
  var status = document.getElementById("reading-status");
  var saved = window.localStorage.getItem(key);
  if (saved && !input.value) { input.value = saved; }
  input.addEventListener("input", function () { window.localStorage.setItem(key, input.value); });

  form.addEventListener("submit", function (event) {
    window.localStorage.setItem(key, input.value);
    if (navigator.onLine !== false) { return; }  // online: the normal form post
    event.preventDefault();
    status.textContent = "Keine Verbindung. Ihr Zählerstand ist gespeichert und wird gesendet, " +
      "sobald die Verbindung wieder da ist.";
    window.addEventListener("online", function () { form.submit(); }, {once: true});
  });
}());
