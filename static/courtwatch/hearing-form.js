// The hearing form on a phone: show only what the chosen outcome needs, offer only its reasons,
// mark its required fields, and ask for a confirmation before a withdrawal or strike-off.
// Without JavaScript every field shows, the server checks the same rules and asks the same
// confirmation on a page of its own.
(function () {
  var form = document.getElementById("hearing-form");
  var helpNode = document.getElementById("hearing-form-help");
  if (!form || !helpNode) return;
  var help = JSON.parse(helpNode.textContent);
  var outcome = form.querySelector("[name=outcome]");
  var reason = form.querySelector("[name=reason]");
  var confirm = form.querySelector("[name=confirm]");
  var button = document.getElementById("record-button");
  var box = document.getElementById("confirm-box");
  var optional = {};
  Object.keys(help.fields).forEach(function (k) {
    help.fields[k].forEach(function (f) { optional[f] = true; });
  });

  function offerReasons(wanted) {
    if (!reason) return;
    var keep = reason.value;
    while (reason.options.length) reason.remove(0);
    reason.add(new Option("—", ""));
    wanted.forEach(function (pair) { reason.add(new Option(pair[1], pair[0])); });
    reason.value = wanted.some(function (pair) { return pair[0] === keep; }) ? keep : "";
  }

  function markRequired(required) {
    form.querySelectorAll("[data-field]").forEach(function (box) {
      var name = box.getAttribute("data-field");
      var mark = box.querySelector(".required-mark");
      if (!mark || name === "date" || name === "type" || name === "outcome") return;
      mark.hidden = required.indexOf(name) === -1;
    });
  }

  function update() {
    var chosen = outcome.value;
    var wanted = help.fields[chosen] || [];
    Object.keys(optional).forEach(function (name) {
      var field = form.querySelector('[data-field="' + name + '"]');
      if (field) field.hidden = wanted.indexOf(name) === -1 && !field.querySelector(".field-error");
    });
    offerReasons(help.reasons[chosen] || []);
    markRequired(help.required[chosen] || []);
    var confirming = help.confirm.indexOf(chosen) !== -1;
    if (box) box.hidden = !confirming;
    if (confirm) confirm.value = confirming ? "yes" : "";
    if (button) {
      var text = outcome.options[outcome.selectedIndex] ? outcome.options[outcome.selectedIndex].text : "";
      button.textContent = confirming ? button.dataset.confirmLabel + ": " + text : button.dataset.label;
      button.classList.toggle("danger", confirming);
    }
  }

  outcome.addEventListener("change", update);
  update();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
