// The sans-IO failover machine, a line-by-line mirror of core/failover.py:
// `handle(event, now) -> commands` and `nextDeadline()`. Times are seconds (monotonic).
//
// Events:   {type: 'start', urls, directoryWaitS} | {type: 'directory', tiers} | {type: 'opened', url}
//           | {type: 'closed', url, code, reason} | {type: 'frame', url, data}
//           | {type: 'tick'} | {type: 'subscribe', topic, msgType, throttle_rate,
//           queue_length} | {type: 'unsubscribe', topic} | {type: 'publish', topic,
//           msgType, msg} | {type: 'call', service, args, id}
//           | {type: 'send_goal', id, action, actionType, goal, goalId} | {type: 'cancel_goal', id}
// Commands: {type: 'open', url} | {type: 'close', url, code, reason} | {type: 'send',
//           url, frame} | {type: 'deliver', topic, msg, tier, epoch, seq}
//           | {type: 'notify', kind, detail} | {type: 'respond', id, result, values}
//           | {type: 'goal_feedback', ...} | {type: 'goal_result', ...} (failover-goals.js)
//
// After every event (a routine frame aside: see routine()) the machine reconciles: one
// ACTIVE endpoint carrying the app's topics, a warm STANDBY (the best eligible endpoint
// of the active one's class or worse: a sibling replica first, then a lower tier;
// heartbeat only), and a failback CANDIDATE of a strictly better class (`classKey`;
// never a sibling that is merely less loaded)
// that must stay healthy for `failbackHoldS`, then catches up (make-before-break) before
// it takes over. A failed endpoint waits its own jittered backoff; only when every one
// failed does the machine report all_down and wait.
//
// Replicas share out new connections: `start` may ask the machine to wait up to
// `directoryWaitS` for a directory before it opens anything, and ties between replicas
// are broken by this client's own random `seed` (failover-policy.js `tiebreaker`).

import {
  backoffDelay, bootstrapTiers, classKey, compareKeys, label, rank, tiebreaker, tierInfo,
} from './failover-policy.js';
import {
  ACTIVE, ALL_DOWN, CANDIDATE, Conn, PENDING, SET_LEVEL, STANDBY, TIER_CHANGED, Traffic,
  heartbeatFrame, notify, send,
} from './failover-traffic.js';
import { Goals } from './failover-goals.js';

export const HANG_CODE = 4000;
export const HEARTBEAT_TOPIC = '/websocket_redundancy/heartbeat';

/** Settings as in core.failover_types.FailoverSettings (browser defaults: a heartbeat
 * timeout of 5 missed beats at 10 Hz, as browser timers are coarser than a reactor's). */
export function failoverSettings(overrides = {}) {
  const s = {
    heartbeatTimeoutS: 0.5, connectTimeoutS: 1.0, failbackHoldS: 2.0, catchupTimeoutS: 2.0,
    backoffBaseS: 0.1, backoffCapS: 5.0, warmStandby: true, hotStandby: false,
    heartbeatTopic: HEARTBEAT_TOPIC, ...overrides,
  };
  const problems = [];
  for (const [key, value] of Object.entries(s)) {
    if (key.endsWith('S') && !(typeof value === 'number' && value > 0)) {
      problems.push(`failover ${key} must be a positive number of seconds, got ${value}`);
    }
  }
  if (s.hotStandby && !s.warmStandby) problems.push('failover hotStandby needs warmStandby');
  if (s.backoffCapS < s.backoffBaseS) problems.push('failover backoffCapS must be at least backoffBaseS');
  if (problems.length) throw new RangeError(problems.join('; '));
  return Object.freeze(s);
}

export class FailoverMachine {
  /** `jitter()` returns a number in [0, 1]; `seed` (default: random) draws this
   * client's tie-breaker between replicas. */
  constructor(settings = failoverSettings(), jitter = Math.random, seed = null) {
    this.settings = settings;
    this.jitter = jitter;
    this.tiebreak = tiebreaker(seed ?? Math.random());
    this.waitUntil = null; // for the first directory
    this.tiers = new Map(); // url -> tier info
    this.upSince = new Map();
    this.conns = new Map(); // url -> Conn
    this.active = null;
    this.lastLabel = null;
    this.switchReason = 'start';
    this.traffic = new Traffic((conn) => this.tier(conn));
    this.goals = new Goals((conn) => this.tier(conn)); // action goals, re-attached after a failover
    this.fails = new Map();
    this.failedUntil = new Map();
    this.cycle = 0;
    this.retryAt = null;
    this.started = false;
    this.now = 0;
    this.due = null; // nextDeadline() after the last reconciliation
  }

