// FailoverClient: the browser shell around the sans-IO FailoverMachine (an ES module, no
// build step). It opens WebSockets, arms one timer at the machine's next deadline, reads
// the directory (GET /status, else each tier's GET /health) and hands everything to the
// machine as events; the machine's commands are carried out here, in order.
//
// The directory is read at start (from the page's own tier when it is one of the
// bootstrap tiers, else from the bootstrap URLs in turn) and the machine opens nothing
// for up to `directoryWaitS` until it arrives, so that new pages spread over a tier's
// replicas by load instead of all taking the first URL (as net/client.py).
//
//   import { FailoverClient } from './failover.js';
//   const client = new FailoverClient({ token });   // tiers on the page's host
//   client.on('tier_changed', (d) => console.log(d.previous, '->', d.current, d.switchMs));
//   client.subscribe('/gps/fix', 'sensor_msgs/msg/NavSatFix', (fix) => draw(fix));
//   client.start();

import { FailoverMachine, HANG_CODE, failoverSettings } from './failover-machine.js';
import { defaultUrls, httpOrigin, label, reachableUrl, tierFromHealth, tierInfo,
  tiersFromStatus } from './failover-policy.js';

export { FailoverMachine, failoverSettings, HANG_CODE, HEARTBEAT_TOPIC } from './failover-machine.js';
export * from './failover-policy.js';
export { DeliveryFilter } from './failover-dedup.js';

const monotonic = () => performance.now() / 1000;
export const STATUS_SERVICE = '/websocket_redundancy/status';

/** The bootstrap list for this page: `?tiers=ws://a,ws://b` if given, else the tiers on
 * the page's host with ports from the page's own /health (its priority), else 4 ports
 * from the page's port up. */
export async function pageBootstrap(location = globalThis.location, fetchImpl = globalThis.fetch) {
  const given = new URLSearchParams(location.search).get('tiers');
  if (given) return given.split(',').map((s) => s.trim()).filter(Boolean);
  let priority = 0;
  try {
    const answer = await fetchImpl(`${location.origin}/health`, { cache: 'no-store' });
    priority = Number((await answer.json()).priority || 0);
  } catch { /* not a tier, or it is going down: assume it is the first */ }
  return defaultUrls(location, { priority });
}

export class FailoverClient {
  /**
   * @param {object} o
   * @param {string[]} [o.urls] bootstrap tier URLs, most preferred first
   * @param {string} [o.token] role token, sent as `?token=` (needed to publish)
   * @param {object} [o.settings] overrides of failoverSettings()
   * @param {number} [o.directoryIntervalS=1] how often to read the directory
   * @param {number} [o.directoryWaitS=1] how long to wait at start for the first
   *   directory before opening anything (0: open the first bootstrap URL at once)
   * @param {number} [o.seed] this client's tie-breaker seed between replicas (random)
   * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers] where timers are
   *   armed (the page's own by default; tests pass a fake one and advance it)
   */
  constructor({ urls = null, token = '', settings = {}, directoryIntervalS = 1,
    directoryWaitS = 1, seed = null,
    WebSocketImpl = globalThis.WebSocket, fetchImpl = globalThis.fetch?.bind(globalThis),
    clock = monotonic, jitter = Math.random, pageHost = globalThis.location?.hostname,
    pageOrigin = globalThis.location?.origin, timers = globalThis } = {}) {
    this.machine = new FailoverMachine(failoverSettings(settings), jitter, seed);
    this.urls = urls;
    this.token = token;
    this.directoryIntervalS = directoryIntervalS;
    this.directoryWaitS = directoryIntervalS > 0 ? directoryWaitS : 0;
    this.pageOrigin = pageOrigin;
    this.boot = 0; // the bootstrap URL asked for the directory while none is active
    this.WebSocketImpl = WebSocketImpl;
    this.fetchImpl = fetchImpl;
    this.clock = clock;
    this.setTimer = (fn, ms) => timers.setTimeout(fn, ms);
    this.clearTimer = (handle) => timers.clearTimeout(handle);
    this.pageHost = pageHost;
    this.sockets = new Map(); // url -> WebSocket
    this.listeners = new Map(); // event -> Set(fn)
    this.callbacks = new Map(); // topic -> Set(fn)
    this.pendingCalls = new Map(); // id -> {resolve}
    this.goalCallbacks = new Map(); // goal id -> {onFeedback, onResult}
    this.nextCall = 1;
    this.timer = null;
    this.dirTimer = null;
    this.closed = false;
    this.lastFrameAt = new Map(); // url -> seconds
    this.lastHeartbeat = new Map(); // url -> heartbeat JSON
    this.directory = { source: 'bootstrap', tiers: [], status: null, probes: new Map() };
    this.lostAt = null; // when the active tier was lost
    this.lostFrom = null;
    this.awaitingFirst = null; // {at, lastDelivery} after a switch, until data flows again
    this.lastDeliveryAt = null;
    this.authMac = null;
  }

