// Show only the fields the chosen hearing outcome needs (a phone screen is short).
// Without JavaScript every field shows and the form still works.
(function () {
  var form = document.getElementById("hearing-form");
  var map = JSON.parse(document.getElementById("outcome-fields").textContent);
  if (!form || !map) return;
  var outcome = form.querySelector("[name=outcome]");
  var optional = {};
  Object.keys(map).forEach(function (k) { map[k].forEach(function (f) { optional[f] = true; }); });
  function update() {
    var wanted = map[outcome.value] || [];
    Object.keys(optional).forEach(function (name) {
      var box = form.querySelector('[data-field="' + name + '"]');
      if (box) box.hidden = wanted.indexOf(name) === -1 && !box.querySelector(".errorlist");
    });
  }
  outcome.addEventListener("change", update);
  update();
})();
