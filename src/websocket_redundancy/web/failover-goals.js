// The application's action goals over the failover client's connections: a mirror of
// core/failover_goals.py (shared scenarios: test/scenarios/goal_failover.json).
//
// A goal goes through the active tier with a goal_id the client made and stays with that
// connection while it is open. When the connection is lost the goal is re-attached
// (attach_action_goal) on the active tier, with `resume` from the last feedback
// delivered, and a pending cancel is sent again. The result is delivered exactly once;
// feedback at most once and in order (what the new tier no longer had: `goal_gap`); a
// tier that cannot follow the goal (`attached: false`) is reported scope_degraded and
// the goal waits for another tier.
//
// Commands: {type: 'goal_feedback', id, values, tier, epoch, seq}
//           | {type: 'goal_result', id, ok, status, values, tier}

import { isSparse } from './failover-dedup.js';
import { label } from './failover-policy.js';
import { SCOPE_DEGRADED, notify, position, send } from './failover-traffic.js';

export const GOAL_PREFIX = 'send_action_goal:';
export const GOAL_GAP = 'goal_gap';

/** `key` comes after `than` (null: before everything); as core/goal_feedback.py newer(). */
export function newer(key, than) {
  if (than === null) return true;
  if (key[0] === than[0]) return key[1] > than[1];
  if (isSparse(key[0]) && isSparse(than[0])) {
    const a = Number(key[0].slice(3)); const b = Number(than[0].slice(3));
    return a !== b ? a > b : key[1] > than[1];
  }
  return true;
}

const goalResult = (id, ok, status, values, tier) => ({ type: 'goal_result', id, ok, status, values, tier });
const cancelFrame = (goal) => ({ op: 'cancel_action_goal', id: GOAL_PREFIX + goal.ev.id, action: goal.ev.action });

export class Goals {
  constructor(tierOf) {
    this.goals = new Map(); // app id -> {ev, url, last, refused, cancel}
    this.tierOf = tierOf;
  }

  send(ev, active) {
    if (this.goals.has(ev.id)) {
      return [goalResult(ev.id, false, 0, `a goal with id '${ev.id}' is in flight; give each goal its own id`, '')];
    }
    if (!active) return [goalResult(ev.id, false, 0, 'no tier is connected', '')];
    this.goals.set(ev.id, { ev, url: active.url, last: null, refused: new Set(), cancel: false });
    return [send(active.url, { op: 'send_action_goal', id: GOAL_PREFIX + ev.id, action: ev.action,
      action_type: ev.actionType, args: ev.goal, feedback: true, goal_id: ev.goalId })];
  }

  cancel(ev) {
    const goal = this.goals.get(ev.id);
    if (!goal || goal.cancel) return [];
    goal.cancel = true;
    return goal.url === null ? [] : [send(goal.url, cancelFrame(goal))];
  }

  frame(conn, data) {
    const callId = data.id;
    const id = typeof callId === 'string' && callId.startsWith(GOAL_PREFIX) ? callId.slice(GOAL_PREFIX.length) : null;
    const goal = id === null ? undefined : this.goals.get(id);
    if (!goal || goal.url !== conn.url) return [];
    const tier = label(this.tierOf(conn));
    if (data.op === 'action_feedback') {
      const key = position(data);
      if (key !== null && goal.last !== null && !newer(key, goal.last)) return [];
      goal.last = key ?? goal.last;
      return [{ type: 'goal_feedback', id, values: data.values, tier, epoch: key ? key[0] : null, seq: key ? key[1] : null }];
    }
    if (data.op === 'action_feedback_gap') {
      return [notify(GOAL_GAP, { id, reason: String(data.reason), last: position(data.requested),
        next: position(data.available), tier })];
    }
    if (data.op !== 'action_result') return [];
    if (data.attached === false) { // this tier cannot follow it; the goal runs on
      goal.refused.add(conn.url);
      goal.url = null;
      return [notify(SCOPE_DEGRADED, { topic: goal.ev.action, tier })];
    }
    this.goals.delete(id);
    const status = Number.isInteger(data.status) ? data.status : 0;
    return [goalResult(id, Boolean(data.result), status, data.values, tier)];
  }

  lost(conn) {
    for (const goal of this.goals.values()) if (goal.url === conn.url) goal.url = null;
  }

  attach(active) {
    if (!active || !active.isOpen) return [];
    const out = [];
    for (const goal of this.goals.values()) {
      if (goal.url !== null || goal.refused.has(active.url)) continue;
      goal.url = active.url;
      const { ev } = goal;
      const frame = { op: 'attach_action_goal', id: GOAL_PREFIX + ev.id, action: ev.action,
        action_type: ev.actionType, goal_id: ev.goalId, feedback: true };
      if (goal.last !== null) frame.resume = { epoch: goal.last[0], seq: goal.last[1] };
      out.push(send(active.url, frame));
      if (goal.cancel) out.push(send(active.url, cancelFrame(goal)));
    }
    return out;
  }
}
