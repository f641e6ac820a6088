// The dashboard: one FailoverClient to all tiers, so the page outlives the tier it was
// loaded from. Renders the endpoint table, the live rover, the e-stop control and a
// timeline of failovers, gaps and recoveries. `window.dashboard` is for tests.
//
// Status document v2: a row is an endpoint; replicas of a tier share its `name`, so
// rows, track colours and texts are keyed by the endpoint (URL, `endpoint` id) and show
// the tier's name with the endpoint id when the two differ.

import { FailoverClient, httpOrigin, label, reachableUrl } from './failover.js';
import { Track, endpointColor } from './dashboard-track.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const TOPICS = [
  ['/gps/fix', 'sensor_msgs/msg/NavSatFix'], ['/battery_state', 'sensor_msgs/msg/BatteryState'],
  ['/emergency_stop', 'std_msgs/msg/Bool'], ['/rover/state', 'std_msgs/msg/String'],
  ['/mission/state', 'std_msgs/msg/String'], ['/odom', 'nav_msgs/msg/Odometry'],
];

const client = new FailoverClient({ token: params.get('token') || '' });
const track = new Track($('track'));
const stats = new Map(TOPICS.map(([t]) => [t, { count: 0, last: 0, tier: '', times: [],
  streams: new Map(), duplicates: 0, holes: 0 }]));
const timeline = [];
const sessions = new Map(); // url -> heartbeat session
const restartsSeen = new Map(); // url -> sessions changed while watched
let lastChange = null;
let lastTimelineEntry = null;
const pageLoadedAt = Date.now();

// ---- names and formatting ------------------------------------------------------------

/** The tier info of a URL or of a label as the client's events carry it (endpoint id,
 * else tier name, else URL). */
function infoOf(key) {
  if (!key) return null;
  const { tiers } = client.machine;
  if (tiers.has(key)) return tiers.get(key);
  const all = [...tiers.values()];
  return all.find((t) => label(t) === key) || all.find((t) => t.endpoint === key) || null;
}

/** The tier's name (shared by its replicas). */
function nameOf(key) {
  if (!key) return '';
  const t = infoOf(key);
  if (t?.name) return t.name;
  const beat = client.lastHeartbeat.get(key);
  if (beat?.tier) return beat.tier;
  return key;
}

/** The endpoint id (unique), else the tier's name. */
function endpointOf(key) {
  return infoOf(key)?.endpoint || nameOf(key);
}

/** How the page names an endpoint: the tier, with the endpoint id when it differs. */
function whoOf(key) {
  const name = nameOf(key);
  const endpoint = endpointOf(key);
  return endpoint && endpoint !== name ? `${name} (${endpoint})` : name;
}

const colorOf = (key) => endpointColor(endpointOf(key), nameOf(key));
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
const pill = (text, kind) => `<span class="pill ${kind}">${esc(text)}</span>`;

// ---- timeline ------------------------------------------------------------------------

function addEvent(kind, text, { tier = '', duration = '', at = Date.now() } = {}) {
  const twin = timeline.find((x) => x.kind === kind && x.text === text && Math.abs(x.at - at) < 2000);
  if (twin && kind !== 'failover' && kind !== 'failback') return twin;
  const entry = { kind, text, tier, duration, at };
  timeline.unshift(entry);
  if (timeline.length > 200) timeline.pop();
  renderTimeline();
  return entry;
}

function renderTimeline() {
  timeline.sort((a, b) => b.at - a.at);
  $('timeline').innerHTML = timeline.map((e) => `<li data-kind="${e.kind}">
    <time>${clock(e.at)}</time><span class="kind k-${e.kind}">${esc(e.kind.replace('coord_', '').replace('_', ' '))}</span>
    <span class="text">${esc(e.textFn ? e.textFn() : e.text)}</span>${e.duration ? `<span class="dur">${esc(e.duration)}</span>` : ''}</li>`).join('');
}

