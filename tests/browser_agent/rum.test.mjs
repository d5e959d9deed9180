// The browser agent under Node's own test runner (`node --test tests/browser_agent/`,
// part of `make test`): the shared masking vectors, and the capture logic on a DOM stub.
// It loads the built, served file (static/rumvault/rum-<version>.js), so what is tested
// is what browsers get.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { webcrypto } from "node:crypto";
import { test, describe } from "node:test";

const require = createRequire(import.meta.url);
const root = new URL("../../", import.meta.url);
const staticDir = new URL("browser_agent/static/rumvault/", root);
// The version the server hands out (earlier versions stay served beside it).
const version = /AGENT_VERSION = "([0-9.]+)"/.exec(
  readFileSync(new URL("browser_agent/version.py", root), "utf8"))[1];
const agent = require(new URL(`rum-${version}.js`, staticDir).pathname);
// The loader tag's code, as browser_agent/agent.py puts it into a page.
const loaderCode = readFileSync(new URL("browser_agent/loader.min.js", root), "utf8");
const vectors = JSON.parse(readFileSync(new URL("tests/vectors/masking.json", root), "utf8"));

describe("shared masking vectors", () => {
  test("free text", () => {
    for (const { input, personal, expected } of vectors.text) {
      assert.equal(agent.maskText(input, personal), expected, JSON.stringify({ input, personal }));
    }
  });
  test("URLs", () => {
    for (const { input, personal, expected } of vectors.uri) {
      assert.equal(agent.maskUri(input, personal), expected, JSON.stringify({ input, personal }));
    }
  });
  test("masking rules", () => {
    for (const { description, rules, path, input, expected } of vectors.rules) {
      assert.equal(agent.applyRules(agent.compileRules(rules), path, input), expected, description);
    }
  });
});

// --- a DOM stub ------------------------------------------------------------------------

const INTERACTIVE = new Set(["A", "BUTTON", "SUMMARY", "SELECT", "LABEL"]);
const CLICKABLE_INPUTS = new Set(["submit", "button", "reset", "checkbox", "radio"]);

class Element {
  constructor(tagName, { attributes = {}, text = "", parent = null, secret = null } = {}) {
    this.tagName = tagName;
    this.attributes = attributes;
    this.text = text;
    this.parent = parent;
    this.reads = [];
    // What a visitor typed: reading it fails the test.
    Object.defineProperty(this, "value", {
      get() { throw new Error(`the agent read the value of a ${tagName}`); },
    });
    this.secret = secret;
  }
  getAttribute(name) {
    return Object.hasOwn(this.attributes, name) ? this.attributes[name] : null;
  }
  get textContent() {
    if (this.tagName === "TEXTAREA" || this.tagName === "INPUT") {
      throw new Error("the agent read a form field's contents");
    }
    return this.text;
  }
  // Only the selector the agent uses is understood: interactive elements.
  closest() {
    for (let element = this; element; element = element.parent) {
      if (INTERACTIVE.has(element.tagName) || element.getAttribute("data-rum-name") !== null ||
          /^(button|link|menuitem|tab|checkbox)$/.test(element.getAttribute("role") || "") ||
          (element.tagName === "INPUT" && CLICKABLE_INPUTS.has(element.getAttribute("type")))) {
        return element;
      }
    }
    return null;
  }
}

class Target {
  constructor() { this.listeners = {}; }
  addEventListener(type, listener) { (this.listeners[type] ||= []).push(listener); }
  removeEventListener(type, listener) {
    this.listeners[type] = (this.listeners[type] || []).filter((other) => other !== listener);
    if (!this.listeners[type].length) delete this.listeners[type];
  }
  dispatch(type, event = {}) { for (const listener of this.listeners[type] || []) listener({ type, ...event }); }
}

