// valksor-sse dashboard. The hub's client (window.sseClient) listens to the
// $dashboard topic (meta valksor-sse-topics); the server publishes
// dashboard-stats once a second and dashboard-tail when events flow.
// Documented in Go package go-sse/dashboard.

const sse = window.sseClient;
const $ = (id) => document.getElementById(id);
const init = JSON.parse($('init').textContent);
const SPAN = 300e3; // chart width: five minutes
const MAX_TAIL = 500; // entries kept; 200 shown
const TOKEN_KEY = 'valksor-sse-publish-token';

const nf = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const fmt = (n) => nf.format(n);
const bytes = (n) => {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return fmt(n) + ' ' + u[i];
};
const dur = (s) => {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
};
const clock = (t) => {
  const d = new Date(t);
  return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
};
// set changes an element's text only when it differs, so aria-live
// announces changes and nothing else.
const set = (id, text) => {
  const e = $(id);
  if (e.textContent !== String(text)) e.textContent = text;
};
const cell = (text, cls) => {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
};

let samples = init.samples || [];
let tail = (init.tail || []).slice().reverse(); // newest first
let skipped = 0;
let clients = [];
let now = Date.now(); // server time of the last stats
let received = 0;
const sort = { key: 'age', dir: -1 };
const rows = new WeakMap(); // tail entry → its row

function state(name, text) {
  document.body.dataset.state = name;
  set('state', text);
}

