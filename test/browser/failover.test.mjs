// The browser failover machine, stepped with an injected clock (node --test, no sleeps).
// Scenarios mirror test/unit/test_failover.py so both clients behave the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { DeliveryFilter } from '../../src/websocket_redundancy/web/failover-dedup.js';
import { FailoverMachine, failoverSettings } from '../../src/websocket_redundancy/web/failover-machine.js';
import {
  backoffDelay, classKey, defaultUrls, label, rank, reachableUrl, scopeAllows, tiebreaker,
  tierFromHealth, tierInfo, tiersFromStatus,
} from '../../src/websocket_redundancy/web/failover-policy.js';
import { FailoverClient } from '../../src/websocket_redundancy/web/failover.js';

const P = 'ws://p'; const S = 'ws://s'; const T = 'ws://t';
const ODOM = '/odom'; const IMU = '/imu/data'; const GPS = '/gps/fix';
const HB = '/websocket_redundancy/heartbeat';
const TYPES = { [ODOM]: 'nav_msgs/msg/Odometry', [IMU]: 'sensor_msgs/msg/Imu', [GPS]: 'sensor_msgs/msg/NavSatFix' };
const SET_LEVEL = { op: 'set_level', level: 'error' };
const HB_SUB = { op: 'subscribe', topic: HB, type: 'std_msgs/msg/String', id: `subscribe:${HB}`, throttle_rate: 0, queue_length: 0, resume_keys: true };

const open = (url) => ({ type: 'open', url });
const closeConn = (url, code, reason) => ({ type: 'close', url, code, reason });
const send = (url, frame) => ({ type: 'send', url, frame });
const opened = (url) => [send(url, SET_LEVEL), send(url, HB_SUB)];
const changed = (previous, current, reason, url = current) => ({
  type: 'notify', kind: 'tier_changed', detail: { previous, current, reason, url } });
const deliver = (tier, topic, seq, epoch = 'e1') => ({ type: 'deliver', topic, msg: { n: seq }, tier, epoch, seq });
const notify = (kind, detail) => ({ type: 'notify', kind, detail });

function sub(topic, resume = null, streams = null) {
  const frame = { op: 'subscribe', topic, type: TYPES[topic], id: `subscribe:${topic}`, throttle_rate: 0, queue_length: 0, resume_keys: true };
  if (resume) frame.resume = { epoch: resume[0], seq: resume[1], streams: streams || { [resume[0]]: resume[1] } };
  return frame;
}
const unsub = (topic) => ({ op: 'unsubscribe', topic, id: `subscribe:${topic}` });
const hb = (url) => ({ type: 'frame', url, data: { op: 'publish', topic: HB, msg: { data: '{}' } } });
const pub = (url, topic, seq, epoch = 'e1') => ({ type: 'frame', url, data: { op: 'publish', topic, msg: { n: seq }, epoch, seq } });
const closed = (url, code, reason = '') => ({ type: 'closed', url, code, reason });
const tick = { type: 'tick' };

function machine(overrides = {}) {
  return new FailoverMachine(failoverSettings({ heartbeatTimeoutS: 0.3, ...overrides }), () => 1.0);
}

/** Active on P with warm standby S, the app subscribed to `topics` at t=0. */
function running(topics = [ODOM], overrides = {}) {
  const m = machine(overrides);
  for (const topic of topics) assert.deepEqual(m.handle({ type: 'subscribe', topic, msgType: TYPES[topic] }, 0), []);
  assert.deepEqual(m.handle({ type: 'start', urls: [P, S, T] }, 0), [open(P)]);
  assert.deepEqual(m.handle({ type: 'opened', url: P }, 0.01),
    [...opened(P), changed(null, P, 'start'), ...topics.map((x) => send(P, sub(x))), open(S)]);
  assert.deepEqual(m.handle({ type: 'opened', url: S }, 0.02), opened(S));
  return m;
}

const beat = (m, now, ...urls) => urls.flatMap((u) => m.handle(hb(u), now));

function idle(m, start, end, urls, step = 0.1) {
  const out = [];
  let now = start;
  while (now + step <= end + 1e-9) {
    now = Math.round((now + step) * 1e6) / 1e6;
    out.push(...beat(m, now, ...urls));
  }
  return out;
}

test('When the primary closes with 1006, the standby takes over at once with resume', () => {
  const m = running();
  assert.deepEqual(m.handle(pub(P, ODOM, 1), 0.05), [deliver(P, ODOM, 1)]);
  assert.deepEqual(m.handle(pub(P, ODOM, 2), 0.06), [deliver(P, ODOM, 2)]);
  assert.deepEqual(m.handle(closed(P, 1006), 0.1),
    [changed(P, S, 'ws://p closed 1006'), send(S, sub(ODOM, ['e1', 2])), open(T)]);
  assert.equal(m.active, S);
  const cmds = [2, 3, 4].flatMap((seq) => m.handle(pub(S, ODOM, seq), 0.11));
  assert.deepEqual(cmds, [deliver(S, ODOM, 3), deliver(S, ODOM, 4)]);
});

