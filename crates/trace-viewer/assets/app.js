// The gotrace viewer page: a timeline drawn on a canvas from window requests, and analysis
// pages. Every state worth sharing lives in the URL's fragment, so every view is a link.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const KIND_COLORS = ["#43a047", "#fbc02d", "#b0bec5", "#8e24aa", "#e0e0e0", "#ef6c00", "#d32f2f", "#1e88e5", "#00897b"];
const STATE_NAMES = ["running", "runnable", "waiting", "syscall", "undetermined"];
const LANE_HEIGHT = 18;
const COUNTER_HEIGHT = 36;
const AXIS_HEIGHT = 22;
const NAME_WIDTH = 190;
// The critical-path row: arrows for the hops above the segments.
const CP_HEIGHT = 30;
const CP_HOP_COLOR = "#d81b60";
// Counter tracks: which counters each draws (indexes into the server's counter list).
const COUNTER_TRACKS = [
  { name: "Heap", series: [0, 1], colors: ["#1e88e5", "#90caf9"] },
  { name: "Goroutines", series: [2, 3, 4], colors: ["#43a047", "#fbc02d", "#90a4ae"] },
  { name: "Net / timers", series: [5, 6], colors: ["#6d4c41", "#00acc1"] },
  { name: "Threads", series: [7, 8], colors: ["#3949ab", "#8e24aa"] },
];

function api(path, params) {
  const query = new URLSearchParams(params || {});
  query.set("token", TOKEN);
  return fetch(path + "?" + query.toString()).then((r) => {
    if (!r.ok) return r.text().then((t) => Promise.reject(new Error(t)));
    return r.json();
  });
}

function link(hash, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return "#" + hash + (s ? "?" + s : "");
}

