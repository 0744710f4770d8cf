"""A small web app on Python's standard library, to run behind valksor-sse dev.

    python3 app.py --port 8000

It renders templates/index.html at every request, so a saved template shows
at once, serves the files of static/ under /static/, and keeps a list of
notes in memory (POST /notes adds one). It knows nothing of valksor-sse: the
dev proxy in front of it adds the live-reload client to its pages.
"""

import argparse
import html
import http.server
import pathlib
import string
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent
GREETING = "Hello from Python"
notes = []


class App(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(ROOT / "static"), **kwargs)

    def do_GET(self):
        self.route(head=False)

    def do_HEAD(self):
        self.route(head=True)

    def route(self, head):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            self.page(head)
        elif path.startswith("/static/"):
            self.path = self.path[len("/static"):]  # a file of static/, never above it
            super().do_HEAD() if head else super().do_GET()
        else:
            self.send_error(404)

    def page(self, head):
        template = string.Template((ROOT / "templates" / "index.html").read_text(encoding="utf-8"))
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>No notes yet.</li>"
        body = template.safe_substitute(greeting=html.escape(GREETING), notes=items).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/notes":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8"))
        note = form.get("note", [""])[0].strip()
        if note:
            notes.append(note)
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("localhost", args.port), App)
    print(f"app listening on http://localhost:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