test('When the primary misses heartbeats, it is closed as hung exactly at the deadline', () => {
  const m = running();
  m.handle(pub(P, ODOM, 7), 0.1);
  beat(m, 0.2, P, S);
  beat(m, 0.45, S);
  assert.ok(Math.abs(m.nextDeadline() - 0.5) < 1e-9);
  assert.deepEqual(m.handle(tick, 0.49), []);
  assert.deepEqual(m.handle(tick, 0.5), [closeConn(P, 4000, 'heartbeat timeout'),
    changed(P, S, 'ws://p heartbeat timeout'), send(S, sub(ODOM, ['e1', 7])), open(T)]);
});

test('When the warm standby closes, the next-ranked tier becomes the standby', () => {
  const m = running();
  assert.deepEqual(m.handle(closed(S, 1006), 0.1), [open(T)]);
  assert.deepEqual(m.roles(), { [P]: 'active', [T]: 'standby' });
});

test('When a tier never answers the open, it is abandoned after the connect timeout', () => {
  const m = machine({ connectTimeoutS: 1.0 });
  assert.deepEqual(m.handle({ type: 'start', urls: [P, S] }, 0), [open(P)]);
  assert.equal(m.nextDeadline(), 1.0);
  assert.deepEqual(m.handle(tick, 1.0), [closeConn(P, 4000, 'connect timeout'), open(S)]);
});

test('When a tier is full (1013), the next is tried at once and the full one after its backoff', () => {
  const m = machine();
  m.handle({ type: 'start', urls: [P, S] }, 0);
  assert.deepEqual(m.handle(closed(P, 1013, 'full'), 0.01), [open(S)]);
  assert.deepEqual(m.handle({ type: 'opened', url: S }, 0.02), [...opened(S), changed(null, S, 'start')]);
  assert.ok(Math.abs(m.nextDeadline() - 0.11) < 1e-9);
  assert.deepEqual(beat(m, 0.1, S), []);
  assert.deepEqual(beat(m, 0.11, S), [open(P)]);
  assert.deepEqual(m.roles(), { [S]: 'active', [P]: 'candidate' });
});

test('When every tier failed, all_down is reported per full cycle with growing backoff', () => {
  const m = machine();
  assert.deepEqual(m.handle({ type: 'start', urls: [P, S] }, 0), [open(P)]);
  assert.deepEqual(m.handle(closed(P, 1006), 0), [open(S)]);
  assert.deepEqual(m.handle(closed(S, 1006), 0), [notify('all_down', { attempt: 1, retryIn: 0.1 })]);
  assert.equal(m.nextDeadline(), 0.1);
  assert.deepEqual(m.handle(tick, 0.05), []);
  assert.deepEqual(m.handle(tick, 0.1), [open(P)]);
  assert.deepEqual(m.handle(closed(P, 1006), 0.1), [open(S)]);
  assert.deepEqual(m.handle(closed(S, 1006), 0.1), [notify('all_down', { attempt: 2, retryIn: 0.2 })]);
});

test('When the primary returns and holds for the hold-down, failback is make-before-break', () => {
  const m = running([ODOM], { failbackHoldS: 2.0 });
  m.handle(pub(P, ODOM, 1), 0.09);
  m.handle(closed(P, 1006), 0.1);
  m.handle({ type: 'opened', url: T }, 0.1);
  m.handle(pub(S, ODOM, 2), 0.15);
  assert.deepEqual(beat(m, 0.2, S, T), [open(P)]);
  assert.deepEqual(m.handle({ type: 'opened', url: P }, 0.25), opened(P));
  assert.deepEqual(idle(m, 0.25, 2.15, [P, S, T]), []);
  assert.deepEqual(beat(m, 2.25, P), [send(P, sub(ODOM, ['e1', 2]))]);
  assert.deepEqual(m.handle(pub(S, ODOM, 3), 2.26), [deliver(S, ODOM, 3)]);
  assert.deepEqual(m.handle(pub(S, ODOM, 4), 2.27), [deliver(S, ODOM, 4)]);
  assert.deepEqual(m.handle(pub(P, ODOM, 3), 2.28), []);
  assert.deepEqual(m.handle(pub(P, ODOM, 4), 2.29), [changed(S, P, 'failback'),
    closeConn(T, 1000, 'no longer needed'), send(S, unsub(ODOM))]);
  assert.deepEqual(m.roles(), { [S]: 'standby', [P]: 'active' });
  assert.deepEqual(m.handle(pub(P, ODOM, 5), 2.3), [deliver(P, ODOM, 5)]);
});

