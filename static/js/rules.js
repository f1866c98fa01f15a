// Alert rule pages. After Preview, focus moves to its result, so keyboard and screen reader users land on it.
// The rule form shows the settings of the chosen type only; without JavaScript every setting shows, each naming
// the types that use it.
(function () {
  "use strict";
  const preview = document.getElementById("preview");
  if (preview) preview.focus();
  const type = document.getElementById("id_type");
  if (!type) return;
  function show() {
    document.querySelectorAll("[data-types]").forEach((field) => {
      const used = field.dataset.types.split(" ").includes(type.value);
      field.hidden = !used;
      field.querySelectorAll("input, select, textarea").forEach((input) => { input.disabled = !used; });
    });
  }
  type.addEventListener("change", show);
  show();
})();