  // ---- events for the application --------------------------------------------------

  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return this;
  }

  off(event, fn) { this.listeners.get(event)?.delete(fn); return this; }

  emit(event, detail) {
    for (const fn of [...(this.listeners.get(event) || [])]) {
      try { fn(detail); } catch (err) { console.error(`FailoverClient ${event} listener:`, err); }
    }
  }

  // ---- application API -------------------------------------------------------------

  async start() {
    if (!this.urls) this.urls = await pageBootstrap();
    this.handle({ type: 'start', urls: this.urls, directoryWaitS: this.directoryWaitS });
    this.readDirectory();
    return this;
  }

  get active() { return this.machine.active; }

  get activeTier() {
    const url = this.machine.active;
    return url ? this.machine.tier({ url }) : null;
  }

  subscribe(topic, msgType, callback, { throttle_rate = 0, queue_length = 0 } = {}) {
    if (!this.callbacks.has(topic)) this.callbacks.set(topic, new Set());
    this.callbacks.get(topic).add(callback);
    this.handle({ type: 'subscribe', topic, msgType, throttle_rate, queue_length });
  }

  unsubscribe(topic, callback = null) {
    const set = this.callbacks.get(topic);
    if (set && callback) set.delete(callback);
    if (!set || !callback || set.size === 0) {
      this.callbacks.delete(topic);
      this.handle({ type: 'unsubscribe', topic });
    }
  }

  publish(topic, msgType, msg) { this.handle({ type: 'publish', topic, msgType, msg }); }

  /** Resolves to {result, values}; result is false when no tier could answer. */
  callService(service, args = {}) {
    const id = `call:${service}:${this.nextCall++}`;
    return new Promise((resolve) => {
      this.pendingCalls.set(id, resolve);
      this.handle({ type: 'call', service, args, id });
    });
  }

  /** Send an action goal through the active tier; returns its id (for cancelGoal).
   * `onFeedback(values, meta)` gets each feedback sample at most once, in order, also
   * after a failover (the goal is re-attached on the new tier; samples it no longer had
   * are reported as a `goal_gap` event); `onResult({ok, status, values, tier})` is
   * called exactly once. */
  sendGoal(action, actionType, goal, onFeedback = null, onResult = null) {
    const bytes = new Uint8Array(16);
    globalThis.crypto.getRandomValues(bytes);
    const goalId = btoa(String.fromCharCode(...bytes));
    this.goalCallbacks.set(goalId, { onFeedback, onResult });
    this.handle({ type: 'send_goal', id: goalId, action, actionType, goal, goalId });
    return goalId;
  }

  /** Ask the action server to cancel goal `id`; its result says how it ended. */
  cancelGoal(id) { this.handle({ type: 'cancel_goal', id }); }

  /** Authenticate with the rosbridge `auth` op on every connection, now and later (the
   * alternative to a `token` in the URL). */
  authenticate(mac) {
    this.authMac = mac;
    for (const ws of this.sockets.values()) {
      if (ws.readyState === 1) ws.send(JSON.stringify({ op: 'auth', mac }));
    }
  }

  /** What a status display needs: the active URL, every connection's role, the
   * directory and the last heartbeat of each connection. */
  snapshot() {
    return { active: this.machine.active, activeTier: this.activeTier, roles: this.machine.roles(),
      tiers: [...this.machine.tiers.values()], directory: this.directory,
      heartbeats: Object.fromEntries(this.lastHeartbeat), degraded: [...this.machine.traffic.degraded] };
  }

  close() {
    this.closed = true;
    this.clearTimer(this.timer);
    this.clearTimer(this.dirTimer);
    for (const ws of this.sockets.values()) this.quietClose(ws, 1000, 'client closed');
    this.sockets.clear();
  }

  // ---- the machine -----------------------------------------------------------------

  handle(event) {
    if (this.closed) return;
    const now = this.clock();
    const before = this.machine.active;
    const commands = this.machine.handle(event, now);
    const lost = before !== null && ((event.type === 'closed' && event.url === before)
      || commands.some((c) => c.type === 'close' && c.url === before && c.code === HANG_CODE));
    if (lost && this.lostAt === null) {
      this.lostAt = now;
      this.lostFrom = before;
    }
    for (const command of commands) this.execute(command, now);
    this.arm();
  }

  execute(c, now) {
    switch (c.type) {
      case 'open': this.openSocket(c.url); break;
      case 'close': {
        const ws = this.sockets.get(c.url);
        this.sockets.delete(c.url);
        if (ws) this.quietClose(ws, c.code, c.reason);
        break;
      }
      case 'send': this.sockets.get(c.url)?.send(JSON.stringify(c.frame)); break;
      case 'deliver': this.deliver(c, now); break;
      case 'respond': {
        const resolve = this.pendingCalls.get(c.id);
        this.pendingCalls.delete(c.id);
        resolve?.({ result: c.result, values: c.values });
        break;
      }
      case 'notify': this.notify(c.kind, c.detail, now); break;
      case 'goal_feedback': {
        const fn = this.goalCallbacks.get(c.id)?.onFeedback;
        try { fn?.(c.values, c); } catch (err) { console.error('goal feedback callback:', err); }
        break;
      }
      case 'goal_result': {
        const fn = this.goalCallbacks.get(c.id)?.onResult;
        this.goalCallbacks.delete(c.id);
        try { fn?.(c); } catch (err) { console.error('goal result callback:', err); }
        break;
      }
      default: throw new TypeError(`unknown command ${c.type}`);
    }
  }

  notify(kind, detail, now) {
    if (kind === 'tier_changed') {
      const lost = this.lostAt;
      detail.switchMs = lost === null ? null : Math.round((now - lost) * 1000);
      detail.detectMs = lost === null || !this.lastFrameAt.has(this.lostFrom) ? null
        : Math.max(0, Math.round((lost - this.lastFrameAt.get(this.lostFrom)) * 1000));
      detail.at = Date.now();
      this.lostAt = null;
      this.awaitingFirst = { at: now, since: this.lastDeliveryAt, tier: detail.current };
      this.emit('connection', detail);
    } else if (kind === 'all_down') {
      detail.at = Date.now();
      this.emit('close', detail);
    } else if (detail) {
      detail.at = Date.now();
    }
    this.emit(kind, detail);
  }

  deliver(c, now) {
    this.lastDeliveryAt = now;
    if (this.awaitingFirst) {
      const { since, tier } = this.awaitingFirst;
      this.awaitingFirst = null;
      this.emit('delivery_resumed', { tier, topic: c.topic, at: Date.now(),
        gapMs: since === null ? null : Math.round((now - since) * 1000) });
    }
    for (const fn of [...(this.callbacks.get(c.topic) || [])]) {
      try { fn(c.msg, c); } catch (err) { console.error(`subscriber of ${c.topic}:`, err); }
    }
  }

  arm() {
    this.clearTimer(this.timer);
    const deadline = this.machine.nextDeadline();
    if (deadline === null || this.closed) return;
    const ms = Math.max(0, (deadline - this.clock()) * 1000) + 1;
    this.timer = this.setTimer(() => this.handle({ type: 'tick' }), ms);
  }

  // ---- sockets ---------------------------------------------------------------------

  openSocket(url) {
    const withToken = this.token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(this.token)}` : url;
    let ws;
    try {
      ws = new this.WebSocketImpl(withToken);
    } catch (err) {
      queueMicrotask(() => this.handle({ type: 'closed', url, code: 1006, reason: String(err) }));
      return;
    }
    this.sockets.set(url, ws);
    const mine = () => this.sockets.get(url) === ws;
    ws.onopen = () => {
      if (!mine()) return;
      if (this.authMac) ws.send(JSON.stringify({ op: 'auth', mac: this.authMac }));
      this.handle({ type: 'opened', url });
    };
    ws.onmessage = (m) => {
      if (!mine()) return;
      let data;
      try { data = JSON.parse(m.data); } catch { return; }
      this.lastFrameAt.set(url, this.clock());
      if (data.op === 'publish' && data.topic === this.machine.settings.heartbeatTopic) {
        this.onHeartbeat(url, data.msg);
      } else if (data.op === 'status' && data.level === 'error') {
        this.emit('refused', { url, id: data.id, msg: data.msg });
      }
      this.handle({ type: 'frame', url, data });
    };
    ws.onclose = (e) => {
      if (!mine()) return;
      this.sockets.delete(url);
      this.handle({ type: 'closed', url, code: e.code || 1006, reason: e.reason || '' });
    };
  }

  quietClose(ws, code, reason) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    const allowed = code === 1000 || (code >= 3000 && code < 5000);
    try { ws.close(allowed ? code : 1000, String(reason || '').slice(0, 100)); } catch { /* closed */ }
  }

  onHeartbeat(url, msg) {
    try {
      const beat = JSON.parse(msg?.data ?? '{}');
      this.lastHeartbeat.set(url, { ...beat, receivedAt: Date.now() });
    } catch { /* not JSON: still a sign of life */ }
  }

  // ---- the directory ---------------------------------------------------------------

  async readDirectory() {
    if (this.closed) return;
    try {
      const tiers = await this.fetchDirectory();
      if (tiers.length && !this.closed) this.handle({ type: 'directory', tiers });
      this.emit('directory', this.directory);
    } catch (err) {
      console.warn('failover directory:', err);
    }
    this.dirTimer = this.setTimer(() => this.readDirectory(), this.directoryIntervalS * 1000);
  }

  /** Where to ask for the status document: the active tier's origin; before there is
   * one, this page's origin when it is a bootstrap tier's (same origin: readable), else
   * the bootstrap URLs in turn. */
  directoryOrigin() {
    if (this.machine.active) return httpOrigin(this.machine.active);
    const urls = this.urls || [];
    const origins = urls.map((u) => { try { return httpOrigin(u); } catch { return null; } });
    if (this.pageOrigin && origins.includes(this.pageOrigin)) return this.pageOrigin;
    if (!urls.length) return this.pageOrigin || null;
    const origin = origins[this.boot % urls.length];
    this.boot += 1;
    return origin;
  }

  /** Tier infos from the status document: `GET /status` on the active tier's origin
   * when this page may read it, else (or when that fails) the
   * `/websocket_redundancy/status` service over the active connection; without a coordinator, from each tier's
   * `GET /health` (a tier whose answer cannot be read is probed for reachability). */
  async fetchDirectory() {
    const origin = this.directoryOrigin();
    // a page cannot read another origin's /status (the tiers send no CORS headers): it
    // asks the active tier over its WebSocket instead, without a failed request first
    const readable = origin && !(this.machine.active && this.pageOrigin && origin !== this.pageOrigin);
    const status = readable ? await this.getJson(`${origin}/status`) : null;
    let doc = status?.ok && Array.isArray(status.body?.tiers) ? status.body : null;
    let via = `GET ${origin}/status`;
    if (!doc && this.machine.active && status?.status !== 503) {
      doc = await this.statusOverWebSocket();
      via = `${STATUS_SERVICE} via ${this.activeTier ? label(this.activeTier) : this.machine.active}`;
    }
    if (doc) {
      const tiers = tiersFromStatus(doc).map((t) => tierInfo({ ...t, url: reachableUrl(t.url, this.pageHost) }));
      Object.assign(this.directory, { source: 'status', status: doc, tiers, via });
      return tiers;
    }
    const urls = [...new Set([...this.urls, ...this.machine.tiers.keys()])];
    const rows = await Promise.all(urls.map((url) => this.probeHealth(url)));
    // Without a coordinator, "UP" can only be said of every tier or of none: a tier
    // whose /health this page cannot read (another origin without CORS) must not rank
    // below one it can, so when some are unreadable, readable active tiers count as
    // UNKNOWN too and the configured priority decides.
    const partial = rows.some((r) => !r.readable && r.tier.health !== 'DOWN');
    const tiers = rows.map((r) => (partial && r.tier.health === 'UP'
      ? tierInfo({ ...r.tier, health: 'UNKNOWN' }) : r.tier));
    Object.assign(this.directory, { source: 'health', status: null, tiers, via: 'GET /health' });
    return tiers;
  }

  async probeHealth(url) {
    const origin = httpOrigin(url);
    let t0 = performance.now();
    const answer = await this.getJson(`${origin}/health`);
    const known = this.machine.tiers.get(url) || tierInfo({ url });
    let row;
    if (answer?.body && typeof answer.body.state === 'string') {
      row = { readable: true, tier: tierFromHealth(url, answer.body), health: answer.body };
    } else {
      t0 = performance.now();
      const reachable = answer !== null || await this.reachable(origin);
      row = { readable: false, health: null,
        tier: tierInfo({ ...known, health: reachable ? 'UNKNOWN' : 'DOWN',
          lifecycle: reachable ? known.lifecycle : 'unknown' }) };
    }
    const latencyMs = Math.round((performance.now() - t0) * 10) / 10;
    this.directory.probes.set(url, { ...row, latencyMs: row.tier.health === 'DOWN' ? null : latencyMs,
      at: Date.now() });
    return row;
  }

  async statusOverWebSocket(timeoutMs = 1000) {
    let timer;
    const expired = new Promise((resolve) => { timer = this.setTimer(() => resolve(null), timeoutMs); });
    const answer = await Promise.race([this.callService(STATUS_SERVICE, {}), expired]);
    this.clearTimer(timer);
    if (!answer?.result || !answer.values?.success) return null;
    try {
      const doc = JSON.parse(answer.values.message);
      return Array.isArray(doc?.tiers) ? doc : null;
    } catch {
      return null;
    }
  }

  async getJson(href) {
    try {
      const r = await this.fetchImpl(href, { cache: 'no-store' });
      return { ok: r.ok, status: r.status, body: await r.json().catch(() => null) };
    } catch {
      return null; // unreachable, or another origin without CORS
    }
  }

  async reachable(origin) {
    try {
      await this.fetchImpl(`${origin}/health`, { mode: 'no-cors', cache: 'no-store' });
      return true;
    } catch {
      return false;
    }
  }
}
