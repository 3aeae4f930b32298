// Weaver's web console: plain JS, no build step. Every answer comes from the
// gateway's /v1 routes with the session cookie (POST /login); text from the
// server is only ever set as textContent.
'use strict';

const $ = (sel) => document.querySelector(sel);
const SVG = 'http://www.w3.org/2000/svg';

// h('div', {class: 'x', onclick: f}, child, 'text', ...)
function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class Unauthorized extends Error {}

async function api(path, params) {
  const qs = params ? '?' + new URLSearchParams(params).toString() : '';
  const res = await fetch(path + qs, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
  if (res.status === 401) throw new Unauthorized('401');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

// --- time window ------------------------------------------------------------

const DAY_MS = 86400000;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
const hhmmss = (t) => new Date(t).toISOString().slice(11, 19);
// A duration in seconds as its largest round unit: 90 -> "90 s", 120 -> "2 min", 7200 -> "2 h".
const span = (sec) => (sec >= 3600 && sec % 3600 === 0 ? `${sec / 3600} h` : sec >= 120 && sec % 60 === 0 ? `${sec / 60} min` : `${sec} s`);
const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? '—' : Number(n).toFixed(d));

const state = {
  session: null,
  cameras: [],
  day: null, // YYYY-MM-DD (UTC)
  active: null, // {t0, t1} ms: the hours of the day with visitors
  timers: [],
  source: null, // the alert EventSource
  unseen: 0,
};

function dayWindow() {
  const t0 = Date.parse(state.day + 'T00:00:00Z');
  return {t0: iso(t0), t1: iso(t0 + DAY_MS)};
}

// The latest day with visitors in the last 90 days (else today), and its
// busy hours: what the pages show until the user picks another day.
async function pickDay(day) {
  if (!day) {
    const now = Date.now();
    const v = await api('/v1/visitors', {t0: dayOf(now - 90 * DAY_MS), t1: dayOf(now + DAY_MS), bucket: 'day', limit: 200});
    const busy = v.buckets.filter((b) => b.people > 0);
    day = busy.length ? busy[busy.length - 1].t.slice(0, 10) : dayOf(now);
  }
  state.day = day;
  $('#day').value = day;
  const w = dayWindow();
  const hours = (await api('/v1/visitors', {...w, bucket: 'hour', limit: 48})).buckets.filter((b) => b.people > 0);
  if (hours.length) {
    state.active = {t0: Date.parse(hours[0].t), t1: Date.parse(hours[hours.length - 1].t) + 3600000};
    // Down to the minute: the first and last minute anyone was present.
    const minutes = [];
    await Promise.all(state.cameras.map((c) => api('/v1/occupancy', {camera: c.id, t0: iso(state.active.t0), t1: iso(state.active.t1), step_s: 60, limit: 10000})
      .then((o) => o.series.forEach((p) => { if (p.people > 0) minutes.push(Date.parse(p.t)); })).catch(() => {})));
    if (minutes.length)
      state.active = {t0: Math.max(state.active.t0, Math.min(...minutes) - 60000), t1: Math.min(state.active.t1, Math.max(...minutes) + 120000)};
  } else {
    state.active = {t0: Date.parse(w.t0), t1: Date.parse(w.t1)};
  }
  $('#window-note').textContent = `active ${hhmmss(state.active.t0).slice(0, 5)}–${hhmmss(state.active.t1).slice(0, 5)} UTC`;
}

// --- charts (SVG) ---------------------------------------------------------------

function lineChart(points, {height = 180, label = '', spark = false} = {}) {
  // A sparkline: card-sized, no axes.
  const W = spark ? 260 : 600, H = height, L = spark ? 2 : 34, B = spark ? 2 : 20, T = spark ? 4 : 8;
  const svg = h('svg:svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label});
  if (!points.length) return h('div', {class: 'empty'}, 'No data in this window');
  const x0 = points[0].t, x1 = points[points.length - 1].t || x0 + 1;
  const ymax = Math.max(4, Math.ceil(Math.max(...points.map((p) => p.v)) / 4) * 4); // integer ticks
  const X = (t) => L + ((t - x0) / Math.max(1, x1 - x0)) * (W - L - 6);
  const Y = (v) => T + (1 - v / ymax) * (H - T - B);
  for (let i = 0; i <= 4 && !spark; i++) {
    const v = (ymax * i) / 4, y = Y(v);
    svg.append(h('svg:line', {x1: L, x2: W - 6, y1: y, y2: y, stroke: '#e3e8ef'}));
    svg.append(h('svg:text', {x: L - 6, y: y + 4, 'text-anchor': 'end'}, fmt(v)));
  }
  for (let i = 0; i <= 4 && !spark; i++) {
    const t = x0 + ((x1 - x0) * i) / 4;
    svg.append(h('svg:text', {x: X(t), y: H - 4, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}, hhmmss(t)));
  }
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${X(p.t).toFixed(1)},${Y(p.v).toFixed(1)}`).join('');
  svg.append(h('svg:path', {d: `${d}L${X(x1)},${Y(0)}L${X(x0)},${Y(0)}Z`, fill: 'rgba(31,111,235,.12)'}));
  svg.append(h('svg:path', {d, fill: 'none', stroke: '#1f6feb', 'stroke-width': 2}));
  return svg;
}

function barChart(bars, {height = 180, label = '', width = 600} = {}) {
  if (!bars.length) return h('div', {class: 'empty'}, 'No data in this window');
  const W = width, H = height, B = 20, T = 14;
  const ymax = Math.max(1, ...bars.map((b) => b.v));
  const w = (W - 10) / bars.length;
  const svg = h('svg:svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label});
  bars.forEach((b, i) => {
    const bh = (b.v / ymax) * (H - B - T);
    svg.append(h('svg:rect', {x: 5 + i * w + 2, y: H - B - bh, width: Math.max(1, w - 4), height: bh, rx: 3, fill: '#1f6feb'}));
    if (b.v) svg.append(h('svg:text', {class: 'value', x: 5 + i * w + w / 2, y: H - B - bh - 3, 'text-anchor': 'middle'}, b.v));
    if (bars.length <= 24) svg.append(h('svg:text', {x: 5 + i * w + w / 2, y: H - 5, 'text-anchor': 'middle'}, b.label));
  });
  return svg;
}

// --- pages -----------------------------------------------------------------------

const cameraName = (id) => (state.cameras.find((c) => c.id === id) || {name: `camera ${id}`}).name;

function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const kv of m[2].matchAll(/(\w+)="([^"]*)"/g)) labels[kv[1]] = kv[2];
    out.push({name: m[1], labels, value: Number(m[3])});
  }
  return out;
}

function sumBy(metrics, name, camera) {
  const xs = metrics.filter((m) => m.name === name && m.labels.camera === String(camera));
  return xs.length ? xs.reduce((a, m) => a + m.value, 0) : null;
}


// --- live pictures ------------------------------------------------------------

// A camera's newest frame with its boxes, zones and lines drawn over it (an
// SVG in the frame's own pixels on top of the JPEG). refresh() fetches the
// boxes, then exactly that frame's picture; the picture swaps in once loaded.
// A picture older than the gateway's bound (stale: the camera stopped) stays
// shown, dimmed and marked, and view.stale says so (null before any answer).
function liveView(cameraId, {big = false} = {}) {
  const img = h('img', {class: 'shot-img', alt: `camera ${cameraId}`});
  const overlay = h('svg:svg', {class: 'overlay', preserveAspectRatio: 'none'});
  const note = h('div', {class: 'shot-note'}, 'connecting…');
  const root = h('div', {class: `shot${big ? ' big' : ''}`, 'data-shot': cameraId}, img, overlay, note);
  const view = {root, overlay, img, last: null, stale: null, bytes: 0, frames: 0, since: performance.now(), busy: false};
  const caption = (live) => live.stale
    ? `down · last picture ${hhmmss(Date.parse(live.time))}, ${fmt(live.age_ms / 1000, 0)} s ago`
    : `${hhmmss(Date.parse(live.time))} · ${live.boxes.length} ${live.boxes.length === 1 ? 'person' : 'people'}`;
  const mark = (live) => {
    view.stale = Boolean(live.stale);
    root.classList.toggle('stale', view.stale);
    root.dataset.stale = view.stale ? '1' : '0';
    note.textContent = caption(live);
  };
  const draw = (live) => {
    overlay.setAttribute('viewBox', `0 0 ${live.width} ${live.height}`);
    root.style.aspectRatio = `${live.width} / ${live.height}`;
    const lw = Math.max(1.5, live.width / 320);
    const fs = Math.max(10, live.width / 40);
    const shapes = [];
    for (const z of live.zones) {
      shapes.push(h('svg:polygon', {class: 'zone', points: z.polygon.map((p) => p.join(',')).join(' '), 'stroke-width': lw}));
      shapes.push(h('svg:text', {class: 'zone-name', x: z.polygon[0][0] + lw * 2, y: z.polygon[0][1] + fs, 'font-size': fs}, z.name));
    }
    for (const l of live.lines) {
      shapes.push(h('svg:line', {class: 'tripwire', x1: l.a[0], y1: l.a[1], x2: l.b[0], y2: l.b[1], 'stroke-width': lw * 1.5}));
      shapes.push(h('svg:text', {class: 'line-name', x: l.b[0] - lw * 2, y: l.b[1] - lw * 3, 'text-anchor': 'end', 'font-size': fs}, l.name));
    }
    for (const b of live.boxes) {
      // The person is re-id's provisional guess while the track is open
      // ("P12?", lighter); its final id comes when the track ends (People).
      const who = Number.isInteger(b.person) ? ` P${b.person}?` : '';
      const title = who ? `track ${b.track}, provisionally person ${b.person} (final when the track ends)` : `track ${b.track}`;
      shapes.push(h('svg:rect', {class: 'box', 'data-track': b.track, 'data-person': who ? b.person : null, x: b.x, y: b.y, width: b.w, height: b.h, 'stroke-width': lw},
        h('svg:title', {}, title)));
      shapes.push(h('svg:rect', {class: 'box-label-bg', x: b.x, y: b.y - fs * 1.25, width: fs * (1.2 + 0.62 * (String(b.track).length + who.length)), height: fs * 1.25}));
      shapes.push(h('svg:text', {class: 'box-label', x: b.x + fs * 0.3, y: b.y - fs * 0.3, 'font-size': fs}, `#${b.track}`,
        who ? h('svg:tspan', {class: 'box-person'}, who) : null));
    }
    overlay.replaceChildren(...shapes);
  };
  view.refresh = async () => {
    if (view.busy) return;
    view.busy = true;
    try {
      const res = await fetch(`/v1/cameras/${cameraId}/live`, {credentials: 'same-origin'});
      if (res.status === 401) throw new Unauthorized('401');
      const live = await res.json().catch(() => ({}));
      if (!res.ok) {
        root.classList.add('none');
        note.textContent = res.status === 404 ? 'No live picture on this gateway' : (live.error || `HTTP ${res.status}`);
        return;
      }
      if (view.last && view.last.seq === live.seq) {
        mark(live);
        // Same frame, other zones (an Apply; a stopped camera sends no new frame): redraw.
        const shapes = (v) => JSON.stringify([v.zones, v.lines]);
        if (shapes(live) !== shapes(view.last)) { draw(live); view.last = live; }
        return;
      }
      const next = new Image();
      next.src = live.snapshot;
      await next.decode();
      img.src = next.src;
      root.classList.remove('none');
      mark(live);
      draw(live);
      view.last = live;
      view.bytes += live.jpeg_bytes;
      view.frames += 1;
      root.dataset.seq = live.seq;
      if (live.boxes.length) root.dataset.boxesSeen = Number(root.dataset.boxesSeen || 0) + 1;
    } finally {
      view.busy = false;
    }
  };
  view.rate = () => {
    const s = (performance.now() - view.since) / 1000;
    return {fps: view.frames / Math.max(1, s), bps: view.bytes / Math.max(1, s)};
  };
  return view;
}

