/* planmap: swipe/compare control (issue 16 item 3).
 *
 * Two layers side by side: the left layer is drawn in its own pane clipped to the left of
 * a draggable divider, the right layer in another pane clipped to its right (Leaflet makes
 * one renderer per pane, so each side is its own SVG and can be clipped alone; the clip
 * rectangle is in layer points, like leaflet-side-by-side does for tile layers).
 * Text only via textContent.
 */
(function () {
  'use strict';
  var MAP = null, CFG = null, S = {};
  var PANES = {left: 'pmSwipeLeft', right: 'pmSwipeRight'};
  var state = null;  // {left: id, right: id, frac: 0..1, divider, box}

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function currentPlan() {
    return document.documentElement.getAttribute('data-planmap-plan') || CFG.home_plan;
  }
  function planLayers() {
    var reg = window.planmapLayers || {}, plan = currentPlan();
    return Object.keys(CFG.layers).filter(function (id) {
      return reg[id] && (!plan || CFG.layers[id].plan === plan);
    });
  }
  function moveTo(id, pane) {
    var reg = (window.planmapLayers || {})[id];
    if (!reg) return;
    MAP.removeLayer(reg.group);
    reg.geojson.eachLayer(function (l) { l.options.pane = pane || 'overlayPane'; });
    // a layer being compared is shown, whatever its checkbox said
    MAP.addLayer(reg.group);
  }
  function paneEl(side) { return MAP.getPane(PANES[side]); }

  function clip() {
    if (!state) return;
    var size = MAP.getSize();
    var nw = MAP.containerPointToLayerPoint([0, 0]);
    var se = MAP.containerPointToLayerPoint(size);
    var x = nw.x + size.x * state.frac;
    paneEl('left').style.clip = 'rect(' + [nw.y, x, se.y, nw.x].join('px,') + 'px)';
    paneEl('right').style.clip = 'rect(' + [nw.y, se.x, se.y, x].join('px,') + 'px)';
    state.divider.style.left = Math.round(size.x * state.frac) + 'px';
  }

  function setSide(side, id) {
    if (!state) return;
    var old = state[side];
    if (old && old !== state[side === 'left' ? 'right' : 'left']) moveTo(old, null);
    state[side] = id;
    moveTo(id, PANES[side]);
    clip();
  }

  function select(side, ids) {
    var label = el('label', 'pm-swipe-pick', side === 'left' ? S.swipe_left : S.swipe_right);
    var sel = el('select');
    sel.setAttribute('data-side', side);
    ids.forEach(function (id) {
      var opt = el('option', null, CFG.layers[id].title);
      opt.value = id;
      sel.appendChild(opt);
    });
    sel.value = state[side];
    sel.addEventListener('change', function () { setSide(side, sel.value); });
    label.appendChild(sel);
    return label;
  }

  function start(left, right) {
    stop();
    var ids = planLayers();
    if (ids.length < 2) return;
    left = ids.indexOf(left) >= 0 ? left : ids[0];
    right = ids.indexOf(right) >= 0 && right !== left ? right : ids.filter(function (i) { return i !== left; })[0];
    ['left', 'right'].forEach(function (side) {
      if (!MAP.getPane(PANES[side])) MAP.createPane(PANES[side]).style.zIndex = 450;
    });
    var divider = el('div', 'pm-swipe-divider');
    var handle = el('div', 'pm-swipe-handle', '⇔');
    divider.appendChild(handle);
    MAP.getContainer().appendChild(divider);
    L.DomEvent.disableClickPropagation(divider);
    state = {left: null, right: null, frac: 0.5, divider: divider};
    setSide('left', left);
    setSide('right', right);
    handle.addEventListener('pointerdown', function (ev) {
      ev.preventDefault();
      handle.setPointerCapture(ev.pointerId);
      MAP.dragging.disable();
      function move(e) {
        var r = MAP.getContainer().getBoundingClientRect();
        state.frac = Math.min(0.98, Math.max(0.02, (e.clientX - r.left) / r.width));
        clip();
      }
      function up() {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', up);
        MAP.dragging.enable();
      }
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', up);
    });
    var box = state.box = el('div', 'pm-swipe-box');
    box.appendChild(select('left', ids));
    box.appendChild(select('right', ids));
    var off = el('button', 'pm-swipe-off', S.swipe_off);
    off.type = 'button';
    off.addEventListener('click', stop);
    box.appendChild(off);
    CONTROL.getContainer().appendChild(box);
    MAP.on('move zoom resize viewreset', clip);
    document.documentElement.setAttribute('data-planmap-swipe', left + '|' + right);
  }

  function stop() {
    if (!state) return;
    MAP.off('move zoom resize viewreset', clip);
    var s = state;
    state = null;
    [s.left, s.right].forEach(function (id) { if (id) moveTo(id, null); });
    ['left', 'right'].forEach(function (side) { paneEl(side).style.clip = ''; });
    if (s.divider.parentNode) s.divider.parentNode.removeChild(s.divider);
    if (s.box && s.box.parentNode) s.box.parentNode.removeChild(s.box);
    document.documentElement.removeAttribute('data-planmap-swipe');
  }

  var CONTROL = null;
  var SwipeControl = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var box = L.DomUtil.create('div', 'leaflet-bar pm-swipe-control');
      var btn = el('button', 'pm-swipe-button', S.swipe);
      btn.type = 'button';
      btn.title = S.swipe;
      btn.addEventListener('click', function () { if (state) stop(); else start(); });
      box.appendChild(btn);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    }
  });

  window.planmapSwipe = {
    start: start, stop: stop,
    state: function () { return state && {left: state.left, right: state.right, frac: state.frac}; },
    setFraction: function (f) { if (state) { state.frac = f; clip(); } }
  };

  (window.planmapAfterInit = window.planmapAfterInit || []).push(function (map, cfg) {
    MAP = map; CFG = cfg; S = cfg.strings || {};
    CONTROL = new SwipeControl();
    map.addControl(CONTROL);
    var sel = document.getElementById('pm-plan');
    if (sel) sel.addEventListener('change', stop);  // the other plan has other layers
  });
})();
