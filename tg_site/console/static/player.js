// The episode player: cameras from the stored frame bytes, in sync on one clock (seconds from the
// episode's origin), a scrubber, play/pause, frame stepping, plots with a playhead, the timeline.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("player-data").textContent);
  const episode = document.getElementById("player-script").dataset.episode;
  const base = "/console/episodes/" + encodeURIComponent(episode);
  const cams = data.cameras;
  const primary = cams.length ? cams[0] : null;
  const scrub = document.getElementById("scrub");
  const playButton = document.getElementById("play");
  const plots = [];
  let t = 0, playing = false, last = 0;

  function frameAt(cam, time) {  // the last frame stamped at or before `time`
    let lo = 0, hi = cam.t.length - 1;
    if (hi < 0) return -1;
    if (time <= cam.t[0]) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cam.t[mid] <= time) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function show(time) {
    t = Math.max(0, Math.min(time, data.duration));
    for (const cam of cams) {
      const img = document.getElementById("cam-" + cam.name);
      const k = frameAt(cam, t);
      if (k >= 0 && img.dataset.index !== String(k)) {
        img.dataset.index = String(k);
        img.src = base + "/frames/" + encodeURIComponent(cam.name) + "/" + k;
      }
    }
    document.getElementById("frame-index").textContent = primary ? String(frameAt(primary, t)) : "0";
    document.getElementById("time").textContent = t.toFixed(2);
    scrub.value = String(t);
    const share = data.duration > 0 ? t / data.duration : 0;
    document.getElementById("timeline-playhead").style.left = "calc(var(--label) + (100% - var(--label)) * " + share + ")";
    for (const p of plots) p.head.style.left = p.plot.valToPos(t, "x") + "px";
  }

  function tick(now) {
    if (!playing) return;
    show(t + (now - last) / 1000);
    last = now;
    if (t >= data.duration) { setPlaying(false); return; }
    requestAnimationFrame(tick);
  }

  function setPlaying(on) {
    playing = on;
    playButton.textContent = on ? "❚❚" : "▶";
    playButton.dataset.playing = on ? "1" : "0";
    if (on) {
      if (t >= data.duration) show(0);
      last = performance.now();
      requestAnimationFrame(tick);
    }
  }

  function step(delta) {
    setPlaying(false);
    if (!primary) return;
    const k = Math.max(0, Math.min(primary.t.length - 1, frameAt(primary, t) + delta));
    show(primary.t[k]);
  }

  function drawTimeline() {
    const tracks = { phases: data.phases, gripper: data.gripper, findings: data.findings };
    for (const [name, items] of Object.entries(tracks)) {
      const track = document.querySelector('#timeline [data-track="' + name + '"]');
      for (const item of items) {
        const span = document.createElement("span");
        const t0 = item.t0 || 0, t1 = item.t1 === null || item.t1 === undefined ? t0 : item.t1;
        span.className = "mark " + (name === "findings" ? "finding " + item.severity : name);
        span.style.left = "calc(var(--label) + (100% - var(--label)) * " + (t0 / (data.duration || 1)) + ")";
        span.style.width = "max(3px, calc((100% - var(--label)) * " + ((t1 - t0) / (data.duration || 1)) + "))";
        span.title = name === "findings" ? item.check + ": " + item.message : item.label;
        if (name === "findings") span.dataset.check = item.check;
        else span.textContent = item.label;
        span.addEventListener("click", () => show(t0));
        track.appendChild(span);
      }
    }
    if (data.active) {
      const band = document.createElement("div");
      band.className = "active-range";
      band.style.left = "calc(var(--label) + (100% - var(--label)) * " + (data.active[0] / (data.duration || 1)) + ")";
      band.style.width = "calc((100% - var(--label)) * " + ((data.active[1] - data.active[0]) / (data.duration || 1)) + ")";
      band.title = "active range";
      document.getElementById("timeline").appendChild(band);
    }
  }

  function hold(xs, ts, vs) {  // the value in force at each x: the last sample at or before it
    const out = new Array(xs.length);
    let k = 0;
    for (let i = 0; i < xs.length; i++) {
      while (k + 1 < ts.length && ts[k + 1] <= xs[i]) k++;
      out[i] = ts.length && ts[k] <= xs[i] ? vs[k] : null;
    }
    return out;
  }

  async function drawPlot(group) {  // streams of one kind: commanded (dashed) over measured
    const bodies = [];
    for (const stream of group) {
      const answer = await fetch(base + "/timeseries/" + encodeURIComponent(stream.name) + "?max_points=1500");
      if (answer.ok) bodies.push({ stream, body: await answer.json() });
    }
    if (!bodies.length) return;
    const x = bodies[0].body.t_s;
    const values = [x];
    const series = [{ label: "s" }];
    const colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
    for (const { stream, body } of bodies) {
      const columns = body.values.length ? body.values[0].length : 0;
      const action = stream.role === "action";
      for (let c = 0; c < columns; c++) {
        const column = body.values.map(row => row[c]);
        values.push(body.t_s === x ? column : hold(x, body.t_s, column));
        series.push({
          label: (body.columns[c] || String(c)) + (action ? " (" + stream.name + ")" : ""),
          stroke: colours[c % colours.length], width: 1, dash: action ? [4, 3] : undefined,
        });
      }
    }
    const box = document.createElement("div");
    box.className = "plot";
    box.dataset.stream = group.map(s => s.name).join(" ");
    document.getElementById("plots").appendChild(box);
    const plot = new uPlot({
      title: group.map(s => s.name).join(" · "),
      width: box.clientWidth || 600,
      height: 130,
      scales: { x: { time: false, range: [0, data.duration || 1] } },
      legend: { show: series.length <= 9 },
      series,
      cursor: { drag: { x: false, y: false } },
    }, values, box);
    const head = document.createElement("div");
    head.className = "plot-playhead";
    plot.over.appendChild(head);
    plot.over.addEventListener("click", (e) => show(plot.posToVal(e.offsetX, "x")));
    plots.push({ plot, head });
    show(t);
  }

  scrub.addEventListener("input", () => { setPlaying(false); show(parseFloat(scrub.value)); });
  playButton.addEventListener("click", () => setPlaying(!playing));
  document.getElementById("step-back").addEventListener("click", () => step(-1));
  document.getElementById("step-forward").addEventListener("click", () => step(1));
  for (const a of document.querySelectorAll("a.seek")) {
    a.addEventListener("click", (e) => { e.preventDefault(); setPlaying(false); show(parseFloat(a.dataset.t)); });
  }
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" && e.target.type !== "range" || tag === "textarea" || tag === "select") return;
    if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
    else if (e.key === " ") { e.preventDefault(); setPlaying(!playing); }
  });
  drawTimeline();
  show(0);
  for (const group of data.plots) drawPlot(group);
  window.tgPlayer = { show, step, setPlaying, get time() { return t; } };
})();
