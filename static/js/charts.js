// Analytics charts: Chart.js (and its geo plugin for the map) drawn from the panel data the page embeds.
// Every chart has a table beside it, so nothing here is the only way to read the numbers.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const palette = ["#1d4fd7", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0b7285", "#c2255c", "#5c940d", "#495057"];
  const charts = {};

  // A chart with nothing to draw would show a bare 0-1 axis: say so in a sentence instead.
  function hasData(config) {
    return config.data.datasets.some((dataset) =>
      dataset.data.some((value) => (value && typeof value === "object" ? value.value : value))
    );
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    if (!hasData(config)) {
      const sentence = document.createElement("p");
      sentence.className = "muted empty";
      sentence.textContent = canvas.dataset.empty || "Nothing to show for these filters.";
      canvas.parentElement.replaceWith(sentence);
      return;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
    charts[id] = new Chart(canvas, config);
  }

  const coarse = ["day", "week", "month", "year"].includes(data.timeline.interval);
  function label(time) {
    return coarse ? time.slice(0, 10) : time.slice(0, 16).replace("T", " ");
  }

  const buckets = data.timeline.buckets;
  const types = [...new Set(buckets.flatMap((bucket) => Object.keys(bucket.by_log_type)))];
  // The expected band (filled between low and high) and the anomalous buckets, over the stacked bars. Each line
  // has a stack of its own so that it is drawn at its value, not on top of the bars.
  const band = data.band && data.band.times.length === buckets.length ? data.band : null;
  const bandLines = band
    ? [
        { type: "line", label: "Expected (low)", data: band.low, stack: "low", borderColor: "rgba(73,80,87,.5)",
          borderWidth: 1, pointRadius: 0, fill: false, order: -1 },
        { type: "line", label: "Expected band", data: band.high, stack: "high", borderColor: "rgba(73,80,87,.5)",
          backgroundColor: "rgba(73,80,87,.15)", borderWidth: 1, pointRadius: 0, fill: "-1", order: -1 },
        { type: "line", label: "Anomaly", data: band.anomalies, stack: "anomaly", showLine: false,
          pointRadius: 6, pointStyle: "triangle", borderColor: "#c92a2a", backgroundColor: "#c92a2a", order: -2 },
      ]
    : [];
  draw("chart-timeline", {
    type: "bar",
    data: {
      labels: buckets.map((bucket) => label(bucket.time)),
      datasets: types
        .map((type, index) => ({
          label: type,
          data: buckets.map((bucket) => bucket.by_log_type[type] || 0),
          backgroundColor: palette[index % palette.length],
        }))
        .concat(bandLines),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });

  const revenue = data.revenue_rows || [];
  const currency = data.summary.currency || "no currency stated";
  draw("chart-revenue", {
    type: "line",
    data: {
      labels: revenue.map((row) => label(row.time)),
      datasets: [
        { label: "Revenue (" + currency + ")", data: revenue.map((row) => row.revenue), borderColor: palette[0], backgroundColor: palette[0], pointRadius: 0 },
        { label: "Cancellations (" + currency + ")", data: revenue.map((row) => row.cancellations), borderColor: palette[1], backgroundColor: palette[1], pointRadius: 0 },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });

  function horizontalBars(id, rows, key, valueKey, title) {
    draw(id, {
      type: "bar",
      data: {
        labels: rows.map((row) => String(row[key])),
        datasets: [{ label: title, data: rows.map((row) => row[valueKey]), backgroundColor: palette[0] }],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    });
  }
  horizontalBars("chart-categories", data.categories.categories || [], "category", "revenue", "Revenue");
  horizontalBars("chart-top", data.top.values || [], "value", "count", "Events");
  horizontalBars("chart-currencies", data.currency_bars || [], "label", "orders", "Orders");

  const status = data.status;
  if (status.classes && status.classes.length) {
    draw("chart-status", {
      type: "doughnut",
      data: {
        labels: status.classes.map((row) => row.class),
        datasets: [{ data: status.classes.map((row) => row.count), backgroundColor: ["#868e96", "#2b8a3e", "#1d4fd7", "#e67700", "#c92a2a"] }],
      },
    });
    draw("chart-errors", {
      type: "line",
      data: {
        labels: status.buckets.map((bucket) => label(bucket.time)),
        datasets: [
          { label: "5xx share", data: status.buckets.map((b) => b.server_error_rate), borderColor: "#c92a2a", pointRadius: 0 },
          { label: "4xx share", data: status.buckets.map((b) => b.client_error_rate), borderColor: "#e67700", pointRadius: 0 },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { format: { style: "percent" } } } } },
    });
  }

  const geo = data.geo;
  const mapCanvas = document.getElementById("chart-geo");
  if (mapCanvas && geo.cells.length) {
    const worldUrl = document.getElementById("charts-script").dataset.world;
    fetch(worldUrl)
      .then((response) => response.json())
      .then((world) => {
        const countries = ChartGeo.topojson.feature(world, world.objects.countries).features;
        draw("chart-geo", {
          type: "bubbleMap",
          data: {
            labels: geo.cells.map((cell) => cell.tile),
            datasets: [
              {
                label: "Events",
                outline: countries,
                showOutline: true,
                backgroundColor: "rgba(29, 79, 215, 0.6)",
                outlineBackgroundColor: "#eef1f6",
                outlineBorderColor: "#aab3c2",
                data: geo.cells.map((cell) => ({ longitude: cell.lon, latitude: cell.lat, value: cell.count })),
              },
            ],
          },
          options: {
            plugins: { legend: { display: false } },
            scales: {
              projection: { axis: "x", projection: "equalEarth" },
              size: { axis: "x", size: [3, 20], display: false },
            },
          },
        });
      });
  }
  window.analyticsCharts = charts;
})();
