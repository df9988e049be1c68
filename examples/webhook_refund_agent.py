"""An agent that learns of its refund from Stripe's webhook, as production code does: it serves an
endpoint on its own loopback, registers it (`WebhookEndpoint.create`), refunds the charge named on
its command line, and waits for `charge.refunded`; each event is checked with the stripe SDK's
`Webhook.construct_event` and handled once per event id (Stripe delivers at least once: under the
`webhook-chaos` profile the same event arrives twice and out of order). On the first
`charge.refunded` it marks the charge's metadata with the event id. With `--every-delivery` it
marks the charge on every delivery instead, as a naive handler does (and is caught).

    sandbox run --faults webhook-chaos examples/tasks/refund-webhook-ack.yaml -- \\
        python examples/webhook_refund_agent.py
"""

import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)
WANTED = {"charge.refunded", "refund.created"}

secret = None
seen: set[str] = set()
arrived: list[stripe.Event] = []
done = threading.Event()
lock = threading.Lock()


class Endpoint(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = stripe.Webhook.construct_event(body, self.headers.get("Stripe-Signature", ""), secret)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            print(f"rejected a delivery: {exc}", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        with lock:
            again = event.id in seen
            seen.add(event.id)
            arrived.append(event)
            print(f"received {event.type} {event.id}{' (again: ignored)' if again else ''}", flush=True)
            if {e.type for e in arrived} >= WANTED:
                done.set()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
endpoint = stripe.WebhookEndpoint.create(url=f"http://127.0.0.1:{server.server_port}/stripe",
                                         enabled_events=sorted(WANTED))
secret = endpoint.secret

naive = "--every-delivery" in sys.argv
named = [a for a in sys.argv[1:] if a.startswith("ch_")]
charge_id = named[0] if named else re.search(r"refund charge (ch_\w+)", os.environ["SANDBOX_TASK_INSTRUCTION"]).group(1)
refund = stripe.Refund.create(charge=charge_id, reason="duplicate")
print(f"refunded {refund.amount} of {charge_id} ({refund.id})", flush=True)
if not done.wait(timeout=20):
    print("no charge.refunded arrived", flush=True)
    sys.exit(1)
refunded = [e for e in arrived if e.type == "charge.refunded"]
for event in refunded if naive else refunded[:1]:
    stripe.Charge.modify(charge_id, metadata={"refund_event": event.id})
    print(f"acknowledged {event.id} on {charge_id}", flush=True)
server.shutdown()