  /** Every connection's URL and role. */
  roles() {
    return Object.fromEntries([...this.conns].map(([url, c]) => [url, c.role]));
  }

  handle(event, now) {
    this.now = now;
    const handler = HANDLERS[event.type];
    if (!handler) throw new TypeError(`FailoverMachine cannot handle event type ${event.type}.`);
    const out = handler.call(this, event);
    if (this.routine(event, now)) return out;
    const all = out.concat(this.reconcile(now));
    this.due = this.nextDeadline();
    return all;
  }

  // A frame from the active tier, while no failback is under way and before anything is
  // due (the deadline after the last reconciliation: a frame only moves deadlines later),
  // changes nothing the reconciliation looks at: it is skipped, as in core/failover.py.
  routine(event, now) {
    if (event.type !== 'frame' || (this.due !== null && now >= this.due)) return false;
    const conn = this.conns.get(event.url);
    return conn !== undefined && conn.role === ACTIVE && !this.hasRole(CANDIDATE);
  }

  nextDeadline() {
    if (!this.started) return null;
    const s = this.settings;
    const times = [];
    for (const conn of this.conns.values()) {
      if (!conn.isOpen) {
        times.push(conn.started + s.connectTimeoutS);
        continue;
      }
      times.push(conn.lastSeen + s.heartbeatTimeoutS);
      if (conn.role === CANDIDATE) {
        if (conn.syncingSince !== null) times.push(conn.syncingSince + s.catchupTimeoutS);
        else {
          const start = this.holdStart(conn);
          if (start !== null) times.push(start + s.failbackHoldS);
        }
      }
    }
    if (this.waitUntil !== null) times.push(this.waitUntil);
    if (this.retryAt !== null) times.push(this.retryAt);
    else times.push(...[...this.failedUntil.values()].filter((u) => u > this.now));
    return times.length ? Math.min(...times) : null;
  }

  // ---- events ----------------------------------------------------------------------

  onStart(ev) {
    const urls = typeof ev.urls === 'string' ? [ev.urls] : [...ev.urls];
    if (!urls.length) throw new RangeError('start needs at least one tier URL, e.g. ws://host:8080.');
    for (const info of bootstrapTiers(urls)) if (!this.tiers.has(info.url)) this.tiers.set(info.url, info);
    this.started = true;
    const waitS = ev.directoryWaitS ?? 0;
    if (!(typeof waitS === 'number' && waitS >= 0)) {
      throw new RangeError(`start directoryWaitS must be a number of seconds >= 0, got ${waitS}.`);
    }
    if (waitS > 0) this.waitUntil = this.now + waitS;
    return [];
  }

  onDirectory(ev) {
    this.waitUntil = null;
    for (const info of ev.tiers) {
      this.tiers.set(info.url, info);
      if (info.health === 'UP') {
        if (!this.upSince.has(info.url)) this.upSince.set(info.url, this.now);
      } else this.upSince.delete(info.url);
    }
    return [];
  }

  onOpened(ev) {
    const conn = this.conns.get(ev.url);
    if (!conn || conn.isOpen) return [];
    conn.isOpen = true;
    conn.openedAt = conn.lastSeen = conn.probationFrom = this.now;
    const out = [send(ev.url, { ...SET_LEVEL }), send(ev.url, heartbeatFrame(this.settings.heartbeatTopic))];
    if (conn.role === STANDBY && this.settings.hotStandby) out.push(...this.traffic.subscribeAll(conn));
    return out;
  }

  onClosed(ev) {
    const conn = this.conns.get(ev.url);
    if (!conn) return [];
    this.conns.delete(ev.url);
    return this.lost(conn, `closed ${ev.code}${ev.reason ? ` (${ev.reason})` : ''}`);
  }

  onFrame(ev) {
    const conn = this.conns.get(ev.url);
    if (!conn || !conn.isOpen) return [];
    conn.lastSeen = this.now;
    const { op } = ev.data;
    if (typeof op === 'string' && op.startsWith('action_')) return this.goals.frame(conn, ev.data);
    return this.traffic.frame(conn, ev.data);
  }

  onSubscribe(ev) {
    const carriers = [...this.conns.values()].filter((c) => this.carriesApp(c));
    const sub = { topic: ev.topic, type: ev.msgType, throttle_rate: ev.throttle_rate || 0,
      queue_length: ev.queue_length || 0 };
    return this.traffic.subscribe(sub, carriers, this.activeConn());
  }