test('When the primary flaps (up 1.5 s, then down), the client never fails back', () => {
  const m = running([ODOM], { failbackHoldS: 2.0 });
  m.handle(pub(P, ODOM, 1), 0.09);
  m.handle(closed(P, 1006), 0.1);
  m.handle({ type: 'opened', url: T }, 0.1);
  let now = 0.1; let up = false; let cameUp = 0; const changes = [];
  for (let i = 0; i < 200; i += 1) {
    now = Math.round((now + 0.05) * 100) / 100;
    const out = [...beat(m, now, S, T), ...(up ? beat(m, now, P) : [])];
    if (out.some((c) => c.type === 'open' && c.url === P)) {
      out.push(...m.handle({ type: 'opened', url: P }, now));
      up = true; cameUp = now;
    }
    if (up && now - cameUp >= 1.5) { out.push(...m.handle(closed(P, 1006), now)); up = false; }
    changes.push(...out.filter((c) => c.type === 'notify'));
  }
  assert.deepEqual(changes, []);
  assert.equal(m.active, S);
});

function scopedDirectory() {
  return { type: 'directory', tiers: [
    tierInfo({ url: P, name: 'primary', priority: 0, health: 'UP', subscribe: ['**'] }),
    tierInfo({ url: S, name: 'secondary', priority: 1, health: 'UP', subscribe: [ODOM, GPS] }),
    tierInfo({ url: T, name: 'tertiary', priority: 2, health: 'UP', subscribe: [GPS] }),
  ] };
}

test('When the new tier lacks a topic it is scope_degraded, and restored on failback', () => {
  const m = running([ODOM, IMU], { failbackHoldS: 1.0 });
  m.handle(scopedDirectory(), 0.03);
  m.handle(pub(P, ODOM, 1), 0.05);
  assert.deepEqual(m.handle(closed(P, 1006), 0.1), [
    changed(P, 'secondary', 'primary closed 1006', S), send(S, sub(ODOM, ['e1', 1])),
    notify('scope_degraded', { topic: IMU, tier: 'secondary' }), open(T)]);
  m.handle({ type: 'opened', url: T }, 0.1);
  assert.deepEqual(beat(m, 0.2, S, T), [open(P)]);
  m.handle({ type: 'opened', url: P }, 0.2);
  assert.deepEqual(idle(m, 0.2, 1.1, [P, S, T]), []);
  assert.deepEqual(beat(m, 1.2, P), [send(P, sub(ODOM, ['e1', 1])), send(P, sub(IMU))]);
  assert.deepEqual(beat(m, 1.25, P), [changed('secondary', 'primary', 'failback', P),
    notify('scope_restored', { topic: IMU, tier: 'primary' }),
    closeConn(T, 1000, 'no longer needed'), send(S, unsub(ODOM))]);
});

test('When the tier refuses a subscription with a status error, the topic is degraded', () => {
  const m = running();
  const refusal = { type: 'frame', url: P, data: { op: 'status', level: 'error', id: 'subscribe:/odom', msg: 'no' } };
  assert.deepEqual(m.handle(refusal, 0.05), [notify('scope_degraded', { topic: ODOM, tier: P })]);
});

test('When the new tier reports the epoch changed, the gap is reported once', () => {
  const m = running();
  m.handle(pub(P, ODOM, 41), 0.05);
  m.handle(closed(P, 1006), 0.1);
  const gap = { op: 'resume_gap', topic: ODOM, id: 'subscribe:/odom', requested: { epoch: 'e1', seq: 41 },
    available: { epoch: 'e2', seq: 1 }, reason: 'epoch changed' };
  assert.deepEqual(m.handle({ type: 'frame', url: S, data: gap }, 0.11), [notify('gap',
    { topic: ODOM, reason: 'epoch changed', last: ['e1', 41], next: ['e2', 1], tier: S })]);
  assert.deepEqual(m.handle(pub(S, ODOM, 1, 'e2'), 0.12), [deliver(S, ODOM, 1, 'e2')]);
});

test('When a topic has two publishers, resume names every stream and neither is retired', () => {
  const m = running();
  m.handle(pub(P, ODOM, 7, 'rover'), 0.05);
  m.handle(pub(P, ODOM, 2, 'judge'), 0.06);
  m.handle(pub(P, ODOM, 8, 'rover'), 0.07);
  assert.deepEqual(m.handle(closed(P, 1006), 0.1), [changed(P, S, 'ws://p closed 1006'),
    send(S, sub(ODOM, ['rover', 8], { rover: 8, judge: 2 })), open(T)]);
  assert.deepEqual(m.handle(pub(S, ODOM, 8, 'rover'), 0.11), []);
  assert.deepEqual(m.handle(pub(S, ODOM, 3, 'judge'), 0.12), [deliver(S, ODOM, 3, 'judge')]);
  assert.deepEqual(m.handle(pub(S, ODOM, 9, 'rover'), 0.13), [deliver(S, ODOM, 9, 'rover')]);
});

