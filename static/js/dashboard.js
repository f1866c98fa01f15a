// Dashboard chart: lines ingested per day. htmx swaps the dashboard every 15 s; the chart is drawn again.
(function () {
  "use strict";
  let chart = null;

  function draw() {
    const canvas = document.getElementById("chart-per-day");
    const source = document.getElementById("per-day-data");
    if (!canvas || !source) return;
    const days = JSON.parse(source.textContent);
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: days.map((day) => day.day.slice(5)),
        datasets: [
          { label: "Indexed", data: days.map((day) => day.indexed), backgroundColor: "#2b8a3e" },
          { label: "Rejected", data: days.map((day) => day.dead_lettered), backgroundColor: "#e67700" },
          { label: "Set aside", data: days.map((day) => day.fallback), backgroundColor: "#c92a2a" },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      },
    });
    window.dashboardChart = chart;
  }

  draw();
  document.body.addEventListener("htmx:afterSwap", draw);
})();
