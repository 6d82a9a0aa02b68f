// Click-to-zoom and search for the flame graph App.Bench writes; the SVG reads without it.
(function () {
  'use strict';
  var svg = document.documentElement;
  var pad = Number(svg.getAttribute('data-pad'));
  var charWidth = Number(svg.getAttribute('data-char'));
  var total = Number(svg.getAttribute('data-total'));
  var width = Number(svg.getAttribute('width'));
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var matched = document.getElementById('matched');
  var reset = document.getElementById('reset');
  var search = document.getElementById('search');

  function title(g) { return g.querySelector('title').textContent; }
  function name(g) { var t = title(g); return t.substring(0, t.lastIndexOf(' (')); }
  function num(g, key) { return Number(g.getAttribute('data-' + key)); }

  function label(text, w) {
    var fits = Math.floor((w - 6) / charWidth);
    if (fits < 3) { return ''; }
    return text.length <= fits ? text : text.substring(0, fits - 2) + '..';
  }

  // Shows the frames within [from, from + span) at full width, their callers below at full width and faded.
  function zoom(from, span, depth) {
    var scale = (width - 2 * pad) / span;
    frames.forEach(function (g) {
      var x = num(g, 'x');
      var w = num(g, 'w');
      var d = num(g, 'd');
      var rect = g.querySelector('rect');
      var inside = d >= depth && x >= from && x + w <= from + span;
      var caller = d < depth && x <= from && x + w >= from + span;
      if (!inside && !caller) {
        g.style.display = 'none';
        return;
      }
      var left = caller ? pad : pad + (x - from) * scale;
      var px = caller ? width - 2 * pad : w * scale;
      g.style.display = '';
      g.style.opacity = caller && depth > 0 ? '0.6' : '';
      rect.setAttribute('x', left.toFixed(2));
      rect.setAttribute('width', px.toFixed(2));
      var text = g.querySelector('text');
      var shown = label(name(g), px);
      if (!text && shown) {
        text = document.createElementNS('http://www.w3.org/2000/svg', 'text');
        text.setAttribute('y', String(Number(rect.getAttribute('y')) + Number(rect.getAttribute('height')) - 3));
        g.appendChild(text);
      }
      if (text) {
        text.setAttribute('x', (left + 3).toFixed(2));
        text.textContent = shown;
      }
    });
    reset.setAttribute('visibility', depth > 0 ? 'visible' : 'hidden');
  }

  // The share of samples under the frames that match, each sample counted once however many frames match in it.
  function highlight(pattern) {
    var ranges = [];
    frames.forEach(function (g) {
      var rect = g.querySelector('rect');
      if (!rect.hasAttribute('data-fill')) { rect.setAttribute('data-fill', rect.getAttribute('fill')); }
      var hit = pattern !== null && pattern.test(name(g));
      rect.setAttribute('fill', hit ? 'rgb(230,0,230)' : rect.getAttribute('data-fill'));
      if (hit) { ranges.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]); }
    });
    ranges.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var covered = 0;
    var end = -1;
    ranges.forEach(function (r) {
      if (r[0] >= end) { covered += r[1] - r[0]; end = r[1]; } else if (r[1] > end) { covered += r[1] - end; end = r[1]; }
    });
    matched.textContent = pattern === null ? '' : 'Matched: ' + (100 * covered / total).toFixed(2) + '% of samples';
    search.textContent = pattern === null ? 'Search' : 'Clear search';
  }

  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(num(g, 'x'), Math.max(1, num(g, 'w')), num(g, 'd')); });
    g.addEventListener('mouseover', function () { details.textContent = title(g); });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', function () { zoom(0, total, 0); });
  search.addEventListener('click', function () {
    if (search.textContent !== 'Search') { highlight(null); return; }
    var text = window.prompt('Frames to highlight (a regular expression)', '^App\\.');
    if (!text) { return; }
    try { highlight(new RegExp(text)); } catch (e) { window.alert(String(e)); }
  });
}());
