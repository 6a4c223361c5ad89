// Card payment with Stripe.js (in tests and the demo: localstripe's stand-in).
// 1. Stripe.js turns the card into a token (the card number never reaches OpenKasse);
// 2. the server confirms the payment with it; 3. 3-D Secure, if asked for, in Stripe.js;
// 4. the result page asks Stripe again and books the payment.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");

  function fail(message) {
    errors.textContent = message + " Es wurde nichts abgebucht.";
    errors.classList.remove("ok-hidden");
    button.disabled = false;
  }

  function done() { window.location.assign(form.dataset.returnUrl); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.classList.add("ok-hidden");
    stripe.createToken(card).then(function (result) {
      if (result.error || !result.token) {
        fail("Bitte prüfen Sie die Kartendaten.");
        return null;
      }
      var body = new URLSearchParams({card_token: result.token.id});
      return fetch(form.dataset.cardUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRFToken": form.dataset.csrfToken}
      }).then(function (response) { return response.json(); });
    }).then(function (answer) {
      if (!answer) { return; }
      if (answer.next === "error") { fail(answer.message); return; }
      if (answer.next === "authenticate") {
        return stripe.confirmCardPayment(answer.client_secret).then(function (result) {
          if (result.error) { fail("Die Bestätigung bei Ihrer Bank ist fehlgeschlagen."); return; }
          done();
        });
      }
      done();
    }).catch(function () { fail("Die Verbindung ist unterbrochen."); });
  });
}());