test('When the live stream skips seqs, a gap is reported; a new epoch is not a gap', () => {
  const m = running();
  m.handle(pub(P, ODOM, 1), 0.05);
  assert.deepEqual(m.handle(pub(P, ODOM, 4), 0.06), [notify('gap',
    { topic: ODOM, reason: 'hole', last: ['e1', 1], next: ['e1', 4], tier: P }), deliver(P, ODOM, 4)]);
  assert.deepEqual(m.handle(pub(P, ODOM, 1, 'e2'), 0.07), [deliver(P, ODOM, 1, 'e2')]);
});

test('When the app publishes, it advertises once and respects the publish scope', () => {
  const m = running();
  m.handle({ type: 'directory', tiers: [tierInfo({ url: P, publish: ['/emergency_stop'] })] }, 0.03);
  const msg = { data: true };
  assert.deepEqual(m.handle({ type: 'publish', topic: '/emergency_stop', msgType: 'std_msgs/msg/Bool', msg }, 0.04), [
    send(P, { op: 'advertise', topic: '/emergency_stop', type: 'std_msgs/msg/Bool', id: 'advertise:/emergency_stop' }),
    send(P, { op: 'publish', topic: '/emergency_stop', msg })]);
  assert.deepEqual(m.handle({ type: 'publish', topic: '/emergency_stop', msgType: 'std_msgs/msg/Bool', msg }, 0.05),
    [send(P, { op: 'publish', topic: '/emergency_stop', msg })]);
  assert.deepEqual(m.handle({ type: 'publish', topic: '/cmd_vel', msgType: 'x', msg }, 0.06),
    [notify('publish_dropped', { topic: '/cmd_vel', reason: "outside ws://p's publish scope" })]);
});

test('When a service call\'s tier is lost before the answer, the call fails', () => {
  const m = running();
  assert.deepEqual(m.handle({ type: 'call', service: '/x', args: {}, id: 'c1' }, 0.05),
    [send(P, { op: 'call_service', service: '/x', args: {}, id: 'c1' })]);
  const out = m.handle(closed(P, 1006), 0.1);
  assert.deepEqual(out[0], { type: 'respond', id: 'c1', result: false, values: 'ws://p closed' });
});

test('When the machine gets an unknown event or bad settings, it says which', () => {
  assert.throws(() => machine().handle({ type: 'nonsense' }, 0), /cannot handle event type nonsense/);
  assert.throws(() => failoverSettings({ heartbeatTimeoutS: 0 }), /heartbeatTimeoutS must be a positive/);
});

test('When a stream of 1..n crosses a kill at any point, the app gets each sample once, in order', () => {
  for (let killAt = 1; killAt < 30; killAt += 3) {
    const m = running();
    const got = [];
    const take = (cmds) => got.push(...cmds.filter((c) => c.type === 'deliver').map((c) => c.seq));
    let now = 0.03;
    for (let seq = 1; seq <= killAt; seq += 1) {
      take(m.handle(pub(P, ODOM, seq), (now += 0.01)));
      beat(m, now, S);
    }
    m.handle(closed(P, 1006), (now += 0.01));
    const from = Math.max(1, killAt - 5); // the standby's replay overlaps what was delivered
    for (let seq = from; seq <= 40; seq += 1) take(m.handle(pub(S, ODOM, seq), (now += 0.01)));
    assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i + 1), `kill after ${killAt}`);
  }
});

// ---- policies -------------------------------------------------------------------------

test('Scopes: * within a segment, ** across segments, exact otherwise', () => {
  const table = [[['/mission/**'], '/mission/state', true], [['/mission/**'], '/mission', false],
    [['/odom'], '/odom2', false], [['**'], '/a/b', true], [['/gps/*'], '/gps/fix', true],
    [['/gps/*'], '/gps/a/b', false], [null, '/anything', true]];
  for (const [patterns, name, want] of table) assert.equal(scopeAllows(patterns, name), want, `${patterns} ${name}`);
});

test('Ranking: health, then not full, coverage, priority, load', () => {
  const a = tierInfo({ url: 'a', priority: 0, health: 'DOWN' });
  const b = tierInfo({ url: 'b', priority: 1, health: 'UP', capacity: 2, clients: 2 });
  const c = tierInfo({ url: 'c', priority: 2, health: 'UP', subscribe: ['/gps/fix'] });
  const d = tierInfo({ url: 'd', priority: 3, health: 'UP' });
  assert.deepEqual(rank([a, b, c, d], [ODOM]).map((t) => t.url), ['d', 'c', 'b', 'a']);
  assert.deepEqual(rank([a, b, c, d], [GPS]).map((t) => t.url), ['c', 'd', 'b', 'a']);
});

