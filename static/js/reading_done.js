// The server has the reading: forget the copy kept in this browser.
(function () {
  "use strict";
  var key = document.currentScript && document.currentScript.dataset.storageKey;
  if (key && window.localStorage) { window.localStorage.removeItem(key); }
}());
