// The delivery filter (mirrors core/dedup.py): each sample at most once, per
// (topic, epoch) stream, holes reported. A topic may have several publishers at once
// (the rover's /emergency_stop and a judge's console), each its own stream; an epoch is
// never "retired" because another one appeared.
//
// Keys are dense (a per-publisher counter) or sparse (source timestamps, an epoch that
// starts with "ts:"; core/streamkeys.py): a sparse stream never reports a hole, and
// drops a key it already delivered or one older than REORDER_WINDOW before its newest.

export const HOLE = 'hole';
export const SPARSE_PREFIX = 'ts:';
export const REORDER_WINDOW = 1e9; // ns, as core/streamkeys.py
export const isSparse = (epoch) => epoch.startsWith(SPARSE_PREFIX);
const ANY = '\u0000any'; // the key of an excuse that covers any stream of the topic

/** The keys of a sparse stream delivered within the reorder window of its newest. */
class Recent {
  constructor() { this.keys = new Set(); this.order = []; this.head = 0; }

  add(seq, newest) {
    this.keys.add(seq);
    this.order.push(seq);
    while (this.head < this.order.length && this.order[this.head] <= newest - REORDER_WINDOW) {
      this.keys.delete(this.order[this.head]);
      this.head += 1;
    }
    if (this.head > 1024) { this.order = this.order.slice(this.head); this.head = 0; }
  }
}

class TopicState {
  constructor() {
    this.position = null; // [epoch, seq] most recently delivered
    this.streams = new Map(); // epoch -> last seq, least recently used first
    this.recent = new Map(); // sparse epoch -> Recent
    this.excuses = new Map(); // epoch (or ANY) -> up to seq (null: any)
  }
}

export class DeliveryFilter {
  constructor(maxEpochs = 32) {
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) {
      throw new RangeError(`DeliveryFilter maxEpochs must be a positive integer, got ${maxEpochs}.`);
    }
    this.maxEpochs = maxEpochs;
    this.topics = new Map();
  }

  /** The most recently delivered [epoch, seq] of `topic`, or null. */
  position(topic) {
    return this.topics.get(topic)?.position ?? null;
  }

  /** Every remembered stream of `topic` as a plain object: epoch -> last seq. */
  positions(topic) {
    const state = this.topics.get(topic);
    return state ? Object.fromEntries(state.streams) : {};
  }

  /** Whether to deliver a sample, and the discontinuity before it (or null). */
  offer(topic, epoch, seq) {
    const state = this.state(topic);
    const last = state.streams.get(epoch);
    let reason = null;
    let seqNow = seq;
    if (isSparse(epoch)) {
      if (!state.recent.has(epoch)) state.recent.set(epoch, new Recent());
      const recent = state.recent.get(epoch);
      if (recent.keys.has(seq) || (last !== undefined && seq <= last - REORDER_WINDOW)) return [false, null];
      seqNow = last === undefined ? seq : Math.max(last, seq);
      recent.add(seq, seqNow);
    } else {
      if (last !== undefined && seq <= last) return [false, null];
      reason = last === undefined || seq === last + 1 ? null : HOLE;
    }
    state.streams.delete(epoch);
    state.streams.set(epoch, seqNow);
    while (state.streams.size > this.maxEpochs) {
      const old = state.streams.keys().next().value;
      state.streams.delete(old);
      state.recent.delete(old);
    }
    state.position = [epoch, seqNow];
    if (DeliveryFilter.useExcuse(state, epoch, seq)) reason = null;
    if (reason === null) return [true, null];
    return [true, { topic, reason, last: [epoch, last], next: [epoch, seq] }];
  }

  /** When the tier already reported a gap (resume_gap), don't report the jump it explains. */
  excuse(topic, upTo) {
    const state = this.state(topic);
    if (upTo == null) state.excuses.set(ANY, null);
    else state.excuses.set(upTo[0], upTo[1]);
    while (state.excuses.size > this.maxEpochs) {
      state.excuses.delete(state.excuses.keys().next().value);
    }
  }

  forget(topic) {
    this.topics.delete(topic);
  }

  state(topic) {
    let state = this.topics.get(topic);
    if (!state) {
      state = new TopicState();
      this.topics.set(topic, state);
    }
    return state;
  }

  static useExcuse(state, epoch, seq) {
    let covered = false;
    if (state.excuses.has(epoch)) {
      const upTo = state.excuses.get(epoch);
      state.excuses.delete(epoch);
      covered = upTo !== null && seq <= upTo;
    }
    if (state.excuses.has(ANY)) {
      state.excuses.delete(ANY);
      covered = true;
    }
    return covered;
  }
}
