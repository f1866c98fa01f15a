// An alert's evidence: amounts over time and the located events on a world map (the table has it all too).
(function () {
  "use strict";
  const points = JSON.parse(document.getElementById("evidence-data").textContent);
  const charts = {};
  // An amount is never shown without its currency: one currency names the axis, several go in the tooltips.
  const currencies = [...new Set(points.map((p) => p.currency).filter(Boolean))];
  charts.time = new Chart(document.getElementById("chart-evidence-time"), {
    type: "scatter",
    data: {
      datasets: [{
        label: currencies.length === 1 ? `Amount (${currencies[0]})` : "Amount",
        data: points.filter((p) => p.amount !== null).map((p) => ({ x: Date.parse(p.time), y: p.amount, currency: p.currency })),
        backgroundColor: "#c92a2a",
      }],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { type: "linear", ticks: { callback: (value) => new Date(value).toISOString().slice(0, 10) } } },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => `${item.raw.y.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${item.raw.currency || ""}`.trim(),
          },
        },
      },
    },
  });
  const located = points.filter((p) => p.lat !== null && p.lon !== null);
  fetch(document.getElementById("alert-script").dataset.world)
    .then((response) => response.json())
    .then((world) => {
      charts.map = new Chart(document.getElementById("chart-evidence-map"), {
        type: "bubbleMap",
        data: {
          labels: located.map((p) => p.time),
          datasets: [{
            label: "Events",
            outline: ChartGeo.topojson.feature(world, world.objects.countries).features,
            showOutline: true,
            outlineBackgroundColor: "#eef1f6",
            outlineBorderColor: "#aab3c2",
            backgroundColor: "rgba(201, 42, 42, 0.6)",
            data: located.map((p) => ({ longitude: p.lon, latitude: p.lat, value: p.score })),
          }],
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: false } },
          scales: { projection: { axis: "x", projection: "equalEarth" }, size: { axis: "x", size: [4, 12], display: false } },
        },
      });
    });
  window.alertCharts = charts;
})();