function every(ms, fn) {
  const tick = () => fn().catch((e) => { if (e instanceof Unauthorized) { stopPage(); showLogin('Your session ended: sign in again.'); } });
  state.timers.push(setInterval(tick, ms));
  return tick();
}

async function pageCameras(root) {
  const cards = new Map();
  const grid = h('div', {class: 'grid', id: 'camera-grid'});
  root.append(grid);
  const step = Math.max(5, Math.round((state.active.t1 - state.active.t0) / 1000 / 120));
  for (const c of state.cameras) {
    const fields = {status: h('span', {class: 'pill unknown'}, 'no live data'), fps: h('b', {}, '—'), frames: h('b', {}, '—'), dropped: h('b', {}, '—'), tracks: h('b', {}, '—')};
    const spark = h('div', {class: 'spark'});
    const view = liveView(c.id);
    const card = h('div', {class: 'panel camera-card', 'data-camera': c.id},
      h('a', {class: 'shot-link', href: `#/camera/${c.id}`, title: `Open ${c.name}`}, view.root),
      h('div', {class: 'head'}, h('div', {}, h('h3', {}, h('a', {href: `#/camera/${c.id}`}, c.name)), h('div', {class: 'dept'}, `#${c.id} · ${c.department || ''}`)), fields.status),
      h('div', {class: 'stats'},
        h('div', {class: 'stat'}, fields.fps, h('span', {}, 'fps')),
        h('div', {class: 'stat'}, fields.frames, h('span', {}, 'frames')),
        h('div', {class: 'stat'}, fields.dropped, h('span', {}, 'dropped')),
        h('div', {class: 'stat'}, fields.tracks, h('span', {}, 'tracks now'))),
      h('div', {class: 'zones'}, (c.zones || []).length ? c.zones.map((z) => h('span', {class: 'tag'}, z)) : h('span', {class: 'muted'}, 'no zones')),
      h('div', {class: 'spark-head'}, h('label', {}, 'people present'), h('label', {class: 'peak'})), spark);
    cards.set(c.id, {fields, prev: null, up: null, view});
    grid.append(card);
    api('/v1/occupancy', {camera: c.id, t0: iso(state.active.t0), t1: iso(state.active.t1), step_s: step, limit: 10000})
      .then((o) => (card.querySelector('.peak').textContent = `peak ${o.peak}`, o))
      .then((o) => spark.append(lineChart(o.series.map((p) => ({t: Date.parse(p.t), v: p.people})), {height: 56, spark: true, label: `occupancy of ${c.name}`})))
      .catch(() => spark.append(h('div', {class: 'empty'}, 'occupancy unavailable')));
  }
  // Up or down: a stale picture says down whatever the metrics say (a camera
  // that stopped delivering); else the metrics (this process's cameras);
  // else a fresh picture (a camera of another process) says up.
  const status = (card) => {
    const f = card.fields, stale = card.view.stale;
    const [cls, text] = stale ? ['down', 'stale']
      : card.up !== null ? (card.up ? ['up', 'up'] : ['down', 'down'])
      : stale === false ? ['up', 'up'] : ['unknown', 'no live data'];
    f.status.className = `pill ${cls}`;
    f.status.textContent = text;
  };
  // Live figures from /metrics (this process's cameras; none on a gateway-only node).
  const poll = async () => {
    const text = await fetch('/metrics').then((r) => (r.ok ? r.text() : ''));
    const m = parseMetrics(text), now = performance.now();
    for (const [id, card] of cards) {
      const frames = sumBy(m, 'weaver_frames_total', id);
      const up = sumBy(m, 'weaver_camera_up', id);
      const f = card.fields;
      if (frames === null) continue;
      f.frames.textContent = fmt(frames);
      f.dropped.textContent = fmt(sumBy(m, 'weaver_frames_dropped_total', id) || 0);
      f.tracks.textContent = fmt(sumBy(m, 'weaver_tracks_active', id));
      if (card.prev) f.fps.textContent = fmt(((frames - card.prev.frames) * 1000) / (now - card.prev.t), 1);
      card.prev = {frames, t: now};
      card.up = up === null ? frames > 0 : up > 0;
      status(card);
    }
  };
  await poll().catch(() => {});
  state.timers.push(setInterval(() => poll().catch(() => {}), 2000));
  // The grid refreshes every picture every 2 s; a camera's page at its full rate.
  await every(2000, () => Promise.all([...cards.values()].map((c) => c.view.refresh().finally(() => status(c)))));
}

