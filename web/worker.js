// valksor-sse SharedWorker: one EventSource per stream URL for the tabs of
// an origin (messages: see web/handler.go).
import { Stream, postPing } from './client.js';

const streams = new Map(); // stream url → {s, ports, base, id, conn}
const joined = new Map(); // port → stream url

function join(port, { url, base, types = [] }) {
  leave(port);
  let st = streams.get(url);
  if (!st) {
    st = { ports: new Set(), base, id: '', conn: null };
    const relay = (m) => st.ports.forEach((p) => p.postMessage(m));
    st.s = new Stream(
      url,
      (type, data, id) => {
        const m = { t: 'ev', type, data, id };
        if (type === 'connected') {
          st.conn = m;
          try {
            st.id = JSON.parse(data).id;
          } catch {}
        }
        relay(m);
      },
      () => {
        st.conn = null;
        st.id = '';
        relay({ t: 'down' });
      },
    );
    streams.set(url, st);
  }
  st.ports.add(port);
  joined.set(port, url);
  types.forEach((t) => st.s.listen(t));
  if (st.conn) port.postMessage(st.conn);
}

function leave(port) {
  const url = joined.get(port);
  if (url === undefined) return;
  joined.delete(port);
  const st = streams.get(url);
  st.ports.delete(port);
  if (!st.ports.size) {
    st.s.close();
    streams.delete(url);
  }
}

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = ({ data: m }) => {
    const st = streams.get(joined.get(port));
    if (m.t === 'hello') join(port, m);
    else if (m.t === 'bye') leave(port);
    else if (m.t === 'listen') st?.s.listen(m.type);
    else if (m.t === 'ping') {
      const fail = (err) => port.postMessage({ t: 'pingerr', nonce: m.nonce, error: String(err?.message || err) });
      if (!st?.id) fail('valksor-sse: not connected');
      else postPing(st.base, st.id, m.nonce).catch(fail);
    }
  };
};
