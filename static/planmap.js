/* planmap.js — tooltips, popups, search, measuring, point query panel and site check.
 *
 * Safety rule of this file: every value that comes from the data or the user is put
 * into the page with textContent (via el()), never with innerHTML.
 * Started by the map script (/map/<lang>.js), which calls window.planmapInit(map, cfg).
 */
(function () {
  'use strict';

  var CFG = null, S = {}, MAP = null;
  var LAYERS = {};          // layer id -> {geojson, group, title}
  var SEARCH = [];          // [{text, name, sub, layerId, layer}]
  var tool = null;          // the active tool name, or null
  var handler = null;       // the active leaflet-draw handler
  var marks = null;         // L.featureGroup of our own drawings (click marker, sites, measures)

  var MU_PER_M2 = 1 / 666.6666667;  // 1 亩 = 10000/15 m²
  var EARTH_R = 6378137;

  // ---------- small DOM helpers (text only) ----------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function link(href, text) {
    var a = el('a', null, text);
    a.setAttribute('href', href);
    return a;
  }
  function fmt(s, vals) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vals[k] !== undefined ? vals[k] : m; });
  }
  function num(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    return Number(v).toLocaleString(CFG.lang === 'zh' ? 'zh-CN' : 'en-US',
      {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function dist(m) {
    if (m === null || m === undefined || isNaN(m)) return '–';
    return m >= 1000 ? num(m / 1000, 2) + ' ' + S.unit_km : num(m, 0) + ' ' + S.unit_m;
  }
  function langSuffix(sep) { return CFG.lang === 'en' ? sep + 'lang=en' : ''; }
  function planHref(cit) {
    if (!cit || !cit.seed) return null;
    var line = parseInt(cit.line, 10);
    var base = CFG.plan_url + encodeURIComponent(cit.seed);
    if (!(line > 0)) return base + langSuffix('?');
    return base + '?hl=' + line + langSuffix('&') + '#L' + line;
  }
  function name(p) {
    if (!p) return '';
    if (CFG.lang === 'en' && p.name_en) return p.name_en;
    return p.name_zh || p.name_en || p.id || '';
  }
  function accBadge(acc) {
    var label = S['acc_' + acc] || acc || '';
    return el('span', 'pm-badge pm-acc-' + (/^[a-z]+$/.test(acc || '') ? acc : 'x'), label);
  }
  function layerTitle(id) { return (CFG.layers[id] && CFG.layers[id].title) || id || ''; }
  function citationNode(cit) {
    if (!cit) return null;
    var box = el('div', 'pm-cite');
    var href = planHref(cit);
    add(box, S.citation + ': ');
    add(box, href ? link(href, fmt(S.plan_line, {line: cit.line})) : null);
    if (cit.quote) add(box, el('div', 'pm-quote', '“' + cit.quote + '”'));
    return box;
  }

  // ---------- clauses ----------
  function clausesFor(ids) {
    var seen = {}, out = [], by = CFG.clauses.by_feature || {};
    ids.forEach(function (id) {
      (by[id] || []).forEach(function (cid) {
        if (!seen[cid] && CFG.clauses.by_id[cid]) { seen[cid] = 1; out.push(CFG.clauses.by_id[cid]); }
      });
    });
    return out;
  }
  function clauseList(clauses) {
    if (!clauses.length) return el('p', 'pm-muted', S.clauses_none);
    var ul = el('ul', 'pm-clause-list');
    clauses.forEach(function (c) {
      var li = el('li');
      add(li, el('span', 'pm-effect pm-effect-' + (/^[a-z]+$/.test(c.effect || '') ? c.effect : 'x'),
        S['eff_' + c.effect] || c.effect || ''));
      add(li, el('span', null, c.text_zh || ''));
      if (CFG.lang === 'en' && c.summary_en) add(li, el('div', 'pm-small', c.summary_en));
      if (c.scope === 'activity') {
        add(li, el('div', 'pm-small pm-scope', S.scope_activity +
          ((CFG.lang === 'en' ? c.activity_en : c.activity_zh) || '')));
      } else if (c.scope === 'citywide') {
        add(li, el('div', 'pm-small pm-scope', S.scope_citywide));
      } else if (c.scope === 'programme') {
        add(li, el('div', 'pm-small pm-scope', S.scope_programme));
      }
      add(li, citationNode(c.citation));
      ul.appendChild(li);
    });
    return ul;
  }

  // ---------- tooltips and popups ----------
  function tooltipNode(p) {
    var box = el('div', 'pm-tip');
    add(box, el('strong', null, name(p)), accBadge(p.accuracy));
    return box;
  }
  // a feature's kind as a label (CFG.kinds, server/i18n.py KIND_LABELS), never the code
  function kindLabel(kind) { return (CFG.kinds && CFG.kinds[kind]) || kind; }
  function popupNode(p) {
    var box = el('div', 'pm-pop');
    add(box, el('div', 'pm-pop-name', name(p)));
    if (CFG.lang === 'en' && p.name_zh && p.name_zh !== name(p)) add(box, el('div', 'pm-muted', p.name_zh));
    var meta = el('div', 'pm-muted');
    add(meta, layerTitle(p.layer), p.kind ? ' · ' + kindLabel(p.kind) : '', ' · ' + S.accuracy + ': ');
    add(meta, accBadge(p.accuracy));
    add(box, meta, citationNode(p.citation));
    var clauses = clausesFor([p.id, p.layer]);
    if (clauses.length) { add(box, el('strong', null, S.clauses)); add(box, clauseList(clauses)); }
    return box;
  }
  function bindFeature(layerId, feature, layer) {
    var p = feature.properties || {};
    layer.bindTooltip(function () { return tooltipNode(p); }, {sticky: true});
    layer.bindPopup(function () { return popupNode(p); }, {maxWidth: 320, maxHeight: 380});
    // Leaflet stops a click that opens a popup before it reaches the map: query here too
    layer.on('click', function (ev) { if (!tool) queryPoint(ev.latlng); });
    SEARCH.push({
      text: ((p.name_zh || '') + ' ' + (p.name_en || '')).toLowerCase(),
      name: name(p), sub: layerTitle(layerId), layerId: layerId, layer: layer
    });
  }

  // ---------- search ----------
  function setupSearch() {
    var input = document.getElementById('pm-search');
    var list = document.getElementById('pm-search-results');
    if (!input || !list || CFG.api.search) return;  // planmap-tools.js searches on the server
    var active = -1, shown = [];
    function choose(item) {
      var group = LAYERS[item.layerId] && LAYERS[item.layerId].group;
      if (group && !MAP.hasLayer(group)) MAP.addLayer(group);
      if (item.layer.getBounds) {
        MAP.fitBounds(item.layer.getBounds(), {maxZoom: 13, padding: [30, 30]});
        item.layer.openPopup(item.layer.getBounds().getCenter());
      } else {
        MAP.setView(item.layer.getLatLng(), Math.max(MAP.getZoom(), 12));
        item.layer.openPopup();
      }
      list.hidden = true;
    }
    function render() {
      var q = input.value.trim().toLowerCase();
      list.textContent = '';
      active = -1;
      if (!q) { list.hidden = true; return; }
      shown = SEARCH.filter(function (s) { return s.text.indexOf(q) >= 0; }).slice(0, 20);
      if (!shown.length) {
        list.appendChild(el('li', 'pm-muted', S.search_none));
      }
      shown.forEach(function (item, i) {
        var li = el('li');
        li.setAttribute('data-i', i);
        add(li, item.name, el('span', 'pm-muted', item.sub));
        li.addEventListener('mousedown', function (ev) { ev.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = false;
    }
    input.addEventListener('input', render);
    input.addEventListener('focus', render);
    input.addEventListener('blur', function () { setTimeout(function () { list.hidden = true; }, 150); });
    input.addEventListener('keydown', function (ev) {
      if (!shown.length) return;
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        active = (active + (ev.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
        Array.prototype.forEach.call(list.children, function (li, i) { li.classList.toggle('pm-active', i === active); });
        ev.preventDefault();
      } else if (ev.key === 'Enter') {
        choose(shown[active >= 0 ? active : 0]);
      } else if (ev.key === 'Escape') {
        list.hidden = true;
      }
    });
  }

  // ---------- panel ----------
  function panel(title) {
    var body = document.getElementById('pm-panel-body');
    document.getElementById('pm-panel-title').textContent = title;
    body.textContent = '';
    return body;
  }
  function showError(body, err) {
    body.textContent = '';
    var p = el('p', 'pm-error', S.error + ': ');
    var e = err && err.error;
    add(p, e ? (CFG.lang === 'zh' ? (e.message_zh || e.message_en) : (e.message_en || e.message_zh)) :
      String(err && err.message || err));
    body.appendChild(p);
  }
  function fetchJSON(url, opts) {
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {error: {message_en: r.status + ' ' + r.statusText, message_zh: String(r.status)}}; })
        .then(function (body) { if (!r.ok) throw body; return body; });
    });
  }

  // ---------- point query ----------
  function queryPoint(latlng) {
    marks.clearLayers();
    L.circleMarker(latlng, {radius: 6, color: '#000', weight: 2, fillColor: '#f0b429', fillOpacity: 1})
      .addTo(marks);
    var body = panel(S.here_zones);
    var lon = latlng.lng.toFixed(6), lat = latlng.lat.toFixed(6);
    body.appendChild(el('p', 'pm-muted', S.coordinates + ': ' + lon + ', ' + lat));
    var wait = el('p', 'pm-muted', S.loading);
    body.appendChild(wait);
    fetchJSON(CFG.api.zones + '?lon=' + lon + '&lat=' + lat).then(function (res) {
      wait.remove();
      renderPoint(body, res);
    }).catch(function (err) { showError(body, err); });
  }
  function zoneItem(z) {
    var li = el('li', 'pm-zone');
    li.setAttribute('data-id', z.id || '');
    add(li, el('strong', null, name(z)), ' ', el('span', 'pm-muted', layerTitle(z.layer)), accBadge(z.accuracy));
    return li;
  }
  // ---------- tiers of an answer (geo/tiers.py): binding, designations, area-wide ----------
  function effectBadge(effect) {
    return el('span', 'pm-effect pm-effect-' + (/^[a-z]+$/.test(effect || '') ? effect : 'x'),
      S['eff_' + effect] || effect || '');
  }
  function renderDeciding(body, res) {
    var dc = res.deciding_clause;
    var box = el('div', 'pm-deciding');
    box.id = 'pm-deciding';
    if (!dc) { add(box, el('p', 'pm-muted', S.deciding_none)); body.appendChild(box); return; }
    add(box, el('strong', null, S.deciding_clause + ': '), effectBadge(dc.effect), ' ',
      el('span', null, name(dc.zone)));
    add(box, citationNode(dc.citation));
    var acc = el('div', 'pm-small');
    add(acc, S.deciding_accuracy + ': ', accBadge(dc.zone && dc.zone.accuracy));
    add(box, acc);
    body.appendChild(box);
  }
  function tierList(entries, withEffect) {
    var ul = el('ul', 'pm-tier-list');
    entries.forEach(function (z) {
      var li = zoneItem(z);
      if (withEffect) add(li, ' ', effectBadge(z.effect));
      ul.appendChild(li);
    });
    return ul;
  }
  function renderTiers(body, res) {
    var t = res.tiers || {};
    var box = el('div', 'pm-zones pm-tiers');
    add(box, el('h4', null, S.tier_binding));
    var binding = t.binding || [];
    add(box, binding.length ? tierList(binding, true) : el('p', 'pm-muted', S.tier_binding_none));
    var conflicts = res.conflicts || [];
    if (conflicts.length) {
      add(box, el('h4', 'pm-conflicts-title', S.conflicts));
      var cl = el('ul', 'pm-conflicts');
      conflicts.forEach(function (c) {
        var li = el('li', null, c[CFG.lang] || c.zh || '');
        (c.rules || []).forEach(function (r) { add(li, citationNode(r.citation)); });
        cl.appendChild(li);
      });
      add(box, cl);
    }
    var des = t.designations || [];
    if (des.length) { add(box, el('h4', null, S.tier_designations), tierList(des, false)); }
    var wide = t.area_wide || [];
    if (wide.length) {
      var title = (t.area_wide_title && (t.area_wide_title[CFG.lang] || t.area_wide_title.zh)) || S.tier_area_wide;
      var det = el('details', 'pm-area-wide');
      add(det, el('summary', null, title + ' (' + wide.length + ')'));
      add(det, el('p', 'pm-small pm-muted', S.tier_area_wide_note));
      wide.forEach(function (z) {
        var sec = el('div', 'pm-area-item');
        add(sec, el('strong', null, name(z)), accBadge(z.accuracy), citationNode(z.citation));
        if (z.clauses && z.clauses.length) add(sec, clauseList(z.clauses));
        add(det, sec);
      });
      add(box, det);
    }
    body.appendChild(box);
  }
  function tierClauses(res) {
    // Clauses of the binding zones and designations; area-wide ones sit in their own section.
    var seen = {}, out = [], t = res.tiers || {};
    (t.binding || []).concat(t.designations || []).forEach(function (z) {
      (z.clauses || []).forEach(function (c) { if (!seen[c.id]) { seen[c.id] = 1; out.push(c); } });
    });
    return out;
  }
  function renderPoint(body, res) {
    var plans = res.plans || [];
    // Outside Baicheng another plan may still answer (issue 15): warn only when none does.
    if (res.in_service_area === false && !plans.length) body.appendChild(el('p', 'pm-error', S.outside_service_area));
    if (plans.length) {
      body.appendChild(el('p', 'pm-plans', S.answered_by + plans.map(function (p) {
        return CFG.lang === 'en' ? p.name_en : p.name_zh; }).join(CFG.lang === 'en' ? ', ' : '、')));
    }
    var zones = res.zones || [];
    if (res.tiers) {
      var v = el('div', 'pm-verdict pm-verdict-' + (/^[a-z_]+$/.test(res.verdict || '') ? res.verdict : 'x'),
        S.verdict + ': ' + verdictText(res.verdict));
      v.id = 'pm-point-verdict';
      body.appendChild(v);
      renderDeciding(body, res);
      renderTiers(body, res);
    } else if (zones.length) {
      var ul = el('ul', 'pm-zones');
      zones.forEach(function (z) { ul.appendChild(zoneItem(z)); });
      body.appendChild(ul);
    } else {
      body.appendChild(el('p', 'pm-muted', S.here_none));
    }
    var near = res.nearest || [];
    if (near.length) {
      body.appendChild(el('h3', null, S.nearest));
      var nl = el('ul', 'pm-nearest');
      near.forEach(function (z) {
        var li = zoneItem(z);
        add(li, ' ', el('span', 'pm-dist', dist(z.distance_m)));
        nl.appendChild(li);
      });
      body.appendChild(nl);
    }
    body.appendChild(el('h3', null, S.clauses));
    var ids = [];
    zones.forEach(function (z) { ids.push(z.id, z.layer); });
    var clauses = res.tiers ? tierClauses(res)
      : (res.clauses && res.clauses.length ? res.clauses : clausesFor(ids));
    body.appendChild(clauseList(clauses));
  }

  // ---------- geodesic measures ----------
  function lengthM(latlngs) {
    var d = 0;
    for (var i = 1; i < latlngs.length; i++) d += latlngs[i - 1].distanceTo(latlngs[i]);
    return d;
  }
  function areaM2(latlngs) {
    // spherical excess formula (as in Leaflet.draw's geodesicArea), adequate at plan scale
    var a = 0, n = latlngs.length, rad = Math.PI / 180;
    if (n < 3) return 0;
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      a += (p2.lng - p1.lng) * rad * (2 + Math.sin(p1.lat * rad) + Math.sin(p2.lat * rad));
    }
    return Math.abs(a * EARTH_R * EARTH_R / 2);
  }
  function showMeasure(layer, kind) {
    var body = panel(kind === 'area' ? S.measure_area : S.measure_length);
    var pts = layer.getLatLngs();
    if (kind === 'area') {
      var ring = Array.isArray(pts[0]) ? pts[0] : pts;
      var m2 = areaM2(ring);
      add(body, el('p', 'pm-measure', num(m2, 0) + ' ' + S.unit_m2));
      add(body, el('p', 'pm-measure', num(m2 / 10000, 2) + ' ' + S.unit_ha + ' · ' + num(m2 * MU_PER_M2, 1) + ' ' + S.unit_mu));
      add(body, el('p', 'pm-muted', S.measure_length + ': ' + dist(lengthM(ring.concat([ring[0]])))));
    } else {
      add(body, el('p', 'pm-measure', dist(lengthM(pts))));
    }
  }

  // ---------- site check ----------
  function siteCheck(payload, isFile) {
    var body = panel(S.sitecheck);
    body.appendChild(el('p', 'pm-muted', S.loading));
    var opts = {method: 'POST', headers: {'Accept': 'application/json'}};
    if (isFile) {
      opts.body = payload;
    } else {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify({geometry: payload});
    }
    if (window.planmapReport) window.planmapReport.extend(opts, isFile, payload);  // issue 18
    fetchJSON(CFG.api.sitecheck, opts).then(function (res) {
      body.textContent = '';
      renderSiteCheck(body, res);
      if (window.planmapReport) window.planmapReport.render(body, res);
      if (window.planmapOnCheck) window.planmapOnCheck(res);  // planmap-tools.js: permalink
      // an uploaded site is drawn from the stored check (the server parsed the file)
      if (isFile && res.url && /^\/[^\/]/.test(res.url)) {
        fetchJSON(res.url).then(function (stored) {
          if (!stored.site_geometry) return;
          var site = L.geoJSON(stored.site_geometry, {
            style: {color: '#000', weight: 2.5, fillColor: '#f0b429', fillOpacity: 0.25},
            pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 7}); }
          });
          marks.clearLayers();
          marks.addLayer(site);
          MAP.fitBounds(site.getBounds(), {maxZoom: 15, padding: [40, 40]});
        }).catch(function () { /* the result is shown already; the outline is a bonus */ });
      }
    }).catch(function (err) {
      showError(body, err);
      if (window.planmapReport) window.planmapReport.error(body, err);  // issue 18
    });
  }
  function verdictText(v) {
    if (v && typeof v === 'object') v = v.code;
    return S['verdict_' + v] || String(v || '');
  }
  function first(obj, keys) {
    for (var i = 0; i < keys.length; i++) if (obj[keys[i]] !== undefined && obj[keys[i]] !== null) return obj[keys[i]];
    return null;
  }
  function renderSiteCheck(body, res) {
    var code = res.verdict && typeof res.verdict === 'object' ? res.verdict.code : res.verdict;
    var v = el('div', 'pm-verdict pm-verdict-' + (/^[a-z_]+$/.test(code || '') ? code : 'x'));
    add(v, S.verdict + ': ' + verdictText(res.verdict));
    v.id = 'pm-verdict';
    body.appendChild(v);
    if (res.tiers) { renderDeciding(body, res); renderTiers(body, res); }
    var site = res.site || {};
    var sp = el('p');
    if (site.area_m2) {
      add(sp, S.site_area + ': ' + num(site.area_m2, 0) + ' ' + S.unit_m2 + ' · ' +
        num(first(site, ['area_ha']) !== null ? site.area_ha : site.area_m2 / 10000, 2) + ' ' + S.unit_ha + ' · ' +
        num(first(site, ['area_mu']) !== null ? site.area_mu : site.area_m2 * MU_PER_M2, 1) + ' ' + S.unit_mu);
    } else if (site.length_m) {
      add(sp, S.site_length + ': ' + dist(site.length_m));
    }
    body.appendChild(sp);

    body.appendChild(el('h3', null, S.overlap));
    var zones = res.zones || [];
    if (zones.length) {
      var table = el('table', 'pm-table');
      table.id = 'pm-overlap';
      var head = el('tr');
      [S.name, S.overlap_m2, S.overlap_ha, S.overlap_mu, S.overlap_pct].forEach(function (h, i) {
        head.appendChild(el('th', i ? 'pm-r' : null, h));
      });
      add(table, add(el('thead'), head));
      var tb = el('tbody');
      zones.forEach(function (z) {
        var m2 = first(z, ['overlap_m2', 'area_m2', 'overlap_area_m2']);
        var pct = first(z, ['pct_of_site', 'percent_of_site', 'share_pct', 'overlap_pct']);
        if (pct === null) {
          var share = first(z, ['share', 'fraction', 'share_of_site']);
          pct = share !== null ? share * 100 : (m2 !== null && site.area_m2 ? 100 * m2 / site.area_m2 : null);
        }
        var ha = first(z, ['overlap_ha', 'area_ha']), mu = first(z, ['overlap_mu', 'area_mu']);
        if (m2 !== null) { if (ha === null) ha = m2 / 10000; if (mu === null) mu = m2 * MU_PER_M2; }
        var tr = el('tr');
        var nameCell = el('td');
        add(nameCell, name(z), el('div', 'pm-muted', layerTitle(z.layer)), accBadge(z.accuracy));
        if (z.overlap_length_m) add(nameCell, el('div', 'pm-small', S.overlap_length + ': ' + dist(z.overlap_length_m)));
        add(tr, nameCell, el('td', 'pm-r', num(m2, 0)), el('td', 'pm-r', num(ha, 2)),
          el('td', 'pm-r', num(mu, 1)), el('td', 'pm-r', num(pct, 1)));
        tb.appendChild(tr);
      });
      add(table, tb);
      body.appendChild(table);
    } else {
      body.appendChild(el('p', 'pm-muted', S.overlap_none));
    }
    var near = res.nearest || [];
    if (near.length) {
      body.appendChild(el('h3', null, S.nearest));
      var nl = el('ul');
      near.forEach(function (z) { var li = zoneItem(z); add(li, ' ', el('span', 'pm-dist', dist(z.distance_m))); nl.appendChild(li); });
      body.appendChild(nl);
    }
    var rings = res.rings || [];
    if (rings.length) {
      body.appendChild(el('h3', null, S.rings));
      var rl = el('ul');
      rings.forEach(function (r) {
        var names = (r.features || r.zones || []).map(function (z) { return typeof z === 'object' ? name(z) : String(z); });
        rl.appendChild(el('li', null, fmt(S.ring_within, {d: num(r.distance_m, 0)}) + ': ' + (names.join('、') || '–')));
      });
      body.appendChild(rl);
    }
    body.appendChild(el('h3', null, S.clauses));
    body.appendChild(clauseList(res.clauses || []));
    if (res.repairs && res.repairs.length) {
      body.appendChild(el('h3', null, S.repairs));
      var ul = el('ul');
      res.repairs.forEach(function (r) { ul.appendChild(el('li', null, typeof r === 'object' ? JSON.stringify(r) : r)); });
      body.appendChild(ul);
    }
    var official = res.official_layers_note;
    if (official && typeof official === 'object') {
      body.appendChild(el('h3', null, S.official_layers_note));
      body.appendChild(el('p', 'pm-small pm-official-note', official[CFG.lang] || official.zh || ''));
    }
    if (res.warnings && res.warnings.length) {
      body.appendChild(el('h3', null, S.input_warnings));
      var wl = el('ul');
      res.warnings.forEach(function (w) { wl.appendChild(el('li', null, String(w))); });
      body.appendChild(wl);
    }
    body.appendChild(el('h3', null, S.accuracy_note));
    var note = res.accuracy_note;
    if (note && typeof note === 'object') note = note[CFG.lang] || note.zh || note.en || '';
    body.appendChild(el('p', 'pm-small', note || S.accuracy_note_none));
    var href = res.report_url || (res.id ? CFG.report_url + encodeURIComponent(res.id) : null);
    if (href && /^\/[^\/]/.test(href)) {
      if (CFG.lang === 'en' && href.indexOf('lang=') < 0) href += (href.indexOf('?') < 0 ? '?' : '&') + 'lang=en';
      var a = link(href, S.report_link);
      a.id = 'pm-report-link';
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener');
      body.appendChild(add(el('p'), a));
    }
  }

  // ---------- tools ----------
  function setTool(name) {
    if (handler) { handler.disable(); handler = null; }
    tool = name;
    Array.prototype.forEach.call(document.querySelectorAll('.pm-tools button'), function (b) {
      b.classList.toggle('pm-on', b.getAttribute('data-tool') === name);
    });
    var shape = {color: '#000', weight: 2.5, fillColor: '#f0b429', fillOpacity: 0.25};
    var opts = {shapeOptions: shape, showLength: true, metric: true, allowIntersection: false, repeatMode: false};
    if (name === 'measure-line' || name === 'draw-line') handler = new L.Draw.Polyline(MAP, opts);
    else if (name === 'measure-area' || name === 'draw-polygon') handler = new L.Draw.Polygon(MAP, opts);
    else if (name === 'draw-point') handler = new L.Draw.Marker(MAP, {icon: L.divIcon({className: 'pm-site-point', iconSize: [12, 12]})});
    else if (name === 'clear') { marks.clearLayers(); tool = null; setTool(null); return; }
    if (handler) handler.enable();
  }
  function setupTools() {
    Array.prototype.forEach.call(document.querySelectorAll('.pm-tools button'), function (b) {
      b.addEventListener('click', function () {
        var t = b.getAttribute('data-tool');
        setTool(tool === t ? null : t);
      });
    });
    MAP.on(L.Draw.Event.CREATED, function (ev) {
      var t = tool;
      marks.clearLayers();
      var layer = ev.layer;
      if (ev.layerType === 'marker') {
        layer = L.circleMarker(ev.layer.getLatLng(), {radius: 7, color: '#000', weight: 2.5, fillColor: '#f0b429', fillOpacity: 0.9});
      }
      marks.addLayer(layer);
      handler = null;
      setTool(null);
      if (t === 'measure-line') showMeasure(layer, 'line');
      else if (t === 'measure-area') showMeasure(layer, 'area');
      else siteCheck(layer.toGeoJSON().geometry, false);
    });
    MAP.on(L.Draw.Event.DRAWSTOP, function () {
      if (handler && !handler.enabled()) { handler = null; setTool(null); }
    });
    var upload = document.getElementById('pm-upload');
    if (upload) {
      upload.addEventListener('change', function () {
        if (!upload.files || !upload.files.length) return;
        setTool(null);
        marks.clearLayers();
        var fd = new FormData();
        fd.append('file', upload.files[0]);
        siteCheck(fd, true);
        upload.value = '';
      });
    }
  }
  function setupDrawLocal() {
    var d = CFG.draw, dl = L.drawLocal && L.drawLocal.draw;
    if (!dl) return;
    dl.handlers.polyline.tooltip = {start: d.start, cont: d.cont_line, end: d.cont_line};
    dl.handlers.polyline.error = d.error;
    dl.handlers.polygon.tooltip = {start: d.start, cont: d.cont_poly, end: d.end_poly};
    dl.handlers.marker.tooltip = {start: d.point};
    dl.toolbar.actions = {title: d.cancel, text: d.cancel};
    dl.toolbar.finish = {title: d.finish, text: d.finish};
    dl.toolbar.undo = {title: d.undo, text: d.undo};
  }

  // ---------- documents (report): a print button without inline script ----------
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('[data-action=print]'), function (b) {
      b.addEventListener('click', function () { window.print(); });
    });
  });

  // ---------- start ----------
  // Plan switcher (issue 15): one plan's layers, layer-tree rows and legend at a time.
  function setPlan(id, fit) {
    var plan = (CFG.plans || []).filter(function (p) { return p.id === id; })[0];
    if (!plan) return;
    var planOf = {};
    Object.keys(CFG.layers).forEach(function (lid) {
      var meta = CFG.layers[lid];
      planOf[meta.title] = meta.plan;
      if (!LAYERS[lid]) return;
      if (meta.plan === id) { if (meta.default_on) MAP.addLayer(LAYERS[lid].group); }
      else MAP.removeLayer(LAYERS[lid].group);
    });
    document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (lab) {
      var owner = planOf[lab.textContent.trim()];
      // Leaflet's CSS sets display on these labels, so the hidden attribute would not hide
      lab.style.display = owner !== undefined && owner !== id ? 'none' : '';
    });
    document.querySelectorAll('#pm-legend li[data-plan]').forEach(function (li) {
      li.hidden = li.getAttribute('data-plan') !== id;
    });
    if (fit !== false) MAP.fitBounds(plan.bounds, {padding: [10, 10], animate: false});
    document.documentElement.setAttribute('data-planmap-plan', id);
  }
  function setupPlans() {
    var sel = document.getElementById('pm-plan');
    var plans = CFG.plans || [];
    if (!sel || !plans.length) { if (sel) sel.hidden = true; return; }
    plans.forEach(function (p) {
      var opt = el('option', null, p.name);
      opt.value = p.id;
      sel.appendChild(opt);
    });
    sel.value = CFG.home_plan || plans[0].id;
    sel.addEventListener('change', function () { setPlan(sel.value); });
    setPlan(sel.value, false);  // the home extent is already set from the admin layer
  }
  window.planmapSetPlan = setPlan;  // for tests and the console
  window.planmapSiteCheck = siteCheck;  // planmap-report.js checks a site again (issue 18)
  // for static/planmap-tools.js (permalink, go-to-coordinate, search)
  window.planmapHooks = {
    queryPoint: function (ll) { queryPoint(ll); }, siteCheck: function (g) { siteCheck(g, false); },
    showCheck: function (res) { renderSiteCheck(panel(S.sitecheck), res); },
    showError: function (title, err) { showError(panel(title), err); },
    marks: function () { return marks; }
  };

  window.planmapInit = function (map, cfg) {
    MAP = map; CFG = cfg; S = cfg.strings;
    window.planmapMap = map;  // for tests and the console
    marks = L.featureGroup().addTo(map);
    L.control.scale({imperial: false, position: 'bottomright'}).addTo(map);
    var reg = window.planmapLayers || {};
    Object.keys(reg).forEach(function (id) {
      LAYERS[id] = reg[id];
      reg[id].geojson.eachLayer(function (layer) { bindFeature(id, layer.feature, layer); });
    });
    if (window.planmapTiles) window.planmapTiles(map, cfg, LAYERS);  // tiled layers (planmap-tiles.js)
    if (cfg.bounds) map.fitBounds(cfg.bounds, {padding: [10, 10]});
    setupPlans();
    setupDrawLocal();
    setupSearch();
    setupTools();
    if (window.planmapReport) window.planmapReport.init(map, cfg);  // issue 18
    map.on('click', function (ev) {
      if (tool) return;  // a drawing/measuring click is not a query
      queryPoint(ev.latlng);
    });
    window.planmapConfig = cfg;
    // issue 16: layout, swipe and print (planmap-layout.js, -swipe.js, -print.js) start here
    (window.planmapAfterInit || []).forEach(function (start) { start(map, cfg); });
    document.documentElement.setAttribute('data-planmap-ready', '1');
  };
})();