// One camera: its live picture at the gateway's snapshot rate, and a drawing
// board for its zones and lines, applied at once or kept as YAML.
async function pageCamera(root, arg) {
  const cam = state.cameras.find((c) => String(c.id) === String(arg));
  if (!cam) { root.append(h('div', {class: 'panel empty'}, `No camera ${arg}.`)); return; }
  $('#title').textContent = cam.name;
  const view = liveView(cam.id, {big: true});
  const rate = h('span', {class: 'muted', id: 'stream-rate'});
  const pause = h('button', {id: 'pause'}, 'Pause');
  // The same pictures as one MJPEG stream, for a video player or a wall screen.
  const mjpeg = h('a', {id: 'mjpeg', class: 'button', href: `/v1/cameras/${cam.id}/stream.mjpg`, target: '_blank', rel: 'noopener'}, 'MJPEG');
  const board = drawingBoard(view, cam);
  root.append(h('div', {class: 'row wide'},
    h('div', {class: 'panel'}, h('h2', {}, 'Live', h('small', {}, `#${cam.id} · ${cam.department || ''}`)),
      h('div', {class: 'toolbar'}, pause, mjpeg, h('div', {class: 'grow'}), rate), view.root),
    board.panel));
  let paused = false;
  pause.addEventListener('click', () => { paused = !paused; pause.textContent = paused ? 'Resume' : 'Pause'; });
  await view.refresh().catch((e) => { if (e instanceof Unauthorized) throw e; });
  const ms = (view.last && view.last.refresh_ms) || 1000;
  await every(ms, async () => {
    if (paused || board.drawing()) return;
    await view.refresh();
    const r = view.rate();
    rate.textContent = `${fmt(r.fps, 1)} pictures/s · ${fmt(r.bps / 1024, 1)} KiB/s`;
    rate.dataset.bps = Math.round(r.bps);
  });
}

