// valksor-sse browser client (import-map name "valksorsse/sse"); creates
// window.sseClient on import. Documented in Go package go-sse/web.

const BUILTIN = ['message', 'connected', 'ping', 'pong', 'history-gap', 'reload', 'css-update'];
const win = typeof window === 'object' ? window : null;
const fail = (m) => new Error('valksor-sse: ' + m);
const parse = (s) => { try { return JSON.parse(s); } catch { return s; } };
let seq = 0;

// Stream is one EventSource; when EventSource gives up (non-200 answer) it
// opens a new one with backoff and ?lastEventID=. Shared with worker.js.
export class Stream {
  constructor(url, emit, down) {
    Object.assign(this, { url, emit, down, types: new Set(BUILTIN), last: '', delay: 0 });
    this.on = (e) => {
      if (e.lastEventId) this.last = e.lastEventId;
      if (e.type === 'connected') this.delay = 0;
      emit(e.type, e.data, e.lastEventId);
    };
    this.open();
  }

  open() {
    const q = this.last ? (this.url.includes('?') ? '&' : '?') + 'lastEventID=' + encodeURIComponent(this.last) : '';
    const es = (this.es = new EventSource(this.url + q));
    for (const t of this.types) es.addEventListener(t, this.on);
    es.onerror = () => {
      this.down();
      if (es.readyState !== 2 || this.es !== es) return; // 2: CLOSED, EventSource gave up
      this.delay = Math.min(this.delay * 2 || 500, 30000);
      this.timer = setTimeout(() => this.open(), this.delay * (0.8 + Math.random() * 0.4));
    };
  }

  listen(t) { if (!this.types.has(t)) this.types.add(t), this.es?.addEventListener(t, this.on); }
  close() { clearTimeout(this.timer); this.es?.close(); this.es = null; }
}

export async function postPing(base, id, nonce) {
  const r = await fetch(base + '/ping', { method: 'POST', body: new URLSearchParams({ id, nonce }) });
  if (!r.ok) throw fail('ping answered ' + r.status);
}

