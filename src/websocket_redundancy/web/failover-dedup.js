// The delivery filter (mirrors core/dedup.py): each sample at most once, per
// (topic, epoch) stream, holes reported. A topic may have several publishers at once
// (the rover's /emergency_stop and a judge's console), each its own stream; an epoch is
// never "retired" because another one appeared.

export const HOLE = 'hole';
const ANY = '\u0000any'; // the key of an excuse that covers any stream of the topic

class TopicState {
  constructor() {
    this.position = null; // [epoch, seq] most recently delivered
    this.streams = new Map(); // epoch -> last seq, least recently used first
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
    if (last !== undefined && seq <= last) return [false, null];
    let reason = last === undefined || seq === last + 1 ? null : HOLE;
    state.streams.delete(epoch);
    state.streams.set(epoch, seq);
    while (state.streams.size > this.maxEpochs) {
      state.streams.delete(state.streams.keys().next().value);
    }
    state.position = [epoch, seq];
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