// Zones and lines drawn with the mouse on a camera's picture, starting from
// the camera's zones and lines now (GET /v1/cameras/{camera}/zones). Apply
// puts them in use at once (PUT, scope zones; only where the camera's
// tracker runs in the gateway's process) and redraws from what the server
// then holds; the YAML (camera pixels, the config's own format) keeps them
// across a restart.
function drawingBoard(view, cam) {
  const shapes = []; // {kind: 'zone'|'line', name, points: [[x, y]]}
  let current = null;
  const name = h('input', {id: 'shape-name', value: 'zone1', size: 12});
  const mode = h('select', {id: 'shape-kind'}, h('option', {value: 'zone'}, 'Zone (polygon)'), h('option', {value: 'line'}, 'Line (2 points)'));
  const yaml = h('textarea', {id: 'zone-yaml', readonly: true, rows: 12, spellcheck: 'false'});
  const finish = h('button', {id: 'finish-shape'}, 'Close polygon');
  const clear = h('button', {id: 'clear-shapes'}, 'Clear');
  const copy = h('button', {id: 'copy-yaml'}, 'Copy');
  const apply = h('button', {id: 'apply-zones', class: 'primary', disabled: true}, 'Apply');
  const reload = h('button', {id: 'reload-zones'}, 'Reload');
  const status = h('div', {id: 'apply-status', class: 'muted'}, 'Loading the camera\'s zones…');
  const layer = h('svg:g', {class: 'drawing'});
  const hint = h('div', {class: 'muted', id: 'draw-hint'}, 'Click on the picture to place points: a zone closes on its first point or with “Close polygon”, a line takes two.');
  const px = (v) => Math.round(v);
  const used = (n) => shapes.some((s) => s.name === n);
  const nextName = (kind) => { let n = shapes.length + 1; while (used(`${kind}${n}`)) n += 1; return `${kind}${n}`; };
  const say = (text, kind) => { status.textContent = text; status.className = kind || 'muted'; status.dataset.state = kind || ''; };
  const render = () => {
    const lw = view.last ? Math.max(1.5, view.last.width / 320) : 2;
    const els = [];
    for (const s of [...shapes, ...(current ? [current] : [])]) {
      const pts = s.points.map((p) => p.join(',')).join(' ');
      if (s.kind === 'line' || s === current) els.push(h('svg:polyline', {class: `draw ${s.kind}`, points: pts, 'stroke-width': lw * 1.5}));
      else els.push(h('svg:polygon', {class: 'draw zone', points: pts, 'stroke-width': lw * 1.5}));
      for (const p of s.points) els.push(h('svg:circle', {class: 'vertex', cx: p[0], cy: p[1], r: lw * 2.5}));
    }
    layer.replaceChildren(...els);
    if (!view.overlay.contains(layer)) view.overlay.append(layer);
    const zones = shapes.filter((s) => s.kind === 'zone'), lines = shapes.filter((s) => s.kind === 'line');
    const out = [`# camera ${cam.id} (${cam.name}): paste under its entry in cameras:`];
    if (zones.length) {
      out.push('zones:');
      for (const z of zones) out.push(`  - name: ${z.name}`, `    polygon: [${z.points.map((p) => `[${px(p[0])}, ${px(p[1])}]`).join(', ')}]`);
    }
    if (lines.length) {
      out.push('lines:');
      for (const l of lines) out.push(`  - name: ${l.name}`, `    from: [${px(l.points[0][0])}, ${px(l.points[0][1])}]`, `    to: [${px(l.points[1][0])}, ${px(l.points[1][1])}]`);
    }
    yaml.value = shapes.length ? out.join('\n') + '\n' : '';
  };
  const safeName = () => (name.value.trim().replace(/[^A-Za-z0-9_-]/g, '_') || nextName(mode.value));
  // The board changed since the server's shapes were loaded or applied: the
  // status must not still say "Applied" over shapes that are not.
  const edited = () => {
    if (apply.disabled) return;
    const z = shapes.filter((s) => s.kind === 'zone').length, l = shapes.length - z;
    say(`Drawn, not applied yet: ${z} zone(s), ${l} line(s) on the board. Apply puts them in use.`, 'edited');
  };
  const close = () => {
    if (!current) return;
    if (current.kind === 'zone' && current.points.length >= 3) shapes.push(current), edited();
    current = null;
    name.value = nextName(mode.value);
    render();
  };
  // The server's shapes replace the board's (after loading and after Apply).
  const take = (z) => {
    shapes.length = 0;
    current = null;
    for (const s of z.zones) shapes.push({kind: 'zone', name: s.name, points: s.polygon.map((p) => [...p])});
    for (const s of z.lines) shapes.push({kind: 'line', name: s.name, points: [[...s.from], [...s.to]]});
    name.value = nextName(mode.value);
    // The server decides (403 without scope zones); the button says so first.
    const scopes = (state.session && state.session.scopes) || [];
    const allowed = !state.session || state.session.auth === 'none' || scopes.includes('zones');
    apply.disabled = !z.editable || !allowed;
    apply.title = !z.editable ? z.why_not_editable : allowed ? 'Put these zones and lines in use now' : 'Your token lacks scope zones';
    panel.dataset.zones = z.zones.map((s) => s.name).join(',');
    panel.dataset.lines = z.lines.map((s) => s.name).join(',');
    render();
  };
  const load = async () => {
    const z = await api(`/v1/cameras/${cam.id}/zones`);
    take(z);
    if (z.editable && apply.disabled) say(`${z.zones.length} zone(s), ${z.lines.length} line(s) in use. Applying needs a token with scope zones: copy the YAML instead.`);
    else if (z.editable) say(`${z.zones.length} zone(s), ${z.lines.length} line(s) in use. Draw, then Apply.`);
    else say(`Read only here: ${z.why_not_editable}. Copy the YAML instead.`);
  };
  view.overlay.addEventListener('click', (ev) => {
    if (!view.last) return;
    const box = view.overlay.getBoundingClientRect();
    const p = [((ev.clientX - box.left) / box.width) * view.last.width, ((ev.clientY - box.top) / box.height) * view.last.height];
    if (!current) current = {kind: mode.value, name: safeName(), points: []};
    const first = current.points[0];
    if (current.kind === 'zone' && current.points.length >= 3 && Math.hypot(p[0] - first[0], p[1] - first[1]) < view.last.width / 60) return close();
    current.points.push(p);
    if (current.kind === 'line' && current.points.length === 2) { shapes.push(current); current = null; name.value = nextName('line'); edited(); }
    render();
  });
  finish.addEventListener('click', close);
  clear.addEventListener('click', () => { shapes.length = 0; current = null; name.value = `${mode.value}1`; render(); edited(); });
  copy.addEventListener('click', () => navigator.clipboard && navigator.clipboard.writeText(yaml.value));
  mode.addEventListener('change', () => { current = null; name.value = nextName(mode.value); render(); });
  reload.addEventListener('click', () => load().catch((e) => say(e.message, 'error')));
  apply.addEventListener('click', async () => {
    if (current) close();
    // Whole pixels, as the YAML: what is applied is what a restart with it would use.
    const body = {
      zones: shapes.filter((s) => s.kind === 'zone').map((s) => ({name: s.name, polygon: s.points.map((p) => [px(p[0]), px(p[1])])})),
      lines: shapes.filter((s) => s.kind === 'line').map((s) => ({name: s.name, from: s.points[0].map(px), to: s.points[1].map(px)})),
    };
    apply.disabled = true;
    say('Applying…');
    try {
      const res = await fetch(`/v1/cameras/${cam.id}/zones`, {method: 'PUT', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', Accept: 'application/json'}, body: JSON.stringify(body)});
      const answer = await res.json().catch(() => ({}));
      if (res.status === 401) throw new Unauthorized('401');
      if (!res.ok) { apply.disabled = false; return say(`Not applied: ${answer.error || `HTTP ${res.status}`}`, 'error'); }
      await load(); // redrawn from what the server now holds
      say(`Applied: ${answer.zones.length} zone(s), ${answer.lines.length} line(s) in use from the camera's next frame` +
        (answer.kept ? ', kept across restarts (tracker.zones_file).'
          : answer.keep_error ? ` until restart: ${answer.keep_error}. Keep the YAML.` : ' until restart (no tracker.zones_file: keep the YAML).'), 'ok');
      await view.refresh();
    } catch (e) {
      apply.disabled = false;
      if (e instanceof Unauthorized) throw e;
      say(`Not applied: ${e.message}`, 'error');
    }
  });
  const panel = h('div', {class: 'panel', id: 'zone-board'}, h('h2', {}, 'Zones and lines'),
    h('div', {class: 'toolbar'}, h('label', {}, 'Kind', mode), h('label', {}, 'Name', name), finish, clear), hint,
    h('div', {class: 'mt'}, yaml), h('div', {class: 'toolbar mt'}, apply, reload, copy, h('div', {class: 'grow'})), status);
  // The live picture redraws its overlay: put the drawing back on top.
  const redraw = view.refresh;
  view.refresh = async () => { await redraw(); render(); };
  load().catch((e) => { if (e instanceof Unauthorized) throw e; say(e.message, 'error'); });
  return {panel, drawing: () => current !== null};
}

// Cameras on a circle, one arrow per X -> Y pair, as wide as its people.
function flowDiagram(cams, counts) {
  const W = 420, H = 310, R = 115, cx = W / 2, cy = H / 2 + 14;
  const pos = new Map(cams.map((c, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / cams.length;
    return [c.id, {x: cx + R * Math.cos(a), y: cy + R * Math.sin(a)}];
  }));
  const max = Math.max(1, ...counts.map((f) => f.people));
  const svg = h('svg:svg', {class: 'chart flow', id: 'flow-diagram', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'flows between cameras'},
    h('svg:defs', {}, h('svg:marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 6, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 14, markerHeight: 14, orient: 'auto-start-reverse'},
      h('svg:path', {d: 'M0,0L10,5L0,10Z', fill: '#1f6feb'}))));
  for (const f of counts) {
    if (!f.people) continue;
    const a = pos.get(f.from), b = pos.get(f.to);
    // Curved to one side so X -> Y and Y -> X do not overlap.
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy), nx = -dy / len, ny = dx / len;
    const k = 28, sx = a.x + (dx / len) * 34, sy = a.y + (dy / len) * 34, ex = b.x - (dx / len) * 38, ey = b.y - (dy / len) * 38;
    const mx = (sx + ex) / 2 + nx * k, my = (sy + ey) / 2 + ny * k;
    svg.append(h('svg:path', {d: `M${sx},${sy}Q${mx},${my} ${ex},${ey}`, fill: 'none', stroke: 'rgba(31,111,235,.55)',
      'stroke-width': 1.5 + (9 * f.people) / max, 'marker-end': 'url(#arrow)'}));
    svg.append(h('svg:text', {x: (sx + ex) / 2 + nx * (k + 4), y: (sy + ey) / 2 + ny * (k + 4) + 4, 'text-anchor': 'middle', class: 'flow-n'}, f.people));
  }
  for (const c of cams) {
    const p = pos.get(c.id);
    svg.append(h('svg:circle', {cx: p.x, cy: p.y, r: 30, fill: '#0f1722'}));
    svg.append(h('svg:text', {x: p.x, y: p.y + 4, 'text-anchor': 'middle', class: 'node'}, c.name));
  }
  return svg;
}

async function pageFlows(root) {
  const w = dayWindow();
  const cams = state.cameras;
  // X -> Y matrix
  const table = h('table', {class: 'matrix', id: 'matrix'});
  table.append(h('tr', {}, h('th', {}, 'from \\ to'), cams.map((c) => h('th', {}, c.name))));
  const asks = [], counts = [];
  for (const a of cams) {
    const tr = h('tr', {}, h('th', {}, a.name));
    for (const b of cams) {
      if (a.id === b.id) { tr.append(h('td', {class: 'self'}, '·')); continue; }
      const td = h('td', {class: 'cell', 'data-from': a.id, 'data-to': b.id, title: `${a.name} → ${b.name}`}, '…');
      tr.append(td);
      asks.push(api('/v1/transitions', {from: a.id, to: b.id, ...w, limit: 10000}).then((r) => {
        td.textContent = r.people;
        counts.push({from: a.id, to: b.id, people: r.people});
        td.style.background = `rgba(31,111,235,${Math.min(0.55, r.people / 30).toFixed(2)})`;
        td.onclick = () => showIds(`${a.name} → ${b.name}`, r.person_ids);
      }, () => { td.textContent = '!'; }));
    }
    table.append(tr);
  }
  const diagram = h('div', {class: 'panel'}, h('h2', {}, 'Flow', h('small', {}, 'arrow width: people')));
  const ids = h('div', {id: 'flow-ids'}, h('div', {class: 'muted'}, 'Pick a cell of the matrix for the people in it.'));
  const showIds = (title, list) => {
    ids.replaceChildren(h('h2', {}, title, h('small', {}, `${list.length} people`)),
      h('div', {class: 'ids'}, list.map((p) => h('a', {class: 'tag', href: `#/people/${p}`}, `#${p}`))));
  };
  root.append(h('div', {class: 'row wide'},
    h('div', {class: 'panel'}, h('h2', {}, 'Who went where', h('small', {}, `left X, entered Y next · ${state.day}`)), table, h('div', {class: 'mt'}, ids)), diagram));

  // Seen on every camera of a set
  const every = h('div', {id: 'every-result'});
  const boxes = cams.map((c) => h('input', {type: 'checkbox', value: c.id, checked: true}));
  const runEvery = async () => {
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) { every.replaceChildren(h('div', {class: 'muted'}, 'Choose cameras.')); return; }
    const r = await api('/v1/every-camera', {cameras: chosen.join(','), day: state.day, limit: 10000});
    every.replaceChildren(h('div', {class: 'big-number', id: 'every-count'}, r.people),
      h('div', {class: 'ids'}, r.person_ids.map((p) => h('a', {class: 'tag', href: `#/people/${p}`}, `#${p}`))));
  };
  boxes.forEach((b) => b.addEventListener('change', runEvery));
  // Occupancy and visitors
  const target = h('select', {id: 'occ-target'},
    cams.map((c) => h('option', {value: `camera:${c.id}`}, c.name)),
    cams.flatMap((c) => (c.zones || []).map((z) => h('option', {value: `zone:${z}`}, `zone ${z}`))));
  const occ = h('div', {id: 'occupancy-chart'});
  const dwell = h('div', {id: 'dwell-chart'});
  const runOcc = async () => {
    const [kind, v] = target.value.split(':');
    const step = Math.max(1, Math.round((state.active.t1 - state.active.t0) / 1000 / 240));
    const t0 = iso(state.active.t0), t1 = iso(state.active.t1);
    const r = await api('/v1/occupancy', {[kind]: v, t0, t1, step_s: step, limit: 10000});
    occ.replaceChildren(h('div', {class: 'muted', id: 'occ-summary', 'data-peak': r.peak, 'data-points': r.series.length,
      'data-target': `${kind}=${v}`, 'data-t0': t0, 'data-t1': t1, 'data-step': step}, `peak ${r.peak} · every ${step} s`),
      lineChart(r.series.map((p) => ({t: Date.parse(p.t), v: p.people})), {label: 'occupancy'}));
    await runDwell(kind, v, t0, t1);
  };
  // How long visits lasted: first the figures (one bucket), then the
  // histogram in buckets of a round width giving at most 12 bars.
  const runDwell = async (kind, v, t0, t1) => {
    const all = await api('/v1/dwell', {[kind]: v, t0, t1, bucket_s: 2592000, limit: 1});
    const head = h('div', {class: 'muted', id: 'dwell-summary', 'data-count': all.count, 'data-t0': t0, 'data-t1': t1,
      'data-target': `${kind}=${v}`},
    all.count ? `${all.count} visits · median ${fmt(all.p50_s, 1)} s · 90% under ${fmt(all.p90_s, 1)} s · longest ${fmt(all.max_s, 1)} s`
      : 'no visits in this window');
    if (!all.count) { dwell.replaceChildren(head); return; }
    const width = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].find((w) => all.max_s / w < 12) || Math.ceil(all.max_s / 12 / 3600) * 3600;
    const r = await api('/v1/dwell', {[kind]: v, t0, t1, bucket_s: width, limit: 100});
    const bars = Array.from({length: Math.floor(all.max_s / width) + 1}, (_, i) => ({v: 0, label: span(i * width)}));
    for (const b of r.buckets) bars[Math.min(bars.length - 1, Math.round(b.from_s / width))].v += b.count;
    dwell.replaceChildren(head, barChart(bars, {height: 150, label: 'visits by length'}),
      h('div', {class: 'muted small'}, `visits by length, from each bar's mark, buckets of ${span(width)}`));
  };
  target.addEventListener('change', runOcc);
  const visitors = h('div', {id: 'visitors-chart'});
  root.append(h('div', {class: 'row'},
    h('div', {class: 'panel'}, h('h2', {}, 'Seen on every camera', h('small', {}, state.day)),
      h('div', {class: 'checks'}, cams.map((c, i) => h('label', {}, boxes[i], ` ${c.name}`))), every),
    h('div', {class: 'panel'}, h('h2', {}, 'Occupancy and dwell'), h('div', {class: 'checks'}, target), occ,
      h('h3', {class: 'sub'}, 'Dwell'), dwell)));
  root.append(h('div', {class: 'panel'}, h('h2', {}, 'People per hour', h('small', {}, state.day)), visitors));
  const v = await api('/v1/visitors', {...w, bucket: 'hour', limit: 48});
  const perHour = new Map(v.buckets.map((b) => [b.t.slice(11, 13), b.people]));
  const hours = Array.from({length: 24}, (_, i) => String(i).padStart(2, '0'));
  visitors.dataset.t0 = w.t0;
  visitors.dataset.t1 = w.t1;
  visitors.append(barChart(hours.map((hh) => ({v: perHour.get(hh) || 0, label: hh})), {height: 170, width: 1200, label: 'people per hour'}));
  await Promise.all([...asks, runEvery(), runOcc()]);
  diagram.append(flowDiagram(cams, counts));
}