function world({ config = {}, navigator = {}, status = 200, consent = null, loading = false, tab = new Map() } = {}) {
  let clock = Date.parse("2026-11-30T10:00:00Z");
  const timers = [];
  const sent = [];
  const beacons = [];
  const storage = tab; // sessionStorage: one per browser tab, shared by its pages
  if (consent) storage.set("rumvault.consent", JSON.stringify(consent));
  const window = new Target();
  const document = new Target();
  document.readyState = loading ? "loading" : "complete";
  document.visibilityState = "visible";
  const location = { href: "https://shop.example.com/checkout?email=jane@example.com", pathname: "/checkout" };
  let answer = status;
  const fetch = (url, init) => {
    sent.push({ url, init, body: init && init.body ? JSON.parse(init.body) : null });
    const code = typeof answer === "function" ? answer() : answer;
    return Promise.resolve({ status: code, ok: code < 300, headers: { get: () => null } });
  };
  window.fetch = (url) => Promise.resolve({ status: url.includes("missing") ? 404 : 200 });
  window.XMLHttpRequest = null;
  const env = {
    window, document, location,
    navigator: { userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36", ...navigator },
    performance: { timeOrigin: clock - 500, getEntriesByType: () => [{ loadEventEnd: 420.4, startTime: 0 }] },
    crypto: webcrypto,
    storage: {
      getItem: (key) => (storage.has(key) ? storage.get(key) : null),
      setItem: (key, value) => storage.set(key, value),
      removeItem: (key) => storage.delete(key),
    },
    fetch,
    sendBeacon: (url, body) => { beacons.push(JSON.parse(body)); return true; },
    setTimeout: (callback, delay) => { timers.push({ callback, at: clock + delay }); return timers.length; },
    clearTimeout: (id) => { if (timers[id - 1]) timers[id - 1].callback = null; },
    now: () => clock,
    base: "https://rumvault.example.com",
    key: "rvpub_test",
  };
  const rum = agent.createAgent(env);
  const configure = () => rum._configure({ uri_masking: true, mask_user_actions: false, do_not_track: "anonymous",
    opt_in: false, rules: [], ...config });
  return {
    env, rum, sent, beacons, storage, window, document, configure,
    answer: (value) => { answer = value; },
    // Runs every timer due within ``ms`` (and what they schedule), then settles promises.
    async advance(ms) {
      const until = clock + ms;
      for (;;) {
        const due = timers.filter((timer) => timer.callback && timer.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        clock = Math.max(clock, due.at);
        const callback = due.callback;
        due.callback = null;
        callback();
        await settle();
      }
      clock = until;
      await settle();
    },
    actions: () => sent.filter((item) => item.url.endsWith("/beacons/")).flatMap((item) => item.body.sessions[0].actions),
    beaconBodies: () => sent.filter((item) => item.url.endsWith("/beacons/")).map((item) => item.body.sessions[0]),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function click(w, element) {
  w.document.dispatch("click", { target: element });
}

describe("capture on a DOM stub", () => {
  test("clicks are named from data-rum-name, aria-label or text, never from a field", async () => {
    const w = world();
    w.configure();
    const form = new Element("FORM");
    click(w, new Element("BUTTON", { attributes: { "data-rum-name": "Checkout step 2" }, text: "Next" }));
    click(w, new Element("BUTTON", { attributes: { "aria-label": "Close dialog" }, text: "×" }));
    click(w, new Element("SPAN", { text: "Add to cart", parent: new Element("BUTTON", { text: "  Add to\n cart " }) }));
    click(w, new Element("INPUT", { attributes: { type: "submit" }, parent: form }));
    click(w, new Element("INPUT", { attributes: { type: "password" }, parent: form })); // not clickable
    click(w, new Element("TEXTAREA", { parent: form }));
    click(w, new Element("A", { text: "Mail jane.doe@example.com about order 1234567" }));
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().filter((a) => a.type === "click").map((a) => a.name), [
      "Checkout step 2", "Close dialog", "Add to cart", "click on input", "Mail <masked> about order <masked>",
    ]);
  });

  test("with 'mask user actions' every click is named generically", async () => {
    const w = world({ config: { mask_user_actions: true } });
    w.configure();
    click(w, new Element("BUTTON", { attributes: { "data-rum-name": "Buy" }, text: "Buy" }));
    click(w, new Element("A", { text: "Jane's orders" }));
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().filter((a) => a.type === "click").map((a) => a.name), ["click on button", "click on a"]);
  });

  test("no listener ever sees keys, input or form contents", () => {
    const w = world();
    const typed = ["input", "change", "keydown", "keyup", "keypress", "submit", "focus", "blur", "paste", "beforeinput"];
    for (const target of [w.window, w.document]) {
      for (const type of typed) assert.equal(target.listeners[type], undefined, type);
    }
  });

  test("the page view comes first, with its load duration and a masked URL", async () => {
    const w = world();
    w.configure();
    w.rum.flush();
    await settle();
    const [view] = w.actions();
    assert.equal(view.type, "page_view");
    assert.equal(view.seq, 0);
    assert.equal(view.name, "Loading of /checkout");
    assert.equal(view.url, "https://shop.example.com/checkout?email=<masked>");
    assert.equal(view.duration_ms, 420);
  });

  test("fetch is captured with method, masked URL, status and duration", async () => {
    const w = world();
    w.configure();
    await w.window.fetch("/api/orders/1234567?card=4111111111111111", { method: "post" });
    await w.window.fetch("/missing");
    w.rum.flush();
    await settle();
    const requests = w.actions().filter((a) => a.type === "xhr");
    assert.deepEqual(requests.map((a) => [a.name, a.url, a.http_status]), [
      ["POST /api/orders/<masked>", "https://shop.example.com/api/orders/<masked>?card=<masked>", 200],
      ["GET /missing", "https://shop.example.com/missing", 404],
    ]);
    assert.ok(requests.every((a) => a.duration_ms >= 0));
  });

  test("a request that ends before the configuration comes keeps its own duration", async () => {
    const w = world();
    await w.window.fetch("/api/cart"); // answered at once, while the configuration is awaited
    await w.advance(300);
    w.configure();
    w.rum.flush();
    await settle();
    const requests = w.actions().filter((a) => a.type === "xhr");
    assert.deepEqual(requests.map((a) => [a.name, a.duration_ms]), [["GET /api/cart", 0]]);
  });

  test("errors and unhandled rejections are captured with masked messages", async () => {
    const w = world();
    w.configure();
    w.window.dispatch("error", { target: w.window, error: { name: "TypeError", message: "no order for jane@example.com" } });
    w.window.dispatch("error", { target: new Element("IMG") }); // a broken image: not a script error
    w.window.dispatch("unhandledrejection", { reason: new Error("card 4111 1111 1111 1111 declined") });
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().filter((a) => a.type === "error").map((a) => [a.name, a.error.message]), [
      ["Uncaught TypeError", "no order for <masked>"],
      ["Unhandled rejection", "card <masked> declined"],
    ]);
  });

  test("products and the user tag go through the API", async () => {
    const w = world();
    w.configure();
    w.rum.product({ sku: "DRESS-42", name: "Red dress", price: 79.9, currency: "EUR", event: "add_to_cart", quantity: 2 });
    w.rum.product({ sku: "X", event: "stolen" }); // not a product event: ignored
    w.rum.identifyUser("Jane.Doe@example.com");
    await settle();
    const [body] = w.beaconBodies();
    assert.equal(body.user_tag, "Jane.Doe@example.com");
    assert.deepEqual(body.actions.find((a) => a.type === "custom").product,
      { event: "add_to_cart", sku: "DRESS-42", name: "Red dress", price: "79.90", currency: "EUR", quantity: 2 });
    assert.equal(body.actions.filter((a) => a.type === "custom").length, 1);
    assert.match(body.session_id, /^[A-Za-z0-9]{22}$/);
  });

  test("what happens before the configuration arrives waits for it, in order", async () => {
    const w = world();
    w.rum.product({ sku: "A-1", event: "view" });
    click(w, new Element("BUTTON", { text: "Buy" }));
    await settle();
    assert.equal(w.sent.length, 0);
    w.configure();
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().map((a) => [a.seq, a.type]), [[0, "page_view"], [1, "custom"], [2, "click"]]);
  });
});