client.on('tier_changed', (d) => {
  const current = whoOf(d.url);
  const previous = d.previous ? whoOf(d.previous) : null;
  lastChange = { ...d, current, previous, at: Date.now() };
  let text;
  let kind = 'failover';
  const { url } = d;
  if (!previous) { text = `connected to ${current}`; kind = 'connected'; }
  else if (d.reason === 'failback') { text = `${previous} → ${current}: failback after hold-down`; kind = 'failback'; }
  else { // the reason starts with the lost endpoint's label, already named here
    const why = d.reason.startsWith(`${d.previous} `) ? d.reason.slice(d.previous.length + 1) : d.reason;
    text = `${previous} → ${current}: ${why}`;
  }
  const duration = d.switchMs === null ? '' : `switch ${d.switchMs} ms`;
  lastTimelineEntry = addEvent(kind, text, { tier: current, duration });
  if (kind === 'connected') lastTimelineEntry.textFn = () => `connected to ${whoOf(url)}`;
});
client.on('delivery_resumed', (d) => {
  if (!lastTimelineEntry || d.gapMs === null || lastTimelineEntry.kind === 'connected') return;
  const parts = [lastTimelineEntry.duration, `telemetry gap ${d.gapMs} ms`].filter(Boolean);
  lastTimelineEntry.duration = parts.join(' · ');
  lastTimelineEntry.gapMs = d.gapMs;
  renderTimeline();
});
client.on('gap', (d) => addEvent('gap', `${d.topic}: ${d.reason} (${fmtPos(d.last)} → ${fmtPos(d.next)}) on ${whoOf(d.tier)}`));
client.on('scope_degraded', (d) => addEvent('scope_degraded', `${d.topic} not served by ${whoOf(d.tier)}`));
client.on('scope_restored', (d) => addEvent('scope_restored', `${d.topic} back on ${whoOf(d.tier)}`));
client.on('all_down', (d) => addEvent('all_down', `no tier answers; retry ${d.attempt} in ${Math.round(d.retryIn * 1000)} ms`));
client.on('publish_dropped', (d) => { $('estop-note').textContent = `not sent: ${d.reason}`; });
client.on('refused', (d) => { if (String(d.id).includes('emergency_stop')) $('estop-note').textContent = `refused: ${d.msg}`; });
const fmtPos = (p) => (p ? `${String(p[0]).slice(0, 8)}#${p[1]}` : '?');

// coordinator events (status document) join the timeline once each: restarts,
// recoveries, health changes to DOWN or UP, endpoints joining and leaving, from this
// page's load on (an event's `tier` is the endpoint id)
const seenCoordinatorEvents = new Map(); // tier|kind|detail -> wall time
const NOTABLE = /-> (DOWN|UP)\b/;
client.on('directory', (dir) => {
  for (const e of dir.status?.events || []) {
    if (e.at * 1000 < pageLoadedAt - 2000) continue;
    if (e.kind === 'health' ? !NOTABLE.test(e.detail) : e.kind === 'recovery_started') continue;
    const key = `${e.tier}|${e.kind}|${e.detail}`;
    if (Math.abs((seenCoordinatorEvents.get(key) ?? -1e9) - e.at) < 2) continue; // same event, rounded
    seenCoordinatorEvents.set(key, e.at);
    const down = e.kind === 'health' && /-> DOWN/.test(e.detail);
    const kind = e.kind === 'health' ? (down ? 'tier_down' : 'tier_up') : e.kind;
    const who = infoOf(e.tier) ? whoOf(e.tier) : e.tier; // an endpoint that left is no longer listed
    addEvent(kind, `coordinator: ${who} ${e.detail}`, { at: e.at * 1000,
      duration: e.duration_s == null ? '' : `${Math.round(e.duration_s * 1000)} ms` });
  }
});

// ---- telemetry -----------------------------------------------------------------------

function seen(topic, meta) {
  const s = stats.get(topic);
  const now = performance.now();
  s.count += 1; s.last = now; s.tier = whoOf(meta.tier);
  if (meta.epoch != null) { // the page's own check of the client: never twice, never a hole
    const prev = s.streams.get(meta.epoch);
    if (prev !== undefined && meta.seq <= prev) s.duplicates += 1;
    else if (prev !== undefined && meta.seq > prev + 1) s.holes += 1;
    s.streams.set(meta.epoch, Math.max(prev ?? meta.seq, meta.seq));
  }
  s.times.push(now);
  while (s.times.length && now - s.times[0] > 5000) s.times.shift();
}

const handlers = {
  '/gps/fix': (m, meta) => {
    track.addFix(m, whoOf(meta.tier), colorOf(meta.tier));
    $('position').textContent = `${m.latitude.toFixed(6)}, ${m.longitude.toFixed(6)} · alt ${Number(m.altitude || 0).toFixed(0)} m`;
  },
  '/battery_state': (m) => {
    const pct = m.percentage <= 1 ? m.percentage * 100 : m.percentage;
    $('battery').textContent = `${pct.toFixed(1)} %`;
    $('battery-sub').textContent = `${Number(m.voltage).toFixed(2)} V · ${Number(m.current).toFixed(1)} A`;
  },
  '/emergency_stop': (m) => {
    $('estop-state').textContent = m.data ? 'ENGAGED' : 'clear';
    $('estop-tile').dataset.engaged = m.data ? 'true' : 'false';
  },
  '/rover/state': (m) => {
    const s = JSON.parse(m.data);
    $('rover-mode').textContent = s.mode ?? '–';
    $('rover-sub').textContent = `${s.nav_status ?? ''} · ${Number(s.speed ?? 0).toFixed(2)} m/s`;
  },
  '/mission/state': (m) => {
    const s = JSON.parse(m.data);
    $('mission').textContent = s.done ? 'done' : `leg ${s.leg + 1}/${s.legs}`;
    $('mission-sub').textContent = `${Math.round((s.progress || 0) * 100)} % of leg · ${s.running ? 'running' : 'paused'}`;
  },
  '/odom': () => {},
};