function parseHash() {
  const raw = location.hash.slice(1);
  const [page, query] = raw.split("?");
  return { page: page || "timeline", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

function formatDuration(ns) {
  const a = Math.abs(ns);
  if (a >= 1e9) return (ns / 1e9).toFixed(3) + " s";
  if (a >= 1e6) return (ns / 1e6).toFixed(3) + " ms";
  if (a >= 1e3) return (ns / 1e3).toFixed(3) + " µs";
  return Math.round(ns) + " ns";
}

function formatBytes(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(2) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
  return n + " B";
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function stackView(stack) {
  if (!stack || stack.length === 0) return el("div", { class: "stack" }, "(no stack)");
  return el("div", { class: "stack" }, ...stack.map((f) => el("div", {}, f.func, el("br"), el("span", { class: "file" }, "    " + f.file + ":" + f.line))));
}

let info = null;
let current = null;

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------------------------------
// Timeline

class Timeline {
  constructor(params) {
    this.view = params.view || "proc";
    this.filter = params.filter || "";
    this.focus = params.focus || "";
    this.duration = info.duration || 1;
    this.start = params.start !== undefined ? Number(params.start) : 0;
    this.end = params.end !== undefined ? Number(params.end) : this.duration;
    this.lanes = [];
    this.scroll = 0;
    this.data = null;
    this.pending = 0;
    this.selection = null;
    this.draws = 0;
    // The critical path drawn in its row (`cp=task:ID`, `region:INDEX`, `goroutine:ID:START:END`).
    this.cp = params.cp || "";
    this.cpData = null;
    this.cpPending = 0;
    this.cpSelected = null;
    this.build(params);
  }

  build(params) {
    const page = document.getElementById("page");
    page.replaceChildren();
    const viewSelect = el("select", { id: "view-select", onchange: (e) => this.navigate({ view: e.target.value, focus: "" }) },
      ...["proc", "thread", "goroutine"].map((v) => {
        const o = el("option", { value: v }, "by " + v);
        if (v === this.view) o.selected = true;
        return o;
      }));
    const search = el("input", { type: "search", id: "search", placeholder: "goroutine: function or id", value: this.filter });
    search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.navigate({ filter: search.value, view: search.value ? "goroutine" : this.view, focus: "" });
      e.stopPropagation();
    });
    const focusNote = this.focus
      ? el("span", {}, "focused on G" + this.focus + " and the goroutines that unblocked it ",
          el("a", { href: link("timeline", { view: this.view }) }, "(clear)"))
      : null;
    const legend = el("div", { class: "legend" },
      ...STATE_NAMES.slice(0, 4).concat(["GC", "STW", "region", "task"]).map((n, i) => {
        const idx = i < 4 ? i : i + 1;
        return el("span", { style: "--c:" + KIND_COLORS[idx] }, n);
      }));
    const toolbar = el("div", { class: "toolbar" }, viewSelect, search,
      el("button", { id: "zoom-in", onclick: () => this.zoom(0.5, 0.5) }, "+"),
      el("button", { id: "zoom-out", onclick: () => this.zoom(2, 0.5) }, "−"),
      el("button", { id: "zoom-reset", onclick: () => this.setWindow(0, this.duration) }, "whole trace"),
      focusNote, legend);
    this.canvas = el("canvas", { id: "timeline-canvas", tabindex: "0" });
    this.details = el("div", { id: "details" }, el("h3", {}, "Details"),
      el("p", {}, "Click a span or mark for its details, a task for its critical path; shift-drag to select a range; drag to pan; " +
        "ctrl-wheel or W/S to zoom, A/D to pan."));
    this.cpBar = el("div", { class: "toolbar cp-bar", id: "cp-bar", style: this.cp ? "" : "display:none" },
      el("b", {}, "Critical path"), el("span", {}, "loading…"));
    page.append(toolbar, this.cpBar, el("div", { class: "timeline" }, el("div", { id: "canvas-box" }, this.canvas), this.details));
    this.attach();
    api("/api/lanes", { view: this.view, filter: this.filter, focus: this.focus }).then((r) => {
      this.lanes = r.lanes;
      this.laneOfGoroutine = new Map();
      this.lanes.forEach((l, i) => {
        if (l.goroutine !== null && !l.name.includes(" regions ")) this.laneOfGoroutine.set(l.goroutine, i);
      });
      this.resize();
      if (params.sel) this.showDetails(...params.sel.split(":").map(Number));
    });
  }

  // The URL parameters of what is shown, with `changes`.
  params(changes) {
    return { view: this.view, filter: this.filter, focus: this.focus, start: Math.round(this.start), end: Math.round(this.end), cp: this.cp, ...changes };
  }

  navigate(changes) {
    location.hash = link("timeline", this.params(changes));
  }

  attach() {
    window.addEventListener("resize", () => current === this && this.resize());
    const c = this.canvas;
    let drag = null;
    c.addEventListener("mousedown", (e) => {
      drag = { x: e.offsetX, y: e.offsetY, start: this.start, end: this.end, scroll: this.scroll, shift: e.shiftKey, moved: false };
      c.focus();
    });
    window.addEventListener("mousemove", (e) => {
      if (!drag || current !== this) return;
      const rect = c.getBoundingClientRect();
      const x = e.clientX - rect.left, y = e.clientY - rect.top;
      if (Math.abs(x - drag.x) + Math.abs(y - drag.y) > 3) drag.moved = true;
      if (drag.shift) {
        this.selection = [this.timeAt(Math.min(drag.x, x)), this.timeAt(Math.max(drag.x, x))];
        this.draw();
      } else if (drag.moved) {
        const dt = ((drag.x - x) / this.plotWidth()) * (drag.end - drag.start);
        this.scroll = Math.max(0, drag.scroll + (drag.y - y));
        this.setWindow(drag.start + dt, drag.end + dt, true);
      }
    });
    window.addEventListener("mouseup", () => {
      if (!drag || current !== this) return;
      const d = drag;
      drag = null;
      if (d.shift && d.moved && this.selection) return this.showRange(this.selection[0], this.selection[1]);
      if (!d.moved) this.click(d.x, d.y);
      else this.navigateQuietly();
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey || e.altKey) {
        const f = (e.offsetX - NAME_WIDTH) / this.plotWidth();
        this.zoom(e.deltaY > 0 ? 1.25 : 0.8, Math.min(1, Math.max(0, f)));
      } else if (e.shiftKey) {
        const dt = (e.deltaY / this.plotWidth()) * (this.end - this.start);
        this.setWindow(this.start + dt, this.end + dt);
      } else {
        this.scroll = Math.max(0, Math.min(this.scroll + e.deltaY, Math.max(0, this.lanes.length * LANE_HEIGHT - this.lanesHeight() + LANE_HEIGHT)));
        this.request();
      }
    }, { passive: false });
    c.addEventListener("keydown", (e) => {
      const span = this.end - this.start;
      if (e.key === "w") this.zoom(0.8, 0.5);
      else if (e.key === "s") this.zoom(1.25, 0.5);
      else if (e.key === "a") this.setWindow(this.start - span * 0.1, this.end - span * 0.1);
      else if (e.key === "d") this.setWindow(this.start + span * 0.1, this.end + span * 0.1);
      else if (e.key === "0") this.setWindow(0, this.duration);
    });
  }

  plotWidth() {
    return Math.max(10, this.canvas.clientWidth - NAME_WIDTH);
  }

  countersHeight() {
    return COUNTER_TRACKS.length * COUNTER_HEIGHT;
  }

  // The top of the critical-path row, under the counters.
  pathTop() {
    return AXIS_HEIGHT + this.countersHeight();
  }

  lanesTop() {
    return this.pathTop() + (this.cp ? CP_HEIGHT : 0);
  }

  lanesHeight() {
    return this.canvas.clientHeight - this.lanesTop();
  }

  timeAt(x) {
    return this.start + ((x - NAME_WIDTH) / this.plotWidth()) * (this.end - this.start);
  }

  xAt(t) {
    return NAME_WIDTH + ((t - this.start) / (this.end - this.start)) * this.plotWidth();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio), height = Math.round(this.canvas.clientHeight * ratio);
    // Setting a canvas's size clears it: only do so when it changed, and redraw at once.
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.draw();
    }
    this.request();
  }

  zoom(factor, at) {
    const pivot = this.start + (this.end - this.start) * at;
    this.setWindow(pivot - (pivot - this.start) * factor, pivot + (this.end - pivot) * factor);
  }

  setWindow(start, end, dragging) {
    const minSpan = 1000;
    if (end - start < minSpan) {
      const mid = (start + end) / 2;
      start = mid - minSpan / 2;
      end = mid + minSpan / 2;
    }
    this.start = start;
    this.end = end;
    this.draw();
    this.request();
    if (!dragging) this.navigateQuietly();
  }

  // Keeps the URL a deep link to what is shown without reloading the page.
  navigateQuietly() {
    history.replaceState(null, "", location.pathname + location.search + link("timeline", this.params()));
  }

  visibleLanes() {
    const first = Math.floor(this.scroll / LANE_HEIGHT);
    const count = Math.ceil(this.lanesHeight() / LANE_HEIGHT) + 1;
    return this.lanes.slice(first, first + count).map((l, i) => ({ lane: l, row: first + i }));
  }

  request() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetchWindow(), 30);
  }

  fetchWindow() {
    const visible = this.visibleLanes();
    const ticket = ++this.pending;
    const t0 = performance.now();
    const start = Math.max(0, Math.floor(this.start));
    const end = Math.max(Math.ceil(this.end), Math.floor(this.start) + 1);
    const width = Math.round(this.plotWidth());
    if (this.cp) this.fetchPath(start, end, width);
    api("/api/window", {
      lanes: visible.map((v) => v.lane.id).join(","),
      start,
      end,
      width,
    }).then((data) => {
      if (ticket !== this.pending) return;
      this.data = data;
      this.draw();
      setStatus(visible.length + " lanes of " + this.lanes.length + " · window " + formatDuration(this.end - this.start) +
        " · answered in " + Math.round(performance.now() - t0) + " ms");
    }).catch((e) => setStatus("error: " + e.message));
  }

  draw() {
    const c = this.canvas, ctx = c.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const W = c.clientWidth, H = c.clientHeight;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    this.drawAxis(ctx, W);
    const data = this.data;
    if (data) this.drawCounters(ctx, data);
    if (this.cp) this.drawPath(ctx, W);
    const top = this.lanesTop();
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, top, W, H - top);
    ctx.clip();
    const drawn = [];
    for (const { lane, row } of this.visibleLanes()) {
      const y = top + row * LANE_HEIGHT - this.scroll;
      if (row % 2) {
        ctx.fillStyle = "#f4f6f8";
        ctx.fillRect(0, y, W, LANE_HEIGHT);
      }
      ctx.fillStyle = "#333";
      ctx.fillText(lane.name.length > 30 ? lane.name.slice(0, 29) + "…" : lane.name, 4, y + LANE_HEIGHT / 2);
      const laneData = data && data.lanes[lane.id];
      if (!laneData) continue;
      drawn.push(lane.name);
      this.drawSpans(ctx, laneData.spans, y, data);
      this.drawMarks(ctx, laneData.marks, y, data);
    }
    // Arrows help only when they can be told apart: zoomed in, or on a focused goroutine.
    if (data && this.view === "goroutine" && (this.focus || data.flows.length / 4 <= 300)) this.drawFlows(ctx, data, top);
    if (this.cpData && this.view === "goroutine") this.drawPathOnLanes(ctx, top);
    ctx.restore();
    if (this.selection) {
      const [a, b] = this.selection.map((t) => this.xAt(t));
      ctx.fillStyle = "rgba(30,136,229,0.15)";
      ctx.fillRect(a, AXIS_HEIGHT, Math.max(1, b - a), H - AXIS_HEIGHT);
    }
    ctx.strokeStyle = "#ccc";
    ctx.beginPath();
    ctx.moveTo(NAME_WIDTH - 0.5, 0);
    ctx.lineTo(NAME_WIDTH - 0.5, H);
    ctx.stroke();
    if (data) {
      this.draws++;
      document.body.dataset.draws = String(this.draws);
      document.body.dataset.drawnLanes = JSON.stringify(drawn);
    }
    if (this.cpData) document.body.dataset.cpSegments = String(this.cpData.segments.length);
  }

  // Data may lag behind the window while a request is in flight: positions are computed from
  // the current window, so panning stays smooth.
  drawSpans(ctx, spans, y, data) {
    for (let i = 0; i < spans.length; i += 5) {
      const x0 = Math.max(NAME_WIDTH, this.xAt(spans[i]));
      const x1 = Math.min(this.canvas.clientWidth, this.xAt(spans[i + 1]));
      if (x1 < NAME_WIDTH || x0 > this.canvas.clientWidth) continue;
      const w = Math.max(1, x1 - x0);
      ctx.globalAlpha = spans[i + 3] > 1 ? 0.7 : 1;
      ctx.fillStyle = KIND_COLORS[spans[i + 2]] || "#999";
      ctx.fillRect(x0, y + 2, w, LANE_HEIGHT - 4);
      ctx.globalAlpha = 1;
      const label = spans[i + 4];
      if (label && w > 30) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x0, y, w, LANE_HEIGHT);
        ctx.clip();
        ctx.fillStyle = spans[i + 2] === 2 || spans[i + 2] === 4 ? "#333" : "#fff";
        ctx.fillText(label, x0 + 3, y + LANE_HEIGHT / 2);
        ctx.restore();
      }
    }
  }

  drawMarks(ctx, marks, y) {
    for (let i = 0; i < marks.length; i += 2) {
      const x = this.xAt(marks[i]);
      if (x < NAME_WIDTH) continue;
      ctx.fillStyle = marks[i + 1] === 0 ? "#c62828" : "#283593";
      ctx.beginPath();
      ctx.moveTo(x, y + LANE_HEIGHT - 1);
      ctx.lineTo(x - 3, y + LANE_HEIGHT - 6);
      ctx.lineTo(x + 3, y + LANE_HEIGHT - 6);
      ctx.fill();
    }
  }

  drawFlows(ctx, data, top) {
    const rows = new Map(this.visibleLanes().map((v) => [v.lane.goroutine, v.row]));
    ctx.lineWidth = 1;
    for (let i = 0; i < data.flows.length; i += 4) {
      const from = this.laneOfGoroutine.get(data.flows[i + 1]);
      const to = this.laneOfGoroutine.get(data.flows[i + 2]);
      if (from === undefined || to === undefined) continue;
      if (!rows.has(data.flows[i + 1]) && !rows.has(data.flows[i + 2])) continue;
      const x = this.xAt(data.flows[i]);
      const y0 = top + from * LANE_HEIGHT - this.scroll + LANE_HEIGHT / 2;
      const y1 = top + to * LANE_HEIGHT - this.scroll + LANE_HEIGHT / 2;
      ctx.strokeStyle = data.flows[i + 3] ? "rgba(0,0,0,0.55)" : "rgba(21,101,192,0.7)";
      ctx.beginPath();
      ctx.moveTo(x, y0);
      ctx.lineTo(x + 4, y1);
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      const dir = y1 > y0 ? -1 : 1;
      ctx.moveTo(x + 4, y1);
      ctx.lineTo(x + 1, y1 + dir * 5);
      ctx.lineTo(x + 7, y1 + dir * 5);
      ctx.fill();
    }
  }

  drawAxis(ctx, W) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, AXIS_HEIGHT);
    const span = this.end - this.start;
    const target = span / (this.plotWidth() / 110);
    const step = Math.pow(10, Math.ceil(Math.log10(target)));
    const nice = [step / 5, step / 2, step].find((s) => s >= target) || step;
    ctx.fillStyle = "#555";
    ctx.strokeStyle = "#ddd";
    for (let t = Math.ceil(this.start / nice) * nice; t <= this.end; t += nice) {
      const x = this.xAt(t);
      ctx.fillText(formatDuration(t), x + 2, AXIS_HEIGHT / 2);
      ctx.beginPath();
      ctx.moveTo(x + 0.5, 0);
      ctx.lineTo(x + 0.5, this.canvas.clientHeight);
      ctx.stroke();
    }
  }

  drawCounters(ctx, data) {
    COUNTER_TRACKS.forEach((track, i) => {
      const y = AXIS_HEIGHT + i * COUNTER_HEIGHT;
      ctx.fillStyle = i % 2 ? "#fff" : "#f7f9fb";
      ctx.fillRect(0, y, this.canvas.clientWidth, COUNTER_HEIGHT);
      let max = 1;
      for (const s of track.series) {
        const p = data.counters[s].points;
        for (let j = 1; j < p.length; j += 2) max = Math.max(max, p[j]);
      }
      ctx.fillStyle = "#333";
      ctx.fillText(track.name, 4, y + 10);
      ctx.fillStyle = "#888";
      ctx.fillText("max " + (track.name === "Heap" ? formatBytes(max) : max), 4, y + 24);
      track.series.forEach((s, k) => {
        const p = data.counters[s].points;
        ctx.strokeStyle = track.colors[k];
        ctx.beginPath();
        let lastY = null;
        for (let j = 0; j < p.length; j += 2) {
          const x = Math.max(NAME_WIDTH, this.xAt(p[j]));
          const vy = y + COUNTER_HEIGHT - 3 - (p[j + 1] / max) * (COUNTER_HEIGHT - 8);
          if (lastY === null) ctx.moveTo(x, vy);
          else {
            ctx.lineTo(x, lastY);
            ctx.lineTo(x, vy);
          }
          lastY = vy;
        }
        if (lastY !== null) ctx.lineTo(this.canvas.clientWidth, lastY);
        ctx.stroke();
      });
    });
  }

  laneAt(y) {
    const row = Math.floor((y - this.lanesTop() + this.scroll) / LANE_HEIGHT);
    return y >= this.lanesTop() ? this.lanes[row] : undefined;
  }

  click(x, y) {
    this.selection = null;
    if (this.cp && y >= this.pathTop() && y < this.lanesTop()) return this.clickPath(x);
    const lane = this.laneAt(y);
    if (!lane || x < NAME_WIDTH) return;
    const time = this.timeAt(x);
    this.showDetails(lane.id, Math.round(time), Math.round(3 * (this.end - this.start) / this.plotWidth()));
  }

  showDetails(laneId, time, tolerance) {
    api("/api/details", { lane: laneId, t: Math.max(0, time), tol: tolerance || 0 }).then((d) => {
      // A task's critical path is drawn as soon as the task is selected.
      if (d.what === "task" && d.task !== undefined && d.task !== null) this.setPath("task:" + d.task);
      const rows = [["lane", d.lane], ["what", d.what]];
      if (d.task !== undefined && d.task !== null) rows.push(["task", String(d.task)]);
      if (d.goroutine !== undefined && d.goroutine !== null) rows.push(["goroutine", "G" + d.goroutine + (d.function ? " " + d.function : "")]);
      if (d.start !== undefined) rows.push(["start", formatDuration(d.start)], ["end", formatDuration(d.end)]);
      if (d.duration !== undefined) rows.push(["duration", formatDuration(d.duration)]);
      if (d.from || d.to) rows.push(["transition", (d.from || "?") + " → " + d.what + " → " + (d.to || "?")]);
      if (d.reason) rows.push(["reason", d.reason]);
      if (d.text) rows.push(["message", d.text]);
      const links = [];
      if (d.goroutine !== undefined && d.goroutine !== null) {
        links.push(el("a", { id: "focus-link", href: link("timeline", { view: "goroutine", focus: d.goroutine, start: Math.round(this.start), end: Math.round(this.end), cp: this.cp }) }, "focus G" + d.goroutine),
          " · ", el("a", { href: link("goroutines", { id: d.goroutine }) }, "goroutine analysis"));
        // A goroutine's critical path: over a region, or from the window's start to the span's end.
        if (d.end !== undefined && d.what !== "CPU sample" && d.what !== "log") {
          const from = d.what === "region" ? d.start : Math.max(0, Math.min(Math.round(this.start), d.start));
          const cp = "goroutine:" + d.goroutine + ":" + from + ":" + d.end;
          if (d.end > from) {
            links.push(" · ", el("a", { id: "cp-link", href: link("timeline", this.params({ view: "goroutine", cp })),
              title: d.what === "region" ? "the critical path of G" + d.goroutine + " over this region" : "the critical path of G" + d.goroutine + " from the window's start to the end of this span" },
            "critical path"));
          }
        }
      }
      if (d.what === "task" && d.reason) {
        links.push(links.length ? " · " : null, el("a", { href: pageLink("critical", { kind: "task", type: d.reason }) }, "critical paths of its type"));
      }
      this.details.replaceChildren(el("h3", { id: "details-title" }, d.what === "nothing" ? "Nothing here" : d.what),
        el("table", { id: "details-table" }, ...rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, String(v))))),
        el("p", {}, ...links), d.stack ? stackView(d.stack) : null);
      history.replaceState(null, "", location.pathname + location.search + link("timeline", this.params({ sel: laneId + ":" + time })));
    });
  }

  // Draws the critical path `cp` in its row (none for "").
  setPath(cp) {
    if (cp === this.cp) return;
    this.cp = cp;
    this.cpData = null;
    this.cpKey = null;
    this.cpSelected = null;
    this.cpBar.style.display = cp ? "" : "none";
    this.cpBar.replaceChildren(el("b", {}, "Critical path"), el("span", {}, "loading…"));
    delete document.body.dataset.cpSegments;
    delete document.body.dataset.cpError;
    this.resize();
    this.draw();
    this.navigateQuietly();
  }

  fetchPath(from, to, width) {
    // Scrolling through the lanes does not change the path's window.
    const key = [this.cp, from, to, width].join(",");
    if (this.cpData && key === this.cpKey) return;
    this.cpKey = key;
    const query = cpQuery(this.cp);
    const ticket = ++this.cpPending;
    if (!query) return this.pathFailed("cp=" + this.cp + " names no path: task:ID, region:INDEX or goroutine:ID:START:END");
    const cp = this.cp;
    api("/api/critical-path/one", { ...query, from, to, width }).then((p) => {
      if (ticket !== this.cpPending || cp !== this.cp) return;
      const first = !this.cpData;
      this.cpData = p;
      if (first) this.showPathBar(p);
      this.draw();
    }).catch((e) => ticket === this.cpPending && this.pathFailed(e.message));
  }

  pathFailed(message) {
    this.cpData = null;
    this.cpBar.replaceChildren(el("b", {}, "Critical path"), el("span", { class: "error" }, message),
      el("a", { href: link("timeline", this.params({ cp: "" })) }, "(clear)"));
    document.body.dataset.cpError = message;
    this.draw();
  }

  // What the path is, its main categories, the legend, and links.
  showPathBar(p) {
    const what = p.kind === "task" ? "task " + p.id + " " + JSON.stringify(p.name)
      : p.kind === "region" ? "region " + JSON.stringify(p.name) + " on G" + p.goroutine
      : "G" + p.goroutine + " from " + formatDuration(p.start) + " to " + formatDuration(p.end);
    const top = p.categories.filter((c) => c.time > 0).sort((a, b) => b.time - a.time).slice(0, 3)
      .map((c) => c.name + " " + (100 * c.time / (p.duration || 1)).toFixed(1) + "%").join(", ");
    const links = [el("a", { id: "cp-zoom", href: timelineLink(p.start, p.end, this.params()) }, "zoom to it")];
    if (p.kind !== "goroutine" && p.name) {
      links.push(" · ", el("a", { href: pageLink("critical", { kind: p.kind, type: p.name }) }, "its type's critical paths"));
    }
    links.push(" · ", el("a", { href: link("timeline", this.params({ cp: "" })) }, "clear"));
    this.cpBar.replaceChildren(el("b", { id: "cp-title" }, "Critical path of " + what),
      el("span", {}, formatDuration(p.duration) + ", ended by G" + p.goroutine + (p.function ? " " + p.function : "") + "; " + top),
      el("span", {}, ...links), cpLegend());
  }

  drawPath(ctx, W) {
    const y0 = this.pathTop();
    const rowTop = y0 + 10, rowHeight = CP_HEIGHT - 13;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, y0, W, CP_HEIGHT);
    ctx.strokeStyle = "#b0bec5";
    ctx.beginPath();
    ctx.moveTo(0, y0 + CP_HEIGHT - 0.5);
    ctx.lineTo(W, y0 + CP_HEIGHT - 0.5);
    ctx.stroke();
    ctx.fillStyle = "#333";
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillText("critical path", 4, rowTop + rowHeight / 2);
    ctx.font = "11px system-ui, sans-serif";
    const p = this.cpData;
    if (!p) return;
    const segments = p.segments;
    for (const s of segments) {
      const x0 = Math.max(NAME_WIDTH, this.xAt(s.start)), x1 = Math.min(W, this.xAt(s.end));
      if (x1 < NAME_WIDTH || x0 > W) continue;
      const w = Math.max(1, x1 - x0);
      ctx.globalAlpha = s.count > 1 ? 0.7 : 1;
      ctx.fillStyle = CP_COLORS[s.category] || CP_COLORS.unknown;
      ctx.fillRect(x0, rowTop, w, rowHeight);
      ctx.globalAlpha = 1;
      if (this.cpSelected && this.cpSelected.start === s.start && this.cpSelected.end === s.end) {
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 + 1, rowTop + 1, Math.max(1, w - 2), rowHeight - 2);
        ctx.lineWidth = 1;
      }
      if (s.goroutine !== null && w > 30) {
        const label = "G" + s.goroutine + (w > 160 && s.function ? " " + s.function : "");
        ctx.save();
        ctx.beginPath();
        ctx.rect(x0, rowTop, w - 2, rowHeight);
        ctx.clip();
        ctx.fillStyle = CP_DARK.has(s.category) && s.count === 1 ? "#fff" : "#222";
        ctx.fillText(label, x0 + 3, rowTop + rowHeight / 2 + 1);
        ctx.restore();
      }
    }
    // A hop between goroutines: an arrow over the boundary, from the segment that ends to the
    // next (an unblock, a creation, or the walk back to the waiter).
    ctx.strokeStyle = ctx.fillStyle = CP_HOP_COLOR;
    ctx.lineWidth = 1.5;
    let lastX = -Infinity;
    for (let i = 0; i + 1 < segments.length; i++) {
      const a = segments[i], b = segments[i + 1];
      if (a.goroutine === null || b.goroutine === null || a.goroutine === b.goroutine) continue;
      const x = this.xAt(a.end);
      if (x < NAME_WIDTH || x > W || x - lastX < 6) continue;
      lastX = x;
      ctx.beginPath();
      ctx.moveTo(x - 7, rowTop - 1);
      ctx.quadraticCurveTo(x - 5, y0 + 1, x, y0 + 2);
      ctx.quadraticCurveTo(x + 4, y0 + 2, x + 5, rowTop - 4);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x + 5.5, rowTop);
      ctx.lineTo(x + 2, rowTop - 5);
      ctx.lineTo(x + 8.5, rowTop - 4.5);
      ctx.fill();
      ctx.fillRect(x - 0.5, rowTop, 1, rowHeight);
    }
    ctx.lineWidth = 1;
  }

  // In the goroutine view: the path's segments outlined on their goroutines' lanes, and its
  // hops as arrows from one lane to the other.
  drawPathOnLanes(ctx, top) {
    const segments = this.cpData.segments;
    const first = Math.floor(this.scroll / LANE_HEIGHT), last = first + Math.ceil(this.lanesHeight() / LANE_HEIGHT) + 1;
    const yOf = (g) => {
      const row = g === null ? undefined : this.laneOfGoroutine.get(g);
      return row === undefined ? null : top + row * LANE_HEIGHT - this.scroll;
    };
    const shown = (y) => y !== null && y >= top + (first - 1) * LANE_HEIGHT - this.scroll && y <= top + last * LANE_HEIGHT - this.scroll;
    const W = this.canvas.clientWidth;
    ctx.strokeStyle = ctx.fillStyle = CP_HOP_COLOR;
    ctx.lineWidth = 1.5;
    // Segments too narrow to outline are in the row above; so are hops too many to tell apart.
    for (const s of segments) {
      const y = yOf(s.goroutine);
      if (!shown(y)) continue;
      const x0 = Math.max(NAME_WIDTH, this.xAt(s.start)), x1 = Math.min(W, this.xAt(s.end));
      if (x1 < NAME_WIDTH || x0 > W || x1 - x0 < 4) continue;
      ctx.strokeRect(x0 + 0.75, y + 1.25, x1 - x0 - 1.5, LANE_HEIGHT - 2.5);
    }
    ctx.lineWidth = 1.25;
    ctx.globalAlpha = 0.85;
    let lastX = -Infinity;
    for (let i = 0; i + 1 < segments.length; i++) {
      const a = segments[i], b = segments[i + 1];
      if (a.goroutine === null || b.goroutine === null || a.goroutine === b.goroutine) continue;
      const ya = yOf(a.goroutine), yb = yOf(b.goroutine);
      if (ya === null || yb === null || (!shown(ya) && !shown(yb))) continue;
      const x = this.xAt(a.end);
      if (x < NAME_WIDTH || x > W || x - lastX < 3) continue;
      lastX = x;
      const y0 = ya + LANE_HEIGHT / 2, y1 = yb + LANE_HEIGHT / 2;
      const dir = y1 > y0 ? 1 : -1;
      ctx.beginPath();
      ctx.moveTo(x, y0);
      ctx.lineTo(x, y1 - dir * 5);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x, y1);
      ctx.lineTo(x - 4, y1 - dir * 7);
      ctx.lineTo(x + 4, y1 - dir * 7);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
  }

  // The segment of the path row under `x` (the widest there), or the nearest within 3 pixels.
  pathSegmentAt(x) {
    if (!this.cpData) return null;
    let best = null, bestDistance = 0, bestWidth = 0;
    for (const s of this.cpData.segments) {
      const x0 = this.xAt(s.start), x1 = this.xAt(s.end);
      const d = x < x0 ? x0 - x : x > x1 ? x - x1 : 0;
      if (d > 3) continue;
      if (!best || d < bestDistance || (d === bestDistance && x1 - x0 > bestWidth)) {
        best = s;
        bestDistance = d;
        bestWidth = x1 - x0;
      }
    }
    return best;
  }

  clickPath(x) {
    const s = x >= NAME_WIDTH ? this.pathSegmentAt(x) : null;
    this.cpSelected = s;
    this.draw();
    if (!s) return;
    const p = this.cpData;
    const rows = [];
    if (s.count > 1) {
      rows.push(["segments", s.count + " merged (shorter than a pixel)"]);
      for (const [c, t] of Object.entries(s.categories).sort((a, b) => b[1] - a[1])) rows.push([c, formatDuration(t)]);
    } else {
      rows.push(["category", s.category]);
      if (s.detail) rows.push(["detail", s.detail]);
    }
    if (s.goroutine !== null) rows.push(["goroutine", "G" + s.goroutine + (s.function ? " " + s.function : "")]);
    rows.push(["start", formatDuration(s.start)], ["end", formatDuration(s.end)], ["duration", formatDuration(s.duration)]);
    if (s.count === 1) {
      rows.push(["depth", s.depth === 0 ? "0 (the goroutine that ends the path)" : s.depth + " hop" + (s.depth === 1 ? "" : "s") + " from G" + p.goroutine]);
      rows.push(["reached", s.edge], ["task", (s.task !== null ? s.task + ", " : "") + s.relation]);
    }
    const links = [];
    if (s.goroutine !== null) {
      links.push(el("a", { href: link("timeline", this.params({ view: "goroutine", focus: s.goroutine })) }, "focus G" + s.goroutine), " · ");
    }
    links.push(el("a", { href: timelineLink(s.start, s.end, this.params()) }, s.count > 1 ? "zoom in for each segment" : "zoom to it"));
    this.details.replaceChildren(el("h3", { id: "details-title" }, "critical path: " + s.category),
      el("table", { id: "details-table" }, ...rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, String(v))))),
      el("p", {}, ...links), s.count === 1 ? stackView(s.stack) : null);
  }

  // For tests and scripts: where the widest segment of the critical-path row is drawn.
  pathPosition() {
    if (!this.cpData) return null;
    let best = null;
    for (const s of this.cpData.segments) {
      const x0 = Math.max(NAME_WIDTH, this.xAt(s.start)), x1 = Math.min(this.canvas.clientWidth, this.xAt(s.end));
      if (x1 > x0 && (!best || x1 - x0 > best.w)) best = { x: (x0 + x1) / 2, w: x1 - x0, y: this.pathTop() + 10 + (CP_HEIGHT - 13) / 2, goroutine: s.goroutine, category: s.category };
    }
    return best;
  }

  showRange(start, end) {
    api("/api/range", { start: Math.max(0, Math.round(start)), end: Math.round(end) }).then((r) => {
      const total = Object.values(r.states).reduce((a, b) => a + b, 0) || 1;
      this.details.replaceChildren(el("h3", { id: "details-title" }, "Range " + formatDuration(end - start)),
        el("p", {}, formatDuration(start) + " to " + formatDuration(end) + ", goroutine time by state:"),
        el("table", { id: "range-table" }, ...STATE_NAMES.map((n) =>
          el("tr", {}, el("td", {}, n), el("td", {}, formatDuration(r.states[n] || 0)), el("td", {}, (100 * (r.states[n] || 0) / total).toFixed(1) + "%")))),
        el("p", {}, el("a", { href: link("timeline", this.params({ start: Math.round(start), end: Math.round(end) })) }, "zoom to this range")));
    });
  }

  // For tests and scripts: where the first drawn span of a lane is, in canvas pixels.
  spanPosition(laneName, minWidth) {
    const row = this.lanes.findIndex((l) => l.name === laneName || l.name.startsWith(laneName + " "));
    if (row < 0 || !this.data) return null;
    const lane = this.lanes[row];
    const spans = (this.data.lanes[lane.id] || {}).spans || [];
    for (let i = 0; i < spans.length; i += 5) {
      const x0 = Math.max(NAME_WIDTH, this.xAt(spans[i])), x1 = Math.min(this.canvas.clientWidth, this.xAt(spans[i + 1]));
      if (x1 - x0 >= (minWidth || 3)) return { x: (x0 + x1) / 2, y: this.lanesTop() + row * LANE_HEIGHT - this.scroll + LANE_HEIGHT / 2, kind: spans[i + 2] };
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Analysis pages: goroutine groups, tasks, regions, MMU

// Colors of the breakdown columns, as Go's goroutine page colors its categories.
const BREAKDOWN_COLORS = ["#d7191c", "#6d4c41", "#d01c8b", "#7b3294", "#2c7bb6", "#fdae61", "#abd9e9", "#636363"];

// Like link(), but keeps empty values: an empty task type or group name is a name.
function pageLink(hash, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return "#" + hash + (s ? "?" + s : "");
}

// A link to the timeline around [start, end], with a little context on each side.
function timelineLink(start, end, params) {
  const pad = Math.max((end - start) * 0.1, 500);
  return link("timeline", { ...params, start: Math.max(0, Math.round(start - pad)), end: Math.round(end + pad) });
}

function goroutineTimelineLink(g, start, end) {
  return timelineLink(start, end, { view: "goroutine", focus: g });
}

function analysisBox(title, note) {
  const page = document.getElementById("page");
  const box = el("div", { class: "scroll" }, el("h2", {}, title), note ? el("p", { class: "note" }, note) : null);
  page.replaceChildren(box);
  return box;
}

function failed(box) {
  return (e) => box.append(el("p", { class: "error" }, "error: " + e.message));
}

// The disjoint columns of a breakdown as one bar, scaled to `scale`.
function breakdownBar(columns, values, scale) {
  const parts = [];
  columns.forEach((c, i) => {
    if (!c.overlaps && values[i] > 0) parts.push(el("i", { style: "width:" + (100 * values[i] / (scale || 1)) + "%;background:" + BREAKDOWN_COLORS[i] }));
  });
  const title = columns.map((c, i) => c.name + " " + formatDuration(values[i])).join(", ");
  return el("span", { class: "bar", title }, ...parts);
}

// A duration cell; zeros are muted so that the times that matter stand out.
function durationCell(ns) {
  return ns ? el("td", {}, formatDuration(ns)) : el("td", { class: "zero" }, "0");
}

function breakdownLegend(columns) {
  return el("div", { class: "legend inline" },
    ...columns.filter((c) => !c.overlaps).map((c, i) => el("span", { style: "--c:" + BREAKDOWN_COLORS[i] }, c.name)));
}

// Links to the four profiles of a goroutine group or region type.
function profileLinks(scope) {
  const kinds = [["network", "Network wait"], ["sync", "Sync block"], ["syscall", "Syscalls"], ["sched", "Scheduler wait"]];
  return el("p", { class: "profiles" }, "Profiles: ",
    ...kinds.flatMap(([kind, label], i) => [i ? " · " : null, el("a", { href: pageLink("flame", { kind, ...scope }) }, label)]));
}

function goroutinesPage(params) {
  if (params.group !== undefined || params.id !== undefined) return goroutineGroupPage(params);
  const box = analysisBox("Goroutines by start function",
    "Groups by the function goroutines started in, the most execution time first. Click a group for its goroutines.");
  api("/api/goroutines").then((r) => {
    const maxTotal = Math.max(1, ...r.groups.map((g) => g.total));
    const table = el("table", { class: "data", id: "groups-table" },
      el("tr", {}, el("th", {}, "Start location"), el("th", {}, "Count"), el("th", {}, "Total execution time"),
        el("th", {}, "Share"), el("th", {}, "Total time"), el("th", { class: "left" }, "Breakdown")));
    for (const g of r.groups) {
      // An unnamed group has no name to put in a URL: it is reached through one of its goroutines.
      const href = g.name ? pageLink("goroutines", { group: g.name }) : pageLink("goroutines", { id: g.first });
      table.append(el("tr", { class: "group", onclick: () => (location.hash = href) },
        el("td", {}, el("a", { href }, g.label)), el("td", {}, String(g.count)),
        el("td", {}, formatDuration(g.values[0])), el("td", {}, g.exec_share.toFixed(2) + "%"),
        el("td", {}, formatDuration(g.total)), el("td", { class: "left" }, breakdownBar(r.columns, g.values, maxTotal))));
    }
    box.append(breakdownLegend(r.columns), table);
    document.body.dataset.page = "goroutines";
  }).catch(failed(box));
}

function goroutineGroupPage(params) {
  const box = analysisBox("Goroutine group", null);
  const query = params.id !== undefined && params.group === undefined ? { id: params.id } : { name: params.group || "" };
  api("/api/goroutine-group", { ...query, sort: params.sort || "total" }).then((r) => {
    const wanted = params.id !== undefined ? Number(params.id) : null;
    const sortLink = (sort) => pageLink("goroutines", { ...(r.name ? { group: r.name } : { id: params.id }), sort, id: params.id });
    const header = el("tr", {}, el("th", {}, "Goroutine"),
      el("th", {}, el("a", { href: sortLink("total") }, "Total" + (r.sort === "total" ? " ▾" : ""))), el("th", { class: "left" }, ""),
      ...r.columns.map((c, i) => el("th", { title: c.overlaps ? "overlaps the other columns" : "" },
        el("a", { href: sortLink(String(i)) }, c.name + (String(i) === String(r.sort) ? " ▾" : "")))));
    const table = el("table", { class: "data", id: "group-table" }, header);
    const maxTotal = Math.max(1, ...r.goroutines.map((g) => g.total));
    for (const g of r.goroutines) {
      table.append(el("tr", { id: "g" + g.id, class: wanted === g.id ? "wanted" : "" },
        el("td", {}, el("a", { href: goroutineTimelineLink(g.id, g.start, g.end), title: "its lane in the timeline" }, "G" + g.id)),
        el("td", {}, formatDuration(g.total)), el("td", { class: "left" }, breakdownBar(r.columns, g.values, maxTotal)),
        ...g.values.map(durationCell)));
    }
    box.replaceChildren(
      el("p", {}, el("a", { href: "#goroutines" }, "← all groups")),
      el("h2", {}, "Goroutines of " + r.label),
      el("table", { class: "facts" },
        el("tr", {}, el("td", {}, "Start location"), el("td", {}, el("code", {}, r.label))),
        el("tr", {}, el("td", {}, "Count"), el("td", {}, String(r.count) + (r.goroutines.length < r.count ? " (the first " + r.goroutines.length + " shown)" : ""))),
        el("tr", {}, el("td", {}, "Execution time"), el("td", {}, r.exec_share.toFixed(2) + "% of all goroutines' execution time"))),
      profileLinks({ group: r.name }),
      el("p", { class: "note" }, "Click a goroutine for its lane in the timeline, a column to sort by it. The GC columns overlap execution."),
      breakdownLegend(r.columns), table);
    if (wanted !== null) {
      const row = document.getElementById("g" + wanted);
      if (row) row.scrollIntoView({ block: "center" });
    }
    document.body.dataset.page = "goroutine-group";
  }).catch(failed(box));
}

// A histogram of durations: one row per bucket, the bar's length by the count on a log scale
// (so that a single slow instance stays visible next to thousands of fast ones); each row
// links to the instances of its bucket.
function histogramView(rows, linkOf, selected) {
  const max = Math.max(1, ...rows.map((b) => b.count));
  // Runs of three or more empty buckets shrink to one row.
  const shown = rows.filter((b, i) => b.count || !(
    (rows[i - 1] && !rows[i - 1].count && rows[i + 1] && !rows[i + 1].count) ||
    (rows[i - 1] && !rows[i - 1].count && rows[i - 2] && !rows[i - 2].count && rows[i + 1] && rows[i + 1].count)));
  return el("table", { class: "histogram" }, ...shown.map((b, i) => {
    if (i && shown[i - 1].bucket !== b.bucket - 1) b = { ...b, gap: true };
    const width = b.count ? 4 + 96 * Math.log(1 + b.count) / Math.log(1 + max) : 0;
    const row = el("tr", { class: "bucket" + (selected === b.bucket ? " selected" : ""), "data-bucket": String(b.bucket) },
      el("td", { class: "from" }, b.gap ? "⋮ " + formatDuration(b.from) : formatDuration(b.from)),
      el("td", { class: "barcell" }, el("span", { class: "hbar", style: "width:" + width + "%" })),
      el("td", { class: "count" }, b.count ? el("a", { href: linkOf(b.bucket) }, String(b.count)) : ""));
    if (b.count) row.addEventListener("click", () => (location.hash = linkOf(b.bucket)));
    return row;
  }));
}

// How an instance list's heading names its bucket.
function bucketNote(bucket) {
  return bucket ? ", lasting " + formatDuration(bucket.from) + " to " + formatDuration(bucket.to) : "";
}

function splitPage(title, note) {
  const page = document.getElementById("page");
  const left = el("div", { class: "scroll pane" }, el("h2", {}, title), el("p", { class: "note" }, note));
  const right = el("div", { class: "scroll pane", id: "instances" }, el("p", { class: "note" }, "Click a bucket of a histogram, or a count, for its instances."));
  page.replaceChildren(el("div", { class: "split" }, left, right));
  return [left, right];
}

// Shows the table of task or region types, the chosen type in view.
function showTypes(pane, table, page) {
  pane.append(table);
  const chosen = table.querySelector("tr.selected-type");
  if (chosen) chosen.scrollIntoView({ block: "nearest" });
  document.body.dataset.page = page;
}

function tasksPage(params) {
  const [left, right] = splitPage("Tasks by type",
    "How many tasks of each type, with the distribution of the durations of those the trace shows from beginning to end.");
  const selectedType = params.type;
  const selectedBucket = params.bucket !== undefined && params.bucket !== "" ? Number(params.bucket) : null;
  api("/api/tasks").then((r) => {
    const table = el("table", { class: "data", id: "tasks-table" },
      el("tr", {}, el("th", {}, "Task type"), el("th", {}, "Count"), el("th", { class: "left" }, "Duration distribution (complete tasks)")));
    for (const t of r.types) {
      const isSelected = t.name === selectedType;
      table.append(el("tr", { class: isSelected ? "selected-type" : "" },
        el("td", {}, el("code", {}, JSON.stringify(t.name)),
          t.complete ? el("div", { class: "place" }, el("a", { class: "cp-type-link", href: pageLink("critical", { kind: "task", type: t.name }) }, "critical path")) : null),
        el("td", {}, el("a", { href: pageLink("tasks", { type: t.name }) }, String(t.count))),
        el("td", { class: "left" }, t.histogram.length ? histogramView(t.histogram, (b) => pageLink("tasks", { type: t.name, bucket: b }), isSelected ? selectedBucket : null)
          : el("span", { class: "note" }, "no complete task"))));
    }
    showTypes(left, table, "tasks");
  }).catch(failed(left));
  if (selectedType === undefined) return;
  api("/api/tasks", { type: selectedType, bucket: selectedBucket === null ? "" : selectedBucket }).then((r) => {
    const table = el("table", { class: "data", id: "instances-table" },
      el("tr", {}, el("th", {}, "Task"), el("th", {}, "Goroutine"), el("th", {}, "Start"), el("th", {}, "Duration"), el("th", { class: "left" }, "Events")));
    for (const task of r.tasks) {
      const events = el("table", { class: "events" }, ...task.events.map((e, i) => el("tr", {},
        el("td", {}, formatDuration(e.time)),
        el("td", { class: "elapsed" }, i ? "+" + formatDuration(e.time - task.events[i - 1].time) : ""),
        el("td", {}, e.goroutine >= 0 ? el("a", { href: goroutineTimelineLink(e.goroutine, task.start, task.end) }, "G" + e.goroutine) : ""),
        el("td", { class: "left" }, e.what))),
        task.event_count > task.events.length ? el("tr", {}, el("td", { colspan: "4" }, "… " + (task.event_count - task.events.length) + " more")) : null);
      const where = task.goroutine !== null ? goroutineTimelineLink(task.goroutine, task.start, task.end) : timelineLink(task.start, task.end, { view: "proc" });
      table.append(el("tr", { class: "instance" },
        el("td", {}, el("a", { href: where, title: "the task in the timeline" }, String(task.id)), task.parent !== null ? el("div", { class: "note" }, "parent " + task.parent) : null),
        el("td", {}, task.goroutine !== null ? el("a", { href: where, title: "its lane in the timeline" }, "G" + task.goroutine) : ""),
        el("td", {}, formatDuration(task.start)),
        el("td", {}, formatDuration(task.duration) + (task.complete ? "" : " (incomplete)")),
        el("td", { class: "left" }, events)));
    }
    right.replaceChildren(el("h3", {}, "Tasks of type " + JSON.stringify(r.name) + bucketNote(r.bucket)),
      el("p", { class: "note" }, r.count + " task" + (r.count === 1 ? "" : "s") + (r.tasks.length < r.count ? ", the first " + r.tasks.length + " shown" : "") +
        "; a task's ID opens it in the timeline."), table);
    document.body.dataset.instances = String(r.tasks.length);
  }).catch(failed(right));
}

function regionsPage(params) {
  const [left, right] = splitPage("Regions by type",
    "Regions by type and the place they begin, with the distribution of their durations (the trace's start or end standing in for what it does not show).");
  const selectedType = params.type, selectedPc = params.pc || "0";
  const selectedBucket = params.bucket !== undefined && params.bucket !== "" ? Number(params.bucket) : null;
  api("/api/regions").then((r) => {
    const table = el("table", { class: "data", id: "regions-table" },
      el("tr", {}, el("th", {}, "Region type"), el("th", {}, "Count"), el("th", { class: "left" }, "Duration distribution")));
    for (const t of r.types) {
      const isSelected = t.name === selectedType && t.pc === selectedPc;
      const place = t.func ? el("div", { class: "place" }, t.func + " @ 0x" + t.pc, el("br"), t.file + ":" + t.line) : null;
      // Critical paths are by region name, wherever the regions begin.
      const critical = t.name ? el("div", { class: "place" }, el("a", { class: "cp-type-link", href: pageLink("critical", { kind: "region", type: t.name }) }, "critical path")) : null;
      table.append(el("tr", { class: isSelected ? "selected-type" : "" },
        el("td", {}, el("code", {}, JSON.stringify(t.name)), place, critical),
        el("td", {}, el("a", { href: pageLink("regions", { type: t.name, pc: t.pc }) }, String(t.count))),
        el("td", { class: "left" }, histogramView(t.histogram, (b) => pageLink("regions", { type: t.name, pc: t.pc, bucket: b }), isSelected ? selectedBucket : null))));
    }
    showTypes(left, table, "regions");
  }).catch(failed(left));
  if (selectedType === undefined) return;
  api("/api/regions", { type: selectedType, pc: selectedPc, bucket: selectedBucket === null ? "" : selectedBucket }).then((r) => {
    const maxTotal = Math.max(1, ...r.regions.map((x) => x.duration));
    // Only the columns some listed region has time in: the pane is narrow.
    const used = r.columns.map((_, i) => r.regions.some((x) => x.values[i] > 0));
    const table = el("table", { class: "data", id: "instances-table" },
      el("tr", {}, el("th", {}, "Goroutine"), el("th", {}, "Task"), el("th", {}, "Start"), el("th", {}, "Duration"), el("th", { class: "left" }, ""),
        ...r.columns.filter((_, i) => used[i]).map((c) => el("th", {}, c.name))));
    for (const x of r.regions) {
      table.append(el("tr", { class: "instance" },
        el("td", {}, el("a", { href: goroutineTimelineLink(x.goroutine, x.start, x.end), title: "the region in the timeline" }, "G" + x.goroutine)),
        el("td", {}, x.task ? String(x.task) : ""),
        el("td", {}, formatDuration(x.start)),
        el("td", {}, formatDuration(x.duration) + (x.complete ? "" : " (incomplete)")),
        el("td", { class: "left" }, breakdownBar(r.columns, x.values, maxTotal)),
        ...x.values.filter((_, i) => used[i]).map(durationCell)));
    }
    right.replaceChildren(el("h3", {}, "Regions " + JSON.stringify(r.name) + (r.func ? " begun in " + r.func : "") + bucketNote(r.bucket)),
      el("p", { class: "note" }, r.count + " region" + (r.count === 1 ? "" : "s") + ", longest first" +
        (r.regions.length < r.count ? ", the first " + r.regions.length + " shown" : "") + "; a goroutine opens the region in the timeline."),
      profileLinks({ region: r.name, pc: r.pc }),
      breakdownLegend(r.columns), table);
    document.body.dataset.instances = String(r.regions.length);
  }).catch(failed(right));
}

// The MMU page's options, as Go's: which GC work counts against the program, system-wide or per proc.
const MMU_FLAGS = [["stw", "STW"], ["background", "Background workers"], ["assist", "Mark assist"], ["sweep", "Sweep"]];

function mmuPage(params) {
  const flags = params.flags !== undefined ? params.flags : "stw|background|assist";
  const on = new Set(flags.split("|").filter((f) => f));
  const window_ = params.window !== undefined ? Number(params.window) : null;
  const navigate = (changes) => (location.hash = pageLink("mmu", { flags, window: window_ === null ? undefined : window_, ...changes }));
  const flagsFrom = (toolbar) => [...toolbar.querySelectorAll("input:checked")].map((i) => i.value).filter((v) => v).join("|");
  const toolbar = el("div", { class: "toolbar", id: "mmu-options" }, el("b", {}, "View"),
    ...[["", "System"], ["perProc", "Per proc"]].map(([value, label]) => {
      const input = el("input", { type: "radio", name: "mmu-view", value, id: "mmu-view-" + (value || "system") });
      input.checked = value ? on.has("perProc") : !on.has("perProc");
      return el("label", { title: value ? "Each proc on its own: a window's utilization is that of the proc the GC took most from." : "The whole program: if the GC has one of four procs, utilization is 0.75." }, input, label);
    }),
    el("b", {}, "Include"),
    ...MMU_FLAGS.map(([value, label]) => {
      const input = el("input", { type: "checkbox", value, id: "mmu-" + value });
      input.checked = on.has(value);
      return el("label", {}, input, label);
    }));
  toolbar.addEventListener("change", () => navigate({ flags: flagsFrom(toolbar) }));
  const canvas = el("canvas", { id: "mmu-canvas" });
  const tooltip = el("div", { id: "tooltip" });
  const worst = el("div", { id: "mmu-worst" }, el("p", { class: "note" }, "Click the curve for the worst windows of that size."));
  const page = document.getElementById("page");
  page.replaceChildren(toolbar, el("div", { class: "scroll" },
    el("p", { class: "note" }, "Minimum mutator utilization: for each window size, the smallest share of the CPU the program (not the GC) had in any window of that size."),
    el("div", { class: "mmu-box" }, canvas), worst), tooltip);
  api("/api/mmu", { flags }).then((r) => {
    if (!r.points.length) {
      worst.replaceChildren(el("p", { class: "error" }, r.note || "no MMU for this trace"));
      document.body.dataset.page = "mmu";
      document.body.dataset.mmuPoints = "0";
      return;
    }
    const M = { left: 56, right: 20, top: 14, bottom: 40 };
    const logMin = Math.log(r.points[0][0]), logMax = Math.log(Math.max(r.points[r.points.length - 1][0], r.points[0][0] + 1));
    let W = 0, H = 0;
    const xOf = (w) => M.left + (Math.log(w) - logMin) / (logMax - logMin) * (W - M.left - M.right);
    const yOf = (u) => M.top + (1 - u) * (H - M.top - M.bottom);
    const windowAt = (x) => Math.exp(logMin + (x - M.left) / (W - M.left - M.right) * (logMax - logMin));
    const draw = () => {
      W = Math.max(400, Math.min(1000, canvas.parentElement.clientWidth));
      H = Math.round(W * 0.5);
      const ratio = window.devicePixelRatio || 1;
      canvas.width = W * ratio;
      canvas.height = H * ratio;
      canvas.style.width = W + "px";
      canvas.style.height = H + "px";
      const ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, W, H);
      ctx.font = "11px system-ui, sans-serif";
      ctx.strokeStyle = "#e0e0e0";
      ctx.fillStyle = "#555";
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (let u = 0; u <= 1.0001; u += 0.2) {
        ctx.beginPath();
        ctx.moveTo(M.left, Math.round(yOf(u)) + 0.5);
        ctx.lineTo(W - M.right, Math.round(yOf(u)) + 0.5);
        ctx.stroke();
        ctx.fillText(Math.round(u * 100) + "%", M.left - 6, yOf(u));
      }
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      // Decades of window size: 1 µs, 10 µs, ... within the plotted range.
      for (let d = Math.pow(10, Math.ceil(logMin / Math.LN10 - 1e-9)); Math.log(d) <= logMax + 1e-9; d *= 10) {
        const x = Math.round(xOf(d)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, M.top);
        ctx.lineTo(x, H - M.bottom);
        ctx.stroke();
        ctx.fillText(formatDuration(d).replace(/\.0+ /, " "), x, H - M.bottom + 6);
      }
      ctx.fillText("window size", (M.left + W - M.right) / 2, H - 16);
      ctx.strokeStyle = "#1565c0";
      ctx.lineWidth = 2;
      ctx.beginPath();
      r.points.forEach(([w, u], i) => (i ? ctx.lineTo(xOf(w), yOf(u)) : ctx.moveTo(xOf(w), yOf(u))));
      ctx.stroke();
      ctx.lineWidth = 1;
      if (window_ !== null) {
        const x = xOf(Math.min(Math.max(window_, r.points[0][0]), r.points[r.points.length - 1][0]));
        ctx.strokeStyle = "#d32f2f";
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, M.top);
        ctx.lineTo(x, H - M.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.strokeStyle = "#999";
      ctx.strokeRect(M.left + 0.5, M.top + 0.5, W - M.left - M.right, H - M.top - M.bottom);
      document.body.dataset.page = "mmu";
      document.body.dataset.mmuPoints = String(r.points.length);
    };
    const mmuAt = (w) => {
      let best = r.points[0];
      for (const p of r.points) if (Math.abs(Math.log(p[0] / w)) < Math.abs(Math.log(best[0] / w))) best = p;
      return best;
    };
    canvas.addEventListener("mousemove", (e) => {
      const x = e.offsetX;
      if (x < M.left || x > W - M.right) return (tooltip.style.display = "none");
      const [w, u] = mmuAt(windowAt(x));
      tooltip.textContent = "window " + formatDuration(w) + ": MMU " + (100 * u).toFixed(2) + "%";
      tooltip.style.display = "block";
      tooltip.style.left = e.clientX + 12 + "px";
      tooltip.style.top = e.clientY + 12 + "px";
    });
    canvas.addEventListener("mouseleave", () => (tooltip.style.display = "none"));
    canvas.addEventListener("click", (e) => {
      if (e.offsetX < M.left || e.offsetX > W - M.right) return;
      navigate({ window: Math.max(1, Math.round(windowAt(e.offsetX))) });
    });
    window.addEventListener("resize", () => canvas.isConnected && draw());
    draw();
    if (window_ !== null) showWorstWindows(worst, flags, window_);
  }).catch(failed(worst));
}

function showWorstWindows(box, flags, window_) {
  api("/api/mmu-worst", { flags, window: window_ }).then((r) => {
    const list = el("table", { class: "data", id: "mmu-worst-table" },
      el("tr", {}, el("th", {}, "Utilization"), el("th", {}, "From"), el("th", {}, "To")),
      ...r.windows.map((w) => el("tr", {},
        el("td", {}, el("a", { href: timelineLink(w.start, w.end, { view: "proc" }), title: "the window in the timeline" }, (100 * w.util).toFixed(2) + "%")),
        el("td", {}, formatDuration(w.start)), el("td", {}, formatDuration(w.end)))));
    const mmu = r.windows.length ? " (MMU " + (100 * r.windows[0].util).toFixed(2) + "%)" : "";
    box.replaceChildren(el("h3", {}, "Worst windows of " + formatDuration(r.window) + mmu), list);
    document.body.dataset.mmuWorst = String(r.windows.length);
  }).catch(failed(box));
}

// ---------------------------------------------------------------------------------------
// Flame graphs

function flamePage(params) {
  const kind = params.kind || "sched";
  // A profile of one goroutine group or region type, as Go's group and region pages offer.
  const scope = params.group !== undefined ? { group: params.group }
    : params.region !== undefined ? { region: params.region, pc: params.pc || "0" } : {};
  const scopeNote = scope.group !== undefined ? " of the goroutines of " + (scope.group || "(unnamed)")
    : scope.region !== undefined ? " in regions " + JSON.stringify(scope.region) : "";
  const query = new URLSearchParams({ kind, ...scope, token: TOKEN }).toString();
  const page = document.getElementById("page");
  const canvas = el("canvas", { id: "flame-canvas" });
  const tooltip = el("div", { id: "tooltip" });
  const download = el("span", {},
    kind === "cpu" ? null : el("a", { id: "pprof-link", href: "/api/pprof?" + query, download: "profile-" + kind + ".pb.gz" }, "download pprof"),
    kind === "cpu" ? null : " · ",
    el("a", { href: "/api/profile.txt?" + query, download: "profile-" + kind + ".folded.txt" }, "folded stacks"));
  page.replaceChildren(el("div", { class: "toolbar" }, el("b", {}, "Profile: " + kind + scopeNote), download,
    el("span", {}, "click a frame to zoom in, click the root to zoom out")), el("div", { class: "flame-box" }, canvas), tooltip);
  api("/api/profile", { kind, ...scope }).then((r) => {
    flameGraph(canvas, tooltip, r.root, r.unit);
    document.body.dataset.page = "flame";
  });
}

// The name a flame graph frame shows: its function without the place (`func file:line`), or
// the whole name of a frame that has no place (the pseudo-frames of a critical-path profile).
function frameLabel(name) {
  return /:\d+$/.test(name) ? name.split(" ")[0] : name;
}

// Draws a flame graph tree (`/api/profile`'s `root`) on `canvas`, the root on top, with a
// tooltip; a click on a frame zooms in, on the root zooms out. `colorOf(node, top)` may give
// a frame's [fill, text] colours (`top` is the frame just under the root that holds it).
function flameGraph(canvas, tooltip, root, unit, colorOf) {
  let focus = root;
  const topOf = new Map();
  const mark = (node, top) => {
    topOf.set(node, top);
    node.children.forEach((c) => mark(c, top));
  };
  root.children.forEach((c) => mark(c, c));
  const ROW = 18;
  const depthOf = (n) => 1 + Math.max(0, ...n.children.map(depthOf));
  const boxes = [];
  const fmt = (v) => (unit === "ns" ? formatDuration(v) : v + " samples");
  const draw = () => {
    if (!canvas.isConnected) return;
    const W = canvas.parentElement.clientWidth;
    const H = Math.max(ROW * depthOf(focus) + 10, 100);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = W * ratio;
    canvas.height = H * ratio;
    canvas.style.height = H + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    boxes.length = 0;
    const walk = (node, x, w, depth) => {
      if (w < 0.5) return;
      const y = depth * ROW;
      const hue = 20 + ((node.name.length * 37 + depth * 13) % 40);
      const colors = depth > 0 && colorOf ? colorOf(node, topOf.get(node)) : null;
      ctx.fillStyle = colors ? colors[0] : depth === 0 ? "#b0bec5" : "hsl(" + hue + ",85%,62%)";
      ctx.fillRect(x, y, Math.max(1, w - 1), ROW - 1);
      boxes.push({ x, y, w, node });
      if (w > 40) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x, y, w - 2, ROW);
        ctx.clip();
        ctx.fillStyle = colors ? colors[1] : "#222";
        ctx.fillText(depth === 0 ? "all (" + fmt(node.value) + ")" : frameLabel(node.name), x + 3, y + ROW / 2);
        ctx.restore();
      }
      let cx = x;
      for (const child of node.children) {
        const cw = (child.value / (node.value || 1)) * w;
        walk(child, cx, cw, depth + 1);
        cx += cw;
      }
    };
    walk(focus, 0, W, 0);
    document.body.dataset.frames = String(boxes.length);
  };
  const hit = (e) => {
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    return boxes.find((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + ROW);
  };
  canvas.addEventListener("mousemove", (e) => {
    const b = hit(e);
    if (!b) return (tooltip.style.display = "none");
    tooltip.textContent = b.node.name + " — " + fmt(b.node.value) + " (" + (100 * b.node.value / (root.value || 1)).toFixed(1) + "%)";
    tooltip.style.display = "block";
    tooltip.style.left = e.clientX + 12 + "px";
    tooltip.style.top = e.clientY + 12 + "px";
  });
  canvas.addEventListener("mouseleave", () => (tooltip.style.display = "none"));
  canvas.addEventListener("click", (e) => {
    const b = hit(e);
    if (!b) return;
    focus = b.y === 0 ? root : b.node;
    draw();
  });
  window.addEventListener("resize", draw);
  draw();
}

// ---------------------------------------------------------------------------------------
// Critical paths

// Colours of the critical-path categories (running, runnable and syscall as the goroutine
// states; network and timers as their counters; GC as the GC lane).
const CP_COLORS = {
  running: "#43a047", runnable: "#fbc02d", syscall: "#8e24aa", network: "#6d4c41",
  timer: "#00acc1", gc: "#ef6c00", unknown: "#9e9e9e",
};
const CP_CATEGORIES = Object.keys(CP_COLORS);
// Categories on whose colour white text reads better than dark.
const CP_DARK = new Set(["running", "syscall", "network", "gc", "timer"]);

function cpLegend(extra) {
  return el("div", { class: "legend" + (extra ? " " + extra : ""), id: "cp-legend" },
    ...CP_CATEGORIES.map((c) => el("span", { style: "--c:" + CP_COLORS[c] }, c)));
}

// `hex` mixed with white: 0 is `hex`, 1 is white.
function lighter(hex, f) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c + (255 - c) * f);
  return "rgb(" + mix(n >> 16) + "," + mix((n >> 8) & 255) + "," + mix(n & 255) + ")";
}

