// kafka_zk dashboard: draws /api/cluster and /api/events, then follows /api/stream (server-sent events),
// so the picture changes without a reload. Plain JS and SVG, no libraries, nothing from a CDN.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { cluster: null, events: [], seen: new Set() };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function drawRing(c) {
  const ring = document.getElementById("ring");
  ring.replaceChildren();
  const n = c.brokers.length, cx = 160, cy = 160, r = n > 1 ? 105 : 0;
  ring.append(svg("circle", { cx, cy, r: 105, fill: "none", stroke: "#dde", "stroke-width": 2 }));
  c.brokers.forEach((b, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    const x = cx + r * Math.cos(a), y = cy + r * Math.sin(a);
    const classes = ["node", b.alive ? "up" : "down"];
    if (b.controller) classes.push("controller");
    const g = svg("g", { class: classes.join(" "), "data-broker-id": b.id, "data-controller": b.controller });
    g.append(svg("circle", { cx: x, cy: y, r: 26 }));
    const t = svg("text", { x, y }); t.textContent = b.id; g.append(t);
    const leaders = c.topics.flatMap(tp => tp.partitions).filter(p => p.leader === b.id).length;
    const label = svg("text", { x, y: y + 40, class: "label" });
    label.textContent = (b.controller ? "controller · " : "") + (b.alive ? `${leaders} leaders` : "down");
    g.append(label);
    ring.append(g);
  });
  const list = document.getElementById("brokers");
  list.replaceChildren(...c.brokers.map(b => {
    const eps = Object.entries(b.endpoints).map(([k, v]) => `${k} ${v}`).join(", ");
    const li = el("li", { class: b.alive ? "up" : "down", "data-broker-id": b.id },
      el("b", {}, `broker ${b.id}`), b.controller ? " (controller) " : " ", b.alive ? eps : "not registered");
    if (b.http) li.append(" ", el("a", { href: b.http }, "dashboard"));
    return li;
  }));
  document.getElementById("cluster-id").textContent = `cluster ${c.cluster_id} · served by broker ${c.served_by}`;
  document.getElementById("controller-summary").textContent =
    c.controller === null ? "no controller" : `controller ${c.controller} (epoch ${c.controller_epoch})`;
}

function replicaRow(p, rs, maxLeo) {
  const cls = ["replica", rs.role];
  if (!rs.alive) cls.push("dead"); else if (!rs.in_isr) cls.push("out");
  const row = el("div", { class: cls.join(" "), "data-replica": rs.broker });
  const leo = rs.log_end_offset, hw = rs.high_watermark;
  const bar = el("div", { class: "bar" });
  if (leo !== null) {
    bar.append(el("div", { class: "leo", style: `width:${(100 * leo) / maxLeo}%` }));
    bar.append(el("div", { class: "hw", style: `left:${(100 * hw) / maxLeo}%`, title: `HW ${hw}` }));
  }
  if (rs.role !== "leader" && rs.leo_seen_by_leader !== null && rs.leo_seen_by_leader !== undefined) {
    bar.append(el("div", { class: "seen", style: `left:${(100 * rs.leo_seen_by_leader) / maxLeo}%` }, "▲"));
  }
  const name = `${rs.role === "leader" ? "★ " : ""}broker ${rs.broker}`;
  const text = leo === null ? (rs.alive ? "unreachable" : "down")
    : `LEO ${leo} · HW ${hw}${rs.in_isr ? "" : " · not in ISR"}`;
  row.append(el("span", { class: "name" }, name), bar, el("span", { class: "nums" }, text));
  return row;
}

