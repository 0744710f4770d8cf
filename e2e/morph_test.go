package e2e_test

// Unit tests of the client's morph (the export morph of sse.js) in
// Chromium, on documents chosen to be hard: each case puts "before" into
// a container of a test page, prepares the page as a user would have left
// it (typed text, focus, a marker on nodes that must survive), morphs the
// page into a copy of itself whose container holds "after", and checks the
// result with JavaScript that returns "" when everything is as it should
// be, or what is wrong.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valksor/go-sse/web"
)

// morphPage is the test page: it imports morph from the client module
// without connecting (window.sseClient is set first), and offers
//
//	mark()           remembers every node under #root, by path
//	same(sel)        whether the element at sel is the one mark() saw there
//	             ... (see the script)
//	step(after)      morphs the page into itself with #root holding after;
//	                 resolves to {ok, muts}: morph's result and the list of
//	                 mutation records under #root, as "type:nodeName"
const morphPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>morph</title>
<style>#root { font: 14px sans-serif }</style>
<link rel="stylesheet" href="style.css">
<script>window.sseClient = { stub: true };</script>
<script type="module">
import { morph } from '/sse/client.js';
const root = () => document.getElementById('root');
window.marks = new Map();
window.mark = () => { marks.clear(); for (const e of root().querySelectorAll('*')) marks.set(e, e.outerHTML); };
window.kept = (sel) => { const e = root().querySelector(sel); return !!e && marks.has(e); };
window.step = async (after, edit) => {
  const d = new DOMParser().parseFromString(document.documentElement.outerHTML, 'text/html');
  d.getElementById('root').innerHTML = after;
  if (edit) edit(d);
  const muts = [];
  const mo = new MutationObserver((rs) => rs.forEach((r) => muts.push(r.type + ':' + r.target.nodeName + (r.attributeName ? '@' + r.attributeName : ''))));
  mo.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
  const ok = await morph(d);
  mo.takeRecords().forEach((r) => muts.push(r.type + ':' + r.target.nodeName + (r.attributeName ? '@' + r.attributeName : '')));
  mo.disconnect();
  return { ok, muts };
};
window.html = (s) => { const t = document.createElement('div'); t.innerHTML = s; return t.innerHTML; };
window.ready = true;
</script>
</head><body><div id="root"></div></body></html>
`

// morphCase is one document change.
type morphCase struct {
	name   string
	before string
	// setup runs after before is in place and mark() has run.
	setup string
	after string
	// edit, when set, is a JS function (d) => {...} applied to the new
	// document besides #root (its head, its <html>).
	edit string
	// want is the expected innerHTML of #root; "" means after itself.
	// "-" means morph must refuse (resolve false) and leave before.
	want string
	// check is JS returning "" or what is wrong; muts holds the mutation
	// records ("type:NODE@attr").
	check string
}

func TestMorphDocuments(t *testing.T) {
	needBrowser(t)
	mux := http.NewServeMux()
	web.Register(mux, "/sse")
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = w.Write([]byte("p { margin: 2px }"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(morphPage))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	tb.waitFor("the test page", "window.ready", 10e9)
	tb.eval(`customElements.define('x-counter', class extends HTMLElement {
  static observedAttributes = ['label'];
  constructor() { super(); window.built = (window.built || 0) + 1; }
  connectedCallback() { if (!this.querySelector('button')) { const b = document.createElement('button'); b.textContent = 'clicks: 0'; this.append(b); } }
  attributeChangedCallback(n, o, v) { (window.changed ||= []).push(v); }
})`)

	cases := []morphCase{
		{
			name:   "text edit touches only the text node",
			before: `<h1>Title</h1><p class="a">one <b>bold</b> two</p><p>three</p>`,
			after:  `<h1>Title</h1><p class="a">one <b>bold</b> TWO</p><p>three</p>`,
			check:  `kept('h1') && kept('p.a') && kept('b') && kept('p:last-child') ? (muts.join() === 'characterData:#text' ? '' : 'mutations: ' + muts) : 'a node was replaced'`,
		},
		{
			name:   "attribute changes",
			before: `<a href="/x" class="a" title="t" data-n="1">link</a>`,
			after:  `<a href="/y" class="a b" data-n="1" rel="next">link</a>`,
			check:  `kept('a') ? '' : 'the link was replaced'`,
		},
		{
			name:   "siblings added at the start, the middle and the end",
			before: `<div class="x">1</div><div class="y">2</div>`,
			after:  `<div class="new0">0</div><div class="x">1</div><div class="new1">1.5</div><div class="y">2</div><div class="new2">3</div>`,
			check:  `kept('.x') && kept('.y') ? (muts.every((m) => m === 'childList:DIV') ? '' : 'mutations: ' + muts) : 'an old sibling was replaced'`,
		},
		{
			name:   "siblings removed at the start, the middle and the end",
			before: `<p class="a">a</p><p class="b">b</p><p class="c">c</p><p class="d">d</p><p class="e">e</p>`,
			after:  `<p class="b">b</p><p class="d">d</p>`,
			check:  `kept('.b') && kept('.d') ? '' : 'a kept sibling was replaced'`,
		},
		{
			name:   "reordered list with ids keeps each item, its input and the focus",
			before: `<ul><li id="a">A <input id="ia"></li><li id="b">B</li><li id="c">C</li></ul>`,
			setup:  `const i = document.getElementById('ia'); i.value = 'typed'; i.focus(); i.setSelectionRange(1, 3);`,
			after:  `<ul><li id="c">C</li><li id="a">A <input id="ia"></li><li id="b">B!</li></ul>`,
			check: `const i = document.getElementById('ia');
				return !kept('#a') || !kept('#b') || !kept('#c') || !kept('#ia') ? 'an item was replaced' :
				i.value !== 'typed' ? 'the input holds ' + i.value :
				document.activeElement !== i ? 'the focus moved to ' + document.activeElement.outerHTML :
				i.selectionStart !== 1 || i.selectionEnd !== 3 ? 'the selection is ' + i.selectionStart + '-' + i.selectionEnd : ''`,
		},
		{
			name:   "reordered list without ids moves the equal items",
			before: `<ul><li>a</li><li>b</li><li>c</li><li>d</li></ul>`,
			setup:  `window.items = [...root.querySelectorAll('li')];`,
			after:  `<ul><li>d</li><li>a</li><li>b</li><li>c</li></ul>`,
			check:  `[...root.querySelectorAll('li')].every((l) => items.includes(l) && items[l.textContent.charCodeAt(0) - 97] === l) ? '' : 'an item was replaced or rewritten'`,
		},
		{
			name:   "list without ids: an item edited, one inserted, one removed",
			before: `<ul><li>a</li><li>b</li><li>c</li></ul>`,
			setup:  `window.items = [...root.querySelectorAll('li')];`,
			after:  `<ul><li>new</li><li>a</li><li>c!</li></ul>`,
			check:  `const l = root.querySelectorAll('li'); return l[1] !== items[0] ? 'item a was replaced' : l[2] !== items[1] && l[2] !== items[2] ? 'the edited item is a new element' : ''`,
		},
		{
			name: "a form keeps what the user typed, chose and checked",
			before: `<form><label>Name <input name="q" value="default"></label><textarea name="t">text</textarea>
