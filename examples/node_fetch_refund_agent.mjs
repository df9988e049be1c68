// A careful agent for the refund-duplicate-charge task, in Node with the global fetch and no proxy
// code at all: the same logic as careful_refund_agent.py (find the customer by email, the two equal
// charges of the named order, refund the later one in full, touch nothing else).
//
// Node 20's fetch ignores HTTPS_PROXY. Under `sandbox run` (isolated, the default on Linux) it
// still reaches the payments fake: api.stripe.com resolves to the sandbox's relay into the proxy.
// With --no-isolate it goes around the sandbox, and the score says so.
//
//   sandbox run refund-duplicate-charge -- node examples/node_fetch_refund_agent.mjs

const key = process.env.STRIPE_API_KEY;
const base = "https://api.stripe.com/v1";

async function stripe(method, path, form) {
  const response = await fetch(base + path, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(body.error ?? body)}`);
  return body;
}

async function* charges(customer) {
  let after;
  for (;;) {
    const query = new URLSearchParams({ customer, limit: "100", ...(after ? { starting_after: after } : {}) });
    const page = await stripe("GET", `/charges?${query}`);
    yield* page.data;
    if (!page.has_more || page.data.length === 0) return;
    after = page.data[page.data.length - 1].id;
  }
}

const instruction = process.env.SANDBOX_TASK_INSTRUCTION ?? "";
const email = instruction.match(/<([^<>\s]+@[^<>\s]+)>/)?.[1];
const order = instruction.match(/order (ORD-[\w-]+)/)?.[1];
if (!email || !order) {
  console.log("the instruction names no customer email or order; doing nothing");
  process.exit(1);
}

const customers = (await stripe("GET", `/customers?${new URLSearchParams({ email })}`)).data;
if (customers.length !== 1) {
  console.log(`found ${customers.length} customers with email ${email}; asking a human instead of guessing`);
  process.exit(1);
}

const found = [];
for await (const charge of charges(customers[0].id)) {
  if (charge.metadata?.order_id === order && charge.status === "succeeded" && !charge.refunded) found.push(charge);
}
if (found.length !== 2 || found[0].amount !== found[1].amount) {
  console.log(`expected two equal charges for ${order}, found ${found.length}; not refunding anything`);
  process.exit(1);
}

const duplicate = found.reduce((a, b) => (b.created > a.created || (b.created === a.created && b.id > a.id) ? b : a));
const refund = await stripe("POST", "/refunds", { charge: duplicate.id, reason: "duplicate", "metadata[order_id]": order });
console.log(`refunded ${refund.amount} ${refund.currency} of ${duplicate.id} (${refund.id}) for ${email}`);