describe("the page's load", () => {
  // Applying the configuration masks what waited for it and touches sessionStorage: work
  // that would delay the load event if the answer came back while the page still loads.
  test("a configuration arriving before the load ends is applied after it", async () => {
    const w = world({ loading: true });
    w.rum.product({ sku: "A-1", event: "view" });
    w.configure();
    assert.equal(w.rum._state().config, null);
    assert.equal(w.storage.size, 0);
    w.document.readyState = "complete";
    w.window.dispatch("load");
    await w.advance(0);
    assert.equal(w.rum._state().collecting, true);
    assert.equal(w.storage.has("rumvault.config"), true); // kept for the tab's next pages
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().map((a) => [a.seq, a.type, a.duration_ms]),
      [[0, "page_view", 420], [1, "custom", undefined]]);
  });

  test("a page left before its answer came masks and sends with the tab's last configuration", async () => {
    const earlier = world({ config: { rules: [{ selector: "actions.name", pattern: "Back", method: "replace", replacement: "Return" }] } });
    earlier.configure();
    const w = world({ loading: true, tab: earlier.storage });
    click(w, new Element("BUTTON", { text: "Back" }));
    w.window.dispatch("pagehide");
    await settle();
    assert.deepEqual(w.actions().map((a) => [a.seq, a.type, a.name]),
      [[1, "page_view", "Loading of /checkout"], [2, "click", "Return"]]); // the tab's session goes on
    assert.equal(w.actions()[0].url, "https://shop.example.com/checkout?email=<masked>");
  });

  test("a tab's configuration is kept only while collecting, for 30 minutes", async () => {
    const refused = world({ config: { opt_in: true } });
    refused.configure();
    assert.equal(refused.storage.has("rumvault.config"), false);
    const left = world({ loading: true, tab: refused.storage });
    left.window.dispatch("pagehide");
    assert.equal(left.sent.length, 0);

    const earlier = world();
    earlier.configure();
    assert.equal(earlier.storage.has("rumvault.config"), true);
    const later = world({ loading: true, tab: earlier.storage });
    click(later, new Element("BUTTON", { text: "Back" }));
    await later.advance(30 * 60 * 1000);
    later.window.dispatch("pagehide");
    assert.equal(later.sent.length, 0);

    earlier.rum.disable();
    assert.equal(earlier.storage.has("rumvault.config"), false);
  });

  // A page as boot() sees it, with the tag's key. What the agent reads of window is
  // recorded; navigator, location, performance, crypto and sessionStorage are getters, so
  // that a test can tell when each is first touched.
  function page({ config = {} } = {}) {
    const requested = [];
    const timers = [];
    const touched = [];
    const storage = new Map();
    const window = new Target();
    const document = new Target();
    document.readyState = "interactive"; // deferred scripts run before DOMContentLoaded
    document.visibilityState = "visible";
    document.currentScript = { src: "https://rumvault.example.com/static/rumvault/rum-1.0.2.js",
      getAttribute: (name) => (name === "data-key" ? "rvpub_test" : null) };
    const objects = {
      navigator: { userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36" },
      location: { href: "https://shop.example.com/products/A-1?email=jane@example.com", pathname: "/products/A-1" },
      performance: { timeOrigin: Date.parse("2026-11-30T10:00:00Z"), getEntriesByType: () => [{ loadEventEnd: 0, startTime: 0 }] },
      crypto: webcrypto,
      sessionStorage: {
        getItem: (key) => (storage.has(key) ? storage.get(key) : null),
        setItem: (key, value) => storage.set(key, value),
        removeItem: (key) => storage.delete(key),
      },
    };
    for (const [name, value] of Object.entries(objects)) {
      Object.defineProperty(window, name, { get() { touched.push(name); return value; } });
    }
    const answer = { uri_masking: true, mask_user_actions: false, do_not_track: "anonymous", opt_in: false, rules: [], ...config };
    Object.assign(window, {
      document, XMLHttpRequest: null,
      fetch: (url, init) => {
        requested.push({ url, init, body: init && init.body ? JSON.parse(init.body) : null });
        const body = url.endsWith("/config/") ? answer : {};
        return Promise.resolve({ status: 200, ok: true, json: () => Promise.resolve(body), headers: { get: () => null } });
      },
      setTimeout: (callback) => timers.push(callback), clearTimeout: () => {},
    });
    return { window, document, requested, timers, touched, storage,
      runTimers: () => timers.splice(0).forEach((callback) => callback()) };
  }

  test("the script's own run registers and asks for nothing more: the configuration is asked for in a task of its own", async () => {
    const p = page();
    agent.boot(p.window);
    assert.equal(typeof p.window.rumvault.product, "function");
    assert.deepEqual(p.requested, []);
    p.runTimers();
    assert.deepEqual(p.requested.map((r) => r.url), ["https://rumvault.example.com/api/v1/rum/rvpub_test/config/"]);
  });

  test("a tag without a key does nothing: no API, no listener, no hook, no request", async () => {
    const p = page();
    p.document.currentScript.getAttribute = () => null; // bench/agent.py's ?agent=idle
    const fetch = p.window.fetch;
    agent.boot(p.window);
    p.runTimers();
    assert.equal(p.window.rumvault, undefined);
    assert.deepEqual(p.window.listeners, {});
    assert.deepEqual(p.document.listeners, {});
    assert.equal(p.window.fetch, fetch);
    assert.deepEqual(p.requested, []);
    assert.deepEqual(p.touched, []);
  });

  test("the script's own run touches no navigator, location, performance, crypto or storage", async () => {
    const p = page();
    agent.boot(p.window);
    p.window.rumvault.product({ sku: "A-1", event: "view" }); // a shop's deferred script
    p.document.dispatch("click", { target: new Element("BUTTON", { text: "Next photo" }) });
    assert.deepEqual(p.touched, []);
    p.runTimers(); // the configuration's task: its URL is worked out from the page's
    assert.deepEqual([...new Set(p.touched)], ["location"]);
  });

  test("what a page records before its configuration and its load is masked and sent when it is left", async () => {
    const p = page({ config: { rules: [{ selector: "actions.name", pattern: "order (?P<mask>A-[0-9]+)", method: "mask" }] } });
    agent.boot(p.window);
    p.window.rumvault.product({ sku: "A-1", name: "Dress for jane@example.com", event: "view" });
    p.document.dispatch("click", { target: new Element("BUTTON", { text: "Pay order A-1234" }) });
    p.window.dispatch("error", { target: p.window, error: { name: "Error", message: "failed for jane@example.com" } });
    p.runTimers(); // the configuration is asked for, and comes; the page still loads
    await settle();
    await settle();
    assert.equal(p.requested.filter((r) => r.url.endsWith("/beacons/")).length, 0);
    p.window.dispatch("pagehide");
    await settle();
    const beacons = p.requested.filter((r) => r.url.endsWith("/beacons/"));
    assert.equal(beacons.length, 1);
    assert.equal(beacons[0].init.keepalive, true);
    const actions = beacons[0].body.sessions[0].actions;
    assert.deepEqual(actions.map((a) => [a.seq, a.type, a.name]), [
      [0, "page_view", "Loading of /products/A-1"],
      [1, "custom", "Product view"],
      [2, "click", "Pay order <masked>"],
      [3, "error", "Uncaught Error"],
    ]);
    assert.equal(actions[1].product.name, "Dress for <masked>");
    assert.equal(actions[3].error.message, "failed for <masked>");
    assert.ok(actions.every((a) => a.url === "https://shop.example.com/products/A-1?email=<masked>"));
    assert.doesNotMatch(JSON.stringify(beacons[0].body), /jane/);
  });

  // The loader tag on the page above: it runs while the page is parsed; the agent's script
  // element it adds is what boot() then sees as its tag.
  function loaderPage({ config = {}, attributes = { "data-key": "rvpub_test", "data-src": "https://rumvault.example.com/static/rumvault/rum-1.0.3.js" } } = {}) {
    const p = page({ config });
    const added = [];
    p.document.readyState = "loading";
    p.document.currentScript = { getAttribute: (name) => (Object.hasOwn(attributes, name) ? attributes[name] : null) };
    p.document.createElement = (tagName) => {
      const element = { tagName: tagName.toUpperCase(), attributes: {} };
      element.setAttribute = (name, value) => { element.attributes[name] = value; };
      element.getAttribute = (name) => (Object.hasOwn(element.attributes, name) ? element.attributes[name] : null);
      return element;
    };
    p.document.head = { appendChild: (element) => added.push(element) };
    new Function("window", "document", loaderCode)(p.window, p.document);
    // The page's load ends: the loader adds the agent's script, which runs (from the cache).
    p.load = () => {
      p.document.readyState = "complete";
      p.window.dispatch("load");
      p.runTimers();
      assert.equal(added.length, 1);
      p.document.currentScript = added[0];
      agent.boot(p.window);
    };
    p.added = added;
    return p;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  test("the loader adds the agent only after the load event; the agent replays what came before, in order, with its times, masked", async () => {
    const p = loaderPage();
    const api = p.window.rumvault;
    assert.equal(api.version, undefined); // the loader's stand-in
    api.product({ sku: "A-1", name: "Dress for jane@example.com", event: "view" });
    p.document.dispatch("click", { target: new Element("BUTTON", { text: "Next photo" }) });
    p.window.dispatch("error", { target: p.window, error: { name: "TypeError", message: "x of jane@example.com" } });
    p.window.dispatch("unhandledrejection", { reason: { message: "no stock for jane@example.com" } });
    api.identifyUser("jane@example.com");
    const recorded = Date.now();
    p.runTimers();
    assert.deepEqual([p.added, p.requested, p.touched], [[], [], []]); // nothing before the load
    await sleep(20);
    p.load();
    assert.equal(p.added[0].src, "https://rumvault.example.com/static/rumvault/rum-1.0.3.js");
    assert.equal(p.added[0].getAttribute("data-key"), "rvpub_test");
    assert.equal(p.window.rumvault.version, version);
    // The loader's listeners are gone: the agent's own ones take over, each once.
    assert.deepEqual(Object.fromEntries(Object.entries(p.document.listeners).map(([type, list]) => [type, list.length])),
      { click: 1, visibilitychange: 1 });
    assert.equal(p.window.listeners.error.length, 1);
    p.runTimers(); // the configuration is asked for
    await settle();
    await settle();
    p.runTimers(); // and applied after the load
    p.window.dispatch("pagehide");
    await settle();
    // The replayed actions go after a flush delay, the page view when the page is left (and
    // what was on its way then goes again, with keepalive): each action once, by its seq.
    const sessions = p.requested.filter((r) => r.url.endsWith("/beacons/")).map((r) => r.body.sessions[0]);
    const bySeq = new Map(sessions.flatMap((session) => session.actions).map((action) => [action.seq, action]));
    const actions = [...bySeq.keys()].sort((a, b) => a - b).map((seq) => bySeq.get(seq));
    assert.ok(sessions.some((session) => session.user_tag === "jane@example.com"));
    assert.deepEqual(actions.map((a) => [a.seq, a.type, a.name]), [
      [0, "page_view", "Loading of /products/A-1"],
      [1, "custom", "Product view"],
      [2, "click", "Next photo"],
      [3, "error", "Uncaught TypeError"],
      [4, "error", "Unhandled rejection"],
    ]);
    // Each at the time the loader recorded it, not when the agent replayed it.
    for (const action of actions.slice(1)) assert.ok(Date.parse(action.timestamp) <= recorded, action.type);
    assert.equal(actions[1].product.name, "Dress for <masked>");
    assert.deepEqual(actions.slice(3).map((a) => a.error.message), ["x of <masked>", "no stock for <masked>"]);
  });

  test("the loader never listens for input, change, key or form events, and reads nothing of the page", () => {
    const p = loaderPage();
    assert.deepEqual(Object.keys(p.document.listeners), ["click"]);
    assert.deepEqual(Object.keys(p.window.listeners).sort(), ["error", "load", "unhandledrejection"]);
    p.document.dispatch("click", { target: new Element("INPUT", { attributes: { type: "password" } }) });
    assert.deepEqual(p.touched, []);
  });

  test("opt-in: enable() before the agent came is replayed, disable() discards", async () => {
    for (const [call, sent] of [["enable", true], ["disable", false]]) {
      const p = loaderPage({ config: { opt_in: true } });
      p.window.rumvault[call]();
      p.document.dispatch("click", { target: new Element("BUTTON", { text: "Buy" }) });
      p.load();
      p.runTimers();
      await settle();
      await settle();
      p.runTimers();
      p.window.dispatch("pagehide");
      await settle();
      assert.equal(p.requested.some((r) => r.url.endsWith("/beacons/")), sent, call);
      assert.equal(p.storage.get("rumvault.consent"), JSON.stringify(call === "enable" ? "granted" : "denied"));
    }
  });

  test("a loader whose agent never comes keeps at most 100 entries, and without a key or an address it does nothing", () => {
    const p = loaderPage();
    for (let i = 0; i < 150; i++) p.document.dispatch("click", { target: new Element("BUTTON", { text: "Next" }) });
    assert.equal(p.window.rumvault._take().length, 100);
    for (const attributes of [{ "data-src": "https://rv.example.com/rum.js" }, { "data-key": "rvpub_test" }]) {
      const bare = loaderPage({ attributes });
      assert.deepEqual([bare.window.rumvault, bare.window.listeners, bare.document.listeners], [undefined, {}, {}]);
    }
  });

  test("a page left before its load ends still sends what it recorded", async () => {
    const w = world({ loading: true });
    w.configure();
    click(w, new Element("BUTTON", { text: "Back" }));
    w.window.dispatch("pagehide");
    await settle();
    const [last] = w.sent.filter((item) => item.url.endsWith("/beacons/"));
    assert.equal(last.init.keepalive, true);
    assert.deepEqual(w.actions().map((a) => [a.seq, a.type]), [[0, "page_view"], [1, "click"]]);
  });
});

describe("consent", () => {
  test("Do-Not-Track with the 'disable' setting: nothing is collected or sent", async () => {
    for (const navigator of [{ doNotTrack: "1" }, { globalPrivacyControl: true }]) {
      const w = world({ config: { do_not_track: "disable" }, navigator });
      w.configure();
      click(w, new Element("BUTTON", { text: "Buy" }));
      w.rum.identifyUser("jane@example.com");
      w.rum.flush();
      w.window.dispatch("pagehide");
      await w.advance(60000);
      assert.deepEqual([w.sent, w.beacons, [...w.storage.keys()]], [[], [], []]);
    }
  });

  test("Do-Not-Track in 'anonymous' mode: sent without the user tag, marked", async () => {
    const w = world({ config: { do_not_track: "anonymous" }, navigator: { doNotTrack: "1" } });
    w.configure();
    w.rum.identifyUser("jane@example.com");
    click(w, new Element("BUTTON", { text: "Buy" }));
    w.rum.flush();
    await settle();
    const bodies = w.beaconBodies();
    assert.ok(bodies.length >= 1);
    assert.ok(bodies.every((body) => body.do_not_track === true && !("user_tag" in body)));
  });

  test("opt-in: nothing before enable(); disable() discards and stops", async () => {
    const w = world({ config: { opt_in: true } });
    w.configure();
    click(w, new Element("BUTTON", { text: "Before" }));
    w.rum.identifyUser("jane@example.com");
    w.rum.flush();
    w.window.dispatch("pagehide");
    await w.advance(20000);
    assert.deepEqual([w.sent, [...w.storage.keys()]], [[], []]);

    w.rum.enable();
    click(w, new Element("BUTTON", { text: "After" }));
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().map((a) => a.name), ["Loading of /checkout", "After"]);

    click(w, new Element("BUTTON", { text: "Withdrawn" }));
    w.rum.disable();
    click(w, new Element("BUTTON", { text: "Later" }));
    w.rum.flush();
    w.window.dispatch("pagehide");
    await w.advance(20000);
    assert.deepEqual(w.actions().map((a) => a.name), ["Loading of /checkout", "After"]);
    assert.equal(w.storage.get("rumvault.consent"), '"denied"');
    assert.equal(w.storage.get("rumvault.session"), undefined);
  });

  test("a consent given on an earlier page of the tab is remembered", async () => {
    const w = world({ config: { opt_in: true }, consent: "granted" });
    w.configure();
    w.rum.flush();
    await settle();
    assert.deepEqual(w.actions().map((a) => a.type), ["page_view"]);
  });
});

