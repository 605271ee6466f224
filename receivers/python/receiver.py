#!/usr/bin/env python3
"""Reference receiver for svu-gateway notifications, Python standard library only (3.8+).

The starting point for a municipality's or vårdcentral's own integration. It
  1. gets a token from the gateway (OAuth 2.0 client credentials, client_secret_basic),
  2. creates a topic-based Subscription for its organisation's Tasks with a fresh HMAC secret,
  3. answers every notification fast: verifies X-Signature (HMAC-SHA256 over "<timestamp>.<event id>.<body>"),
     refuses a bad or stale signature with 401, answers 200 to an event id it has already accepted without
     processing it again, and queues the rest for processing,
  4. notices gaps in the event numbers (and heartbeats that report more events than it has) and fetches the
     missing events with GET /fhir/Subscription/<id>/$events.
  5. deletes its Subscription on Ctrl-C or SIGTERM, and on start those an earlier run left at the same address
     (stopped by a kill: their secrets died with it).

    python3 receivers/python/receiver.py --gateway http://localhost:8080 --client demo-vasteras --port 9091

Replace `process()` with your own handling (write to your case system). Keep the seen-event store durable in
production (a table keyed by event id); here it is in memory. Test it with `npm run conformance -- receiver`.
"""
import argparse
import base64
import hashlib
import hmac
import json
import queue
import secrets
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
SECRET_EXTENSION = "https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