for (const [topic, type] of TOPICS) {
  client.subscribe(topic, type, (msg, meta) => {
    seen(topic, meta);
    try { handlers[topic](msg, meta); } catch (err) { console.warn(topic, err); }
  });
}

// ---- tables --------------------------------------------------------------------------

const portOf = (url) => { try { return new URL(url).port; } catch { return null; } };

/** The status row of the endpoint this page reaches at `url`: the row with that URL (a
 * loopback one as this page reaches it), else the only row on that port. */
function statusRowOf(url, rows) {
  const exact = rows.find((t) => t.url === url || reachableUrl(t.url, location.hostname) === url);
  if (exact) return exact;
  const samePort = rows.filter((t) => portOf(t.url) === portOf(url));
  return samePort.length === 1 ? samePort[0] : undefined;
}

function endpointRows() {
  const dir = client.directory;
  const roles = client.machine.roles();
  // with a status document, its endpoints (a replica that left is gone) and this page's
  // connections; without one, every tier the client knows
  const known = dir.source === 'status' ? Object.keys(roles) : [...client.machine.tiers.keys()];
  const urls = [...new Set([...dir.tiers.map((t) => t.url), ...known])];
  const statusRows = dir.status?.tiers || [];
  return urls.map((url) => {
    const info = client.machine.tiers.get(url) || { priority: 99 };
    const st = statusRowOf(url, statusRows);
    const probe = dir.probes.get(url);
    const beat = client.lastHeartbeat.get(url);
    const h = probe?.health;
    const name = st?.name || nameOf(url);
    const endpoint = st?.endpoint || info.endpoint || name;
    return {
      url, name, endpoint, host: st?.host || '', color: endpointColor(endpoint, name),
      priority: st?.priority ?? h?.priority ?? info.priority,
      role: roles[url] || '',
      health: st ? st.health : h ? (h.state === 'active' ? 'UP' : 'DOWN')
        : probe ? (probe.tier.health === 'DOWN' ? 'DOWN' : 'reachable') : '?',
      lifecycle: st?.lifecycle ?? h?.state ?? '',
      clients: st ? `${st.clients}/${st.capacity}` : h ? `${h.clients}/${h.capacity}` : '',
      probe: st?.probe_latency_ms != null ? `${st.probe_latency_ms.toFixed(1)} ms`
        : probe?.latencyMs != null ? `${probe.latencyMs.toFixed(0)} ms` : '–',
      restarts: st ? st.restarts : (restartsSeen.get(url) || 0),
      beat: beat ? `${Math.max(0, Date.now() - beat.receivedAt)} ms` : '–',
    };
  }).sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name)
    || a.endpoint.localeCompare(b.endpoint) || a.url.localeCompare(b.url));
}

const HEALTH_KIND = { UP: 'ok', reachable: 'ok', UNKNOWN: 'warn', SUSPECT: 'warn', DOWN: 'bad', '?': 'muted' };
const ROLE_KIND = { active: 'active', standby: 'standby', candidate: 'warn', pending: 'warn' };

function renderEndpoints() {
  const rows = endpointRows();
  const hosts = new Set(rows.map((r) => r.host).filter(Boolean)); // shown when there are several
  $('endpoints').tBodies[0].innerHTML = rows.map((r) => `<tr data-tier="${esc(r.name)}" data-endpoint="${esc(r.endpoint)}" data-role="${r.role}">
    <td><div class="who"><span class="swatch" style="background:${r.color}"></span><b>${esc(r.name)}</b>${r.endpoint !== r.name
    ? ` <span class="ep">${esc(r.endpoint)}</span>` : ''}</div><div class="url">${esc(r.url)}${hosts.size > 1 && r.host ? ` · ${esc(r.host)}` : ''}</div></td>
    <td>${r.role ? pill(r.role, ROLE_KIND[r.role] || 'muted') : '<span class="muted">–</span>'}</td>
    <td>${pill(r.health, HEALTH_KIND[r.health] || 'muted')}</td><td>${esc(r.lifecycle || '–')}</td>
    <td class="r">${esc(r.clients || '–')}</td><td class="r">${esc(r.probe)}</td>
    <td class="r">${esc(r.restarts)}</td><td class="r">${esc(r.beat)}</td></tr>`).join('');
  const dir = client.directory;
  $('dir-source').textContent = dir.source === 'status' ? `coordinator status (${dir.via})`
    : dir.source === 'health' ? "no coordinator status: each tier's /health, probes, heartbeats" : '';
}