function drawPartitions(c) {
  const showInternal = document.getElementById("show-internal").checked;
  const root = document.getElementById("partitions");
  const topics = c.topics.filter(t => showInternal || !t.internal);
  if (!topics.length) { root.replaceChildren(el("p", { class: "small" }, "no topics")); return; }
  root.replaceChildren(...topics.map(t => {
    const div = el("div", { class: "topic", "data-topic": t.name }, el("h3", {}, t.name));
    for (const p of t.partitions) {
      const maxLeo = Math.max(1, ...p.replica_state.map(r => r.log_end_offset || 0));
      const pd = el("div", {
        class: "partition" + (p.leader < 0 ? " offline" : ""), "data-tp": `${t.name}-${p.partition}`,
        "data-leader": p.leader,
      });
      pd.append(el("div", { class: "head" }, el("b", {}, `${t.name}-${p.partition}`),
        ` leader ${p.leader < 0 ? "none" : p.leader} · epoch ${p.leader_epoch} · replicas [${p.replicas}]` +
        ` · ISR [${p.isr}]` + (p.high_watermark !== null ? ` · HW ${p.high_watermark}` : "")));
      for (const rs of p.replica_state) pd.append(replicaRow(p, rs, maxLeo));
      div.append(pd);
    }
    return div;
  }));
}

function drawGroups(groups) {
  const root = document.getElementById("groups");
  if (!groups || !groups.length) { root.replaceChildren(el("p", { class: "small" }, "no groups")); return; }
  const table = el("table", {}, el("tr", {}, ...["group", "state", "members", "partition", "committed",
    "end", "lag"].map(h => el("th", {}, h))));
  for (const g of groups) {
    const first = el("tr", { "data-group": g.group }, el("td", {}, el("b", {}, g.group)), el("td", {}, g.state),
      el("td", {}, g.members), el("td", {}, "total"), el("td", {}, ""), el("td", {}, ""),
      el("td", {}, el("b", {}, g.total_lag)));
    table.append(first);
    for (const p of g.partitions) {
      table.append(el("tr", {}, el("td", {}, ""), el("td", {}, ""), el("td", {}, ""),
        el("td", {}, `${p.topic}-${p.partition}`), el("td", {}, p.committed),
        el("td", {}, p.log_end_offset === null ? "?" : p.log_end_offset), el("td", {}, p.lag === null ? "?" : p.lag)));
    }
  }
  root.replaceChildren(table);
}

function describe(e) {
  const skip = new Set(["seq", "time_ms", "kind", "broker_id"]);
  return Object.entries(e).filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
}

function addEvents(events) {
  for (const e of events) {
    const key = `${e.broker_id}:${e.seq}:${e.time_ms}`;
    if (state.seen.has(key)) continue;
    state.seen.add(key);
    state.events.push(e);
  }
  state.events.sort((a, b) => a.time_ms - b.time_ms);
  state.events = state.events.slice(-300);
  drawEvents();
}

function drawEvents() {
  const showInternal = document.getElementById("show-internal").checked;
  const shown = state.events.filter(e => showInternal || !String(e.topic || "").startsWith("__"));
  const list = document.getElementById("events");
  list.replaceChildren(...shown.slice().reverse().map(e => {
    const bad = /offline|unclean|failed|shrink|resigned/.test(e.kind);
    const t = new Date(e.time_ms).toISOString().slice(11, 23);
    return el("li", { "data-kind": e.kind }, el("span", { class: "t" }, t), ` broker ${e.broker_id} `,
      el("span", { class: "k" + (bad ? " bad" : "") }, e.kind), " ", describe(e));
  }));
}

function drawCluster(c) {
  state.cluster = c;
  drawRing(c);
  drawPartitions(c);
  if (c.groups) drawGroups(c.groups);
  document.body.dataset.updated = String(c.time_ms);
}

function connect() {
  const conn = document.getElementById("conn");
  const es = new EventSource("/api/stream");
  es.addEventListener("open", () => { conn.textContent = "live"; conn.className = "conn-ok"; });
  es.addEventListener("cluster", m => drawCluster(JSON.parse(m.data)));
  es.addEventListener("events", m => addEvents(JSON.parse(m.data)));
  es.addEventListener("error", () => { conn.textContent = "reconnecting…"; conn.className = "conn-err"; });
}

document.getElementById("show-internal").addEventListener("change", () => {
  if (state.cluster) drawPartitions(state.cluster);
  drawEvents();
});
fetch("/api/cluster").then(r => r.json()).then(drawCluster).catch(() => {});
fetch("/api/groups").then(r => r.json()).then(drawGroups).catch(() => {});
fetch("/api/events").then(r => r.json()).then(addEvents).catch(() => {});
connect();
