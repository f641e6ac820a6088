// The rover's track on a canvas, from /gps/fix, each segment in the colour of the
// endpoint that delivered it (so a failover shows on the map, also between replicas).

export const TIER_COLORS = {
  primary: '#2563eb', secondary: '#16a34a', tertiary: '#d97706', emergency: '#dc2626',
};
const FALLBACK = ['#7c3aed', '#0891b2', '#be185d', '#4b5563'];

function hash(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

export function tierColor(name) {
  if (TIER_COLORS[name]) return TIER_COLORS[name];
  return FALLBACK[hash(name) % FALLBACK.length];
}

// Replicas of a tier are shades of its colour: lighter or darker by these fractions.
const SHADES = [0.45, -0.4, 0.25, -0.2, 0.6];

function shade(hex, amount) {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const mixed = rgb.map((c) => Math.round(amount > 0 ? c + (255 - c) * amount : c * (1 + amount)));
  return `#${mixed.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** An endpoint's colour: its tier's colour for the tier's own endpoint (id = tier
 * name), a shade of it for another replica of the tier, else one from the palette. */
export function endpointColor(endpoint, name = '') {
  if (!endpoint || endpoint === name) return tierColor(name || endpoint);
  if (TIER_COLORS[endpoint]) return TIER_COLORS[endpoint];
  if (name) return shade(tierColor(name), SHADES[hash(endpoint) % SHADES.length]);
  return tierColor(endpoint);
}

export class Track {
  constructor(canvas, maxPoints = 4000) {
    this.canvas = canvas;
    this.points = []; // {x, y, tier, color} metres east/north of the first fix
    this.origin = null;
    this.maxPoints = maxPoints;
    this.dirty = true;
    const frame = () => { if (this.dirty) this.draw(); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  }

  /** `tier` is the delivering endpoint's key, `color` its colour (default: tierColor). */
  addFix(fix, tier, color = tierColor(tier)) {
    const { latitude: lat, longitude: lon } = fix;
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return;
    if (!this.origin) this.origin = { lat, lon, k: Math.cos((lat * Math.PI) / 180) };
    const x = (lon - this.origin.lon) * 111320 * this.origin.k;
    const y = (lat - this.origin.lat) * 110540;
    this.points.push({ x, y, tier, color });
    if (this.points.length > this.maxPoints) this.points.shift();
    this.dirty = true;
  }

  draw() {
    this.dirty = false;
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth; const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#f8fafc';
    g.fillRect(0, 0, w, h);
    const pts = this.points;
    if (!pts.length) {
      g.fillStyle = '#64748b';
      g.font = '14px system-ui, sans-serif';
      g.fillText('waiting for /gps/fix …', 16, 28);
      return;
    }
    let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const p of pts) {
      minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
      minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
    }
    const span = Math.max(maxX - minX, maxY - minY, 10);
    const pad = 28;
    const scale = Math.min((w - 2 * pad) / span, (h - 2 * pad) / span);
    const cx = (minX + maxX) / 2; const cy = (minY + maxY) / 2;
    const sx = (x) => w / 2 + (x - cx) * scale;
    const sy = (y) => h / 2 - (y - cy) * scale;
    this.grid(g, w, h, scale);
    g.lineWidth = 2.5;
    g.lineCap = 'round';
    for (let i = 1; i < pts.length; i += 1) {
      g.strokeStyle = pts[i].color;
      g.beginPath();
      g.moveTo(sx(pts[i - 1].x), sy(pts[i - 1].y));
      g.lineTo(sx(pts[i].x), sy(pts[i].y));
      g.stroke();
    }
    const last = pts[pts.length - 1];
    g.fillStyle = last.color;
    g.beginPath();
    g.arc(sx(last.x), sy(last.y), 6, 0, 2 * Math.PI);
    g.fill();
    g.strokeStyle = '#fff';
    g.lineWidth = 2;
    g.stroke();
  }

  grid(g, w, h, scale) {
    const metres = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((m) => m * scale >= 60) || 1000;
    const step = metres * scale;
    g.strokeStyle = '#e2e8f0';
    g.lineWidth = 1;
    for (let x = (w / 2) % step; x < w; x += step) { g.beginPath(); g.moveTo(x, 0); g.lineTo(x, h); g.stroke(); }
    for (let y = (h / 2) % step; y < h; y += step) { g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke(); }
    g.fillStyle = '#64748b';
    g.font = '12px system-ui, sans-serif';
    g.fillRect(12, h - 16, step, 3);
    g.fillText(`${metres} m`, 12, h - 22);
  }
}