test('Backoff: exponential, capped, equal jitter; bad jitter is refused', () => {
  assert.equal(backoffDelay(0, 1), 0.1);
  assert.equal(backoffDelay(3, 0), 0.4);
  assert.equal(backoffDelay(20, 1), 5.0);
  assert.throws(() => backoffDelay(0, 2), /jitter must be within/);
});

test('Directory: status document and /health answers become tier infos', () => {
  const [t] = tiersFromStatus({ tiers: [{ url: 'ws://h:1', name: 'primary', priority: 0, health: 'UP',
    clients: 3, capacity: 200, scope: { subscribe: ['**'], publish: ['/cmd_vel'] } }] });
  assert.equal(t.name, 'primary'); assert.equal(t.clients, 3); assert.deepEqual(t.subscribe, ['**']);
  assert.throws(() => tiersFromStatus({}), /no 'tiers' list/);
  const h = tierFromHealth('ws://h:2', { tier: 'secondary', state: 'active', priority: 1,
    clients: 1, capacity: 200, scope: { subscribe: [ODOM], publish: [] } });
  assert.equal(h.health, 'UP'); assert.equal(h.priority, 1);
  assert.equal(tierFromHealth('ws://h:2', { tier: 's', state: 'inactive' }).health, 'DOWN');
});

test('Bootstrap: four tiers on the page host from its port minus its priority', () => {
  assert.deepEqual(defaultUrls({ protocol: 'http:', hostname: 'rover', port: '8082' }, { priority: 2 }),
    ['ws://rover:8080', 'ws://rover:8081', 'ws://rover:8082', 'ws://rover:8083']);
  assert.equal(reachableUrl('ws://127.0.0.1:8081', 'rover.local'), 'ws://rover.local:8081');
  assert.equal(reachableUrl('ws://10.0.0.2:8081', 'rover.local'), 'ws://10.0.0.2:8081');
});

test('DeliveryFilter: per-stream dedup, holes, excuses', () => {
  const f = new DeliveryFilter();
  assert.deepEqual(f.offer(ODOM, 'a', 1), [true, null]);
  assert.deepEqual(f.offer(ODOM, 'a', 1), [false, null]);
  assert.deepEqual(f.offer(ODOM, 'b', 5), [true, null]);
  assert.deepEqual(f.offer(ODOM, 'a', 3), [true, { topic: ODOM, reason: 'hole', last: ['a', 1], next: ['a', 3] }]);
  f.excuse(ODOM, ['b', 9]);
  assert.deepEqual(f.offer(ODOM, 'b', 9), [true, null]);
  assert.deepEqual(f.positions(ODOM), { b: 9, a: 3 });
  assert.deepEqual(f.position(ODOM), ['b', 9]);
});

// The scenarios test/unit/test_sparse_keys.py runs against core/dedup.py, from one file.
const SHARED = JSON.parse(readFileSync(new URL('../scenarios/delivery_filter.json', import.meta.url)));
for (const scenario of SHARED.scenarios) {
  test(`DeliveryFilter (shared scenario): ${scenario.name}`, () => {
    const f = new DeliveryFilter();
    for (const [[epoch, seq], [delivered, hole]] of scenario.steps) {
      const [ok, gap] = f.offer('/t', epoch, seq);
      assert.deepEqual([ok, gap ? gap.reason : null], [delivered, hole], `${epoch} ${seq}`);
    }
    assert.deepEqual(f.position('/t'), scenario.position);
  });
}

// ---- replicas (test/unit/test_replica_ranking.py) ---------------------------------------

const A = 'ws://a:8080'; const B = 'ws://b:9090'; const SEC = 'ws://s:8081';

function replica(url, endpoint, { clients = 0, capacity = 200, latency = 1.0, priority = 0, name = 'primary' } = {}) {
  return tierInfo({ url, name, endpoint, priority, health: 'UP', clients, capacity, latencyMs: latency });
}

const first = (tiers, seed) => rank(tiers, [ODOM], tiebreaker(seed))[0].endpoint;
const seeds = (n) => Array.from({ length: n }, (_, i) => i / n);

test('Replicas: when two are equally loaded, 200 clients pick each about half the time, one client always the same', () => {
  const tiers = [replica(A, 'a'), replica(B, 'b')];
  const picks = seeds(200).map((seed) => first(tiers, seed));
  const a = picks.filter((p) => p === 'a').length;
  assert.ok(a >= 70 && a <= 130, `${a} of 200 picked a`);
  assert.equal(a, 102); // the same draws as core/ranking.py for the same seeds
  assert.ok([1, 2, 3, 4, 5].every(() => first(tiers, 0.25) === first(tiers, 0.25)));
});

