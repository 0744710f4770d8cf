// valksor-sse dev overlay. The dev proxy injects this module after the SSE
// client. It listens for dev-state events ({phase, output, exit_code, error})
// and covers the page with the app's output while phase is "failed"; a later
// "ready" removes it (the reload or morph that follows does the rest). It
// also shows the page the client fetched to morph when that page answered
// 500 (sse:page-error, which it cancels: no reload into the error), until
// the next morph (sse:morph). Every piece of server text goes through
// textContent, or DOMParser's inert document, never into the page as HTML.
const win = window;

if (!win.__valksorSSEDevOverlay) {
  win.__valksorSSEDevOverlay = true;

  let host = null; // the element holding the overlay, while shown
  let parts = null; // {title, message, output, status, close}
  let lastFocus = null;

  const make = (tag, style, text) => {
    const e = document.createElement(tag);
    if (style) Object.assign(e.style, style); // CSSOM: allowed by a strict style-src
    if (text != null) e.textContent = text;
    return e;
  };

  // payload accepts what the client hands listeners ({type, data, id, raw}),
  // a bare payload, or a JSON string.
  const payload = (ev) => {
    let d = ev && typeof ev === 'object' && !('phase' in ev) && 'data' in ev ? ev.data : ev;
    if (typeof d === 'string') {
      try {
        d = JSON.parse(d);
      } catch {
        return null;
      }
    }
    return d && typeof d === 'object' ? d : null;
  };

  const onKey = (e) => {
    if (!host) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      hide();
    } else if (e.key === 'Tab') {
      // Keep the focus inside the dialog: its output and its button.
      e.preventDefault();
      const order = [parts.output, parts.close];
      const at = order.indexOf(host.shadowRoot ? host.shadowRoot.activeElement : document.activeElement);
      order[(at + (e.shiftKey ? order.length - 1 : 1)) % order.length].focus();
    }
  };

  const build = () => {
    host = make('div');
    host.id = 'valksor-sse-dev-overlay';
    const root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    const box = make('div', {
      position: 'fixed',
      inset: '0',
      zIndex: '2147483647',
      boxSizing: 'border-box',
      display: 'flex',
      flexDirection: 'column',
      gap: '12px',
      padding: '24px',
      overflow: 'auto',
      background: '#111114',
      color: '#f4f4f5',
      font: '14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      textAlign: 'left',
    });
    box.setAttribute('role', 'alertdialog');
    box.setAttribute('aria-modal', 'true');
    box.setAttribute('aria-labelledby', 'vsse-title');
    box.setAttribute('aria-describedby', 'vsse-message');

    const head = make('div', { display: 'flex', alignItems: 'flex-start', gap: '16px' });
    const title = make('h2', { margin: '0', flex: '1', font: 'inherit', fontSize: '18px', fontWeight: 'bold', color: '#f87171' }, 'valksor-sse dev: the app failed');
    title.id = 'vsse-title';
    const close = make('button', {
      font: 'inherit',
      padding: '6px 12px',
      color: '#f4f4f5',
      background: '#3f3f46',
      border: '1px solid #71717a',
      borderRadius: '4px',
      cursor: 'pointer',
    }, 'Close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the error overlay');
    close.addEventListener('click', () => hide());
    head.append(title, close);

    const message = make('p', { margin: '0', whiteSpace: 'pre-wrap', color: '#fecaca' });
    message.id = 'vsse-message';
    const output = make('pre', {
      margin: '0',
      padding: '12px',
      flex: '1 0 auto',
      whiteSpace: 'pre-wrap',
      overflowWrap: 'anywhere',
      background: '#000',
      color: '#e4e4e7',
      borderLeft: '4px solid #ef4444',
      font: 'inherit',
    });
    output.tabIndex = 0;
    output.setAttribute('aria-label', 'Output of the app command');
    const status = make('p', { margin: '0', color: '#a1a1aa' }, 'This page reloads when the app answers again. Esc closes this overlay.');

    box.append(head, message, output, status);
    root.append(box);
    parts = { title, message, output, status, close };
  };

  const show = (d, page) => {
    if (!host) {
      lastFocus = document.activeElement;
      build();
      (document.body || document.documentElement).append(host);
      document.addEventListener('keydown', onKey, true);
      parts.close.focus();
    }
    if (page) {
      parts.title.textContent = 'valksor-sse dev: the page answered ' + page.status;
      parts.message.textContent = `Fetching ${location.pathname}${location.search} after a change to ${page.files.join(', ') || 'a file'} gave this error.`;
      parts.output.textContent = pageText(page.text) || '(empty answer)';
      parts.status.textContent = 'The page updates in place when it renders again: fix it and save. Esc closes this overlay.';
      parts.output.scrollTop = 0;
      return;
    }
    const code = typeof d.exit_code === 'number' && d.exit_code >= 0 ? ` (exit status ${d.exit_code})` : '';
    parts.title.textContent = 'valksor-sse dev: the app failed';
    parts.message.textContent = d.error ? String(d.error) : 'The app command failed' + code + '.';
    parts.output.textContent = d.output ? String(d.output) : '(no output)';
    parts.status.textContent = 'This page reloads when the app answers again. Esc closes this overlay.';
    parts.output.scrollTop = parts.output.scrollHeight;
  };

  // pageText is what an error page says: the text of an HTML page (parsed
  // in an inert document: its scripts never run), else the answer as is.
  const pageText = (text) => {
    const t = String(text || '');
    if (!/^\s*<(!doctype|html|head|body)\b/i.test(t)) return t;
    const doc = new DOMParser().parseFromString(t, 'text/html');
    doc.querySelectorAll('script, style, template').forEach((e) => e.remove());
    return (doc.body ? doc.body.innerText || doc.body.textContent : '').replace(/\n{3,}/g, '\n\n').trim();
  };

  const hide = () => {
    if (!host) return;
    document.removeEventListener('keydown', onKey, true);
    host.remove();
    host = parts = null;
    if (lastFocus && typeof lastFocus.focus === 'function') lastFocus.focus();
    lastFocus = null;
  };

  // A morph's fetch answered 500: show it instead of reloading into it.
  win.addEventListener('sse:page-error', (e) => {
    e.preventDefault();
    show(null, e.detail);
  });
  // The page rendered again: whatever the overlay showed is over.
  win.addEventListener('sse:morph', () => hide());

  const onState = (ev) => {
    const d = payload(ev);
    if (!d) return;
    if (d.phase === 'failed') show(d);
    else if (d.phase === 'ready') hide();
    else if (d.phase === 'starting' && parts) parts.status.textContent = 'Restarting the app...';
  };

  // window.sseClient is created by the client module; it normally exists by
  // now, but wait for it (sse:open, or a short poll) in case it does not.
  let attached = false;
  const attach = () => {
    const c = win.sseClient;
    if (attached || !c || typeof c.addEventListener !== 'function') return attached;
    c.addEventListener('dev-state', onState);
    attached = true;
    return true;
  };
  if (!attach()) {
    let tries = 0;
    const stop = () => {
      clearInterval(timer);
      win.removeEventListener('sse:open', onOpen);
    };
    const onOpen = () => attach() && stop();
    const timer = setInterval(() => (attach() || ++tries >= 200) && stop(), 50);
    win.addEventListener('sse:open', onOpen);
  }
}
