// A job's page (backoffice/jobs.py): while the job runs, fetch its figures every 2 seconds
// into the live region; show the buttons that fit its state and the failed objects.
(function () {
  "use strict";
  var box = document.getElementById("job-stand");
  if (!box || !window.fetch) { return; }
  var url = box.dataset.statusUrl;

  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = String(data[el.dataset.field]);
      if (el.textContent !== value) { el.textContent = value; }
    });
    var bar = document.getElementById("fortschritt");
    bar.max = data.total || 1;
    bar.value = data.total ? data.done : 1;
    bar.textContent = data.percent + " %";
    document.getElementById("job-abbrechen").hidden = !data.can_cancel;
    document.getElementById("job-fortsetzen").hidden = !data.can_resume;
    var list = document.getElementById("job-fehler");
    if (data.failures.length) {
      list.replaceChildren.apply(list, data.failures.map(function (f) {
        var item = document.createElement("li");
        var label = document.createElement("strong");
        label.textContent = f.label;
        item.append(label, (f.retried ? " (erneut versucht)" : "") + ": " + f.message);
        return item;
      }));
    }
    box.dataset.state = data.state;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        show(data);
        if (data.running) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }

  if (box.dataset.state === "running") { window.setTimeout(poll, 2000); }
}());