for (const [why, a, b] of [
  ['15 % less load', replica(A, 'a', { clients: 40 }), replica(B, 'b', { clients: 10 })],
  ['80 ms faster', replica(A, 'a', { latency: 80.0 }), replica(B, 'b', { latency: 1.0 })],
  ['a full sibling', replica(A, 'a', { clients: 20, capacity: 20 }), replica(B, 'b', { clients: 150 })],
]) {
  test(`Replicas: when one is clearly better (${why}), every client prefers it`, () => {
    assert.deepEqual(new Set(seeds(50).map((seed) => first([a, b], seed))), new Set(['b']));
  });
}

test('Replicas: when they differ by a few ms of probe latency only (LAN noise), clients still spread', () => {
  const tiers = [replica(A, 'a', { latency: 9.0 }), replica(B, 'b', { latency: 0.5 })];
  const a = seeds(100).map((seed) => first(tiers, seed)).filter((p) => p === 'a').length;
  assert.ok(a >= 30 && a <= 70, `${a} of 100 picked a`);
});

test('Replicas: when every primary replica is full, the secondary comes first', () => {
  const tiers = [replica(A, 'a', { clients: 200 }), replica(SEC, 'secondary', { priority: 1, name: 'secondary' })];
  assert.equal(first(tiers, 0.3), 'secondary');
});

test('Replicas: the tie-breaker draws the same numbers as core/ranking.py for the same seed', () => {
  // python3 -c "from websocket_redundancy.core.ranking import *; print(tiebreaker(S)(TierInfo(url=U)))"
  const table = [[0.0, A, 0.27948780613951385], [0.25, A, 0.5877128483261913],
    [0.25, B, 0.692497129784897], [1 / 3, 'ws://é:1', 0.07563409116119146],
    [1e-7, A, 0.7478724161628634], [1.234e-5, B, 0.8621669728308916], [7, A, 0.13380679744295776]];
  for (const [seed, url, want] of table) assert.equal(tiebreaker(seed)({ url }), want, `${seed} ${url}`);
});

test('Replicas: the rank key is the class, then load + latency above 10 ms + 0.02 * tiebreak, then name, endpoint, url', () => {
  const t = replica(A, 'a', { clients: 50, latency: 110 });
  assert.deepEqual(classKey(t, [ODOM, IMU]), [0, 0, -2, 0]);
  const [x, y] = rank([t, replica(B, 'b', { clients: 50, latency: 110 })], [ODOM], (tier) => (tier.url === A ? 0.5 : 0));
  assert.deepEqual([x.url, y.url], [B, A]); // 0.25 + 0.1 + 0 < 0.25 + 0.1 + 0.01
  assert.deepEqual(rank([replica(B, 'x'), replica(A, 'x')], [ODOM]).map((r) => r.url), [A, B]);
});

test('Replicas: v2 directory rows carry endpoint and probe latency, and the label is the endpoint id', () => {
  const [b, a] = tiersFromStatus({ tiers: [
    { url: B, name: 'primary', endpoint: 'primary@b:9090', probe_latency_ms: 2.5, health: 'UP' },
    { url: A, name: 'primary', probe_latency_ms: null }] });
  assert.deepEqual([b.endpoint, b.latencyMs, label(b)], ['primary@b:9090', 2.5, 'primary@b:9090']);
  assert.deepEqual([a.endpoint, a.latencyMs, label(a)], ['', null, 'primary']);
  assert.equal(label(tierInfo({ url: A })), A);
});

const replicaDirectory = (aClients = 0, bClients = 0) => ({ type: 'directory', tiers: [
  replica(A, 'a', { clients: aClients }), replica(B, 'b', { clients: bClients }),
  replica(SEC, 'secondary', { priority: 1, name: 'secondary' })] });

/** A machine that picked replica A from the directory, with its warm standby open. */
function onReplicaA() {
  const m = new FailoverMachine(failoverSettings({ heartbeatTimeoutS: 0.3 }), () => 1.0, 0.0);
  m.handle({ type: 'subscribe', topic: ODOM, msgType: TYPES[ODOM] }, 0);
  assert.deepEqual(m.handle({ type: 'start', urls: [A, SEC], directoryWaitS: 1.0 }, 0), []); // waits for a directory
  assert.equal(m.nextDeadline(), 1.0);
  assert.deepEqual(m.handle(replicaDirectory(0, 30), 0.05), [open(A)]);
  m.handle({ type: 'opened', url: A }, 0.1);
  return m;
}