async function pagePeople(root, arg) {
  // Everyone seen on the day: the union of each camera's every-camera set.
  const w = dayWindow();
  const seen = new Set();
  await Promise.all(state.cameras.map((c) =>
    api('/v1/every-camera', {cameras: String(c.id), day: state.day, limit: 10000}).then((r) => r.person_ids.forEach((p) => seen.add(p)))));
  const people = [...seen].sort((a, b) => a - b);
  const input = h('input', {id: 'person-id', type: 'number', min: 0, value: arg || people[0] || ''});
  const detail = h('div', {id: 'person-detail'});
  const show = async (p) => {
    if (p === '' || p === undefined) return;
    location.hash = `#/people/${p}`;
  };
  root.append(h('div', {class: 'panel'}, h('h2', {}, 'People', h('small', {}, `${people.length} seen on ${state.day}`)),
    h('div', {class: 'toolbar'}, h('label', {}, 'Person', input), h('button', {class: 'primary', onclick: () => show(input.value)}, 'Show')),
    h('div', {class: 'ids', id: 'people-list'}, people.map((p) => h('a', {class: `tag${String(p) === String(arg) ? ' sel' : ''}`, href: `#/people/${p}`}, `#${p}`)))));
  root.append(detail);
  const p = arg || people[0];
  if (p === undefined) return;
  const r = await api(`/v1/people/${encodeURIComponent(p)}/trajectory`, {...w, limit: 10000});
  const pres = r.presences.map((x) => ({...x, a: Date.parse(x.enter), b: Date.parse(x.exit)}));
  if (!pres.length) { detail.append(h('div', {class: 'panel empty'}, `Person #${p} was not seen on ${state.day}.`)); return; }
  const t0 = Math.min(...pres.map((x) => x.a)), t1 = Math.max(...pres.map((x) => x.b));
  const cams = [...new Set(pres.map((x) => x.camera))].sort((a, b) => a - b);
  const W = 900, L = 90, lane = 34, H = cams.length * lane + 28;
  const X = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - 10);
  const svg = h('svg:svg', {class: 'chart', id: 'timeline', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `trajectory of person ${p}`});
  cams.forEach((c, i) => {
    svg.append(h('svg:text', {x: 4, y: i * lane + 21}, cameraName(c)));
    svg.append(h('svg:line', {x1: L, x2: W - 10, y1: i * lane + 17, y2: i * lane + 17, stroke: '#e3e8ef'}));
  });
  for (const x of pres) {
    const i = cams.indexOf(x.camera);
    svg.append(h('svg:rect', {class: 'presence', x: X(x.a), y: i * lane + 6, width: Math.max(3, X(x.b) - X(x.a)), height: 22, rx: 4, fill: '#1f6feb'},
      h('svg:title', {}, `${cameraName(x.camera)} ${hhmmss(x.a)}–${hhmmss(x.b)} (${fmt(x.dwell_s, 1)} s)`)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    svg.append(h('svg:text', {x: X(t), y: H - 4, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}, hhmmss(t)));
  }
  const rows = pres.map((x) => h('tr', {}, h('td', {}, cameraName(x.camera)), h('td', {}, hhmmss(x.a)), h('td', {}, hhmmss(x.b)), h('td', {}, fmt(x.dwell_s, 1))));
  // One evidence crop per presence: the best frame of its track, in time order.
  const strip = h('div', {class: 'evidence', id: 'evidence'}, pres.map((x) => h('figure', {class: 'crop-card', 'data-camera': x.camera},
    x.track === null || x.track === undefined ? h('div', {class: 'crop none'}, 'no crop') : crop(x.camera, x.track, `person #${p} on ${cameraName(x.camera)}`),
    h('figcaption', {}, h('b', {}, cameraName(x.camera)), h('br'), hhmmss(x.a)))));
  detail.append(h('div', {class: 'panel'}, h('h2', {}, `Person #${p}`, h('small', {}, `${pres.length} presences on ${cams.length} cameras`)), svg,
    h('h2', {class: 'mt'}, 'Evidence', h('small', {}, 'the best frame of each presence: is it the same person?')), strip),
    h('div', {class: 'panel mt'}, h('table', {id: 'presences'},
      h('tr', {}, h('th', {}, 'Camera'), h('th', {}, 'Entered'), h('th', {}, 'Left'), h('th', {}, 'Seconds')), rows)));
}

// A track's evidence crop (GET /v1/evidence/{camera}/{track}.jpg); a grey
// placeholder when there is none.
function crop(camera, track, alt) {
  const img = h('img', {class: 'crop', loading: 'lazy', alt, src: `/v1/evidence/${camera}/${track}.jpg`});
  img.addEventListener('error', () => img.replaceWith(h('div', {class: 'crop none'}, 'no crop')));
  return img;
}

// "dwell_s 2.4" -> "dwell 2.4 s", an ISO time -> its clock time.
function detail(k, v) {
  const name = k.replace(/_s$/, '').replace(/_/g, ' ');
  if (typeof v === 'number') return k.endsWith('_s') ? `${name} ${fmt(v, 1)} s` : `${name} ${Number.isInteger(v) ? v : fmt(v, 1)}`;
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return `${name} ${hhmmss(Date.parse(v))}`;
  return `${name} ${typeof v === 'object' ? JSON.stringify(v) : v}`;
}

async function pageAlerts(root) {
  const kind = h('select', {id: 'f-kind'}, h('option', {value: ''}, 'every kind'),
    ['loitering', 'crowding', 'restricted_entry'].map((k) => h('option', {value: k}, k.replace('_', ' '))));
  const camera = h('select', {id: 'f-camera'}, h('option', {value: ''}, 'every camera'), state.cameras.map((c) => h('option', {value: c.id}, c.name)));
  const zone = h('select', {id: 'f-zone'}, h('option', {value: ''}, 'every zone'),
    [...new Set(state.cameras.flatMap((c) => c.zones || []))].map((z) => h('option', {value: z}, z)));
  const live = h('span', {class: 'live', id: 'live'}, 'connecting');
  const feed = h('div', {class: 'feed', id: 'feed'});
  const count = h('small', {id: 'alert-count'});
  root.append(h('div', {class: 'panel'}, h('h2', {}, 'Alerts', count),
    h('div', {class: 'toolbar'}, h('label', {}, 'Kind', kind), h('label', {}, 'Camera', camera), h('label', {}, 'Zone', zone), h('div', {class: 'grow'}), live), feed));
  const events = [];
  const visible = (e) => (!kind.value || e.kind === kind.value) && (!camera.value || String(e.camera) === camera.value) && (!zone.value || e.zone === zone.value);
  const row = (e, fresh) => h('div', {class: `alert${fresh ? ' fresh' : ''}`, 'data-id': e.id, 'data-kind': e.kind, 'data-camera': e.camera, 'data-zone': e.zone || ''},
    e.track !== null && e.track !== undefined ? crop(e.camera, e.track, `track ${e.track}`) : h('div', {class: 'crop none', title: 'an event of the zone, not of one person: no crop'}, 'zone'),
    h('div', {}, h('span', {class: `tag kind-${e.kind}`}, e.kind.replace('_', ' '))),
    h('div', {}, h('b', {}, `${cameraName(e.camera)}${e.zone ? ' · ' + e.zone : ''}`), ' ',
      e.person !== null && e.person !== undefined ? h('a', {href: `#/people/${e.person}`}, `person #${e.person}`) : '',
      h('div', {class: 'muted'}, Object.entries(e.detail || {}).map(([k, v]) => detail(k, v)).join(' · '))),
    h('div', {class: 'when'}, `${e.time.slice(0, 10)} ${hhmmss(Date.parse(e.time))}`, h('br'), `#${e.id}`));
  const render = () => {
    const shown = events.filter(visible);
    count.textContent = `${shown.length} of ${events.length}`;
    feed.replaceChildren(...(shown.length ? shown.slice(0, 300).map((e) => row(e, e.fresh)) : [h('div', {class: 'empty'}, 'No alerts match.')]));
  };
  [kind, camera, zone].forEach((s) => s.addEventListener('change', render));
  // The newest page of history, then the live stream after it.
  const first = await api('/v1/events', {limit: 1});
  const hist = await api('/v1/events', {limit: 200, offset: Math.max(0, first.total - 200)});
  events.push(...hist.events.reverse());
  render();
  // EventSource reconnects a dropped stream by itself, but gives up on a
  // refused one (503 while every stream slot of the gateway is taken):
  // then a new one, after the 5 s the gateway's Retry-After asks for, from
  // the newest event shown, while this page is still the one open.
  const connect = (since) => {
    const es = new EventSource(`/v1/alerts/stream?since_id=${since}`);
    state.source = es;
    es.onopen = () => { live.className = 'live on'; live.textContent = 'live'; };
    es.onerror = () => {
      live.className = 'live'; live.textContent = 'reconnecting';
      if (es.readyState !== EventSource.CLOSED) return;
      setTimeout(() => { if (state.source === es) connect(Math.max(since, events.length ? events[0].id : 0)); }, 5000);
    };
    es.addEventListener('alert', (m) => {
      const e = JSON.parse(m.data);
      if (events.some((x) => x.id === e.id)) return;
      e.fresh = true;
      events.unshift(e);
      render();
    });
  };
  connect(hist.newest_id);
}

// --- shell ---------------------------------------------------------------------

const pages = {cameras: ['Cameras', pageCameras], camera: ['Camera', pageCamera], flows: ['Flows', pageFlows], people: ['People', pagePeople], alerts: ['Alerts', pageAlerts]};

function stopPage() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  if (state.source) { state.source.close(); state.source = null; }
}