  onUnsubscribe(ev) { return this.traffic.unsubscribe(ev.topic, this.conns.values()); }

  onPublish(ev) {
    return this.traffic.publish({ topic: ev.topic, type: ev.msgType, msg: ev.msg }, this.activeConn());
  }

  onCall(ev) { return this.traffic.call(ev, this.activeConn()); }

  onSendGoal(ev) { return this.goals.send(ev, this.activeConn()); }

  onCancelGoal(ev) { return this.goals.cancel(ev); }

  // ---- reconciliation --------------------------------------------------------------

  reconcile(now) {
    const out = this.expire(now);
    if (!this.started) return out;
    if (this.retryAt !== null) {
      if (now < this.retryAt) return out;
      this.retryAt = null;
      this.failedUntil.clear();
    }
    if (this.waitUntil !== null) {
      if (now < this.waitUntil && this.active === null && !this.conns.size) {
        return out; // a directory is on its way: spread by load, not bootstrap order
      }
      this.waitUntil = null;
    }
    const subs = [...this.traffic.subs.keys()];
    const ranked = rank(this.tiers.values(), subs, this.tiebreak).map((i) => i.url);
    if (this.active === null) out.push(...this.chooseActive(ranked));
    if (this.active === null) return out;
    const here = ranked.indexOf(this.active);
    const mine = classKey(this.tiers.get(this.active), subs);
    const better = ranked.slice(0, here)
      .filter((u) => compareKeys(classKey(this.tiers.get(u), subs), mine) < 0);
    if (!this.hasRole(CANDIDATE)) {
      for (const url of better) {
        const conn = this.conns.get(url);
        if (conn && conn.role === STANDBY) {
          conn.role = CANDIDATE; // the ranking moved it above the active tier
          conn.probationFrom = now;
          break;
        }
        if (!conn && this.eligible(url)) {
          out.push(...this.open(url, CANDIDATE));
          break;
        }
      }
    }
    if (this.settings.warmStandby) out.push(...this.keepStandby(ranked, better, subs));
    for (const conn of [...this.conns.values()]) {
      if (conn.isOpen && now - conn.openedAt >= this.settings.failbackHoldS) this.fails.delete(conn.url);
      if (conn.role === CANDIDATE && conn.isOpen) out.push(...this.advanceCandidate(conn, now));
    }
    return out.concat(this.goals.attach(this.activeConn()));
  }

  /** The warm standby is the next endpoint of the active one's class or worse (a sibling
   * replica first), else any left over; a standby of a worse class than an eligible one
   * ranked ahead of it (a sibling back from a failure) is replaced by it. */
  keepStandby(ranked, better, subs) {
    const rest = ranked.filter((u) => u !== this.active && !better.includes(u));
    let url = this.firstEligible(rest);
    const standby = [...this.conns.values()].find((c) => c.role === STANDBY) ?? null;
    if (standby === null) {
      url = url ?? this.firstEligible(better);
      return url !== null ? this.open(url, STANDBY) : [];
    }
    if (url === null || !this.tiers.has(standby.url)
        || ranked.indexOf(url) > ranked.indexOf(standby.url)
        || compareKeys(classKey(this.tiers.get(url), subs),
          classKey(this.tiers.get(standby.url), subs)) >= 0) return [];
    return [...this.close(standby, 1000, 'a better standby is back'), ...this.open(url, STANDBY)];
  }

  chooseActive(ranked) {
    for (const url of ranked) {
      const conn = this.conns.get(url);
      if (conn && conn.isOpen) return this.activate(conn, this.switchReason);
    }
    if (this.conns.size) return []; // something is opening; the first to open becomes active
    const url = this.firstEligible(ranked);
    if (url !== null) return this.open(url, PENDING);
    const delay = backoffDelay(this.cycle, this.jitter(), this.settings.backoffBaseS, this.settings.backoffCapS);
    this.cycle += 1;
    this.retryAt = this.now + delay;
    return [notify(ALL_DOWN, { attempt: this.cycle, retryIn: delay })];
  }

  activate(conn, reason) {
    conn.role = ACTIVE;
    conn.syncingSince = null;
    this.active = conn.url;
    this.cycle = 0;
    const current = this.label(conn);
    const out = [notify(TIER_CHANGED, { previous: this.lastLabel, current, reason, url: conn.url })];
    this.lastLabel = current;
    out.push(...this.traffic.subscribeAll(conn), ...this.traffic.rescope(conn));
    return out;
  }