test('Replicas: the warm standby is the sibling replica, and it takes over first with the full scope', () => {
  const m = onReplicaA();
  assert.deepEqual(m.roles(), { [A]: 'active', [B]: 'standby' });
  m.handle({ type: 'opened', url: B }, 0.2);
  const out = m.handle(closed(A, 1006), 0.3);
  assert.equal(m.active, B);
  assert.ok(!out.some((c) => c.kind === 'scope_degraded'), JSON.stringify(out));
  assert.deepEqual(out[0], changed('a', 'b', 'a closed 1006', B));
});

test('Replicas: a client does not migrate to a sibling that became less loaded', () => {
  const m = onReplicaA();
  m.handle({ type: 'opened', url: B }, 0.2);
  for (let step = 3; step < 50; step += 1) {
    const now = step / 10;
    beat(m, now, A, B);
    m.handle(replicaDirectory(150, 0), now);
    m.handle(tick, now);
  }
  assert.deepEqual(m.roles(), { [A]: 'active', [B]: 'standby' });
});

test('Replicas: a sibling back from a failure replaces the lower tier as the warm standby', () => {
  const m = onReplicaA();
  m.handle({ type: 'opened', url: B }, 0.2);
  m.handle(closed(B, 1006), 0.3);
  assert.deepEqual(m.roles(), { [A]: 'active', [SEC]: 'standby' });
  m.handle({ type: 'opened', url: SEC }, 0.3);
  const out = [];
  for (let step = 3; step < 20; step += 1) {
    const now = step / 10;
    const got = [...beat(m, now, A, ...(m.roles()[B] ? [B] : [SEC])), ...m.handle(tick, now)];
    if (got.some((c) => c.type === 'open' && c.url === B)) got.push(...m.handle({ type: 'opened', url: B }, now));
    out.push(...got);
  }
  assert.deepEqual(out.filter((c) => c.type !== 'send'), [closeConn(SEC, 1000, 'a better standby is back'), open(B)]);
  assert.deepEqual(m.roles(), { [A]: 'active', [B]: 'standby' });
});

test('Replicas: on a lower tier, the best replica is the failback candidate and its sibling the standby', () => {
  const m = new FailoverMachine(failoverSettings({ heartbeatTimeoutS: 0.3 }), () => 1.0, 0.0);
  m.handle({ type: 'start', urls: [A, SEC] }, 0);
  m.handle(closed(A, 1006), 0.01);
  m.handle({ type: 'opened', url: SEC }, 0.02);
  assert.equal(m.active, SEC);
  const out = [...beat(m, 0.3, SEC), ...m.handle(replicaDirectory(0, 30), 0.3)]; // A's backoff is over
  assert.deepEqual(out, [open(A), open(B)]);
  assert.deepEqual(m.roles(), { [SEC]: 'active', [A]: 'candidate', [B]: 'standby' });
  m.handle({ type: 'opened', url: A }, 0.31);
  m.handle({ type: 'opened', url: B }, 0.31);
  const back = idle(m, 0.3, 2.5, [A, B, SEC]).filter((c) => c.type !== 'send');
  assert.deepEqual(back, [changed(SEC, 'a', 'failback', A), closeConn(SEC, 1000, 'no longer needed')]);
  assert.deepEqual(m.roles(), { [A]: 'active', [B]: 'standby' }); // the sibling stays the standby
});

test('Replicas: without a directory within directoryWaitS, the bootstrap order is used', () => {
  const m = machine();
  assert.deepEqual(m.handle({ type: 'start', urls: [P, S], directoryWaitS: 0.5 }, 0), []);
  assert.deepEqual(m.handle(tick, 0.49), []);
  assert.deepEqual(m.handle(tick, 0.5), [open(P)]);
  assert.throws(() => machine().handle({ type: 'start', urls: [P], directoryWaitS: -1 }, 0), /directoryWaitS/);
});

// ---- the shell: directory at start -----------------------------------------------------

class FakeSocket {
  static made = [];

  constructor(url) { this.url = url; this.readyState = 0; FakeSocket.made.push(this); }

  send() {}

  close() { this.readyState = 3; }
}

/** Timers the test advances by hand (the shell's `timers` option), as Twisted's task.Clock. */
class FakeTimers {
  constructor() { this.now = 0; this.next = 1; this.due = new Map(); }

  setTimeout(fn, ms) { const id = this.next++; this.due.set(id, { at: this.now + ms, fn }); return id; }

  clearTimeout(id) { this.due.delete(id); }

  tick(ms) {
    this.now += ms;
    for (const [id, { at, fn }] of [...this.due].sort((a, b) => a[1].at - b[1].at)) {
      if (at <= this.now && this.due.delete(id)) fn();
    }
  }
}

function shell(fetchImpl, overrides = {}) {
  FakeSocket.made = [];
  return new FailoverClient({ urls: [A, SEC], WebSocketImpl: FakeSocket, fetchImpl,
    clock: () => 0, pageOrigin: undefined, pageHost: undefined, timers: new FakeTimers(),
    ...overrides });
}
const flush = () => new Promise((resolve) => { setImmediate(resolve); });
const answer = (body) => Promise.resolve({ ok: true, status: 200, json: async () => body });

