/* planmap-tiles.js — the tiled layers (issue 12): layers too large to embed in the map
 * script are drawn from /tiles/<layer>/<z>/<x>/<y>.mvt with the vendored Leaflet.VectorGrid.
 *
 * Started by planmap.js (window.planmapTiles(map, cfg, layers)) with cfg.tiles =
 * {layer id: {url, min_zoom, max_zoom, style, schematic_dash, strings}}.  Clicking a tiled
 * feature opens a popup with its name, layer, accuracy (schematic flagged), citation, source
 * and its other properties (e.g. a parcel's 地类).
 * Safety rule (as planmap.js): data values enter the page only through textContent.
 */
(function () {
  'use strict';

  // properties shown in the popup's head, not repeated in its table
  var HEAD = {id: 1, name_zh: 1, name_en: 1, layer: 1, kind: 1, accuracy: 1, source: 1, rule: 1,
              citation_seed: 1, citation_line: 1, citation_quote: 1, county: 1};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  window.planmapTiles = function (map, cfg, layers) {
    var S = cfg.strings || {}, tiles = cfg.tiles || {};
    function name(p) {
      if (cfg.lang === 'en' && p.name_en) return p.name_en;
      return p.name_zh || p.name_en || p.id || '';
    }
    function badge(acc) {
      return el('span', 'pm-badge pm-acc-' + (/^[a-z]+$/.test(acc || '') ? acc : 'x'),
        S['acc_' + acc] || acc || '');
    }
    function planHref(seed, line) {
      var base = cfg.plan_url + encodeURIComponent(seed);
      var lang = cfg.lang === 'en' ? 'lang=en' : '';
      line = parseInt(line, 10);
      if (!(line > 0)) return base + (lang ? '?' + lang : '');
      return base + '?hl=' + line + (lang ? '&' + lang : '') + '#L' + line;
    }
    function popupNode(lid, p, T) {
      var box = el('div', 'pm-pop pm-tile-pop');
      box.appendChild(el('div', 'pm-pop-name', name(p)));
      var meta = el('div', 'pm-muted');
      meta.appendChild(document.createTextNode(
        ((cfg.layers[lid] && cfg.layers[lid].title) || lid) + (p.kind ? ' · ' + p.kind : '') +
        ' · ' + (S.accuracy || 'accuracy') + ': '));
      meta.appendChild(badge(p.accuracy));
      box.appendChild(meta);
      if (p.citation_seed) {
        var cite = el('div', 'pm-cite', (S.citation || '') + ': ');
        var a = el('a', null, String(S.plan_line || '{line}').replace('{line}', p.citation_line || ''));
        a.setAttribute('href', planHref(p.citation_seed, p.citation_line));
        cite.appendChild(a);
        if (p.citation_quote) cite.appendChild(el('div', 'pm-quote', '“' + p.citation_quote + '”'));
        box.appendChild(cite);
      }
      if (p.source) box.appendChild(el('div', 'pm-small pm-tile-source', T.source + ': ' + p.source));
      if (p.rule) box.appendChild(el('div', 'pm-small', T.rule + ': ' + p.rule));
      var table = el('table', 'pm-table pm-tile-props');
      Object.keys(p).forEach(function (k) {
        if (HEAD[k]) return;
        var tr = el('tr');
        tr.appendChild(el('th', null, k));
        tr.appendChild(el('td', null, p[k]));
        table.appendChild(tr);
      });
      if (table.children.length) box.appendChild(table);
      return box;
    }

    // Above the inline layers (overlayPane, 400): a bureau's parcels are the detail a click
    // at their zoom is after; below markers and popups.
    if (Object.keys(tiles).length && !map.getPane('planmapTiles')) {
      map.createPane('planmapTiles').style.zIndex = 450;
    }
    Object.keys(tiles).forEach(function (lid) {
      var t = tiles[lid], T = t.strings || {source: 'source', rule: 'rule'};
      var style = t.style || {};
      var styles = {};
      styles[lid] = function (p) {
        return {
          color: style.color, weight: style.weight, opacity: 1, fill: true,
          fillColor: style.fillColor, fillOpacity: style.fillOpacity,
          // schematic geometry is dashed, as on the inline layers
          dashArray: p.accuracy === 'schematic' ? t.schematic_dash : style.dashArray
        };
      };
      var grid = L.vectorGrid.protobuf(t.url, {
        rendererFactory: L.svg.tile, interactive: true, vectorTileLayerStyles: styles,
        pane: 'planmapTiles',
        minZoom: t.min_zoom, maxNativeZoom: t.max_zoom, maxZoom: 18,
        getFeatureId: function (f) { return f.properties.id; }
      });
      grid.on('click', function (ev) {
        var p = (ev.layer && ev.layer.properties) || {};
        L.popup({maxWidth: 320, maxHeight: 380}).setLatLng(ev.latlng)
          .setContent(popupNode(lid, p, T)).openOn(map);
      });
      var entry = layers[lid];
      if (entry && entry.group) entry.group.addLayer(grid);
      else grid.addTo(map);
      if (entry) entry.tiles = grid;
    });
  };
})();
