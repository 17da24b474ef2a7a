/* planmap: print the map (issue 16 item 3).
 *
 * The button lays the page out as a sheet (A4 or A3 landscape): title, the map with its
 * scale bar and a north arrow, and beside it the legend of the layers on the map, the
 * scale as 1:n, the data version, the date and the accuracy note; then window.print().
 * The layout is planmap-print.css (body.pm-printing + @media print); 'afterprint' undoes it.
 * Text only via textContent.
 */
(function () {
  'use strict';
  var MAP = null, CFG = null, S = {};
  var PAPER = {a4: 'A4 landscape', a3: 'A3 landscape'};
  var SVGNS = 'http://www.w3.org/2000/svg';
  var view = null;  // the screen view, restored after printing

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(s, vals) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vals[k] !== undefined ? vals[k] : m; });
  }

  // 1:n on paper: Chrome prints a CSS pixel as 1/96 inch
  function scaleDenominator() {
    var c = MAP.getCenter(), z = MAP.getZoom();
    var metresPerPx = 40075016.686 * Math.cos(c.lat * Math.PI / 180) / (256 * Math.pow(2, z));
    var n = metresPerPx / (0.0254 / 96);
    var p = Math.pow(10, Math.floor(Math.log10(n)) - 1);
    return Math.round(n / p) * p;
  }

  function northArrow() {
    var box = el('div', 'pm-north');
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 40 56');
    svg.setAttribute('width', '30');
    svg.setAttribute('height', '42');
    var path = document.createElementNS(SVGNS, 'path');
    path.setAttribute('d', 'M20 2 L34 44 L20 34 L6 44 Z');
    path.setAttribute('fill', '#222');
    path.setAttribute('stroke', '#222');
    svg.appendChild(path);
    var half = document.createElementNS(SVGNS, 'path');
    half.setAttribute('d', 'M20 2 L34 44 L20 34 Z');
    half.setAttribute('fill', '#fff');
    half.setAttribute('stroke', '#222');
    svg.appendChild(half);
    box.appendChild(svg);
    box.appendChild(el('div', 'pm-north-label', S.print_north));
    return box;
  }

  function legendList() {
    var ul = el('ul', 'pm-print-legend');
    var reg = window.planmapLayers || {};
    Object.keys(CFG.layers).forEach(function (id) {
      if (!reg[id] || !MAP.hasLayer(reg[id].group)) return;
      var meta = CFG.layers[id], st = meta.style || {};
      var li = el('li');
      li.setAttribute('data-layer', id);
      var sw = el('span', 'pm-swatch');
      sw.style.borderColor = st.color || '#555';
      sw.style.background = st.fillColor || 'transparent';
      li.appendChild(sw);
      li.appendChild(document.createTextNode(meta.title));
      ul.appendChild(li);
    });
    ['pm-swatch-dashed', 'pm-swatch-outline'].forEach(function (cls, i) {
      var src = document.querySelectorAll('#pm-legend .pm-legend-note')[i];
      if (!src) return;
      var li = el('li', 'pm-legend-note');
      li.appendChild(el('span', 'pm-swatch ' + cls));
      li.appendChild(document.createTextNode(src.textContent.trim()));
      ul.appendChild(li);
    });
    return ul;
  }

  function buildSheet(paper) {
    var old = document.getElementById('pm-print-sheet');
    if (old) old.parentNode.removeChild(old);
    var planSel = document.getElementById('pm-plan');
    var planName = planSel && planSel.selectedIndex >= 0 ? planSel.options[planSel.selectedIndex].textContent : '';
    var version = document.querySelector('#pm-legend .pm-version');
    var sheet = el('div', 'pm-print-sheet');
    sheet.id = 'pm-print-sheet';
    var head = el('header', 'pm-print-head');
    head.appendChild(el('h1', null, S.print_title));
    head.appendChild(el('p', 'pm-print-sub', [planName, version ? version.textContent.trim() : '',
      S.print_date + ': ' + new Date().toISOString().slice(0, 10)].filter(Boolean).join(' · ')));
    sheet.appendChild(head);
    var side = el('aside', 'pm-print-side');
    side.appendChild(el('h2', null, S.print_legend));
    side.appendChild(legendList());
    var scale = el('p', 'pm-print-scale', fmt(S.print_scale, {n: scaleDenominator().toLocaleString('en-US')}));
    scale.id = 'pm-print-scale';
    side.appendChild(scale);
    side.appendChild(el('p', 'pm-print-accuracy', S.print_accuracy));
    var attr = document.querySelector('.leaflet-control-attribution');
    if (attr) side.appendChild(el('p', 'pm-print-attr', attr.textContent.trim()));
    sheet.appendChild(side);
    sheet.setAttribute('data-paper', paper);
    document.body.appendChild(sheet);
    return sheet;
  }

  function pageStyle(paper) {
    var st = document.getElementById('pm-print-page');
    if (!st) {
      st = el('style');
      st.id = 'pm-print-page';
      document.head.appendChild(st);
    }
    st.textContent = '@page { size: ' + PAPER[paper] + '; margin: 8mm; }';
  }

  function layout(paper) {
    view = view || {center: MAP.getCenter(), zoom: MAP.getZoom()};
    document.body.classList.remove('pm-paper-a4', 'pm-paper-a3');
    document.body.classList.add('pm-printing', 'pm-paper-' + paper);
    pageStyle(paper);
    var wrap = document.querySelector('.pm-mapwrap');
    if (wrap && !wrap.querySelector('.pm-north')) wrap.appendChild(northArrow());
    MAP.invalidateSize(false);
    // the printed map shows what the screen showed: same centre, the zoom that keeps it in
    MAP.setView(view.center, view.zoom, {animate: false});
    buildSheet(paper);  // after the resize: the scale is the printed map's
    document.documentElement.setAttribute('data-planmap-print', paper);
  }

  function restore() {
    if (!document.body.classList.contains('pm-printing')) return;
    document.body.classList.remove('pm-printing', 'pm-paper-a4', 'pm-paper-a3');
    var sheet = document.getElementById('pm-print-sheet');
    if (sheet) sheet.parentNode.removeChild(sheet);
    var north = document.querySelector('.pm-mapwrap .pm-north');
    if (north) north.parentNode.removeChild(north);
    MAP.invalidateSize(false);
    if (view) MAP.setView(view.center, view.zoom, {animate: false});
    view = null;
    document.documentElement.removeAttribute('data-planmap-print');
  }

  // print once the basemap tiles of the new size have arrived (or after 3 s)
  function printWhenDrawn(paper) {
    layout(paper);
    var pending = 0, done = false;
    function go() {
      if (done) return;
      done = true;
      document.documentElement.setAttribute('data-planmap-print-ready', paper);
      window.print();
    }
    MAP.eachLayer(function (l) {
      if (l instanceof L.TileLayer && l._loading) { pending++; l.once('load', function () { if (--pending === 0) go(); }); }
    });
    if (!pending) setTimeout(go, 50);
    setTimeout(go, 3000);
  }

  var PrintControl = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var box = L.DomUtil.create('div', 'leaflet-bar pm-print-control');
      var btn = el('button', 'pm-print-button', S.print);
      btn.type = 'button';
      btn.title = S.print;
      var menu = el('div', 'pm-print-menu');
      menu.hidden = true;
      ['a4', 'a3'].forEach(function (paper) {
        var b = el('button', null, S['print_' + paper]);
        b.type = 'button';
        b.setAttribute('data-paper', paper);
        b.addEventListener('click', function () { menu.hidden = true; printWhenDrawn(paper); });
        menu.appendChild(b);
      });
      btn.addEventListener('click', function () { menu.hidden = !menu.hidden; });
      box.appendChild(btn);
      box.appendChild(menu);
      L.DomEvent.disableClickPropagation(box);
      return box;
    }
  });

  window.planmapPrint = {layout: layout, restore: restore, print: printWhenDrawn};

  (window.planmapAfterInit = window.planmapAfterInit || []).push(function (map, cfg) {
    MAP = map; CFG = cfg; S = cfg.strings || {};
    map.addControl(new PrintControl());
    window.addEventListener('afterprint', restore);
    // Ctrl+P without the button: the same sheet, on A4
    window.addEventListener('beforeprint', function () {
      if (!document.body.classList.contains('pm-printing')) layout('a4');
    });
  });
})();