// Flame graph colours of a path profile: each category's frames in its colour, lighter below.
function cpFrameColor(node, top) {
  const category = top && top.name.startsWith("critical path: ") ? top.name.slice(15) : "unknown";
  const base = CP_COLORS[category] || CP_COLORS.unknown;
  if (node === top) return [base, CP_DARK.has(category) ? "#fff" : "#222"];
  const f = node.name.startsWith("goroutine group ") ? 0.35 : 0.5 + ((node.name.length * 7) % 20) / 100;
  return [lighter(base, f), "#222"];
}

// The query of `/api/critical-path/one` for a timeline's `cp` parameter, or null.
function cpQuery(cp) {
  const parts = String(cp || "").split(":");
  const number = (v) => /^-?\d+$/.test(v || "");
  if (parts[0] === "task" && parts.length === 2 && number(parts[1])) return { task: parts[1] };
  if (parts[0] === "region" && parts.length === 2 && number(parts[1])) return { region: parts[1] };
  if (parts[0] === "goroutine" && parts.length === 4 && parts.slice(1).every(number)) {
    return { goroutine: parts[1], start: parts[2], end: parts[3] };
  }
  return null;
}

function criticalPage(params) {
  if (params.type === undefined) return criticalTypesPage();
  const kind = params.kind === "region" ? "region" : "task";
  const box = analysisBox("Critical paths of " + kind + "s " + JSON.stringify(params.type), null);
  const tooltip = el("div", { id: "tooltip" });
  document.getElementById("page").append(tooltip);
  api("/api/critical-path", { kind, type: params.type }).then((r) => {
    const a = r.aggregate;
    const query = new URLSearchParams({ kind, type: r.name, token: TOKEN }).toString();
    const facts = el("table", { class: "facts" },
      el("tr", {}, el("td", {}, "Instances"), el("td", {}, String(r.count) + (r.skipped ? " (and " + r.skipped + " that last no time)" : ""))),
      el("tr", {}, el("td", {}, "Median duration"), el("td", {}, formatDuration(a.median_duration))),
      el("tr", {}, el("td", {}, "Slowest 1%"), el("td", {}, a.slowest_count + " instance" + (a.slowest_count === 1 ? "" : "s") +
        ", lasting at least " + formatDuration(a.slowest_threshold))));
    const medianSum = a.categories.reduce((t, c) => t + c.median, 0) || 1;
    const slowestSum = a.categories.reduce((t, c) => t + c.slowest, 0) || 1;
    const share = (v, total, color) => el("span", { class: "bar", title: (100 * v / total).toFixed(1) + "%" },
      el("i", { style: "width:" + (100 * v / total) + "%;background:" + color }));
    const categories = el("table", { class: "data", id: "cp-categories" },
      el("tr", {}, el("th", {}, "Category"), el("th", {}, "Median"), el("th", { class: "left" }, ""), el("th", {}, "Slowest 1%"), el("th", { class: "left" }, "")),
      ...a.categories.map((c) => el("tr", {},
        el("td", {}, el("span", { class: "swatch", style: "--c:" + CP_COLORS[c.name] }), c.name),
        durationCell(c.median), el("td", { class: "left" }, share(c.median, medianSum, CP_COLORS[c.name])),
        durationCell(c.slowest), el("td", { class: "left" }, share(c.slowest, slowestSum, CP_COLORS[c.name])))));
    const groups = el("table", { class: "data", id: "cp-groups" },
      el("tr", {}, el("th", {}, "Goroutine group"), el("th", {}, "Median"), el("th", {}, "Slowest 1%")),
      ...a.groups.slice(0, 15).map((g) => el("tr", {},
        el("td", {}, g.name ? el("a", { href: pageLink("goroutines", { group: g.name }) }, g.label) : g.label),
        durationCell(g.median), durationCell(g.slowest))),
      a.group_count > 15 ? el("tr", {}, el("td", { colspan: "3", class: "left" }, "… " + (a.group_count - 15) + " more")) : null);
    const canvas = el("canvas", { id: "cp-flame-canvas", class: "flame" });
    const instances = el("table", { class: "data", id: "cp-instances" },
      el("tr", {}, el("th", {}, kind === "task" ? "Task" : "Region"), el("th", {}, "Goroutine"), el("th", {}, "Start"),
        el("th", {}, "Duration"), el("th", { class: "left" }, "Mostly")),
      ...r.instances.map((x) => el("tr", { class: "instance" },
        el("td", {}, el("a", { href: x.link, title: "the path in the timeline" }, (kind === "task" ? "task " : "region #") + x.id)),
        el("td", {}, "G" + x.goroutine),
        el("td", {}, formatDuration(x.start)),
        el("td", {}, formatDuration(x.duration)),
        el("td", { class: "left" }, el("span", { class: "swatch", style: "--c:" + CP_COLORS[x.dominant.category] }),
          x.dominant.category + " " + (100 * x.dominant.time / (x.duration || 1)).toFixed(1) + "%"))));
    const back = kind === "task" ? pageLink("tasks", { type: r.name }) : "#regions";
    box.replaceChildren(
      el("p", {}, el("a", { href: "#critical" }, "← all types"), " · ", el("a", { href: back }, "the " + kind + " page"),
        " · ", el("a", { id: "cp-pprof-link", href: "/api/critical-path/pprof?" + query, download: "critical-path.pb.gz" }, "download pprof")),
      el("h2", {}, "Critical paths of " + kind + "s " + JSON.stringify(r.name)),
      el("p", { class: "note" }, "For each " + kind + ", the chain of goroutine activity that its end waited for: what was on the path, by category and by goroutine group; " +
        "the median over instances, and the mean over the slowest 1%."),
      facts,
      el("div", { class: "cp-tables" }, categories, groups),
      el("h3", {}, "Path profile"),
      el("p", { class: "note" }, "Time on the paths of all instances: by category, then goroutine group, then where it was. Click a frame to zoom in, the root to zoom out."),
      el("div", { class: "cp-flame" }, canvas),
      el("h3", {}, "Instances, slowest first"),
      el("p", { class: "note" }, r.count + " instance" + (r.count === 1 ? "" : "s") + (r.instances.length < r.count ? ", the first " + r.instances.length + " shown" : "") +
        "; each opens the timeline with its critical path drawn."),
      instances);
    flameGraph(canvas, tooltip, r.profile.root, r.profile.unit, cpFrameColor);
    document.body.dataset.instances = String(r.instances.length);
    document.body.dataset.page = "critical";
  }).catch(failed(box));
}

