// rumvault's loader: the tag a page carries inline, with the application's beacon key and
// the agent's address in its attributes (so its code is the same on every page and site,
// and a Content-Security-Policy can allow it by its hash).
//
// Why not the agent's own <script defer src> tag: every script the parser finds delays the
// page's load event, deferred and async ones included, and a second script file cost the
// demo product page about 5 ms in a new renderer process even when it was empty
// (bench/README.md). This loader instead defines a stand-in `window.rumvault` that queues
// the page's calls, and the clicks, errors and unhandled rejections before the agent
// arrives, and adds the agent's script once the load event has passed. The agent then
// takes the queue over and replays it with the times it was recorded at. Nothing here
// masks or sends anything; what it queues stays in this page's memory, and is discarded
// with it if the page is left before the agent came (docs/browser-agent.md).
(function (w, d) {
  "use strict";
  var tag = d.currentScript;
  var key = tag && tag.getAttribute("data-key");
  var src = tag && tag.getAttribute("data-src");
  if (!key || !src || w.rumvault) return;
  // Bounded: a page whose agent never comes (blocked, offline) does not grow without end.
  var MAX_QUEUED = 100;
  var queue = [];
  var listeners = [];

  function later(kind) {
    return function (argument) {
      if (queue.length < MAX_QUEUED) queue.push([kind, argument, Date.now()]);
    };
  }

  // Never a listener for input, change, key or form events: typed text is never seen.
  function listen(target, type, capture) {
    var listener = later(type);
    target.addEventListener(type, listener, capture);
    listeners.push([target, type, listener, capture]);
  }

  listen(d, "click", true);
  listen(w, "error", true);
  listen(w, "unhandledrejection", false);

  w.rumvault = {
    enable: later("enable"),
    disable: later("disable"),
    identifyUser: later("identifyUser"),
    product: later("product"),
    flush: function () {},
    // Called once by the agent as it starts: the listeners go, the queue is handed over.
    _take: function () {
      listeners.forEach(function (entry) {
        entry[0].removeEventListener(entry[1], entry[2], entry[3]);
      });
      return queue.splice(0);
    }
  };

  // In a task after the load event's handlers, so that the page's load has ended
  // (Navigation Timing's loadEventEnd is set) before the agent is even asked for.
  function load() {
    w.setTimeout(function () {
      var script = d.createElement("script");
      script.src = src;
      script.setAttribute("data-key", key);
      (d.head || d.documentElement).appendChild(script);
    }, 0);
  }

  if (d.readyState === "complete") load();
  else w.addEventListener("load", load);
})(window, document);
