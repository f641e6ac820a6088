// roslibjs 2.x code across redundant tiers, by changing one line.
//
// Without roslib (this module is the library):
//   - import { Ros, Topic, Service } from 'roslib';
//   + import { Ros, Topic, Service } from './roslib-adapter.js';
//   const ros = new Ros({ url: 'ws://rover:8080' });  // or { urls: [...] }, { token }
//
// With the real roslib 2.x (its Ros takes a transportFactory):
//   - const ros = new ROSLIB.Ros({ url });
//   + const ros = new ROSLIB.Ros({ url, transportFactory: failoverTransport({ token }) });
//
// A single `url` is read as the first of four tiers on consecutive ports of its host
// (the default layout; its /health says which priority it has); the directory
// (GET /status) adds the rest. Besides roslib's 'connection' / 'close' / 'error', a Ros
// emits the failover events: tier_changed, gap, scope_degraded, scope_restored, all_down.
// Supported: Ros (connect, close, isConnected, authenticate, on/off/once), Topic
// (subscribe, unsubscribe, advertise, unadvertise, publish), Service.callService.

import { FailoverClient, defaultUrls } from './failover.js';

const FAILOVER_EVENTS = ['tier_changed', 'gap', 'scope_degraded', 'scope_restored', 'all_down',
  'publish_dropped', 'delivery_resumed', 'directory'];

/** A small EventEmitter with the eventemitter3 methods roslib users call. */
class Emitter {
  constructor() { this.handlers = new Map(); }

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn(...args); };
    wrapper.original = fn;
    return this.on(event, wrapper);
  }

  off(event, fn) {
    if (!fn) { this.handlers.delete(event); return this; }
    const list = (this.handlers.get(event) || []).filter((h) => h !== fn && h.original !== fn);
    this.handlers.set(event, list);
    return this;
  }

  removeListener(event, fn) { return this.off(event, fn); }

  listeners(event) { return [...(this.handlers.get(event) || [])]; }

  emit(event, ...args) {
    const list = this.listeners(event);
    for (const fn of list) fn(...args);
    return list.length > 0;
  }
}

/** The bootstrap list for a single roslib-style `url`: four tiers from its port. */
export function urlsFor(url, count = 4) {
  const u = new URL(url);
  return defaultUrls({ protocol: u.protocol === 'wss:' ? 'https:' : 'http:', hostname: u.hostname,
    port: u.port || (u.protocol === 'wss:' ? '443' : '80') }, { count });
}

function makeClient({ url, urls, token, settings, directoryIntervalS }) {
  return new FailoverClient({ urls: urls || (url ? urlsFor(url) : null), token, settings,
    directoryIntervalS });
}

/** roslib's Ros, backed by a FailoverClient (`ros.client`). */
export class Ros extends Emitter {
  constructor({ url = null, urls = null, token = '', settings = {}, directoryIntervalS = 1 } = {}) {
    super();
    this.options = { token, settings, directoryIntervalS };
    this.client = null;
    this.connected = false;
    if (url || urls) this.connect(urls || url).catch((err) => this.emit('error', err));
  }

  get isConnected() { return this.connected; }

  /** Connect to `url` (or a list of tier URLs; nothing: the page's tiers). */
  async connect(url = null) {
    if (this.client) return;
    const urls = Array.isArray(url) ? url : null;
    this.client = makeClient({ ...this.options, url: urls ? null : url, urls });
    this.client.on('connection', (d) => { this.connected = true; this.emit('connection', d); });
    this.client.on('all_down', (d) => {
      if (this.connected) { this.connected = false; this.emit('close', d); }
    });
    for (const name of FAILOVER_EVENTS) this.client.on(name, (d) => this.emit(name, d));
    await this.client.start();
  }

  close() {
    this.client?.close();
    this.client = null;
    if (this.connected) { this.connected = false; this.emit('close', { code: 1000 }); }
  }

  /** roslib's authenticate(mac, ...): the rosbridge `auth` op, on every tier. */
  authenticate(mac) { this.withClient((c) => c.authenticate(mac)); }

  /** Run `fn(client)` now if a client exists (or, with `connected`, once a tier is
   * active), else when connect() has made one; like roslib's callOnConnection. */
  withClient(fn, { connected = false } = {}) {
    if (this.client && (!connected || this.connected)) fn(this.client);
    else this.once('connection', () => fn(this.client));
  }
}

/** roslib's Topic: subscribe/unsubscribe/advertise/unadvertise/publish. */
export class Topic extends Emitter {
  constructor({ ros, name, messageType, throttle_rate = 0, queue_length = 0 }) {
    super();
    Object.assign(this, { ros, name, messageType, throttle_rate, queue_length });
    this.isAdvertised = false;
    this.subscribed = false;
    this.relay = (msg) => this.emit('message', msg);
  }

