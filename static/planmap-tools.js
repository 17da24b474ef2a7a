/* planmap-tools.js — the everyday map tools (issue 18): permalink, citation side view,
 * coordinate readout (WGS 84 + CGCS2000 Gauss-Krüger EPSG:4550) and go-to-coordinate
 * (界址点 lists), attribute table with CSV, labels, server search (synonyms, pinyin,
 * coordinates, capped counts), legend that follows visibility, the 下载/服务 menu.
 *
 * Safety rule (as planmap.js): data and user text reach the page only via textContent.
 * Started after planmap.js's own start: this file wraps window.planmapInit.
 */
(function () {
  'use strict';

  var MAP = null, CFG = null, S = {}, HOOKS = null;
  var BYID = {};           // feature id -> {layer: Leaflet layer, layerId}
  var SEL = {f: null, q: null, s: null};  // selected feature, queried point, site check id
  var applying = false;    // true while the page is being set from the URL
  var labels = null;

  // ---------- small helpers (text only) ----------
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function fmt(s, vals) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vals[k] !== undefined ? vals[k] : m; });
  }
  function name(p) {
    if (!p) return '';
    if (CFG.lang === 'en' && p.name_en) return p.name_en;
    return p.name_zh || p.name_en || p.id || '';
  }
  function apiMessage(err) {
    var e = err && err.error;
    if (e) return CFG.lang === 'zh' ? (e.message_zh || e.message_en) : (e.message_en || e.message_zh);
    return String(err && err.message || err);
  }
  function getJSON(url) {
    return fetch(url, {headers: {'Accept': 'application/json'}}).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw body; return body; });
    });
  }
  function currentPlan() {
    return document.documentElement.getAttribute('data-planmap-plan') || CFG.home_plan || '';
  }
  function layersOfPlan(plan) {
    return Object.keys(CFG.layers).filter(function (id) {
      return LAYERS()[id] && (!plan || CFG.layers[id].plan === plan);
    });
  }
  function LAYERS() { return window.planmapLayers || {}; }
  function copyText(input, button, done) {
    input.select();
    var ok = function () { button.textContent = done; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(ok, function () { document.execCommand('copy'); ok(); });
    } else { document.execCommand('copy'); ok(); }
  }

  // ---------- CGCS2000 3° Gauss-Krüger, CM 123°E (EPSG:4550) ----------
  // Krüger's series (Karney 2011), as geo/tmerc.py; tests compare both directions with pyproj.
  var GK = (function () {
    var a = 6378137.0, f = 1 / 298.257222101, lon0 = 123 * Math.PI / 180, FE = 500000;
    var n = f / (2 - f), n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
    var A = a / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256);
    var e = 2 * Math.sqrt(n) / (1 + n), e2 = e * e;
    var alpha = [
      n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
      13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
      61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
      49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
      34729 * n5 / 80640 - 3418889 * n6 / 1995840,
      212378941 * n6 / 319334400];
    var beta = [
      n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360 - 81 * n5 / 512 + 96199 * n6 / 604800,
      n2 / 48 + n3 / 15 - 437 * n4 / 1440 + 46 * n5 / 105 - 1118711 * n6 / 3870720,
      17 * n3 / 480 - 37 * n4 / 840 - 209 * n5 / 4480 + 5569 * n6 / 90720,
      4397 * n4 / 161280 - 11 * n5 / 504 - 830251 * n6 / 7257600,
      4583 * n5 / 161280 - 108847 * n6 / 3991680,
      20648693 * n6 / 638668800];
    function atanh(x) { return 0.5 * Math.log((1 + x) / (1 - x)); }
    function forward(lon, lat) {
      var phi = lat * Math.PI / 180, lam = lon * Math.PI / 180 - lon0, s = Math.sin(phi);
      var t = Math.sinh(atanh(s) - e * atanh(e * s));
      var xp = Math.atan2(t, Math.cos(lam)), ep = Math.asinh(Math.sin(lam) / Math.hypot(t, Math.cos(lam)));
      var xi = xp, eta = ep;
      for (var j = 1; j <= 6; j++) {
        xi += alpha[j - 1] * Math.sin(2 * j * xp) * Math.cosh(2 * j * ep);
        eta += alpha[j - 1] * Math.cos(2 * j * xp) * Math.sinh(2 * j * ep);
      }
      return [FE + A * eta, A * xi];  // easting, northing
    }
    function inverse(east, north) {
      var xi = north / A, eta = (east - FE) / A, xp = xi, ep = eta;
      for (var j = 1; j <= 6; j++) {
        xp -= beta[j - 1] * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
        ep -= beta[j - 1] * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
      }
      var taup = Math.sin(xp) / Math.sqrt(Math.sinh(ep) * Math.sinh(ep) + Math.cos(xp) * Math.cos(xp));
      var lam = Math.atan2(Math.sinh(ep), Math.cos(xp));
      var tau = taup / (1 - e2);
      for (var i = 0; i < 5; i++) {  // Newton on the conformal latitude (converges in 2-3)
        var sig = Math.sinh(e * atanh(e * tau / Math.sqrt(1 + tau * tau)));
        var tp = tau * Math.sqrt(1 + sig * sig) - sig * Math.sqrt(1 + tau * tau);
        var d = (taup - tp) / Math.sqrt(1 + tp * tp) * (1 + (1 - e2) * tau * tau) /
          ((1 - e2) * Math.sqrt(1 + tau * tau));
        tau += d;
        if (Math.abs(d) < 1e-14) break;
      }
      return [(lam + lon0) * 180 / Math.PI, Math.atan(tau) * 180 / Math.PI];
    }
    return {forward: forward, inverse: inverse};
  })();
  window.planmapGK = GK;  // for tests and the console

  // ---------- coordinate readout ----------
  function setupCoords() {
    var box = el('div', 'pm-coords');
    box.id = 'pm-coords';
    box.title = S.tools_coords_hint;
    var wgs = el('span', 'pm-coords-wgs', 'WGS 84 –');
    var gk = el('span', 'pm-coords-gk', 'EPSG:4550 –');
    add(box, wgs, ' · ', gk);
    MAP.getContainer().appendChild(box);
    L.DomEvent.disableClickPropagation(box);
    MAP.on('mousemove', function (ev) {
      var ll = ev.latlng, xy = GK.forward(ll.lng, ll.lat);
      wgs.textContent = 'WGS 84 ' + ll.lng.toFixed(6) + ', ' + ll.lat.toFixed(6);
      gk.textContent = 'CGCS2000 GK (EPSG:4550) X ' + xy[1].toFixed(2) + ' Y ' + xy[0].toFixed(2);
    });
  }

  // ---------- go to coordinates / 界址点 list ----------
  // One line = one point; the last two numbers of a line are its coordinates (a leading
  // point name such as "J1" is skipped).  Degrees: lon,lat (lat,lon when it reads so).
  // Metres: Chinese surveying order X (northing), Y (easting); an 8-digit easting with
  // the zone number 41 is EPSG:4529.
  function parsePoints(text) {
    var pts = [], errors = [], crs = null;
    String(text || '').split(/\r?\n/).forEach(function (line, i) {
      var raw = line.trim();
      if (!raw) return;
      var nums = raw.match(/[-+]?\d+(?:\.\d+)?/g) || [];
      if (nums.length < 2) { errors.push(fmt(S.tools_goto_bad, {n: i + 1, line: raw})); return; }
      var a = parseFloat(nums[nums.length - 2]), b = parseFloat(nums[nums.length - 1]), lon, lat, c;
      if (Math.abs(a) <= 180 && Math.abs(b) <= 180) {
        lon = a; lat = b; c = 'WGS 84';
        if (Math.abs(b) > 90 || (a >= 35 && a <= 55 && b >= 115 && b <= 135)) { lon = b; lat = a; }
      } else {
        var north = (a >= 4e6 && a <= 6.5e6) ? a : b, east = north === a ? b : a;
        c = 'EPSG:4550';
        if (east >= 41e6 && east < 42e6) { east -= 41e6; c = 'EPSG:4529'; }
        var ll = GK.inverse(east, north);
        lon = ll[0]; lat = ll[1];
      }
      if (!(lon > 118 && lon < 128 && lat > 42 && lat < 49)) {
        errors.push(fmt(S.tools_goto_outside, {n: i + 1, line: raw})); return;
      }
      crs = crs || c;
      pts.push([lat, lon]);
    });
    return {points: pts, errors: errors, crs: crs};
  }
  window.planmapParsePoints = parsePoints;

  function gotoPoints(pts, out) {
    var marks = HOOKS.marks();
    if (pts.length === 1) {
      MAP.setView(pts[0], Math.max(MAP.getZoom(), 13), {animate: false});
      HOOKS.queryPoint(L.latLng(pts[0]));
      setSel({q: L.latLng(pts[0]), f: null, s: null});
      return;
    }
    marks.clearLayers();
    var shape = pts.length >= 3 ? L.polygon(pts) : L.polyline(pts);
    shape.setStyle({color: '#000', weight: 2.5, fillColor: '#f0b429', fillOpacity: 0.25});
    marks.addLayer(shape);
    pts.forEach(function (p, i) {
      L.circleMarker(p, {radius: 4, color: '#000', weight: 1, fillColor: '#fff', fillOpacity: 1})
        .bindTooltip('J' + (i + 1), {permanent: false}).addTo(marks);
    });
    MAP.fitBounds(shape.getBounds(), {maxZoom: 16, padding: [40, 40], animate: false});
    if (out && pts.length >= 3) {
      var b = el('button', 'pm-btn', S.tools_goto_check);
      b.type = 'button';
      b.id = 'pm-goto-check';
      b.addEventListener('click', function () { closePops(); HOOKS.siteCheck(shape.toGeoJSON().geometry); });
      out.appendChild(b);
    }
  }

  // ---------- popovers in the top bar ----------
  var pops = [];
  function closePops(except) {
    pops.forEach(function (p) { if (p !== except) p.hidden = true; });
  }
  function popover(label, id) {
    var wrap = el('div', 'pm-pop-wrap');
    var btn = el('button', 'pm-tools-btn', label);
    btn.type = 'button';
    btn.id = id + '-btn';
    var box = el('div', 'pm-popover');
    box.id = id;
    box.hidden = true;
    pops.push(box);
    btn.addEventListener('click', function () {
      closePops(box);
      box.hidden = !box.hidden;
      // near the right edge, open leftwards so the whole box stays on screen
      box.classList.remove('pm-popover-right');
      if (!box.hidden && box.getBoundingClientRect().right > window.innerWidth - 4) {
        box.classList.add('pm-popover-right');
      }
    });
    add(wrap, btn, box);
    var bar = document.querySelector('.pm-top');
    var before = document.getElementById('pm-plan');
    bar.insertBefore(wrap, before);
    return box;
  }

  function setupGoto() {
    var box = popover(S.tools_goto, 'pm-goto');
    var hint = el('p', 'pm-small', S.tools_goto_hint);
    var ta = el('textarea');
    ta.id = 'pm-goto-input';
    ta.rows = 6;
    ta.placeholder = '122.839, 45.620\n5052000.00, 487600.00';
    var go = el('button', 'pm-btn', S.tools_goto_go);
    go.type = 'button';
    go.id = 'pm-goto-go';
    var out = el('div', 'pm-goto-out');
    out.id = 'pm-goto-out';
    add(box, hint, ta, go, out);
    go.addEventListener('click', function () {
      var res = parsePoints(ta.value);
      out.textContent = '';
      res.errors.forEach(function (m) { out.appendChild(el('p', 'pm-error', m)); });
      if (!res.points.length) return;
      out.appendChild(el('p', 'pm-muted', fmt(S.tools_goto_points, {n: res.points.length, crs: res.crs})));
      gotoPoints(res.points, out);
    });
  }

  // ---------- download / services menu ----------
  var FORMATS = [['gpkg', 'GeoPackage (.gpkg)'], ['shp.zip', 'Shapefile (.shp.zip)'], ['kml', 'KML'],
    ['geojson', 'GeoJSON'], ['csv', 'CSV']];
  var CRSS = [['EPSG:4326', 'WGS 84 (EPSG:4326)'], ['EPSG:4490', 'CGCS2000 (EPSG:4490)'],
    ['EPSG:4550', 'CGCS2000 GK 3° CM 123°E (EPSG:4550)']];
  function select(id, options) {
    var s = el('select');
    s.id = id;
    options.forEach(function (o) { var opt = el('option', null, o[1]); opt.value = o[0]; s.appendChild(opt); });
    return s;
  }
  function layerOptions(withAll) {
    var out = layersOfPlan(currentPlan()).map(function (id) { return [id, CFG.layers[id].title]; });
    if (withAll) out.unshift(['all', S.tools_dl_all]);
    return out;
  }
  function refill(sel, options) {
    var keep = sel.value;
    sel.textContent = '';
    options.forEach(function (o) { var opt = el('option', null, o[1]); opt.value = o[0]; sel.appendChild(opt); });
    if (options.some(function (o) { return o[0] === keep; })) sel.value = keep;
  }
  function setupDownloads() {
    var box = popover(S.tools_download, 'pm-downloads');
    var layer = select('pm-dl-layer', layerOptions(true));
    var format = select('pm-dl-format', FORMATS);
    var crs = select('pm-dl-crs', CRSS);
    var a = el('a', 'pm-btn', S.tools_dl_go);
    a.id = 'pm-dl-link';
    function update() {
      refill(layer, layerOptions(true));
      a.setAttribute('href', '/export/' + encodeURIComponent(layer.value) + '.' + format.value +
        '?crs=' + encodeURIComponent(crs.value));
    }
    [layer, format, crs].forEach(function (s) { s.addEventListener('change', update); });
    var grid = el('div', 'pm-dl-grid');
    add(grid, el('label', null, S.tools_dl_layer), layer, el('label', null, S.tools_dl_format), format,
      el('label', null, S.tools_dl_crs), crs);
    var ogc = el('input');
    ogc.id = 'pm-ogc-url';
    ogc.readOnly = true;
    ogc.value = location.origin + '/ogc';
    var copy = el('button', 'pm-btn', S.tools_dl_copy);
    copy.type = 'button';
    copy.addEventListener('click', function () { copyText(ogc, copy, S.tools_dl_copied); });
    var links = el('p', 'pm-small');
    var conf = el('a', null, S.tools_dl_conflicts);
    conf.setAttribute('href', '/conflicts' + (CFG.lang === 'en' ? '?lang=en' : ''));
    conf.id = 'pm-conflicts-link';
    var api = el('a', null, S.tools_dl_api);
    api.setAttribute('href', '/api/v1/openapi.json');
    add(links, conf, ' · ', api);
    add(box, grid, add(el('p'), a), el('p', 'pm-small', S.tools_dl_ogc), add(el('div', 'pm-copy-row'), ogc, copy), links);
    document.getElementById('pm-downloads-btn').addEventListener('click', update);
    update();
  }

  function setupPermalinkButton() {
    var box = popover(S.tools_link, 'pm-permalink');
    var input = el('input');
    input.id = 'pm-permalink-url';
    input.readOnly = true;
    var copy = el('button', 'pm-btn', S.tools_dl_copy);
    copy.type = 'button';
    copy.addEventListener('click', function () { copyText(input, copy, S.tools_link_copied); });
    add(box, add(el('div', 'pm-copy-row'), input, copy));
    document.getElementById('pm-permalink-btn').addEventListener('click', function () {
      input.value = location.href;
      copy.textContent = S.tools_dl_copy;
    });
  }

  // ---------- attribute table ----------
  var COLS = ['id', 'name_zh', 'name_en', 'kind', 'accuracy', 'county', 'citation'];
  function cell(p, col) {
    var v = p[col];
    if (col === 'citation') return v && v.seed ? v.seed + ':' + (v.line || '') : '';
    if (col === 'accuracy') return S['acc_' + v] || v || '';
    if (col === 'kind') return (CFG.kinds && CFG.kinds[v]) || v || '';
    if (Array.isArray(v)) return v.join(' ');
    return v === null || v === undefined ? '' : String(v);
  }
  function csvCell(s) {
    s = String(s);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // a spreadsheet must not run a cell as a formula
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function setupTable() {
    var drawer = el('section', 'pm-table-drawer');
    drawer.id = 'pm-table';
    drawer.hidden = true;
    var head = el('div', 'pm-table-head');
    var layer = select('pm-table-layer', layerOptions(false));
    var filter = el('input');
    filter.id = 'pm-table-filter';
    filter.type = 'search';
    filter.placeholder = S.tools_table_filter;
    var count = el('span', 'pm-muted');
    count.id = 'pm-table-count';
    var csv = el('a', 'pm-btn', S.tools_table_csv);
    csv.id = 'pm-table-csv';
    csv.setAttribute('href', '#');
    var close = el('button', 'pm-btn', S.tools_table_close);
    close.type = 'button';
    add(head, el('strong', null, S.tools_table), el('label', null, S.tools_table_layer), layer, filter, count, csv, close);
    var wrap = el('div', 'pm-table-wrap');
    var table = el('table', 'pm-table pm-attr');
    wrap.appendChild(table);
    add(drawer, head, wrap);
    document.body.appendChild(drawer);
    var rows = [];
    function render() {
      rows = [];
      var g = LAYERS()[layer.value];
      var all = [];
      if (g) g.geojson.eachLayer(function (lyr) { if (lyr.feature) all.push(lyr.feature.properties || {}); });
      var q = filter.value.trim().toLowerCase();
      all.forEach(function (p) {
        var vals = COLS.map(function (c) { return cell(p, c); });
        if (!q || vals.join(' ').toLowerCase().indexOf(q) >= 0) rows.push({p: p, vals: vals});
      });
      table.textContent = '';
      var tr = el('tr');
      COLS.forEach(function (c) { tr.appendChild(el('th', null, S['col_' + c])); });
      add(table, add(el('thead'), tr));
      var tb = el('tbody');
      rows.forEach(function (r) {
        var row = el('tr');
        row.setAttribute('data-id', r.p.id || '');
        r.vals.forEach(function (v) { row.appendChild(el('td', null, v)); });
        row.addEventListener('click', function () { selectFeature(r.p.id, true); });
        tb.appendChild(row);
      });
      table.appendChild(tb);
      count.textContent = fmt(S.tools_table_count, {n: rows.length, total: all.length});
    }
    csv.addEventListener('click', function () {
      var lines = [COLS.join(',')].concat(rows.map(function (r) { return r.vals.map(csvCell).join(','); }));
      // a BOM, so that spreadsheet programs read the Chinese names as UTF-8
      var blob = new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], {type: 'text/csv;charset=utf-8'});
      if (csv.getAttribute('href').indexOf('blob:') === 0) URL.revokeObjectURL(csv.getAttribute('href'));
      csv.setAttribute('href', URL.createObjectURL(blob));
      csv.setAttribute('download', layer.value + (filter.value.trim() ? '-filtered' : '') + '.csv');
    });
    layer.addEventListener('change', render);
    filter.addEventListener('input', render);
    close.addEventListener('click', function () { drawer.hidden = true; document.body.classList.remove('pm-table-open'); });
    var btn = el('button', 'pm-tools-btn', S.tools_table);
    btn.type = 'button';
    btn.id = 'pm-table-btn';
    btn.addEventListener('click', function () {
      refill(layer, layerOptions(false));
      drawer.hidden = !drawer.hidden;
      document.body.classList.toggle('pm-table-open', !drawer.hidden);
      render();
      MAP.invalidateSize();
    });
    document.querySelector('.pm-top').insertBefore(btn, document.getElementById('pm-plan'));
  }

  // ---------- labels of named places ----------
  // the zoom from which a layer's names are written on the map (counties first, then towns)
  var LABEL_ZOOM = {admin: 8, p001_admin: 7, p002_admin: 8, p003_admin: 9, urban: 11, parks: 12,
    tourism: 12, ecology: 11, water: 12, p002_urban: 10, p003_urban: 11};
  var LABEL_MAX = 80;
  function updateLabels() {
    if (!labels) return;
    labels.clearLayers();
    var z = MAP.getZoom(), view = MAP.getBounds().pad(0.1), n = 0;
    Object.keys(LABEL_ZOOM).forEach(function (lid) {
      var g = LAYERS()[lid];
      if (!g || z < LABEL_ZOOM[lid] || !MAP.hasLayer(g.group)) return;
      g.geojson.eachLayer(function (lyr) {
        var p = lyr.feature && lyr.feature.properties;
        if (!p || n >= LABEL_MAX || p.kind === 'city' || p.wide) return;
        var at = lyr.getLatLng ? lyr.getLatLng() : lyr.getBounds().getCenter();
        if (!view.contains(at)) return;
        var span = el('span', 'pm-label-text pm-label-' + (/^[a-z0-9_]+$/.test(lid) ? lid : 'x'), name(p));
        L.marker(at, {interactive: false, keyboard: false,
          icon: L.divIcon({className: 'pm-label', html: span, iconSize: null})}).addTo(labels);
        n++;
      });
    });
  }

  // ---------- legend follows what is on the map ----------
  function updateLegend() {
    document.querySelectorAll('#pm-legend li[data-layer]').forEach(function (li) {
      var g = LAYERS()[li.getAttribute('data-layer')];
      li.classList.toggle('pm-legend-off', !(g && MAP.hasLayer(g.group)));
    });
  }

  // ---------- search on the server ----------
  function setupSearch() {
    var input = document.getElementById('pm-search');
    var list = document.getElementById('pm-search-results');
    if (!input || !list) return;
    var timer = null, seq = 0, shown = [], active = -1;
    function choose(item) {
      list.hidden = true;
      if (item.coord) { gotoPoints([[item.coord.lat, item.coord.lon]]); return; }
      selectFeature(item.id, true);
    }
    function show(res) {
      list.textContent = '';
      shown = [];
      active = -1;
      if (res.coordinate) {
        var c = res.coordinate;
        shown.push({coord: c, text: fmt(S.tools_search_coord, {lon: c.lon.toFixed(6), lat: c.lat.toFixed(6), crs: c.crs})});
      }
      res.results.forEach(function (r) { shown.push(r); });
      if (!shown.length) list.appendChild(el('li', 'pm-muted', S.search_none));
      shown.forEach(function (item) {
        var li = el('li');
        if (item.coord) { li.className = 'pm-search-coord'; add(li, item.text); }
        else {
          add(li, name(item), el('span', 'pm-muted', (CFG.layers[item.layer] || {}).title || item.layer));
          if (item.match && item.match !== 'name' && S['tools_match_' + item.match]) {
            li.appendChild(el('span', 'pm-badge pm-match', S['tools_match_' + item.match]));
          }
        }
        li.addEventListener('mousedown', function (ev) { ev.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      if (res.total) {
        var foot = el('li', 'pm-search-foot' + (res.capped ? ' pm-capped' : ''),
          res.capped ? fmt(S.tools_search_capped, {n: res.count, total: res.total})
            : fmt(S.tools_search_total, {total: res.total}));
        foot.id = 'pm-search-foot';
        list.appendChild(foot);
      }
      list.hidden = false;
    }
    function run() {
      var q = input.value.trim();
      if (!q) { list.hidden = true; return; }
      var mine = ++seq;
      getJSON(CFG.api.search + '?q=' + encodeURIComponent(q) + '&plan=' + encodeURIComponent(currentPlan()))
        .then(function (res) { if (mine === seq) show(res); })
        .catch(function (err) {
          if (mine !== seq) return;
          list.textContent = '';
          list.appendChild(el('li', 'pm-error', apiMessage(err)));
          list.hidden = false;
        });
    }
    input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(run, 150); });
    input.addEventListener('focus', function () { if (input.value.trim()) run(); });
    input.addEventListener('blur', function () { setTimeout(function () { list.hidden = true; }, 150); });
    input.addEventListener('keydown', function (ev) {
      var items = shown;
      if (ev.key === 'Enter') {
        clearTimeout(timer);
        if (items.length) choose(items[active >= 0 ? active : 0]);
        else run();
      } else if ((ev.key === 'ArrowDown' || ev.key === 'ArrowUp') && items.length) {
        active = (active + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        Array.prototype.forEach.call(list.children, function (li, i) { li.classList.toggle('pm-active', i === active); });
        ev.preventDefault();
      } else if (ev.key === 'Escape') { list.hidden = true; }
    });
  }

  // ---------- selecting a feature (search, table, permalink) ----------
  function selectFeature(id, fit) {
    var hit = BYID[id];
    if (!hit) return false;
    var meta = CFG.layers[hit.layerId] || {};
    if (meta.plan && meta.plan !== currentPlan()) {
      var sel = document.getElementById('pm-plan');
      if (sel) { sel.value = meta.plan; sel.dispatchEvent(new Event('change')); }
    }
    var group = LAYERS()[hit.layerId].group;
    if (!MAP.hasLayer(group)) MAP.addLayer(group);
    var lyr = hit.layer, at = lyr.getLatLng ? lyr.getLatLng() : lyr.getBounds().getCenter();
    if (fit) {
      if (lyr.getBounds) MAP.fitBounds(lyr.getBounds(), {maxZoom: 13, padding: [30, 30], animate: false});
      else MAP.setView(at, Math.max(MAP.getZoom(), 12), {animate: false});
    }
    lyr.openPopup(at);
    setSel({f: id, q: null, s: null});
    return true;
  }

  // ---------- permalink: view, plan, layers and selection in the URL hash ----------
  function stateHash() {
    var c = MAP.getCenter(), parts = [];
    parts.push('map=' + MAP.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5));
    parts.push('plan=' + encodeURIComponent(currentPlan()));
    var on = Object.keys(LAYERS()).filter(function (id) { return MAP.hasLayer(LAYERS()[id].group); });
    parts.push('layers=' + on.map(encodeURIComponent).join(','));
    if (SEL.f) parts.push('f=' + encodeURIComponent(SEL.f));
    if (SEL.q) parts.push('q=' + SEL.q.lng.toFixed(6) + ',' + SEL.q.lat.toFixed(6));
    if (SEL.s) parts.push('s=' + encodeURIComponent(SEL.s));
    return '#' + parts.join('&');
  }
  var writeTimer = null;
  function writeHash(push) {
    if (applying) return;
    clearTimeout(writeTimer);
    var doWrite = function () {
      var h = stateHash();
      if (h === location.hash) return;
      if (push) history.pushState(null, '', h);
      else history.replaceState(null, '', h);
    };
    if (push) doWrite(); else writeTimer = setTimeout(doWrite, 200);
  }
  function setSel(sel) {
    SEL = {f: sel.f || null, q: sel.q || null, s: sel.s || null};
    writeHash(true);
  }
  function parseHash(hash) {
    var out = {};
    String(hash || '').replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }
  function applyHash(hash) {
    var st = parseHash(hash);
    if (!st.map && !st.f && !st.q && !st.s && !st.layers) return false;
    applying = true;
    try {
      var sel = document.getElementById('pm-plan');
      if (st.plan && sel && sel.value !== st.plan && (CFG.plans || []).some(function (p) { return p.id === st.plan; })) {
        sel.value = st.plan;
        window.planmapSetPlan(st.plan, false);
      }
      if (st.layers !== undefined) {
        var want = {};
        st.layers.split(',').forEach(function (id) { if (id) want[id] = 1; });
        Object.keys(LAYERS()).forEach(function (id) {
          var g = LAYERS()[id].group;
          if (want[id] && !MAP.hasLayer(g)) MAP.addLayer(g);
          else if (!want[id] && MAP.hasLayer(g)) MAP.removeLayer(g);
        });
      }
      var m = /^(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(st.map || '');
      MAP.closePopup();
      SEL = {f: st.f || null, q: null, s: st.s || null};
      if (st.q) {
        var qm = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(st.q);
        if (qm) { SEL.q = L.latLng(parseFloat(qm[2]), parseFloat(qm[1])); HOOKS.queryPoint(SEL.q); }
      }
      if (st.f && BYID[st.f]) {
        var lyr = BYID[st.f].layer;
        var pop = lyr.getPopup && lyr.getPopup();
        // a permalink names its view: the restored popup must not pan the map away from it
        if (pop) { pop.options.autoPan = false; pop._pmKeepView = true; }
        lyr.openPopup(SEL.q || (lyr.getLatLng ? lyr.getLatLng() : lyr.getBounds().getCenter()));
      }
      if (st.s && /^[A-Za-z0-9_-]{1,64}$/.test(st.s)) restoreCheck(st.s, !m);
      if (m) MAP.setView([parseFloat(m[2]), parseFloat(m[3])], parseInt(m[1], 10), {animate: false});
    } finally {
      applying = false;
    }
    updateLegend();
    updateLabels();
    return true;
  }
  function restoreCheck(id, fit) {
    getJSON(CFG.api.sitecheck + '/' + encodeURIComponent(id)).then(function (res) {
      HOOKS.showCheck(res);
      var marks = HOOKS.marks();
      marks.clearLayers();
      if (res.site_geometry) {
        var site = L.geoJSON(res.site_geometry, {
          style: {color: '#000', weight: 2.5, fillColor: '#f0b429', fillOpacity: 0.25},
          pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 7}); }
        });
        marks.addLayer(site);
        if (fit) MAP.fitBounds(site.getBounds(), {maxZoom: 15, padding: [40, 40], animate: false});
      }
      document.documentElement.setAttribute('data-planmap-restored', id);
    }).catch(function (err) { HOOKS.showError(S.sitecheck, err); });
  }

  // ---------- citations: a side view, the map stays ----------
  function setupCitations() {
    var side = el('aside', 'pm-cite-view');
    side.id = 'pm-cite-view';
    side.hidden = true;
    var head = el('div', 'pm-cite-head');
    var open = el('a', null, S.tools_cite_open);
    open.id = 'pm-cite-open';
    open.setAttribute('target', '_blank');
    open.setAttribute('rel', 'noopener');
    var close = el('button', 'pm-btn', S.tools_cite_close);
    close.type = 'button';
    close.addEventListener('click', function () { side.hidden = true; frame.removeAttribute('src'); });
    add(head, el('strong', null, S.tools_cite_title), open, close);
    var frame = el('iframe');
    frame.id = 'pm-cite-frame';
    frame.title = S.tools_cite_title;
    frame.addEventListener('load', function () {
      // bring the cited line to the middle of the side view (same origin)
      var id = (open.getAttribute('href') || '').split('#')[1];
      var doc = frame.contentDocument, target = id && doc && doc.getElementById(id);
      if (target) target.scrollIntoView({block: 'center'});
    });
    add(side, head, frame);
    document.body.appendChild(side);
    document.addEventListener('click', function (ev) {
      var a = ev.target && ev.target.closest ? ev.target.closest('a[href^="/plan/"]') : null;
      if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
      if (a.closest('#pm-cite-view')) return;
      ev.preventDefault();
      var href = a.getAttribute('href');
      side.hidden = false;  // first: a hidden frame does not scroll to its #L line
      frame.setAttribute('src', href);
      open.setAttribute('href', href);
    }, true);
  }

  // ---------- start ----------
  function start(map, cfg) {
    MAP = map; CFG = cfg; S = cfg.strings; HOOKS = window.planmapHooks;
    Object.keys(LAYERS()).forEach(function (lid) {
      LAYERS()[lid].geojson.eachLayer(function (lyr) {
        var p = lyr.feature && lyr.feature.properties;
        if (p && p.id && !BYID[p.id]) BYID[p.id] = {layer: lyr, layerId: lid};
      });
      // a click on a feature is a selection (Leaflet stops it before the map's click)
      LAYERS()[lid].geojson.on('click', function (ev) {
        var p = ev.layer && ev.layer.feature && ev.layer.feature.properties;
        if (!document.querySelector('.pm-tools button.pm-on') && p) setSel({f: p.id, q: ev.latlng});
      });
    });
    map.on('click', function (ev) {
      if (document.querySelector('.pm-tools button.pm-on')) return;  // drawing, not querying
      setSel({q: ev.latlng});
    });
    window.planmapOnCheck = function (res) { if (res && res.id) setSel({s: res.id}); };
    labels = L.layerGroup().addTo(map);
    setupCoords();
    setupSearch();
    setupTable();
    setupGoto();
    setupDownloads();
    setupPermalinkButton();
    setupCitations();
    var pending = null;
    function later() {
      if (pending) return;
      pending = setTimeout(function () { pending = null; updateLegend(); updateLabels(); writeHash(false); }, 50);
    }
    map.on('layeradd layerremove', function (ev) {
      if (ev.layer instanceof L.FeatureGroup && !(ev.layer instanceof L.GeoJSON)) later();
    });
    map.on('moveend zoomend', function () { updateLabels(); writeHash(false); });
    var plan = document.getElementById('pm-plan');
    if (plan) plan.addEventListener('change', function () { setSel({}); });
    window.addEventListener('popstate', function () { applyHash(location.hash); });
    updateLegend();
    updateLabels();
    if (!applyHash(location.hash)) writeHash(false);
    document.documentElement.setAttribute('data-planmap-tools', '1');
  }

  var previous = window.planmapInit;
  window.planmapInit = function (map, cfg) {
    // planmap.js defines planmapInit before this file runs; the map script calls it later
    (previous || window.planmapInit).call(this, map, cfg);
    start(map, cfg);
  };
})();