def verify(secret, headers, body):
    """Returns None when the signature is good, else the reason."""
    sig = headers.get("X-Signature")
    event_id = headers.get("X-Event-Id")
    ts = headers.get("X-Signature-Timestamp")
    if not sig or not event_id or not ts or not ts.isdigit():
        return "missing signature headers"
    if abs(time.time() - int(ts)) > TOLERANCE_SECONDS:
        return "timestamp outside tolerance"
    expected = hmac.new(secret.encode(), ts.encode() + b"." + event_id.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        return "bad signature"
    return None


def status_of(bundle):
    """The SubscriptionStatus parameters of a notification: type, events since start, event numbers."""
    for entry in bundle.get("entry", []):
        r = entry.get("resource") or {}
        if r.get("resourceType") != "Parameters":
            continue
        params = r.get("parameter", [])
        get = lambda name: next((p for p in params if p.get("name") == name), {})
        events = []
        for p in params:
            if p.get("name") == "notification-event":
                part = next((x for x in p.get("part", []) if x.get("name") == "event-number"), {})
                events.append(int(part.get("valueString", "0")))
        return {
            "type": get("type").get("valueCode"),
            "since": int(get("events-since-subscription-start").get("valueString", "0") or 0),
            "events": events,
        }
    return {"type": None, "since": 0, "events": []}


class Gateway:
    def __init__(self, base, client, client_secret):
        self.base = base.rstrip("/")
        self.client = client
        self.client_secret = client_secret
        self.token = None

    def get_token(self):
        basic = base64.b64encode(f"{self.client}:{self.client_secret}".encode()).decode()
        data = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "scope": "system/Subscription.cruds system/Task.rs system/Encounter.rs system/Patient.rs",
        }).encode()
        req = urllib.request.Request(f"{self.base}/auth/token", data=data, method="POST", headers={
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as res:
            self.token = json.load(res)["access_token"]

    def fhir(self, method, path, body=None):
        for attempt in (1, 2):
            if not self.token:
                self.get_token()
            req = urllib.request.Request(
                f"{self.base}/fhir/{path}", method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/fhir+json",
                         "Accept": "application/fhir+json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as res:
                    raw = res.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 1:
                    self.token = None  # expired: get a new one and try once more
                    continue
                raise


class Receiver:
    def __init__(self, gateway, public_url, payload):
        self.gateway = gateway
        self.public_url = public_url
        self.payload = payload
        self.secret = secrets.token_hex(24)
        self.subscription_id = None
        self.seen = set()          # accepted event ids (make this durable in production)
        self.processed = set()     # processed event numbers
        self.last_event = 0
        self.lock = threading.Lock()
        self.work = queue.Queue()

    def reason(self):
        return f"svu-gateway Python reference receiver ({self.gateway.client})"

    def replace_earlier(self):
        """Deletes the Subscriptions an earlier run of this receiver left at this address (stopped by a kill):
        their secrets died with that process, so whatever they deliver here could only be refused."""
        try:
            found = self.gateway.fhir("GET", f"Subscription?url={urllib.parse.quote(self.public_url, safe='')}&_count=100")
        except urllib.error.URLError as e:
            log(f"could not look for earlier Subscriptions at {self.public_url}: {e}")
            return
        for entry in (found or {}).get("entry", []):
            sub = entry.get("resource", {})
            if sub.get("resourceType") == "Subscription" and sub.get("reason") == self.reason():
                self.gateway.fhir("DELETE", f"Subscription/{sub['id']}")
                log(f"Subscription/{sub['id']} of an earlier receiver at this address deleted")

    def subscribe(self):
        self.replace_earlier()
        sub = {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": self.reason(),
            "criteria": "https://svu-gateway.dev/fhir/SubscriptionTopic/task-for-my-organisation",
            "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
            "extension": [{"url": SECRET_EXTENSION, "valueString": self.secret}],
            "channel": {
                "type": "rest-hook",
                "endpoint": self.public_url,
                "payload": "application/fhir+json",
                "_payload": {"extension": [{"url": f"{BACKPORT}/backport-payload-content", "valueCode": self.payload}]},
                "extension": [{"url": f"{BACKPORT}/backport-heartbeat-period", "valueUnsignedInt": 60}],
            },
        }
        self.subscription_id = self.gateway.fhir("POST", "Subscription", sub)["id"]
        log(f"Subscription/{self.subscription_id} created; notifications to {self.public_url}")

    def accept(self, headers, body):
        """Called by the HTTP handler: returns the status code to answer, fast."""
        reason = verify(self.secret, headers, body)
        event_id = headers.get("X-Event-Id", "")
        if reason:
            log(f"refused {event_id}: {reason}")
            return 401
        with self.lock:
            if event_id in self.seen:
                log(f"repeat of {event_id}: already accepted, not processed again")
                return 200
            self.seen.add(event_id)
        try:
            bundle = json.loads(body)
        except ValueError:
            return 400  # signed but not JSON: retrying will not help
        self.work.put(bundle)
        return 200

    def worker(self):
        while True:
            bundle = self.work.get()
            try:
                self.handle(bundle)
            except Exception as e:  # keep serving; the gap check fetches what was missed
                log(f"processing failed: {e}")

    def handle(self, bundle):
        st = status_of(bundle)
        if st["type"] == "event-notification" and st["events"]:
            first = min(st["events"])
            with self.lock:
                gap = (self.last_event + 1, first - 1) if self.last_event and first > self.last_event + 1 else None
                self.last_event = max([self.last_event] + st["events"])
            if gap:
                self.catch_up(*gap)
            for entry in bundle.get("entry", []):
                r = entry.get("resource")
                if r and r.get("resourceType") not in ("Parameters", "MessageHeader"):
                    self.process(r)
            with self.lock:
                self.processed.update(st["events"])
        elif st["type"] == "heartbeat":
            with self.lock:
                behind = st["since"] > self.last_event > 0
                gap = (self.last_event + 1, st["since"]) if behind else None
            if gap:
                self.catch_up(*gap)
            log(f"heartbeat (events so far: {st['since']})")
        else:
            log(f"{st['type']} received")

    def catch_up(self, since, until):
        log(f"gap: fetching events {since}-{until} with $events")
        b = self.gateway.fhir(
            "GET", f"Subscription/{self.subscription_id}/$events?eventsSinceNumber={since}&eventsUntilNumber={until}")
        for entry in (b or {}).get("entry", []):
            r = entry.get("resource")
            if r and r.get("resourceType") not in ("Parameters", "MessageHeader"):
                self.process(r)
        with self.lock:
            self.processed.update(range(since, until + 1))
            self.last_event = max(self.last_event, until)

    def process(self, resource):
        """Your integration goes here. A Task's owner acknowledges it by setting status = received."""
        code = ((resource.get("code") or {}).get("coding") or [{}])[0].get("code", "")
        log(f"{resource.get('resourceType')}/{resource.get('id')} {code} {resource.get('status', '')}".strip())


def log(text):
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


def serve(receiver, port):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            code = receiver.accept(self.headers, body)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_on_term(*_):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gateway", default="http://localhost:8080")
    ap.add_argument("--client", default="demo-vasteras")
    ap.add_argument("--secret", help="client secret (default: <client>-secret, the demo region's)")
    ap.add_argument("--port", type=int, default=9091)
    ap.add_argument("--public-url", help="URL the gateway posts to (default http://127.0.0.1:<port>/notify)")
    ap.add_argument("--payload", default="full-resource", choices=["full-resource", "id-only", "empty"])
    a = ap.parse_args()
    gateway = Gateway(a.gateway, a.client, a.secret or f"{a.client}-secret")
    receiver = Receiver(gateway, a.public_url or f"http://127.0.0.1:{a.port}/notify", a.payload)
    server = serve(receiver, a.port)
    threading.Thread(target=receiver.worker, daemon=True).start()
    receiver.subscribe()
    # a stop by kill or a process manager (SIGTERM) deletes the Subscription as Ctrl-C does
    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        try:
            gateway.fhir("DELETE", f"Subscription/{receiver.subscription_id}")
            log(f"Subscription/{receiver.subscription_id} deleted")
        except Exception as e:
            log(f"could not delete the Subscription: {e}")
        server.shutdown()


if __name__ == "__main__":
    main()