function showStats(s) {
  now = s.t;
  set('node', s.node);
  set('uptime', dur(s.uptime));
  set('streams', fmt(s.streams));
  set('streams-sub', `${s.max ? 'of max ' + fmt(s.max) : 'no limit'} · ${s.viewers} dashboard viewer${s.viewers === 1 ? '' : 's'}`);
  set('in', fmt(s.in));
  set('events', fmt(s.events) + ' events in total');
  set('out', fmt(s.out));
  set('deliveries', fmt(s.deliveries) + ' in total');
  set('slow', fmt(s.slow));
  set('health', s.health);
  $('health').className = s.health === 'ok' ? '' : 'bad';
  set('transport', s.transport + (s.transportError ? ': ' + s.transportError : ''));
  set('rss', s.rss ? bytes(s.rss) : '–');
  set('heap', 'Go heap ' + bytes(s.heap));
  set('goroutines', fmt(s.goroutines));

  const topics = Object.entries(s.topics || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  $('topics').tBodies[0].replaceChildren(
    ...(topics.length ? topics.map(([t, n]) => row([cell(t), cell(fmt(n), 'num')])) : [row([cell('no streams'), cell('')])]),
  );

  clients = s.clients || [];
  set('clients-note', s.clientsTotal > clients.length ? `(oldest ${clients.length} of ${s.clientsTotal})` : `(${s.clientsTotal})`);
  showClients();
  if (s.sample && !(samples.length && samples.at(-1).t >= s.sample.t)) samples.push(s.sample);
  showCharts();
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

// Charts: inline SVG, one polyline each, scaled to a round number above
// the peak of the last five minutes.
const nice = (v) => {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v);
};
const NS = 'http://www.w3.org/2000/svg';

function chart(id, key, label) {
  const svg = $(id);
  if (!svg.firstChild) {
    for (const y of [2, 41, 79]) {
      const l = document.createElementNS(NS, 'line');
      Object.entries({ x1: 0, x2: 300, y1: y, y2: y }).forEach(([k, v]) => l.setAttribute(k, v));
      svg.append(l);
    }
    svg.append(document.createElementNS(NS, 'polyline'));
  }
  const end = samples.length ? samples.at(-1).t : now;
  let peak = 0;
  for (const p of samples) peak = Math.max(peak, p[key]);
  const top = nice(Math.max(peak, 1));
  const pts = samples.map((p) => `${(((p.t - end + span) / span) * 300).toFixed(1)},${(79 - (p[key] / top) * 77).toFixed(1)}`);
  svg.querySelector('polyline').setAttribute('points', pts.join(' '));
  const last = samples.length ? samples.at(-1)[key] : 0;
  set(id + '-max', `now ${fmt(last)} · peak ${fmt(peak)} · scale ${fmt(top)}`);
  svg.setAttribute('aria-label', `${label}, ${$('h-chart').textContent.toLowerCase()}: now ${fmt(last)}, peak ${fmt(peak)}`);
}

let span = SPAN;
function showCharts() {
  const end = samples.length ? samples.at(-1).t : now;
  samples = samples.filter((p) => p.t > end - SPAN);
  // A server younger than five minutes: its whole life, from 10 s up.
  span = samples.length ? Math.min(SPAN, Math.max(10e3, end - samples[0].t)) : SPAN;
  set('h-chart', span < SPAN ? `Since start (${dur(span / 1000)})` : 'Last 5 minutes');
  chart('c-in', 'in', 'Events per second in');
  chart('c-out', 'out', 'Deliveries per second out');
  chart('c-streams', 'streams', 'Open streams');
}

function addTail(entries, n) {
  for (const e of entries) tail.unshift(e);
  if (tail.length > MAX_TAIL) tail.length = MAX_TAIL;
  skipped += n;
  showTail();
}

function tailRow(e) {
  let tr = rows.get(e);
  if (!tr) {
    const data = e.private ? '(private)' : e.data + (e.truncated ? '…' : '');
    tr = row([
      cell(clock(e.t)),
      cell(e.type),
      cell(e.topics.join(', ')),
      cell(e.id),
      cell(fmt(e.size), 'num'),
      cell(fmt(e.fanout), 'num'),
      cell(data, 'data'),
    ]);
    tr.dataset.id = e.id;
    rows.set(e, tr);
  }
  return tr;
}

function showTail() {
  const ft = $('f-type').value.trim().toLowerCase();
  const fp = $('f-topic').value.trim().toLowerCase();
  const shown = [];
  for (const e of tail) {
    if (ft && !e.type.toLowerCase().includes(ft)) continue;
    if (fp && !e.topics.some((t) => t.toLowerCase().includes(fp))) continue;
    shown.push(tailRow(e));
    if (shown.length === 200) break;
  }
  $('tail').tBodies[0].replaceChildren(...shown);
  set('tail-note', `(${shown.length} shown of the last ${tail.length}${skipped ? `; ${fmt(skipped)} skipped to keep up` : ''})`);
}

function showClients() {
  const val = (c) => (sort.key === 'age' ? now - c.since : sort.key === 'topics' ? c.topics.join(',') : c[sort.key]);
  const list = clients.slice().sort((a, b) => {
    const x = val(a), y = val(b);
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
  });
  $('clients').tBodies[0].replaceChildren(
    ...list.map((c) =>
      row([cell(c.id), cell(c.topics.join(', ')), cell(dur((now - c.since) / 1000)), cell(c.remote), cell(fmt(c.queued), 'num')]),
    ),
  );
}

for (const b of document.querySelectorAll('#clients th button')) {
  b.addEventListener('click', () => {
    const key = b.dataset.key;
    if (sort.key === key) sort.dir = -sort.dir;
    else (sort.key = key), (sort.dir = key === 'age' || key === 'queued' ? -1 : 1);
    for (const th of document.querySelectorAll('#clients th')) {
      const on = th.querySelector('button').dataset.key === sort.key;
      th.setAttribute('aria-sort', on ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    showClients();
  });
}

$('f-type').addEventListener('input', showTail);
$('f-topic').addEventListener('input', showTail);

// Publish form: POST <base>/publish with the token kept in sessionStorage.
const token = $('p-token');
token.value = sessionStorage.getItem(TOKEN_KEY) || '';
token.addEventListener('input', () => sessionStorage.setItem(TOKEN_KEY, token.value));
token.required = init.tokenRequired;
set('p-token-hint', init.tokenRequired
  ? 'publish_token of the config, or the token file var/run/valksor-sse.token; kept in this tab only'
  : 'not needed: this server accepts anonymous publishing');

$('pub').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('p-result');
  const show = (text, bad) => ((out.textContent = text), (out.className = bad ? 'bad' : ''));
  const body = {
    type: $('p-type').value.trim(),
    topic: $('p-topic').value.split(',').map((t) => t.trim()).filter(Boolean),
    private: $('p-private').checked,
  };
  const raw = $('p-data').value.trim();
  try {
    if (raw) body.data = JSON.parse(raw);
  } catch (e) {
    return show('Data is not valid JSON: ' + e.message, true);
  }
  const headers = { 'Content-Type': 'application/json' };
  if (token.value.trim()) headers.Authorization = 'Bearer ' + token.value.trim();
  show('Publishing…');
  delete out.dataset.id;
  try {
    const r = await fetch(init.base + '/publish', { method: 'POST', headers, body: JSON.stringify(body) });
    const text = (await r.text()).trim();
    if (!r.ok) return show(`Error ${r.status}: ${text}`, true);
    const id = JSON.parse(text).id;
    out.dataset.id = id;
    show('Published, id ' + id);
  } catch (e) {
    show('Error: ' + e.message, true);
  }
});

// Live updates. The tail listener is added first: once stats arrive, both
// are active (in shared-worker mode a type becomes active after a round
// trip to the worker, in order).
sse.addEventListener('dashboard-tail', ({ data }) => {
  if (data.node === init.node) addTail(data.entries || [], data.skipped || 0);
});
sse.addEventListener('dashboard-stats', ({ data }) => {
  if (data.node !== init.node) return;
  showStats(data);
  document.body.dataset.stats = ++received;
});
addEventListener('sse:open', () => state('live', 'live'));
addEventListener('sse:close', () => state('down', 'reconnecting…'));
if (sse.isConnected()) state('live', 'live');

$('private-note').hidden = !init.private;
if (init.stats) showStats(init.stats);
else showCharts();
showTail();