describe("transport", () => {
  test("250 clicks go out in three beacons of at most 100 actions", async () => {
    const w = world();
    w.configure();
    for (let n = 0; n < 250; n++) click(w, new Element("BUTTON", { text: `Next ${n % 3}` }));
    await settle();
    w.window.dispatch("pagehide");
    await settle();
    const bodies = w.beaconBodies();
    assert.equal(bodies.length, 3);
    assert.ok(bodies.every((body) => body.actions.length <= 100));
    assert.equal(bodies.flatMap((body) => body.actions).length, 251);
    const seqs = bodies.flatMap((body) => body.actions.map((a) => a.seq));
    assert.deepEqual(seqs, [...Array(251).keys()]);
  });

  test("beacons wait for a quiet moment, then leave together", async () => {
    const w = world();
    w.configure();
    click(w, new Element("BUTTON", { text: "One" }));
    await w.advance(5000);
    click(w, new Element("BUTTON", { text: "Two" }));
    assert.equal(w.beaconBodies().length, 0);
    await w.advance(6000);
    assert.equal(w.beaconBodies().length, 1);
    assert.equal(w.actions().length, 3);
  });

  test("leaving the page sends with keepalive; without fetch, with sendBeacon", async () => {
    const w = world();
    w.configure();
    click(w, new Element("BUTTON", { text: "Bye" }));
    w.document.visibilityState = "hidden";
    w.document.dispatch("visibilitychange");
    await settle();
    const [last] = w.sent.filter((item) => item.url.endsWith("/beacons/"));
    assert.equal(last.init.keepalive, true);
    assert.equal(last.init.credentials, "omit");
    assert.equal(last.init.headers["Content-Type"], "text/plain");

    const v = world();
    v.configure();
    v.env.fetch = () => { throw new TypeError("keepalive quota exceeded"); };
    click(v, new Element("BUTTON", { text: "Bye" }));
    v.window.dispatch("pagehide");
    assert.equal(v.beacons.length, 1);
    assert.equal(v.beacons[0].sessions[0].actions.length, 2);
  });

  test("a server that is away gets the beacon again later, once", async () => {
    const w = world({ status: 503 });
    w.configure();
    click(w, new Element("BUTTON", { text: "Pay" }));
    w.rum.flush();
    await settle();
    assert.equal(w.beaconBodies().length, 1);
    await w.advance(1000);
    assert.equal(w.beaconBodies().length, 2); // retried, still away
    w.answer(200);
    await w.advance(2000);
    assert.equal(w.beaconBodies().length, 3);
    await w.advance(120000);
    assert.equal(w.beaconBodies().length, 3); // delivered: not sent again
    assert.deepEqual(w.beaconBodies()[2].actions.map((a) => a.seq), [0, 1]);
  });

  test("a refused key or origin stops the agent", async () => {
    const w = world({ status: 403 });
    w.configure();
    w.rum.flush();
    await settle();
    click(w, new Element("BUTTON", { text: "Again" }));
    w.rum.flush();
    w.window.dispatch("pagehide");
    await w.advance(60000);
    assert.equal(w.beaconBodies().length, 1);
  });
});

test("the credential vocabulary is the server's", () => {
  const source = readFileSync(new URL("privacy/credentials.py", root), "utf8");
  const parts = /CREDENTIAL_NAME_PARTS[^=]*= \(([\s\S]*?)\n\)/.exec(source)[1];
  const names = [...parts.matchAll(/"([a-z]+)"/g)].map((match) => match[1]);
  const whole = [.../_WHOLE_NAMES = frozenset\(\{([^}]*)\}/.exec(source)[1].matchAll(/"([a-z]+)"/g)].map((m) => m[1]);
  assert.deepEqual(agent.CREDENTIAL_PARTS, names);
  assert.deepEqual([...agent.CREDENTIAL_WHOLE_NAMES].sort(), whole.sort());
});
