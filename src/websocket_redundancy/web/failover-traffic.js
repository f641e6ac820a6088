// One connection of the failover client and the application's traffic over the
// connections (mirrors core/failover_conn.py and core/failover_traffic.py). Commands are
// plain objects: {type: 'send' | 'deliver' | 'notify' | 'respond', ...}.

import { DeliveryFilter } from './failover-dedup.js';
import { label, scopeAllows } from './failover-policy.js';

export const PENDING = 'pending';
export const ACTIVE = 'active';
export const STANDBY = 'standby';
export const CANDIDATE = 'candidate';
export const MAX_STREAMS = 32;
export const OUT_OF_SCOPE = 'out of scope';
export const SET_LEVEL = Object.freeze({ op: 'set_level', level: 'error' });

export const TIER_CHANGED = 'tier_changed';
export const GAP = 'gap';
export const SCOPE_DEGRADED = 'scope_degraded';
export const SCOPE_RESTORED = 'scope_restored';
export const ALL_DOWN = 'all_down';
export const PUBLISH_DROPPED = 'publish_dropped';

export const send = (url, frame) => ({ type: 'send', url, frame });
export const notify = (kind, detail) => ({ type: 'notify', kind, detail });
export const respond = (id, result, values) => ({ type: 'respond', id, result, values });

/** What the machine knows about one connection it asked the shell to open. */
export class Conn {
  constructor(url, role, now) {
    this.url = url;
    this.role = role;
    this.isOpen = false;
    this.started = now;
    this.openedAt = null;
    this.lastSeen = now;
    this.topics = new Set(); // app topics subscribed on this connection
    this.pos = new Map(); // topic -> Map(epoch -> newest seq seen here)
    this.refused = new Set(); // topics the tier refused at run time
    this.advertised = new Set();
    this.syncingSince = null; // make-before-break in progress
    this.probationFrom = null; // failback hold-down counts from here
  }

  serves(tier, topic) {
    return !this.refused.has(topic) && scopeAllows(tier.subscribe, topic);
  }

  /** When this connection has seen, for every topic it carries, what was delivered. */
  caughtUp(delivered) {
    for (const topic of this.topics) {
      const done = delivered.get(topic);
      if (!done) continue;
      const seen = this.pos.get(topic)?.get(done[0]);
      if (seen === undefined || seen < done[1]) return false;
    }
    return true;
  }

  saw(topic, epoch, seq) {
    let streams = this.pos.get(topic);
    if (!streams) {
      streams = new Map();
      this.pos.set(topic, streams);
    }
    const last = streams.get(epoch);
    if (last === undefined || seq > last) {
      streams.delete(epoch);
      streams.set(epoch, seq);
      while (streams.size > MAX_STREAMS) streams.delete(streams.keys().next().value);
    }
  }
}

export const subId = (topic) => `subscribe:${topic}`;

/**
 * A `subscribe` that asks for the resume key (`epoch`, `seq`) on every frame (the tier
 * sends standard rosbridge frames otherwise), with `resume` from the last delivered
 * sample and every stream's seq.
 */
export function subscribeFrame(sub, resume, streams) {
  const frame = { op: 'subscribe', topic: sub.topic, type: sub.type, id: subId(sub.topic),
    throttle_rate: sub.throttle_rate || 0, queue_length: sub.queue_length || 0,
    resume_keys: true };
  if (resume) {
    const all = { ...(streams || {}), [resume[0]]: resume[1] };
    frame.resume = { epoch: resume[0], seq: resume[1], streams: all };
  }
  return frame;
}

export const unsubscribeFrame = (topic) => ({ op: 'unsubscribe', topic, id: subId(topic) });

export const heartbeatFrame = (topic) => subscribeFrame({ topic, type: 'std_msgs/msg/String' }, null);

export function position(value) {
  if (value && typeof value.epoch === 'string' && Number.isInteger(value.seq)) {
    return [value.epoch, value.seq];
  }
  return null;
}

/** Subscriptions, delivery and scope bookkeeping; `tierOf(conn)` gives its tier info. */
export class Traffic {
  constructor(tierOf) {
    this.subs = new Map(); // topic -> {topic, type, throttle_rate, queue_length}
    this.filter = new DeliveryFilter();
    this.degraded = new Set();
    this.calls = new Map(); // call id -> url
    this.tierOf = tierOf;
  }

  label(conn) { return label(this.tierOf(conn)); }

  subscribe(sub, carriers, active) {
    if (this.subs.has(sub.topic)) return [];
    this.subs.set(sub.topic, sub);
    const out = carriers.filter((c) => c.serves(this.tierOf(c), sub.topic))
      .map((c) => this.subscribeOne(c, sub));
    if (active && !active.serves(this.tierOf(active), sub.topic)) {
      this.degraded.add(sub.topic);
      out.push(notify(SCOPE_DEGRADED, { topic: sub.topic, tier: this.label(active) }));
    }
    return out;
  }

  unsubscribe(topic, conns) {
    if (!this.subs.delete(topic)) return [];
    const out = [];
    for (const conn of conns) {
      if (conn.topics.has(topic)) {
        conn.topics.delete(topic);
        conn.pos.delete(topic);
        out.push(send(conn.url, unsubscribeFrame(topic)));
      }
    }
    this.filter.forget(topic);
    this.degraded.delete(topic);
    return out;
  }

