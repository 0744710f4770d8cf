// valksor-sse browser client (import-map name "valksorsse/sse"); creates
// window.sseClient on import. Documented in Go package go-sse/web.

const BUILTIN = ['message', 'connected', 'ping', 'pong', 'history-gap', 'reload', 'css-update'];
const win = typeof window === 'object' ? window : null;
const doc = win && document;
const fail = (m) => new Error('valksor-sse: ' + m);
const parse = (s) => { try { return JSON.parse(s); } catch { return s; } };
let seq = 0;

// Stream: an EventSource, reopened with ?lastEventID= after a non-200 answer.
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
      if (es.readyState !== 2 || this.es !== es) return; // 2: gave up
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

// segs: path segments, no query, no digest (app-3f2a1b9c.css → app.css).
function segs(s) {
  let p = String(s).replace(/\\/g, '/').split(/[?#]/)[0];
  try { p = decodeURIComponent(new URL(p, 'file:///').pathname); } catch {}
  const a = p.split('/').filter(Boolean);
  if (a.length) a.push(a.pop().replace(/[-.][0-9a-f]{7,}(?=\.\w+$)/i, ''));
  return a;
}
const tail = (a, b) => b.length <= a.length && b.every((x, i) => x === a[a.length - b.length + i]);

const replaced = new WeakSet(); // links whose successor loads
const chain = new WeakMap(); // new link → the links it replaces
const SHEET = 'link[rel~=stylesheet i]';
// srv: head and body children no script added.
const srv = new WeakSet(doc ? [...doc.head.childNodes, ...(doc.body?.childNodes || [])] : []);

// swap: a copy of link with a new href; the old goes once it loaded.
function swap(link, href) {
  const u = new URL(href || link.href, link.href);
  const nu = link.cloneNode();
  const olds = [link, ...(chain.get(link) || [])];
  nu.sseHref = href ? u.href : link.sseHref || link.href; // without ?v=
  if (!href) u.searchParams.set('v', Date.now());
  nu.removeAttribute('integrity');
  nu.href = u.href;
  chain.set(nu, olds);
  replaced.add(link);
  if (srv.has(link)) srv.add(nu);
  nu.onload = () => olds.forEach((l) => l.remove());
  nu.onerror = () => (nu.remove(), replaced.delete(link));
  link.after(nu);
}

// key: a sheet's URL, else the markup minus the nonce (pages hide it).
const key = (e) => (e.matches(SHEET) ? e.sseHref || e.href : ((e = e.cloneNode(true)).removeAttribute('nonce'), e.outerHTML));
const rt = (x) => x.parentNode == doc.body && !srv.has(x);
const keep = (a) => a.name == 'open' || a.name == 'nonce';
const no = (e) => e.dataset?.valksorMorph == 'false';

// upd morphs m into n, kids p's children into q's: see package web.
function upd(m, n, ids, t = m.localName == 'template') {
  if (m.nodeType > 1) return void (m.data != n.data && (m.data = n.data));
  if (!no(m) && (t || !m.isEqualNode(n) || m.querySelector('template'))) {
    for (const a of n.attributes) keep(a) || m.getAttributeNS(a.namespaceURI, a.localName) == a.value || m.setAttributeNS(a.namespaceURI, a.name, a.value);
    for (const a of [...m.attributes]) keep(a) || n.hasAttributeNS(a.namespaceURI, a.localName) || m.removeAttributeNode(a);
    t ? kids(m.content, n.content, new Map()) : (n.firstChild || !m.localName.includes('-')) && kids(m, n, ids);
  }
}

let gone; // leftovers, removed last: ids in them may still move
function kids(p, q, ids, last) {
  const want = new Set([...q.children].map((e) => e.outerHTML)), free = (x) => !ids.has(x.id) && !rt(x);
  for (const n of [...q.childNodes]) {
    let c = last ? last.nextSibling : p.firstChild, m = ids.get(n.id), x;
    if (!ids.delete(n.id) || m.nodeName != n.nodeName || m.contains(p)) m = null;
    if (!m && n.nodeType < 2) {
      for (x = c; x && !m; x = x.nextSibling) x.isEqualNode(n) && free(x) && (m = x);
      for (x = c; x && !m; x = x.nextSibling) x.nodeName == n.nodeName && free(x) && !want.has(x.outerHTML) && (m = x);
    } else if (!m && c?.nodeType == n.nodeType && !rt(c)) m = c;
    if (!m) p.insertBefore((m = n.cloneNode(true)), c);
    else m != c && (m.isConnected && p.moveBefore ? p.moveBefore : p.insertBefore).call(p, m, c), upd(m, n, ids);
    srv.add((last = m));
  }
  for (let x = last ? last.nextSibling : p.firstChild; x; x = x.nextSibling) rt(x) || gone.push([x, p]);
}

export async function morph(d) {
  const S = 'script,base,link[rel~=modulepreload i]', h = doc.head, w = [], live = new Map(), ids = new Map();
  const have = new Set([...doc.querySelectorAll(S)].map(key));
  if (no(doc.documentElement) || no(d.documentElement) || [...d.querySelectorAll(S)].some((e) => !have.has(key(e)))) return false;
  d.querySelectorAll('noscript').forEach((e) => e.remove()); // see package web
  for (const e of h.children) replaced.has(e) || live.set(key(e), e);
  let at;
  for (const n of [...d.head.children]) {
    const k = key(n), m = live.get(k), c = m || n.cloneNode(true);
    if (!m) at ? at.after(c) : h.prepend(c), srv.add(c), c.matches(SHEET) && w.push(new Promise((ok) => ((c.onload = c.onerror = ok), setTimeout(ok, 3e3))));
    live.delete(k), (at = c);
  }
  await Promise.all(w);
  live.forEach((e) => srv.has(e) && e.remove());
  gone = [];
  for (const e of doc.body.querySelectorAll('[id]')) d.getElementById(e.id) && ids.set(e.id, e);
  upd(doc.body, d.body, ids);
  gone.map(([x, p]) => x.parentNode == p && x.remove());
  return true;
}

class Client {
  #ls = new Map(); #pings = new Map(); #s = null; #port = null;
  #id = ''; #up = false; #seen = false; #last = ''; #pending = null; #probe = true; #morph = true; #busy = false; #again = false;

  constructor({ url, topics = [], reload = true, shared = true, morph = true }) {
    this.url = new URL(url, location.href).href.replace(/\/+$/, '');
    // supports: css-update is swapped in place here, not sent as a reload.
    this.stream = this.url + '?' + new URLSearchParams([...topics.map((t) => ['topic', t]), ['supports', 'css-update']]);
    this.reload = reload;
    this.morph = morph;
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
    if (type === 'reload' && !(data?.appDown && !doc.documentElement.hasAttribute('data-valksor-app-down'))) this.#reload(data?.files || [], data?.probe !== false, data?.morph !== false);
    if (type === 'css-update') this.#css(data || {});
  }

  #down() {
    if (!this.#up) return;
    this.#up = false, this.#id = '';
    for (const done of [...this.#pings.values()]) done(fail('connection lost'));
    this.#fire('sse:close', {});
  }

  #reload(files, probe = true, morph = true) {
    morph &&= this.morph && files.length && !files.some((f) => /\.(m?[jt]sx?|c[jt]s|json|wasm|vue|svelte)$/i.test(f));
    if (this.#pending) return void (this.#probe ||= probe, (this.#morph &&= morph), (this.#again = true), this.#pending.push(...files.filter((f) => !this.#pending.includes(f))));
    if (this.#fire('sse:reload', { files }, true)) (this.#pending = [...files]), (this.#probe = probe), (this.#morph = morph), this.#tryReload();
  }

  // When connected: GET to morph, HEAD to probe, while 502-504.
  async #tryReload() {
    if (!this.#pending || this.#busy || !this.#up) return;
    this.#busy = true;
    let r, files, done;
    for (let d = 100; ; d = Math.min(d * 2, 5000)) {
      (files = [...this.#pending]), (this.#again = false);
      r = (this.#morph || this.#probe) && (await fetch(location.href, { cache: 'no-store', ...(this.#morph ? { headers: { 'X-Valksor-Refresh': 1 } } : { method: 'HEAD' }) }).catch(() => 0));
      if (!this.#probe || (r && (r.status < 502 || r.status > 504))) break;
      await new Promise((ok) => setTimeout(ok, d));
    }
    try {
      if (this.#up && this.#morph && r) {
        const text = await r.text();
        done = r.status == 500 ? !this.#fire('sse:page-error', { files, status: 500, text }, true)
          : r.status == 200 && !r.redirected && /html/.test(r.headers.get('content-type')) && (await morph(new DOMParser().parseFromString(text, 'text/html'))) && this.#fire('sse:morph', { files });
      }
    } catch {}
    this.#busy = false;
    if (done) return this.#again ? this.#tryReload() : (this.#pending = null);
    if (this.#up) location.reload();
  }

  #css({ files, urls = {} }) {
    files = [].concat(files ?? []);
    const links = [...doc.querySelectorAll(SHEET + '[href]')].filter((l) => !replaced.has(l));
    if (!files.length) return links.forEach((l) => swap(l));
    const missed = files.filter((f) => {
      const k = segs(f);
      let hit = links.filter((l) => tail(segs(l.href), k) || tail(k, segs(l.href)));
      if (!hit.length) hit = links.filter((l) => segs(l.href).pop() === k.at(-1));
      hit.forEach((l) => swap(l, urls[f]));
      return !hit.length;
    });
    if (missed.length) this.#reload(missed, true, false);
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

// discover: meta valksor-sse-url, -port/-path, else this module's URL.
function discover() {
  const meta = (n) => doc.querySelector(`meta[name="valksor-sse-${n}"]`)?.content.trim();
  const port = meta('port'), path = meta('path'), u = new URL(import.meta.url);
  let url = meta('url');
  if (!url && (port ?? path) !== undefined) {
    const p = port || location.port;
    url = `${location.protocol}//${location.hostname}${p ? ':' + p : ''}${path || '/sse'}`;
  }
  url ||= u.origin + (u.pathname.endsWith('/client.js') ? u.pathname.slice(0, -10) : '/sse');
  return { url, topics: (meta('topics') || '').split(',').map((t) => t.trim()).filter(Boolean) };
}

export const connect = (options) => new Client({ ...discover(), ...options });

const client = win ? (win.sseClient ||= connect()) : undefined;
export default client;