<select name="s"><option>one</option><option>two</option></select><input type="checkbox" name="c"></form><p id="msg">hello</p>`,
			setup: `const f = root.querySelector('form'); f.q.value = 'typed by me'; f.t.value = 'a long note'; f.s.value = 'two'; f.c.checked = true;
				f.q.focus(); f.q.setSelectionRange(3, 5);`,
			after: `<form><label>Your name <input name="q" value="changed default"></label><textarea name="t">text</textarea>
<select name="s"><option>one</option><option>two</option><option>three</option></select><input type="checkbox" name="c"></form><p id="msg">hello, world</p>`,
			check: `const f = root.querySelector('form');
				return f.q.value !== 'typed by me' ? 'input: ' + f.q.value : f.t.value !== 'a long note' ? 'textarea: ' + f.t.value :
				f.s.value !== 'two' ? 'select: ' + f.s.value : !f.c.checked ? 'checkbox unchecked' :
				document.activeElement !== f.q ? 'focus lost' : f.q.selectionStart !== 3 || f.q.selectionEnd !== 5 ? 'caret moved' :
				f.q.defaultValue !== 'changed default' ? 'the value attribute was not updated' : ''`,
		},
		{
			name:   "an untouched input shows the new value attribute",
			before: `<input id="v" value="old">`,
			after:  `<input id="v" value="new">`,
			check:  `document.getElementById('v').value === 'new' && kept('#v') ? '' : 'value ' + document.getElementById('v').value`,
		},
		{
			name:   "an open <details> stays open",
			before: `<details id="d"><summary>More</summary><p>inside</p></details>`,
			setup:  `document.getElementById('d').open = true;`,
			after:  `<details id="d"><summary>More details</summary><p>inside</p></details>`,
			want:   `<details id="d" open=""><summary>More details</summary><p>inside</p></details>`,
			check:  `document.getElementById('d').open && kept('#d') ? '' : 'the details closed or were replaced'`,
		},
		{
			name:   "nested SVG",
			before: `<svg viewBox="0 0 10 10" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><linearGradient id="lg"><stop offset="0"></stop></linearGradient></defs><g class="g"><circle r="1" fill="red"></circle><use xlink:href="#one"></use></g></svg>`,
			after:  `<svg viewBox="0 0 20 20" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><linearGradient id="lg"><stop offset="0"></stop><stop offset="1"></stop></linearGradient></defs><g class="g"><circle r="2" fill="blue"></circle><rect width="3" height="4"></rect><use xlink:href="#two"></use></g></svg>`,
			check: `const ns = 'http://www.w3.org/2000/svg', r = root.querySelector('rect'), u = root.querySelector('use');
				return !kept('svg') || !kept('circle') || !kept('g') || !kept('#lg') ? 'an SVG element was replaced' :
				r.namespaceURI !== ns || root.querySelectorAll('stop')[1].namespaceURI !== ns ? 'a new SVG element is not in the SVG namespace' :
				u.getAttributeNS('http://www.w3.org/1999/xlink', 'href') !== '#two' ? 'xlink:href is ' + u.getAttributeNS('http://www.w3.org/1999/xlink', 'href') :
				root.querySelector('circle').getAttribute('fill') !== 'blue' ? 'fill not updated' : ''`,
		},
		{
			name:   "<template> content is morphed",
			before: `<template id="t"><p class="a">one</p></template><p>x</p>`,
			setup:  `window.tp = document.getElementById('t').content.querySelector('p');`,
			after:  `<template id="t"><p class="a">two</p><span>new</span></template><p>x</p>`,
			check:  `const c = document.getElementById('t').content; return kept('#t') && c.querySelector('p') === tp && c.querySelector('p').textContent === 'two' && c.querySelector('span') ? '' : 'template content: ' + document.getElementById('t').innerHTML`,
		},
		{
			name:   "a custom element keeps what it rendered and sees its new attribute",
			before: `<x-counter label="a"></x-counter><p>1</p>`,
			setup:  `window.built = 0; window.changed = []; root.querySelector('x-counter button').textContent = 'clicks: 3';`,
			after:  `<x-counter label="b"></x-counter><p>2</p>`,
			want:   `<x-counter label="b"><button>clicks: 3</button></x-counter><p>2</p>`,
			check:  `window.built !== 0 ? 'the element was built again' : !kept('x-counter') ? 'the element was replaced' : window.changed.join() !== 'b' ? 'attributeChangedCallback saw ' + window.changed : ''`,
		},
		{
			name:   "a new custom element is built once",
			before: `<p>1</p>`,
			setup:  `window.built = 0;`,
			after:  `<p>1</p><x-counter label="n"></x-counter>`,
			want:   `<p>1</p><x-counter label="n"><button>clicks: 0</button></x-counter>`,
			check:  `window.built === 1 ? '' : 'built ' + window.built + ' times'`,
		},
		{
			name:   `an element with data-valksor-morph="false" keeps what a script rendered into it`,
			before: `<div id="app" data-valksor-morph="false"></div><p>a</p>`,
			setup:  `const app = document.getElementById('app'); app.innerHTML = '<b>rendered</b>'; app.className = 'mounted';`,
			after:  `<div id="app" data-valksor-morph="false"></div><p>b</p>`,
			want:   `<div id="app" data-valksor-morph="false" class="mounted"><b>rendered</b></div><p>b</p>`,
			check:  `kept('#app') ? '' : 'the element was replaced'`,
		},
		{
			name:   "an element moved to another parent keeps its identity and focus",
			before: `<div id="left"><input id="f"></div><div id="right"></div>`,
			setup:  `const f = document.getElementById('f'); f.value = 'abc'; f.focus();`,
			after:  `<div id="left"></div><div id="right"><p>moved:</p><input id="f"></div>`,
			check:  `const f = document.getElementById('f'); return !kept('#f') ? 'the input was replaced' : f.value !== 'abc' ? 'value ' + f.value : document.activeElement !== f ? 'focus lost' : ''`,
		},
		{
			name:   "an element whose id moves to another tag is rebuilt",
			before: `<div id="x">div</div>`,
			after:  `<section id="x">section</section>`,
		},
		{
			name:   "a script moved into a new parent is not run",
			before: `<div><script>window.runs = (window.runs || 0) + 1</script></div>`,
			setup:  `window.runs = 0;`,
			after:  `<section><p>wrapped</p><script>window.runs = (window.runs || 0) + 1</script></section>`,
			check:  `window.runs === 0 ? '' : 'the script ran ' + window.runs + ' times'`,
		},
		{
			name:   "<noscript> content never becomes elements (DOMParser parses it as markup)",
			before: `<noscript><img src="/pixel.gif?before"></noscript><p>a</p>`,
			after:  `<noscript><img src="/pixel.gif?after"></noscript><p>b</p>`,
			want:   `<p>b</p>`,
			check:  `!document.querySelector('noscript img') && !performance.getEntriesByType('resource').some((r) => r.name.includes('pixel.gif')) ? '' : 'an image in <noscript> was loaded'`,
		},
		{
			name:   "a new script refuses the morph",
			before: `<p>a</p>`,
			after:  `<p>b</p><script>window.bad = 1</script>`,
			want:   "-",
			check:  `window.bad ? 'the script ran' : ''`,
		},
		{
			name:   "a changed module script refuses the morph",
			before: `<p>a</p>`,
			after:  `<p>b</p>`,
			edit:   `(d) => { const s = d.querySelector('script[type=module]'); s.textContent += '\n// changed'; }`,
			want:   "-",
		},
		{
			name:   "a changed import map refuses the morph",
			before: `<p>a</p>`,
			after:  `<p>b</p>`,
			edit:   `(d) => { const s = d.createElement('script'); s.type = 'importmap'; s.textContent = '{"imports":{}}'; d.head.append(s); }`,
			want:   "-",
		},
		{
			name:   `<html data-valksor-morph="false"> refuses the morph`,
			before: `<p>a</p>`,
			after:  `<p>b</p>`,
			edit:   `(d) => d.documentElement.dataset.valksorMorph = 'false'`,
			want:   "-",
		},
		{
			name:   "title, inline style and a new stylesheet in the head",
			before: `<p id="box">box</p>`,
			after:  `<p id="box">box!</p>`,
			edit: `(d) => { d.title = 'morphed'; d.querySelector('style').textContent = '#root { color: rgb(1, 2, 3) }';
				const l = d.createElement('link'); l.rel = 'stylesheet'; l.href = 'data:text/css,%23box%7Bmargin-left:17px%7D'; d.head.append(l); }`,
			check: `document.title !== 'morphed' ? 'title ' + document.title :
				getComputedStyle(root).color !== 'rgb(1, 2, 3)' ? 'style ' + getComputedStyle(root).color :
				getComputedStyle(document.getElementById('box')).marginLeft !== '17px' ? 'stylesheet not applied' :
				document.querySelectorAll('style').length !== 1 ? document.querySelectorAll('style').length + ' style elements' :
				document.querySelectorAll('title').length !== 1 ? 'two titles' : ''`,
		},
		{
			name:   "what a script added to <body> stays; what the server added and removed goes",
			before: `<p>a</p>`,
			setup:  `const t = document.createElement('div'); t.className = 'toast'; t.textContent = 'toast'; document.body.append(t);`,
			after:  `<p>b</p>`,
			edit:   `(d) => { d.querySelector('.toast').remove(); const f = d.createElement('footer'); f.textContent = 'footer'; d.body.append(f); }`,
			check:  `document.querySelector('body > .toast') && document.querySelector('body > footer') ? '' : 'body: ' + document.body.innerHTML`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			type result struct {
				OK    bool     `json:"ok"`
				Muts  []string `json:"muts"`
				HTML  string   `json:"html"`
				Want  string   `json:"want"`
				Check string   `json:"check"`
			}
			setup := c.setup
			edit := c.edit
			if edit == "" {
				edit = "null"
			}
			want := "html(" + jsString(c.after) + ")"
			switch c.want {
			case "-":
				want = "html(" + jsString(c.before) + ")"
			case "":
			default:
				want = "html(" + jsString(c.want) + ")"
			}
			check := c.check
			if check == "" {
				check = "''"
			}
			if !strings.Contains(check, "return ") {
				check = "return " + check
			}
			js := `(async () => {
  document.querySelectorAll('body > :not(#root)').forEach((e) => e.remove());
  document.title = 'morph';
  const root = document.getElementById('root');
  root.innerHTML = ` + jsString(c.before) + `;
  mark();
  ` + setup + `
  const { ok, muts } = await step(` + jsString(c.after) + `, ` + edit + `);
  const check = (() => { ` + check + ` })();
  return { ok, muts, html: root.innerHTML, want: ` + want + `, check };
})()`
			r := evalInto[result](tb, js)
			if r.OK != (c.want != "-") {
				t.Errorf("morph resolved %v", r.OK)
			}
			if r.HTML != r.Want {
				t.Errorf("#root after the morph:\n%s\nwant:\n%s", r.HTML, r.Want)
			}
			if r.Check != "" {
				t.Errorf("%s (mutations: %s)", r.Check, strings.Join(r.Muts, " "))
			}
			if c.want == "-" && len(r.Muts) > 0 {
				t.Errorf("a refused morph changed the page: %s", strings.Join(r.Muts, " "))
			}
		})
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`)
	return "`" + r.Replace(s) + "`"
}