function criticalTypesPage() {
  const box = analysisBox("Critical paths",
    "Task and region types with instances the trace shows from beginning to end. A type's page tells what its instances waited for: who was running, runnable, in a system call, or waiting on the network, timers or the GC, such that the end could not come sooner.");
  api("/api/critical-path/types").then((r) => {
    const table = (kind, types, id) => types.length
      ? el("table", { class: "data", id },
          el("tr", {}, el("th", {}, kind === "task" ? "Task type" : "Region type"), el("th", {}, "Instances"), el("th", {}, "Median"), el("th", {}, "Max")),
          ...types.map((t) => el("tr", {},
            el("td", {}, el("a", { href: pageLink("critical", { kind, type: t.name }) }, el("code", {}, JSON.stringify(t.name)))),
            el("td", {}, String(t.count)), el("td", {}, formatDuration(t.median)), el("td", {}, formatDuration(t.max)))))
      : el("p", { class: "note" }, "No complete " + kind + ".");
    box.append(el("h3", {}, "Tasks"), table("task", r.tasks, "cp-task-types"),
      el("h3", {}, "Regions"), table("region", r.regions, "cp-region-types"));
    document.body.dataset.page = "critical-types";
  }).catch(failed(box));
}

function findingsPage() {
  const box = analysisBox("Findings",
    "What stands out in the trace, as gotrace analyze reports it: problems (they cost the program time and can be fixed) first, then notes. Each links to the part of the timeline it is about.");
  api("/api/findings").then((r) => {
    if (!r.findings.length) box.append(el("p", { id: "no-findings" }, "Nothing stands out: no goroutine of the program waited for most of the trace."));
    const list = el("ol", { class: "findings", id: "findings" });
    for (const f of r.findings) {
      const links = [];
      if (f.viewer) links.push(el("a", { class: "finding-link", href: f.viewer }, "show on the timeline"));
      for (const g of f.subject.goroutines.slice(0, 5)) {
        links.push(el("a", { href: link("timeline", { view: "goroutine", focus: g, start: f.window ? f.window.start_ns : undefined, end: f.window ? f.window.end_ns : undefined }) }, "G" + g));
      }
      const evidence = Object.entries(f.evidence).map(([k, v]) =>
        k + " " + (k.endsWith("_ns") ? formatDuration(v) : k.endsWith("_percent") ? v.toFixed(1) + "%" : String(v)));
      list.append(el("li", { class: "finding " + f.severity, "data-kind": f.kind },
        el("p", {}, el("b", { class: "severity" }, f.severity), " ", el("code", {}, f.kind), " ", f.text),
        f.advice ? el("p", { class: "advice" }, "Advice: " + f.advice) : null,
        f.subject.stack.length ? el("p", { class: "note" }, "At " + f.subject.stack.slice(0, 4).map((s) => s.function + " (" + s.file.split("/").pop() + ":" + s.line + ")").join(" ← ")) : null,
        el("p", { class: "note" }, evidence.join(" · ")),
        el("p", {}, ...links.flatMap((a, i) => (i ? [" ", a] : [a])))));
    }
    box.append(list);
    document.body.dataset.page = "findings";
  }).catch(failed(box));
}

// ---------------------------------------------------------------------------------------

function route() {
  const { page, params } = parseHash();
  const navKey = page === "flame" && params.kind && params.kind !== "sched" ? "flame-" + params.kind : page;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === navKey);
  setStatus(info && info.error ? "damaged trace, shown up to: " + info.error : "");
  for (const key of ["page", "draws", "drawnLanes", "frames", "instances", "mmuPoints", "mmuWorst", "cpSegments", "cpError"]) delete document.body.dataset[key];
  current = page;
  if (page === "goroutines") goroutinesPage(params);
  else if (page === "tasks") tasksPage(params);
  else if (page === "regions") regionsPage(params);
  else if (page === "mmu") mmuPage(params);
  else if (page === "flame") flamePage(params);
  else if (page === "critical") criticalPage(params);
  else if (page === "findings") findingsPage();
  else {
    current = new Timeline(params);
    window.gotraceTimeline = current;
  }
}

api("/api/info").then((i) => {
  info = i;
  if (i.error) setStatus("damaged trace, shown up to: " + i.error);
  window.addEventListener("hashchange", route);
  route();
}).catch((e) => setStatus("cannot load the trace: " + e.message));
