// The example app's own module. The page imports it as "app" through the
// import map; the asset mapper serves it (and ./lib/format.js, which it
// imports by a relative path) under content-digested names.
import 'valksorsse/sse'; // the SSE client: creates window.sseClient and connects
import { formatNotification } from './lib/format.js';

const $ = (id) => document.getElementById(id);

// Show every custom-notification event. The listener gets {type, data, id,
// raw}; data is the event's JSON already parsed.
window.sseClient.addEventListener('custom-notification', (event) => {
  const li = document.createElement('li');
  li.className = 'notification ' + event.data.level;
  li.textContent = formatNotification(event.data);
  $('notifications').prepend(li);
});

// The connection state, from the client's window events.
const showState = () => {
  const up = window.sseClient.isConnected();
  $('state').textContent = up ? 'connected' : 'disconnected';
  $('state').className = up ? 'up' : 'down';
};
addEventListener('sse:open', showState);
addEventListener('sse:close', showState);
showState();

// Submit the forms with fetch: the server answers 204 and the result arrives
// over SSE, in this tab and every other one.
for (const form of document.querySelectorAll('form[method="post"]')) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) });
    $('error').textContent = res.ok ? '' : `${form.action} answered ${res.status}: ${await res.text()}`;
  });
}