async function route() {
  stopPage();
  const [path, query] = (location.hash.slice(1) || '/cameras').split('?');
  const [, name, arg] = path.split('/');
  const [title, render] = pages[name] || pages.cameras;
  const params = new URLSearchParams(query || '');
  const nav = name === 'camera' ? 'cameras' : name;
  document.querySelectorAll('.side a[data-page]').forEach((a) => a.classList.toggle('active', a.dataset.page === (pages[nav] ? nav : 'cameras')));
  $('#title').textContent = title;
  document.title = `${title} · Weaver`;
  const root = $('#page');
  root.replaceChildren();
  root.dataset.ready = 'false';
  try {
    if (params.get('day') && params.get('day') !== state.day) await pickDay(params.get('day'));
    await render(root, arg);
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin('Your session ended: sign in again.');
    root.append(h('div', {class: 'panel error', id: 'page-error'}, String(e.message || e)));
  }
  root.dataset.ready = 'true';
}

function showLogin(message) {
  stopPage();
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#token').focus();
}

async function start() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#who').textContent = state.session.name || 'no auth';
  state.cameras = (await api('/v1/cameras', {limit: 10000})).cameras;
  await pickDay(state.day);
  await route();
}

async function boot() {
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const res = await fetch('/login', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({token: $('#token').value})});
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { $('#login-error').textContent = body.error || `HTTP ${res.status}`; return; }
    $('#token').value = '';
    state.session = body;
    start().catch((e) => showLogin(String(e.message || e)));
  });
  $('#logout').addEventListener('click', async () => {
    await fetch('/logout', {method: 'POST', credentials: 'same-origin'});
    state.session = null;
    showLogin('Signed out.');
  });
  $('#day').addEventListener('change', async () => {
    if (!$('#day').value) return;
    await pickDay($('#day').value);
    route();
  });
  window.addEventListener('hashchange', () => { if (state.session) route(); });
  const res = await fetch('/session', {credentials: 'same-origin'});
  if (!res.ok) return showLogin();
  state.session = await res.json();
  start().catch((e) => (e instanceof Unauthorized ? showLogin() : showLogin(String(e.message || e))));
}

boot();