test('Shell: the first endpoint is picked from the directory fetched at start, not the first bootstrap URL', async () => {
  const asked = [];
  let release;
  const doc = { tiers: [
    { url: A, name: 'primary', endpoint: 'primary', priority: 0, health: 'UP', clients: 150, capacity: 200 },
    { url: B, name: 'primary', endpoint: 'primary-b', priority: 0, health: 'UP', clients: 10, capacity: 200 }] };
  const client = shell((href) => {
    asked.push(href);
    return new Promise((resolve) => { release = () => resolve(answer(doc)); });
  });
  await client.start();
  await flush();
  assert.deepEqual(asked, ['http://a:8080/status']);
  assert.deepEqual(FakeSocket.made.map((w) => w.url), []);
  release();
  await flush();
  assert.deepEqual(FakeSocket.made.map((w) => w.url), [B]);
  client.close();
});

test('Shell: without a directory within directoryWaitS, the first bootstrap URL is opened', async () => {
  const timers = new FakeTimers();
  const client = shell(() => new Promise(() => {}),
    { directoryWaitS: 0.5, clock: () => timers.now / 1000, timers });
  await client.start();
  await flush();
  assert.deepEqual(FakeSocket.made.map((w) => w.url), []);
  timers.tick(499);
  assert.deepEqual(FakeSocket.made.map((w) => w.url), []);
  timers.tick(2);
  assert.deepEqual(FakeSocket.made.map((w) => w.url), [A]);
  client.close();
  assert.deepEqual([...timers.due.keys()], [], 'a timer outlived close()');
});

test('Shell: the page asks its own tier for the directory when it is one of the bootstrap tiers', async () => {
  const asked = [];
  const client = shell((href) => { asked.push(href); return new Promise(() => {}); },
    { pageOrigin: 'http://s:8081' });
  await client.start();
  assert.deepEqual(asked, ['http://s:8081/status']);
  client.close();
});

// The goal rules test/unit/test_failover_goals.py runs against core/failover_goals.py,
// from one file: only the goal-related outputs of each step are compared.
const GOALS = JSON.parse(readFileSync(new URL('../scenarios/goal_failover.json', import.meta.url)));
function goalEvent([kind, ...a]) {
  switch (kind) {
    case 'start': return { type: 'start', urls: a[0] };
    case 'opened': return { type: 'opened', url: a[0] };
    case 'closed': return { type: 'closed', url: a[0], code: a[1], reason: '' };
    case 'frame': return { type: 'frame', url: a[0], data: a[1] };
    case 'send_goal': return { type: 'send_goal', id: a[0], action: a[1], actionType: a[2], goal: a[3], goalId: a[4] };
    case 'cancel_goal': return { type: 'cancel_goal', id: a[0] };
    default: throw new Error(kind);
  }
}
function goalOutputs(commands) {
  const out = [];
  for (const c of commands) {
    if (c.type === 'send' && String(c.frame.op).endsWith('_action_goal')) out.push(['send', c.url, c.frame]);
    else if (c.type === 'goal_feedback') out.push(['feedback', c.id, c.values, c.tier, c.epoch, c.seq]);
    else if (c.type === 'goal_result') out.push(['result', c.id, c.ok, c.status, c.values, c.tier]);
    else if (c.type === 'notify' && c.kind === 'goal_gap') {
      const d = c.detail;
      out.push(['gap', d.id, d.reason, d.last, d.next, d.tier]);
    } else if (c.type === 'notify' && c.kind === 'scope_degraded') out.push(['scope_degraded', c.detail.topic, c.detail.tier]);
  }
  return out;
}
for (const scenario of GOALS.scenarios) {
  test(`goals (shared scenario): ${scenario.name}`, () => {
    const m = new FailoverMachine(failoverSettings({ heartbeatTimeoutS: 0.3 }), () => 1.0, 0.5);
    for (const [now, spec, expected] of scenario.steps) {
      assert.deepEqual(goalOutputs(m.handle(goalEvent(spec), now)), expected, JSON.stringify([now, spec]));
    }
  });
}

test('goals: without a tier a goal fails at once', () => {
  const m = new FailoverMachine(failoverSettings({ heartbeatTimeoutS: 0.3 }), () => 1.0, 0.5);
  m.handle({ type: 'start', urls: [P] }, 0);
  assert.deepEqual(m.handle({ type: 'send_goal', id: '1', action: '/nav', actionType: 'a/action/B', goal: {}, goalId: 'x' }, 0),
    [{ type: 'goal_result', id: '1', ok: false, status: 0, values: 'no tier is connected', tier: '' }]);
});