  advanceCandidate(conn, now) {
    const s = this.settings;
    const start = this.holdStart(conn);
    if (conn.syncingSince === null) {
      if (start === null || now < start + s.failbackHoldS) return [];
      conn.syncingSince = now;
      return this.traffic.subscribeAll(conn);
    }
    if (start === null) { // the directory no longer calls it UP: back to probation
      conn.syncingSince = null;
      return this.traffic.dropAppTopics(conn);
    }
    if (this.traffic.caughtUp(conn) || now >= conn.syncingSince + s.catchupTimeoutS) {
      return this.failBack(conn);
    }
    return [];
  }

  failBack(conn) {
    const old = this.conns.get(this.active);
    const standby = [...this.conns.values()].find((c) => c.role === STANDBY) ?? null;
    const out = this.activate(conn, 'failback');
    let keep = old;
    let drop = standby;
    if (standby && this.better(standby, old)) [keep, drop] = [standby, old];
    for (const gone of this.settings.warmStandby ? [drop] : [drop, keep]) {
      if (gone) out.push(...this.close(gone, 1000, 'no longer needed'));
    }
    if (this.settings.warmStandby) {
      keep.role = STANDBY;
      if (!this.settings.hotStandby) out.push(...this.traffic.dropAppTopics(keep));
    }
    return out;
  }

  expire(now) {
    const s = this.settings;
    const out = [];
    for (const conn of [...this.conns.values()]) {
      if (!conn.isOpen && now >= conn.started + s.connectTimeoutS) {
        out.push(...this.close(conn, HANG_CODE, 'connect timeout', true));
      } else if (conn.isOpen && now >= conn.lastSeen + s.heartbeatTimeoutS) {
        out.push(...this.close(conn, HANG_CODE, 'heartbeat timeout', true));
      }
    }
    return out;
  }

  // ---- helpers ---------------------------------------------------------------------

  close(conn, code, reason, failed = false) {
    this.conns.delete(conn.url);
    const out = [{ type: 'close', url: conn.url, code, reason }];
    if (failed) return out.concat(this.lost(conn, reason));
    this.goals.lost(conn);
    return out.concat(this.traffic.failCalls(conn));
  }

  lost(conn, reason) {
    const fails = this.fails.get(conn.url) || 0;
    this.fails.set(conn.url, fails + 1);
    this.failedUntil.set(conn.url, this.now + backoffDelay(fails, this.jitter(),
      this.settings.backoffBaseS, this.settings.backoffCapS));
    if (conn.url === this.active) {
      this.active = null;
      this.switchReason = `${this.label(conn)} ${reason}`;
    }
    this.goals.lost(conn);
    return this.traffic.failCalls(conn);
  }

  open(url, role) {
    this.conns.set(url, new Conn(url, role, this.now));
    return [{ type: 'open', url }];
  }

  carriesApp(conn) {
    return conn.isOpen && (conn.role === ACTIVE
      || (conn.role === CANDIDATE && conn.syncingSince !== null)
      || (conn.role === STANDBY && this.settings.hotStandby));
  }

  activeConn() { return this.active ? this.conns.get(this.active) ?? null : null; }

  holdStart(conn) {
    const { health } = this.tier(conn);
    const start = conn.probationFrom;
    if (health === 'UNKNOWN' || start === null) return start;
    if (health !== 'UP') return null;
    return Math.max(start, this.upSince.get(conn.url) ?? start);
  }

  better(a, b) {
    return rank([this.tier(a), this.tier(b)], this.traffic.subs.keys(), this.tiebreak)[0].url === a.url;
  }

  hasRole(role) { return [...this.conns.values()].some((c) => c.role === role); }

  eligible(url) {
    return !this.conns.has(url) && this.now >= (this.failedUntil.get(url) ?? this.now);
  }

  firstEligible(urls) { return urls.find((u) => this.eligible(u)) ?? null; }

  tier(conn) { return this.tiers.get(conn.url) || tierInfo({ url: conn.url }); }

  label(conn) { return label(this.tier(conn)); }
}

const P = FailoverMachine.prototype;
const HANDLERS = {
  start: P.onStart, directory: P.onDirectory, opened: P.onOpened, closed: P.onClosed,
  frame: P.onFrame, tick: () => [], subscribe: P.onSubscribe, unsubscribe: P.onUnsubscribe,
  publish: P.onPublish, call: P.onCall, send_goal: P.onSendGoal, cancel_goal: P.onCancelGoal,
};