  subscribe(callback) {
    this.on('message', callback);
    if (this.subscribed) return;
    this.subscribed = true;
    this.ros.withClient((c) => c.subscribe(this.name, this.messageType, this.relay,
      { throttle_rate: this.throttle_rate, queue_length: this.queue_length }));
  }

  unsubscribe(callback) {
    if (callback) {
      this.off('message', callback);
      if (this.listeners('message').length) return;
    } else this.off('message');
    if (!this.subscribed) return;
    this.subscribed = false;
    this.ros.client?.unsubscribe(this.name, this.relay);
    this.emit('unsubscribe');
  }

  advertise() { this.isAdvertised = true; } // each tier is advertised on first publish

  unadvertise() { this.isAdvertised = false; }

  publish(message) {
    this.isAdvertised = true;
    this.ros.withClient((c) => c.publish(this.name, this.messageType, message), { connected: true });
  }
}

/** roslib's Service client: callService(request, callback, failedCallback, timeout). */
export class Service extends Emitter {
  constructor({ ros, name, serviceType }) {
    super();
    Object.assign(this, { ros, name, serviceType });
  }

  callService(request, callback, failedCallback, timeout) {
    this.ros.withClient(async (c) => {
      let timer = null;
      const expired = timeout > 0 ? new Promise((resolve) => {
        timer = setTimeout(() => resolve({ result: false, values: `timed out after ${timeout} s` }), timeout * 1000);
      }) : new Promise(() => {});
      const answer = await Promise.race([c.callService(this.name, request), expired]);
      clearTimeout(timer);
      if (answer.result) callback?.(answer.values);
      else if (failedCallback) failedCallback(String(answer.values ?? 'service call failed'));
      else console.error(`${this.name}: ${answer.values}`);
    }, { connected: true });
  }
}

export { Ros as FailoverRos };

/**
 * A roslib 2.x transportFactory: `new ROSLIB.Ros({ url, transportFactory:
 * failoverTransport({ token }) })`. The transport stays open while any tier serves;
 * roslib's own frames are carried by a FailoverClient (de-duplicated, resumed).
 */
export function failoverTransport(options = {}) {
  return async (url) => new FailoverTransport(makeClient({ ...options, url: options.urls ? null : url }));
}

class FailoverTransport extends Emitter {
  constructor(client) {
    super();
    this.client = client;
    this.state = 'connecting';
    this.subs = new Map(); // topic -> Set(roslib subscribe ids)
    this.types = new Map(); // topic -> message type (from advertise)
    this.relays = new Map(); // topic -> callback
    client.on('connection', (d) => {
      if (this.state === 'connecting') { this.state = 'open'; this.emit('open', d); }
    });
    for (const name of FAILOVER_EVENTS) client.on(name, (d) => this.emit('failover', { kind: name, ...d }));
    client.start().catch((err) => this.emit('error', err));
  }

  send(m) {
    const c = this.client;
    switch (m.op) {
      case 'subscribe': {
        if (!this.subs.has(m.topic)) {
          this.subs.set(m.topic, new Set());
          const relay = (msg, d) => this.emit('message', { op: 'publish', topic: m.topic, msg,
            epoch: d?.epoch, seq: d?.seq });
          this.relays.set(m.topic, relay);
          c.subscribe(m.topic, m.type, relay, { throttle_rate: m.throttle_rate || 0,
            queue_length: m.queue_length || 0 });
        }
        this.subs.get(m.topic).add(m.id);
        break;
      }
      case 'unsubscribe': {
        const ids = this.subs.get(m.topic);
        ids?.delete(m.id);
        if (ids && ids.size === 0) {
          this.subs.delete(m.topic);
          c.unsubscribe(m.topic, this.relays.get(m.topic));
          this.relays.delete(m.topic);
        }
        break;
      }
      case 'advertise': this.types.set(m.topic, m.type); break;
      case 'unadvertise': break;
      case 'publish': c.publish(m.topic, this.types.get(m.topic) || '', m.msg); break;
      case 'call_service':
        c.callService(m.service, m.args || {}).then(({ result, values }) => this.emit('message',
          { op: 'service_response', id: m.id, service: m.service, result, values }));
        break;
      case 'auth': c.authenticate(m.mac); break;
      default: break; // set_level and the rest: the failover client manages its own
    }
  }

  close() {
    this.client.close();
    if (this.state !== 'closed') { this.state = 'closed'; this.emit('close', { code: 1000 }); }
  }

  isConnecting() { return this.state === 'connecting'; }

  isOpen() { return this.state === 'open'; }

  isClosing() { return false; }

  isClosed() { return this.state === 'closed'; }
}

export default { Ros, Topic, Service, FailoverRos: Ros, failoverTransport };
