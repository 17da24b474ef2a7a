/* planmap: the map a planner reads (issue 16 item 3).
 *
 * - the first view fits the city in the part of the map no control covers;
 * - the layer tree folds (a button at its top) and starts folded on small screens,
 *   the legend (a <details>) starts folded on small screens;
 * - popups pan clear of the controls (autoPan padding from the controls' sizes), and a
 *   control that still overlaps an open popup folds;
 * - the offline basemap stays under every other base layer choice.
 * Loaded after planmap.js; starts from its 'planmap:ready' hook (window.planmapAfterInit).
 * Text only via textContent.
 */
(function () {
  'use strict';
  var SMALL_W = 760, SMALL_H = 560;  // px: a phone, or a laptop window cut in half
  var GAP = 10;

  function isSmall() { return window.innerWidth < SMALL_W || window.innerHeight < SMALL_H; }
  // The tree and the legend start open only where they leave the city room beside them.
  var TREE_OPEN_MIN = [900, 700], LEGEND_OPEN_MIN = [760, 760];  // map px (w, h)
  function roomFor(map, min) {
    var s = map.getSize();
    return !isSmall() && s.x >= min[0] && s.y >= min[1];
  }
  function rectOf(el) { return el ? el.getBoundingClientRect() : null; }
  function overlaps(a, b) {
    return a && b && a.width > 0 && b.width > 0 &&
      a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function tree() { return document.querySelector('.leaflet-control-layers'); }
  function legend() { return document.getElementById('pm-legend'); }

  function setTree(open) {
    var box = tree();
    if (!box) return;
    box.classList.toggle('pm-tree-collapsed', !open);
    var btn = box.querySelector('.pm-tree-toggle');
    if (btn) btn.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function setupTree(S) {
    var box = tree();
    if (!box || box.querySelector('.pm-tree-toggle')) return;
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'pm-tree-toggle';
    btn.textContent = S.tree_toggle || 'Layers';
    btn.title = S.tree_toggle || 'Layers';
    box.insertBefore(btn, box.firstChild);
    L.DomEvent.disableClickPropagation(btn);
    btn.addEventListener('click', function () {
      var opening = box.classList.contains('pm-tree-collapsed');
      setTree(opening);
      // a phone has room for one of the two: the tree folds the legend, and back
      var lg = legend();
      if (opening && isSmall() && lg && lg.open) lg.open = false;
      updatePadding();
    });
    setTree(roomFor(MAP, TREE_OPEN_MIN));
  }

  // Pixels of the map container that a control covers, per side: what fitBounds and the
  // popups' autoPan must keep clear of.
  function coveredSides(map) {
    var m = rectOf(map.getContainer());
    var out = {top: 0, right: 0, bottom: 0, left: 0};
    var boxes = Array.prototype.slice.call(
      map.getContainer().querySelectorAll('.leaflet-top .leaflet-control, .leaflet-bottom .leaflet-control'));
    var lg = legend();
    if (lg) boxes.push(lg);
    boxes.forEach(function (el) {
      var r = rectOf(el);
      if (!r || !r.width || !overlaps(r, m)) return;
      // a control sits in a corner: keep clear the side that costs less room
      var needLeft = r.right - m.left, needRight = m.right - r.left;
      var needTop = r.bottom - m.top, needBottom = m.bottom - r.top;
      var side = Math.min(needLeft, needRight) < Math.min(needTop, needBottom)
        ? (needLeft < needRight ? 'left' : 'right') : (needTop < needBottom ? 'top' : 'bottom');
      var need = {left: needLeft, right: needRight, top: needTop, bottom: needBottom}[side];
      out[side] = Math.max(out[side], need);
    });
    return out;
  }

  var MAP = null;
  function updatePadding() {
    if (!MAP) return;
    var c = coveredSides(MAP), size = MAP.getSize();
    // never more than a third of the map per side: a popup must still fit
    var tl = [Math.min(c.left, size.x / 3) + GAP, Math.min(c.top, size.y / 3) + GAP];
    var br = [Math.min(c.right, size.x / 3) + GAP, Math.min(c.bottom, size.y / 3) + GAP];
    L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(tl);
    L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(br);
    return {tl: tl, br: br};
  }

  // After a popup is placed: fold any control that still lies over it.
  function clearPopup(popup) {
    var el = popup && popup.getElement && popup.getElement();
    if (!el) return;
    var r = rectOf(el.querySelector('.leaflet-popup-content-wrapper') || el);
    var folded = false;
    var box = tree();
    if (box && !box.classList.contains('pm-tree-collapsed') && overlaps(rectOf(box), r)) {
      setTree(false);
      folded = true;
    }
    var lg = legend();
    if (lg && lg.open && overlaps(rectOf(lg), r)) { lg.open = false; folded = true; }
    var covered = folded;
    if (!covered) {
      MAP.getContainer().querySelectorAll('.leaflet-control').forEach(function (c) {
        if (overlaps(rectOf(c), r)) covered = true;
      });
    }
    if (covered && !popup._pmKeepView && (popup._pmRepans || 0) < 3) {
      // the folded controls are smaller now: pan again, clear of what is left
      popup._pmRepans = (popup._pmRepans || 0) + 1;
      updatePadding();
      popup.update();
    }
  }

  function fitCity(map, cfg) {
    if (!cfg.bounds) return;
    var p = updatePadding();
    map.fitBounds(cfg.bounds, {paddingTopLeft: p.tl, paddingBottomRight: p.br, animate: false});
  }

  window.planmapLayout = {
    setTree: setTree, coveredSides: function () { return coveredSides(MAP); },
    updatePadding: updatePadding, isSmall: isSmall,
    fitCity: function () { fitCity(MAP, window.planmapConfig || {}); }
  };

  (window.planmapAfterInit = window.planmapAfterInit || []).push(function (map, cfg) {
    MAP = map;
    var S = cfg.strings || {};
    var lg = legend();
    // the legend lives in the map's box, so it sits on the map on every screen (on a phone
    // the answer panel is below the map)
    var wrap = map.getContainer().parentNode;
    if (lg && wrap && lg.parentNode !== wrap) wrap.appendChild(lg);
    if (lg && !roomFor(map, LEGEND_OPEN_MIN)) lg.open = false;
    setupTree(S);
    if (lg) lg.addEventListener('toggle', function () {
      if (lg.open && isSmall()) setTree(false);
      updatePadding();
    });
    // Leaflet applies the layout once the container has its size
    map.invalidateSize(false);
    fitCity(map, cfg);
    map.on('popupclose', function (ev) {
      // a popup restored from a permalink pans again once the user has seen it
      if (ev.popup._pmKeepView) { ev.popup._pmKeepView = false; ev.popup.options.autoPan = true; }
    });
    map.on('popupopen', function (ev) {
      // autoPan has run (or the popup fits): what is still covered, unfold
      ev.popup._pmRepans = 0;
      updatePadding();
      setTimeout(function () { clearPopup(ev.popup); }, 0);
    });
    // after each pan (autoPan, or a re-pan above), check the open popup again
    map.on('moveend', function () {
      var p = map._popup;
      if (p && map.hasLayer(p)) setTimeout(function () { clearPopup(p); }, 0);
    });
    var timer = null;
    window.addEventListener('resize', function () {
      clearTimeout(timer);
      timer = setTimeout(updatePadding, 150);
    });
  });
})();
