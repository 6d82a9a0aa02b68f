// Real-user monitoring: Core Web Vitals and the time to the first streamed token as this browser saw them, sent
// once per page view to POST /rum when the page is hidden. Only metric names and numbers leave the page: no
// address, no user agent, no identifier, no token.
"use strict";

(() => {
  if (typeof PerformanceObserver !== "function" || typeof navigator.sendBeacon !== "function") return;

  const values = {};
  const drains = [];
  const supports = (type) => (PerformanceObserver.supportedEntryTypes || []).includes(type);
  const observe = (type, onEntries, options) => {
    if (!supports(type)) return;
    const observer = new PerformanceObserver((list) => onEntries(list.getEntries()));
    observer.observe({ type, buffered: true, ...options });
    // Entries still queued when the page is hidden are taken before the beacon leaves.
    drains.push(() => onEntries(observer.takeRecords()));
  };

  // LCP: the last candidate; the browser stops reporting candidates after the first input or scroll. A page
  // opened in a background tab paints when first shown, which says nothing about its speed, so it reports none.
  const loadedHidden = document.visibilityState === "hidden";
  observe("largest-contentful-paint", (entries) => {
    const last = entries[entries.length - 1];
    if (last && !loadedHidden) values.lcp = last.startTime;
  });

  // CLS as web-vitals defines it: the largest session window of shifts not caused by input, a window ending after
  // a 1 s gap or at 5 s. A page that never shifts reports 0, which is a value too.
  if (supports("layout-shift")) {
    values.cls = 0;
    let session = 0, first = 0, last = 0;
    observe("layout-shift", (entries) => {
      for (const shift of entries) {
        if (shift.hadRecentInput) continue;
        if (session && shift.startTime - last < 1000 && shift.startTime - first < 5000) {
          session += shift.value;
        } else {
          session = shift.value;
          first = shift.startTime;
        }
        last = shift.startTime;
        values.cls = Math.max(values.cls, session);
      }
    });
  }

  // INP, approximated the way web-vitals computes it: the longest event of each interaction, then the worst
  // interaction, skipping one for every 50 so that a busy page reports about its 98th percentile. Events under the
  // 40 ms threshold are not reported, except the first input, so a page of fast interactions reports its first one.
  const longest = new Map();
  const onEvents = (entries) => {
    for (const e of entries) {
      if (!e.interactionId) continue;
      longest.set(e.interactionId, Math.max(longest.get(e.interactionId) || 0, e.duration));
      if (longest.size > 10) {
        const [fastest] = [...longest.entries()].sort((a, b) => a[1] - b[1])[0];
        longest.delete(fastest);
      }
    }
  };
  observe("event", onEvents, { durationThreshold: 40 });
  observe("first-input", onEvents);
  const inp = () => {
    if (!longest.size) return undefined;
    const worst = [...longest.values()].sort((a, b) => b - a);
    const interactions = performance.interactionCount || longest.size;
    return worst[Math.min(worst.length - 1, Math.floor(interactions / 50))];
  };

  // TTFT as the user saw it: from pressing Send (app.js raises chat:send) to the frame that shows the first token
  // (chat:first-token, raised once the token is in the page). The first answer of the page view is the one sent.
  let sentAt = null;
  document.addEventListener("chat:send", () => {
    if (values.ttft === undefined) sentAt = performance.now();
  });
  document.addEventListener("chat:first-token", () => {
    if (sentAt === null || values.ttft !== undefined) return;
    const start = sentAt;
    sentAt = null;
    requestAnimationFrame(() => setTimeout(() => { values.ttft = performance.now() - start; }, 0));
  });

  // The server refuses a whole beacon over a value out of range, so such a value is left out here instead.
  const inRange = (value, max) => typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= max;
  let sent = false;
  const send = () => {
    if (sent) return;
    drains.forEach((drain) => drain());
    const beacon = {};
    const add = (name, value, max, digits) => { if (inRange(value, max)) beacon[name] = Number(value.toFixed(digits)); };
    add("lcp", values.lcp, 60000, 1);
    add("inp", inp(), 60000, 1);
    add("cls", values.cls, 10, 4);
    add("ttft", values.ttft, 60000, 1);
    // A string goes as text/plain, which needs no preflight; the endpoint reads it as JSON.
    if (Object.keys(beacon).length) sent = navigator.sendBeacon("/rum", JSON.stringify(beacon));
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") send(); });
  addEventListener("pagehide", send);
})();
