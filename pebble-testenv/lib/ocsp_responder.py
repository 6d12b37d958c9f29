#!/usr/bin/python3
"""A 127.0.0.1-only HTTP front for `openssl ocsp` (--with ocsp).

`openssl ocsp -port N` binds every interface (OpenSSL 3.0 accepts only a port
number there), so this front listens on 127.0.0.1 alone and hands each POSTed
request to `openssl ocsp -index ... -reqin ... -respout ...`, which answers it
from the CA's index.txt as it is at that moment (a revocation shows at once).
Requests are bounded: 16 KiB body, 10 s per connection, 16 at a time.

usage: ocsp_responder.py PORT INDEX CA_PEM RSIGNER_PEM RKEY_PEM
"""
import http.server
import os
import socketserver
import subprocess
import sys
import tempfile
import threading

MAX_BODY = 16 * 1024
SLOTS = threading.BoundedSemaphore(16)


class Handler(http.server.BaseHTTPRequestHandler):
    timeout = 10

    def do_POST(self):
        if not SLOTS.acquire(blocking=False):
            self.send_error(503)
            return
        try:
            self.answer()
        finally:
            SLOTS.release()

    def answer(self):
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.send_error(413 if length > MAX_BODY else 411)
            return
        body = self.rfile.read(length)
        with tempfile.TemporaryDirectory() as tmp:
            req, resp = os.path.join(tmp, "req.der"), os.path.join(tmp, "resp.der")
            with open(req, "wb") as f:
                f.write(body)
            index, ca, rsigner, rkey = sys.argv[2:6]
            done = subprocess.run(
                ["openssl", "ocsp", "-index", index, "-CA", ca, "-rsigner", rsigner,
                 "-rkey", rkey, "-reqin", req, "-respout", resp],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            if done.returncode != 0 or not os.path.exists(resp):
                sys.stderr.write(done.stderr.decode(errors="replace"))
                self.send_error(500)
                return
            with open(resp, "rb") as f:
                data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        # Readiness probe only; OCSP over GET (RFC 6960 A.1) is not served.
        self.send_response(204)
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 16


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