function renderTopics() {
  const degraded = new Set(client.machine.traffic.degraded);
  const now = performance.now();
  $('topics').tBodies[0].innerHTML = TOPICS.map(([t]) => {
    const s = stats.get(t);
    const rate = s.times.length > 1 ? (s.times.length - 1) / ((s.times.at(-1) - s.times[0]) / 1000) : 0;
    const age = s.count ? now - s.last : null;
    const state = degraded.has(t) ? pill('not served here', 'bad')
      : age === null ? pill('waiting', 'muted') : age > 3000 ? pill('stale', 'warn') : pill('live', 'ok');
    return `<tr data-topic="${t}"><td><code>${t}</code></td><td>${esc(s.tier || '–')}</td>
      <td class="r" data-count="${s.count}">${s.count}</td><td class="r">${rate ? `${rate.toFixed(1)} Hz` : '–'}</td>
      <td class="r">${age === null ? '–' : `${(age / 1000).toFixed(1)} s`}</td><td>${state}</td></tr>`;
  }).join('');
}

function renderLink() {
  const tier = client.active ? nameOf(client.active) : '';
  const el = $('active-tier');
  const link = $('link');
  el.dataset.tier = tier;
  el.dataset.endpoint = client.active ? endpointOf(client.active) : '';
  link.dataset.state = !tier ? 'down' : httpOrigin(client.active) === location.origin ? 'home' : 'away';
  link.style.setProperty('--tier', tier ? colorOf(client.active) : '#94a3b8');
  el.textContent = tier ? `Live via ${whoOf(client.active)}` : 'No tier connected';
  const why = !lastChange ? 'reading the directory'
    : lastChange.reason === 'start' ? 'best-ranked tier at start'
      : lastChange.reason === 'failback' ? `failed back to ${lastChange.current} after it stayed healthy for the hold-down`
        : `${lastChange.previous} was lost (${lastChange.reason.replace(/^\S+ /, '')}) at ${clock(lastChange.at)}`;
  $('active-why').textContent = why;
  $('track-source').textContent = tier ? `· track coloured by the delivering endpoint` : '';
  const onTrack = new Map(track.points.map((p) => [p.tier, p.color]));
  $('track-legend').innerHTML = [...onTrack].map(([t, color]) => `<span><i style="background:${color}"></i>${esc(t)}</span>`).join('');
}

function watchSessions() {
  for (const [url, beat] of client.lastHeartbeat) {
    const old = sessions.get(url);
    if (old && beat.session && old !== beat.session) {
      restartsSeen.set(url, (restartsSeen.get(url) || 0) + 1);
      addEvent('recovered', `${whoOf(url)} is back (new session ${String(beat.session).slice(0, 8)})`);
    }
    if (beat.session) sessions.set(url, beat.session);
  }
}

// ---- e-stop --------------------------------------------------------------------------

let token = params.get('token') || '';
$('token').value = token;
function updateEstop() {
  token = $('token').value.trim();
  $('estop').disabled = !token;
  $('estop').title = token ? 'publish std_msgs/msg/Bool true on /emergency_stop' : 'needs a token';
  for (const b of document.querySelectorAll('.cmd')) b.disabled = !token;
}
function authOnce() {
  if (token && token !== (params.get('token') || '') && token !== authedWith) {
    client.authenticate(token);
    authedWith = token;
  }
}
let authedWith = '';
for (const b of document.querySelectorAll('.cmd')) {
  b.addEventListener('click', () => {
    authOnce();
    client.publish('/mission/command', 'std_msgs/msg/String', { data: b.dataset.command });
    $('estop-note').textContent = `${b.dataset.command} sent via ${whoOf(client.active) || 'no tier'}`;
  });
}
$('token').addEventListener('input', updateEstop);
$('estop-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!token) return;
  authOnce();
  client.publish('/emergency_stop', 'std_msgs/msg/Bool', { data: true });
  $('estop-note').textContent = `e-stop sent via ${whoOf(client.active) || 'no tier'} at ${clock(Date.now())}`;
  addEvent('estop', `e-stop sent via ${whoOf(client.active) || 'no tier'}`);
});
updateEstop();

// ---- start ---------------------------------------------------------------------------

fetch('/health', { cache: 'no-store' }).then((r) => r.json()).then((h) => {
  $('page-origin').textContent = `page served by ${h.tier} (${location.host}); data follows the best tier`;
}).catch(() => { $('page-origin').textContent = `page served by ${location.host}`; });

setInterval(() => {
  watchSessions(); renderEndpoints(); renderTopics(); renderLink();
  if (timeline.some((e) => e.textFn)) renderTimeline();
}, 250);
client.start();
window.dashboard = { client, stats, timeline, track };