// segs: path segments of a URL or file, no query, no asset digest in the
// file name (app-3f2a1b9c.css → app.css).
function segs(s) {
  let p = String(s).replace(/\\/g, '/').split(/[?#]/)[0];
  try { p = decodeURIComponent(new URL(p, 'file:///').pathname); } catch {}
  const a = p.split('/').filter(Boolean);
  if (a.length) a.push(a.pop().replace(/[-.][0-9a-f]{7,}(?=\.\w+$)/i, ''));
  return a;
}
const tail = (a, b) => b.length <= a.length && b.every((x, i) => x === a[a.length - b.length + i]);

const replaced = new WeakSet(); // links waiting for their successor to load
const chain = new WeakMap(); // new link → the older links it replaces

// swap inserts a copy of link with a new href after it and removes the old
// link(s) once the copy has loaded: no flash of unstyled content.
function swap(link, href) {
  const u = new URL(href || link.href, link.href); // relative to the server that served the link
  if (!href) u.searchParams.set('v', Date.now());
  const nu = link.cloneNode();
  const olds = [link, ...(chain.get(link) || [])];
  nu.removeAttribute('integrity');
  nu.href = u.href;
  chain.set(nu, olds);
  replaced.add(link);
  nu.onload = () => olds.forEach((l) => l.remove());
  nu.onerror = () => (nu.remove(), replaced.delete(link));
  link.after(nu);
}

class Client {
  #ls = new Map(); #pings = new Map(); #s = null; #port = null;
  #id = ''; #up = false; #seen = false; #last = ''; #pending = null; #probe = true; #probing = false;

  constructor({ url, topics = [], reload = true, shared = true }) {
    this.url = new URL(url, location.href).href.replace(/\/+$/, '');
    const q = new URLSearchParams(topics.map((t) => ['topic', t])).toString();
    this.stream = this.url + (q ? '?' + q : '');
    this.reload = reload;
    if (shared && win && typeof SharedWorker === 'function' && new URL(this.url).origin === location.origin) {
      try { return void this.#shared(); } catch {}
    }
    this.#direct();
  }

  #direct() {
    this.#s = new Stream(this.stream, (...a) => this.#event(...a), () => this.#down());
    for (const t of this.#ls.keys()) this.#s.listen(t);
  }

  #shared() {
    const w = new SharedWorker(this.url + '/worker.js', { type: 'module', name: 'valksor-sse' });
    const p = (this.#port = w.port);
    p.onmessage = ({ data: m }) => {
      if (m.t === 'ev') this.#event(m.type, m.data, m.id);
      else if (m.t === 'down') this.#down();
      else this.#pings.get(m.nonce)?.(fail(m.error));
    };
    w.onerror = () => this.#port === p && !this.#seen && ((this.#port = null), this.#direct());
    const hello = () => p.postMessage({ t: 'hello', url: this.stream, base: this.url, types: [...this.#ls.keys()] });
    win.addEventListener('pagehide', () => this.#port && (p.postMessage({ t: 'bye' }), this.#down()));
    win.addEventListener('pageshow', (e) => e.persisted && this.#port && hello());
    hello();
  }

  #fire(name, detail, cancelable) { return !win || win.dispatchEvent(new CustomEvent(name, { detail, cancelable })); }

  #event(type, raw, id = '') {
    this.#seen = true;
    if (id) this.#last = id;
    const data = parse(raw);
    if (type === 'connected') {
      const was = this.#up && this.#id;
      this.#id = String(data?.id ?? '');
      this.#up = true;
      if (was !== this.#id) this.#fire('sse:open', { id: this.#id, url: this.stream });
      this.#tryReload();
    } else if (type === 'pong') this.#pings.get(data?.nonce)?.();
    for (const fn of [...(this.#ls.get(type) || [])]) {
      try { fn.call(this, { type, data, id, raw }); } catch (e) { setTimeout(() => { throw e; }); }
    }
    this.#fire('sse:message', { type, data, id });
    if (!this.reload || !win) return;
    if (type === 'reload') this.#reload(data?.files || [], data?.probe !== false);
    if (type === 'css-update') this.#css(data || {});
  }

  #down() {
    if (!this.#up) return;
    this.#up = false, this.#id = '';
    for (const done of [...this.#pings.values()]) done(fail('connection lost'));
    this.#fire('sse:close', {});
  }

  #reload(files, probe = true) {
    // A reload already decided on covers this one: no second sse:reload.
    // It skips the probe only if every reload folded into it says so.
    if (this.#pending) return void (this.#probe ||= probe, this.#pending.push(...files.filter((f) => !this.#pending.includes(f))));
    if (this.#fire('sse:reload', { files }, true)) (this.#pending = [...files]), (this.#probe = probe), this.#tryReload();
  }

  // Reload once connected and the page answers HEAD (not 502-504), unless
  // the event said the page's server is known to answer (probe: false).
  async #tryReload() {
    if (!this.#pending || this.#probing || !this.#up) return;
    this.#probing = true;
    for (let d = 100; this.#probe; d = Math.min(d * 2, 5000)) {
      try {
        const r = await fetch(location.href, { method: 'HEAD', cache: 'no-store' });
        if (r.status < 502 || r.status > 504) break;
      } catch {}
      await new Promise((ok) => setTimeout(ok, d));
    }
    this.#probing = false;
    if (this.#up) location.reload();
  }

  #css({ files, urls = {} }) {
    files = [].concat(files ?? []);
    const links = [...document.querySelectorAll('link[rel~="stylesheet" i][href]')].filter((l) => !replaced.has(l));
    if (!files.length) return links.forEach((l) => swap(l));
    const missed = files.filter((f) => {
      const k = segs(f);
      let hit = links.filter((l) => tail(segs(l.href), k) || tail(k, segs(l.href)));
      if (!hit.length) hit = links.filter((l) => segs(l.href).pop() === k.at(-1));
      hit.forEach((l) => swap(l, urls[f]));
      return !hit.length;
    });
    if (missed.length) this.#reload(missed);
  }

  addEventListener(type, fn) {
    if (!this.#ls.has(type)) this.#ls.set(type, new Set()), this.#s?.listen(type), this.#port?.postMessage({ t: 'listen', type });
    this.#ls.get(type).add(fn);
  }

  removeEventListener(type, fn) { this.#ls.get(type)?.delete(fn); }
  isConnected() { return this.#up; }
  get connectionId() { return this.#id; }
  get lastEventId() { return this.#last; }

  ping(timeout = 5000) {
    if (!this.#up) return Promise.reject(fail('not connected'));
    const nonce = Math.random().toString(36).slice(2) + ++seq;
    const t0 = performance.now();
    return new Promise((ok, no) => {
      const timer = setTimeout(() => done(fail(`no pong within ${timeout} ms`)), timeout);
      const done = (err) => (clearTimeout(timer), this.#pings.delete(nonce), err ? no(err) : ok(performance.now() - t0));
      this.#pings.set(nonce, done);
      if (this.#port) this.#port.postMessage({ t: 'ping', nonce });
      else postPing(this.url, this.#id, nonce).catch(done);
    });
  }

  close() {
    this.#s?.close();
    this.#port?.postMessage({ t: 'bye' });
    this.#s = this.#port = this.#pending = null;
    this.#down();
  }
}

// discover: meta valksor-sse-url, else meta valksor-sse-port/-path on the
// page's host, else this module's URL (<base>/client.js, or origin + /sse).
function discover() {
  const meta = (n) => document.querySelector(`meta[name="valksor-sse-${n}"]`)?.content.trim();
  const port = meta('port'), path = meta('path'), u = new URL(import.meta.url);
  let url = meta('url');
  if (!url && (port ?? path) !== undefined) {
    const p = port || location.port;
    url = `${location.protocol}//${location.hostname}${p ? ':' + p : ''}${path || '/sse'}`;
  }
  url ||= u.origin + (u.pathname.endsWith('/client.js') ? u.pathname.slice(0, -10) : '/sse');
  return { url, topics: (meta('topics') || '').split(',').map((t) => t.trim()).filter(Boolean) };
}

// connect creates a client; options {url, topics, reload, shared} default to discovery.
export const connect = (options) => new Client({ ...discover(), ...options });

const client = win ? (win.sseClient ||= connect()) : undefined;
export default client;