  publish(req, active) {
    if (!active) return [notify(PUBLISH_DROPPED, { topic: req.topic, reason: 'no tier is connected' })];
    const tier = this.tierOf(active);
    if (!scopeAllows(tier.publish, req.topic)) {
      return [notify(PUBLISH_DROPPED, { topic: req.topic,
        reason: `outside ${label(tier)}'s publish scope` })];
    }
    const out = [];
    if (!active.advertised.has(req.topic)) {
      active.advertised.add(req.topic);
      out.push(send(active.url, { op: 'advertise', topic: req.topic, type: req.type,
        id: `advertise:${req.topic}` }));
    }
    out.push(send(active.url, { op: 'publish', topic: req.topic, msg: req.msg }));
    return out;
  }

  call(req, active) {
    if (!active) return [respond(req.id, false, 'no tier is connected')];
    this.calls.set(req.id, active.url);
    return [send(active.url, { op: 'call_service', service: req.service, args: req.args,
      id: req.id })];
  }

  frame(conn, data) {
    const { op } = data;
    if (op === 'publish') return this.onPublish(conn, data);
    if (op === 'resume_gap') return this.onResumeGap(conn, data);
    if (op === 'status' && data.level === 'error') {
      const topic = [...conn.topics].find((x) => subId(x) === data.id);
      return topic === undefined ? [] : this.refusedTopic(conn, topic);
    }
    if (op === 'service_response' && this.calls.get(data.id) === conn.url) {
      this.calls.delete(data.id);
      return [respond(data.id, data.result === undefined ? true : Boolean(data.result), data.values)];
    }
    return [];
  }

  onPublish(conn, data) {
    const { topic, epoch, seq } = data;
    if (!conn.topics.has(topic) || !this.subs.has(topic)) return [];
    const tier = this.label(conn);
    if (typeof epoch !== 'string' || !Number.isInteger(seq)) {
      if (conn.role !== ACTIVE) return []; // without (epoch, seq) only the active tier is trusted
      return [{ type: 'deliver', topic, msg: data.msg, tier, epoch: null, seq: null }];
    }
    conn.saw(topic, epoch, seq);
    const [ok, hole] = this.filter.offer(topic, epoch, seq);
    const out = [];
    if (hole) out.push(notify(GAP, { ...hole, tier }));
    if (ok) out.push({ type: 'deliver', topic, msg: data.msg, tier, epoch, seq });
    return out;
  }

  onResumeGap(conn, data) {
    const { topic } = data;
    if (!conn.topics.has(topic)) return [];
    if (data.reason === OUT_OF_SCOPE) return this.refusedTopic(conn, topic);
    if (conn.role !== ACTIVE) return []; // another tier is still delivering
    const available = position(data.available);
    this.filter.excuse(topic, available);
    return [notify(GAP, { topic, reason: String(data.reason), last: position(data.requested),
      next: available, tier: this.label(conn) })];
  }

  refusedTopic(conn, topic) {
    conn.refused.add(topic);
    conn.topics.delete(topic);
    if (conn.role !== ACTIVE || this.degraded.has(topic)) return [];
    this.degraded.add(topic);
    return [notify(SCOPE_DEGRADED, { topic, tier: this.label(conn) })];
  }

  subscribeAll(conn) {
    const tier = this.tierOf(conn);
    return [...this.subs.values()]
      .filter((sub) => !conn.topics.has(sub.topic) && conn.serves(tier, sub.topic))
      .map((sub) => this.subscribeOne(conn, sub));
  }

  subscribeOne(conn, sub) {
    const resume = this.filter.position(sub.topic);
    const streams = this.filter.positions(sub.topic);
    conn.topics.add(sub.topic);
    conn.pos.set(sub.topic, new Map(Object.entries(streams)));
    return send(conn.url, subscribeFrame(sub, resume, streams));
  }

  dropAppTopics(conn) {
    const out = [...conn.topics].sort().map((topic) => send(conn.url, unsubscribeFrame(topic)));
    conn.topics.clear();
    conn.pos.clear();
    return out;
  }

  /** When `conn` becomes active: topics it cannot serve, and ones it serves again. */
  rescope(conn) {
    const tier = this.tierOf(conn);
    const out = [];
    for (const topic of this.subs.keys()) {
      const served = conn.serves(tier, topic);
      if (!served && !this.degraded.has(topic)) {
        this.degraded.add(topic);
        out.push(notify(SCOPE_DEGRADED, { topic, tier: label(tier) }));
      } else if (served && this.degraded.has(topic)) {
        this.degraded.delete(topic);
        out.push(notify(SCOPE_RESTORED, { topic, tier: label(tier) }));
      }
    }
    return out;
  }

  caughtUp(conn) {
    const delivered = new Map([...conn.topics].map((t) => [t, this.filter.position(t)]));
    return conn.caughtUp(delivered);
  }

  failCalls(conn) {
    const ids = [...this.calls].filter(([, url]) => url === conn.url).map(([id]) => id);
    ids.forEach((id) => this.calls.delete(id));
    return ids.map((id) => respond(id, false, `${this.label(conn)} closed`));
  }
}
