// Small pure policies of the browser failover client, mirroring core/scope.py and
// core/ranking.py: scope globs, endpoint ranking (class, then a spread score with a
// per-client tie-breaker, so clients share out a tier's replicas), backoff with jitter,
// the directory (status document or /health answers) and the bootstrap URL list.

/** Glob scopes over ROS names: `*` within one segment, `**` any number of segments. */
const compiled = new Map();

function compile(pattern) {
  let re = compiled.get(pattern);
  if (re) return re;
  if (pattern === '**') {
    re = /^\/.*$/;
  } else {
    const parts = pattern.slice(1).split('/').map((segment) => (segment === '**'
      ? '(?:[^/]+(?:/[^/]+)*)'
      : segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')));
    re = new RegExp(`^/${parts.join('/')}$`);
  }
  compiled.set(pattern, re);
  return re;
}

/** When one of `patterns` (null: unknown, allows everything) covers `name`, true. */
export function scopeAllows(patterns, name) {
  if (patterns == null) return true;
  return patterns.some((p) => compile(p).test(name));
}

// SUSPECT ranks with UP: one witness's doubt (a late heartbeat on a busy host) is not a
// failure. The client leaves a tier on its own evidence or a DOWN verdict only, so a CPU
// spike does not move every page (a false failover). Same order as core/ranking.py.
export const HEALTH_ORDER = { UP: 0, SUSPECT: 0, UNKNOWN: 1, DOWN: 2 };

// Replicas within SPREAD_BAND of each other (2 % of capacity) are ordered by each
// client's own draw; probe latency counts only above a LAN noise floor, and
// LATENCY_FULL_MS above it weighs as much as a full endpoint. As in core/ranking.py.
export const SPREAD_BAND = 0.02;
export const LATENCY_FLOOR_MS = 10.0;
export const LATENCY_FULL_MS = 1000.0;

/** What the client knows about one endpoint (frozen, like core.ranking.TierInfo):
 * `endpoint` is its unique id from the directory ('' before it is known), `latencyMs`
 * the coordinator's probe latency (null: unknown). */
export function tierInfo({ url, name = '', priority = 0, health = 'UNKNOWN', clients = 0,
  capacity = 0, subscribe = null, publish = null, lifecycle = '', endpoint = '',
  latencyMs = null }) {
  return Object.freeze({ url, name, priority, health, clients, capacity, subscribe, publish,
    lifecycle, endpoint, latencyMs });
}

/** The endpoint id, else the tier's name, else its URL. */
export const label = (tier) => tier.endpoint || tier.name || tier.url;
export const load = (tier) => (tier.capacity > 0 ? tier.clients / tier.capacity : 0);
export const isFull = (tier) => tier.capacity > 0 && tier.clients >= tier.capacity;
export const coverage = (tier, topics) => topics.filter((t) => scopeAllows(tier.subscribe, t)).length;

/** Health, fullness, coverage, priority: what makes an endpoint *better*, not just less
 * busy (smaller is better). A client fails back only to a better class. */
export function classKey(tier, topics) {
  return [HEALTH_ORDER[tier.health] ?? HEALTH_ORDER.UNKNOWN, isFull(tier) ? 1 : 0,
    -coverage(tier, [...topics]), tier.priority];
}

/** Load plus probe latency above the floor (unknown latency counts as none). */
export function spreadScore(tier) {
  const latency = tier.latencyMs ?? 0;
  return load(tier) + Math.max(0, latency - LATENCY_FLOOR_MS) / LATENCY_FULL_MS;
}

/** The sort key: the class, then the spread score jittered by this client's `tiebreak`
 * in [0, 1) for `tier`, then name, endpoint, url (smaller first). */
export function rankKey(tier, topics, tiebreak = 0) {
  return [...classKey(tier, topics), spreadScore(tier) + SPREAD_BAND * tiebreak,
    tier.name, tier.endpoint, tier.url];
}

export function compareKeys(a, b) {
  for (let i = 0; i < a.length; i += 1) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** zlib.crc32 of the UTF-8 bytes of `text`. */
export function crc32(text) {
  let c = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Python's repr() of a float, so that a seed draws the same as in core/ranking.py. */
export function pyFloatRepr(x) {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs < 1e-4 || abs >= 1e16) {
    const [mantissa, exp] = x.toExponential().split('e');
    const n = Number(exp);
    return `${mantissa}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/** A client's stable random draw per endpoint URL, in [0, 1): the same client always
 * orders tied replicas the same way (no flapping), two clients most likely not. The
 * same numbers as core.ranking.tiebreaker for the same seed. */
export function tiebreaker(seed) {
  const salt = pyFloatRepr(Number(seed));
  return (tier) => crc32(salt + tier.url) / 2 ** 32;
}

/** The endpoints, best first, for an application subscribed to `topics`; `tiebreak`
 * (tier -> [0, 1)) is this client's draw, none: 0 for every endpoint. */
export function rank(tiers, topics, tiebreak = null) {
  const list = [...topics];
  const draw = tiebreak || (() => 0);
  return [...tiers].map((t) => [rankKey(t, list, draw(t)), t])
    .sort((a, b) => compareKeys(a[0], b[0])).map(([, t]) => t);
}

/** When only URLs are known, their order is their priority. */
export function bootstrapTiers(urls) {
  return urls.map((url, index) => tierInfo({ url, priority: index }));
}

/** Seconds before retry number `attempt` (0-based): exponential, capped, equal jitter. */
export function backoffDelay(attempt, jitter, baseS = 0.1, capS = 5.0) {
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`backoff jitter must be within [0, 1], got ${jitter}.`);
  }
  const step = Math.min(capS, baseS * 2 ** Math.min(attempt, 62));
  return step * (0.5 + 0.5 * jitter);
}

function latency(value) {
  return typeof value === 'number' && !Number.isNaN(value) ? value : null;
}

function patterns(where, value) {
  if (value == null) return null;
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string')) {
    throw new Error(`status document: ${where} must be a list of glob strings.`);
  }
  return Object.freeze([...value]);
}

/** The `tiers` of a status document (GET /status) as tier infos. */
export function tiersFromStatus(doc) {
  if (!doc || !Array.isArray(doc.tiers)) {
    throw new Error("status document has no 'tiers' list; is the URL a tier's /status?");
  }
  return doc.tiers.map((entry, index) => {
    const where = `tiers[${index}]`;
    if (!entry || typeof entry.url !== 'string') {
      throw new Error(`status document: ${where} needs a 'url' string.`);
    }
    const scope = entry.scope || {};
    return tierInfo({
      url: entry.url, name: String(entry.name || ''), priority: Number(entry.priority || 0),
      health: String(entry.health || 'UNKNOWN'), clients: Number(entry.clients || 0),
      capacity: Number(entry.capacity || 0), lifecycle: String(entry.lifecycle || ''),
      subscribe: patterns(`${where}.scope.subscribe`, scope.subscribe),
      publish: patterns(`${where}.scope.publish`, scope.publish),
      endpoint: String(entry.endpoint || ''), latencyMs: latency(entry.probe_latency_ms),
    });
  });
}

/** A tier's `GET /health` answer as a tier info (no coordinator: the tier speaks for
 * itself; health is UP when it says active, DOWN otherwise: a tier that is not active
 * does not serve). `url` is where we asked. */
export function tierFromHealth(url, health) {
  const scope = health.scope || {};
  return tierInfo({
    url, name: String(health.tier || ''), priority: Number(health.priority || 0),
    health: health.state === 'active' ? 'UP' : 'DOWN', clients: Number(health.clients || 0),
    capacity: Number(health.capacity || 0), lifecycle: String(health.state || ''),
    subscribe: patterns('health.scope.subscribe', scope.subscribe),
    publish: patterns('health.scope.publish', scope.publish),
    endpoint: String(health.endpoint || ''),
  });
}

export const DEFAULT_TIER_COUNT = 4;

/** The bootstrap list for a page at `location` (`{protocol, hostname, port}`): tiers on
 * the page's host, ports `base .. base + count - 1`, with `base` the page's port minus
 * its own tier's priority (from its /health) when known. */
export function defaultUrls(location, { priority = 0, count = DEFAULT_TIER_COUNT } = {}) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const pagePort = Number(location.port || (scheme === 'wss' ? 443 : 80));
  const base = pagePort - priority;
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return Array.from({ length: count }, (_, i) => `${scheme}://${host}:${base + i}`);
}

/** `ws://h:p` -> `http://h:p` (the same tier's HTTP side). */
export function httpOrigin(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.origin;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** A directory URL as this page can reach it: a loopback host in the directory means
 * "the tiers' host", which for a page loaded from `pageHost` is `pageHost`. */
export function reachableUrl(url, pageHost) {
  if (!pageHost) return url;
  const u = new URL(url);
  if (!LOOPBACK.test(u.hostname) || u.hostname === pageHost) return url;
  u.hostname = pageHost;
  return `${u.protocol}//${u.host}`;
}
