/* planmap-report.js — the site-check panel's case-file controls (issue 18).
 *
 * Project name, applicant, project type (风电/光伏, 工业, 旅游 …: GET /api/v1/project-types)
 * and the upload's CRS (auto, WGS 84, CGCS2000, GK EPSG:4550/4529, GCJ-02) are sent with every
 * site check; the answer shows the CRS used (always), the CRS hints with a button that checks
 * again in the suggested CRS, the verdict basis, the project type's verdict and the PDF link.
 * Hooked into planmap.js by window.planmapReport.{init, extend, render}.
 * Safety rule as in planmap.js: text only via textContent.
 */
(function () {
  'use strict';

  var S = {}, CFG = null, TYPES = [];
  var last = null;  // {payload, isFile} of the last site check, to check it again
  var CRS = [
    ['', null], ['EPSG:4326', 'WGS 84'], ['EPSG:4490', 'CGCS2000'],
    ['EPSG:4550', 'CGCS2000 GK 3° CM 123°E (EPSG:4550)'],
    ['EPSG:4529', 'CGCS2000 GK 3° zone 41 (EPSG:4529)'], ['gcj02', 'GCJ-02 (高德/AMap)']
  ];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fmt(s, vals) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return vals[k] !== undefined ? vals[k] : m; });
  }
  function val(id) { var n = document.getElementById(id); return n ? n.value.trim() : ''; }
  function crsName(code) {
    for (var i = 0; i < CRS.length; i++) if (CRS[i][0] === code) return CRS[i][1] || code;
    return code;
  }

  function field(box, id, label, control) {
    var row = el('label', 'pm-case-row');
    row.appendChild(el('span', 'pm-case-label', label));
    control.id = id;
    row.appendChild(control);
    box.appendChild(row);
    return control;
  }

  function buildControls() {
    var panel = document.getElementById('pm-panel');
    if (!panel || document.getElementById('pm-case-controls')) return;
    var box = el('details', 'pm-case-controls');
    box.id = 'pm-case-controls';
    box.open = true;
    box.appendChild(el('summary', null, S.case_project || S.case_picker_type));
    var name = el('input'); name.type = 'text'; name.maxLength = 200;
    name.placeholder = S.case_name_placeholder;
    field(box, 'pm-case-name-input', S.case_project_name, name);
    var appl = el('input'); appl.type = 'text'; appl.maxLength = 200;
    appl.placeholder = S.case_applicant_placeholder;
    field(box, 'pm-case-applicant-input', S.case_applicant, appl);
    var type = el('select');
    var any = el('option', null, S.case_picker_type_any); any.value = '';
    type.appendChild(any);
    field(box, 'pm-case-type', S.case_picker_type, type);
    var crs = el('select');
    CRS.forEach(function (c) {
      var o = el('option', null, c[1] || S.case_picker_crs_auto); o.value = c[0]; crs.appendChild(o);
    });
    field(box, 'pm-case-crs', S.case_picker_crs, crs);
    var again = el('button', 'pm-case-rerun', S.case_rerun);
    again.type = 'button';
    again.id = 'pm-case-rerun';
    again.disabled = true;
    again.addEventListener('click', function () { rerun(); });
    box.appendChild(again);
    var head = panel.querySelector('.pm-panel-head');
    panel.insertBefore(box, head ? head.nextSibling : panel.firstChild);
    // a new project type or CRS checks the last site again (the answer depends on them)
    type.addEventListener('change', function () { if (last) rerun(); });
    crs.addEventListener('change', function () { if (last && last.isFile) rerun(); });
  }

  function loadTypes() {
    fetch(CFG.api.sitecheck.replace(/sitecheck$/, 'project-types'), {headers: {'Accept': 'application/json'}})
      .then(function (r) { return r.ok ? r.json() : {project_types: []}; })
      .then(function (body) {
        TYPES = body.project_types || [];
        var sel = document.getElementById('pm-case-type');
        if (!sel) return;
        TYPES.forEach(function (t) {
          var o = el('option', null, CFG.lang === 'en' ? t.name_en : t.name_zh);
          o.value = t.id;
          sel.appendChild(o);
        });
      }).catch(function () { /* the picker stays at (any); the check works without it */ });
  }

  function rerun(crs) {
    if (!last || !window.planmapSiteCheck) return;
    if (crs !== undefined) document.getElementById('pm-case-crs').value = crs;
    var payload = last.payload;
    if (last.isFile) {
      // a fresh form with the same file: extend() adds the fields chosen now
      var fd = new FormData();
      fd.append('file', last.file, last.filename);
      payload = fd;
    }
    window.planmapSiteCheck(payload, last.isFile);
  }

  // Add the case fields to a site-check request (opts of fetch) before it is sent.
  function extend(opts, isFile, payload) {
    var fields = {project_name: val('pm-case-name-input'), applicant: val('pm-case-applicant-input'),
                  project_type: val('pm-case-type')};
    var crs = val('pm-case-crs');
    if (isFile) {
      var file = payload.get('file');
      last = {payload: payload, isFile: true, file: file, filename: file && file.name};
      Object.keys(fields).forEach(function (k) { if (fields[k]) payload.set(k, fields[k]); });
      if (crs) payload.set('crs', crs); else payload.delete('crs');
    } else {
      last = {payload: payload, isFile: false};
      var body = JSON.parse(opts.body);
      Object.keys(fields).forEach(function (k) { if (fields[k]) body[k] = fields[k]; });
      opts.body = JSON.stringify(body);
    }
    var again = document.getElementById('pm-case-rerun');
    if (again) again.disabled = false;
  }

  // Show what planmap.js's result view leaves out: the CRS used and its hints, the verdict
  // basis, the project type's verdict, and the PDF link.
  function render(body, res) {
    var box = el('div', 'pm-case-result');
    box.id = 'pm-case-result';
    var inp = res.input || {};
    if (inp.crs) {
      var used = el('p', 'pm-case-crs-used');
      used.id = 'pm-case-crs-used';
      var source = S['case_crs_' + inp.crs_source] || '';
      used.textContent = S.case_crs_used + ': ' + crsName(inp.crs) + ' ' + source;
      box.appendChild(used);
    }
    (inp.crs_hints || []).forEach(function (h) {
      var warn = el('div', 'pm-case-warn');
      warn.setAttribute('data-code', /^[a-z0-9_]+$/.test(h.code || '') ? h.code : 'x');
      warn.appendChild(el('strong', null, '⚠ ' + S.case_crs_warn + ': '));
      warn.appendChild(document.createTextNode(CFG.lang === 'en' ? h.message_en : h.message_zh));
      if (h.suggest_crs && last && last.isFile) {
        var b = el('button', 'pm-case-use-crs', fmt(S.case_use_crs, {crs: crsName(h.suggest_crs)}));
        b.type = 'button';
        b.addEventListener('click', function () { rerun(h.suggest_crs); });
        warn.appendChild(b);
      }
      box.appendChild(warn);
    });
    var basis = el('p', 'pm-case-basis');
    basis.id = 'pm-case-basis-line';
    basis.textContent = S.case_basis + ': ' + ((res.verdict_basis || []).join(', ') || S.case_basis_none);
    box.appendChild(basis);
    var pt = res.project && res.project.type;
    if (pt) {
      var tv = el('div', 'pm-case-type-verdict pm-verdict pm-verdict-' + (/^[a-z]+$/.test(pt.effect || '') ? pt.effect : 'x'));
      tv.id = 'pm-case-type-verdict';
      var label = CFG.lang === 'en' ? pt.name_en : pt.name_zh;
      tv.appendChild(el('strong', null, S.case_project_verdict + ' (' + label + '): '));
      tv.appendChild(document.createTextNode(pt.effect === 'none' ? S.case_project_no_activity
        : (S['verdict_' + pt.effect] || pt.effect)));
      var ul = el('ul', 'pm-small');
      (pt.activities || []).forEach(function (a) {
        ul.appendChild(el('li', null, (S['eff_' + a.effect] || a.effect) + ' · ' +
          (CFG.lang === 'en' ? a.activity_en : a.activity_zh) + ' · ' + (a.clauses || []).join(', ')));
      });
      if (ul.childNodes.length) tv.appendChild(ul);
      box.appendChild(tv);
    }
    if (res.report_url && /^\/[^\/]/.test(res.report_url)) {
      var a = el('a', 'pm-case-pdf', S.case_pdf);
      a.id = 'pm-report-pdf';
      a.setAttribute('href', res.report_url + '.pdf' + (CFG.lang === 'en' ? '?lang=en' : ''));
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener');
      box.appendChild(el('p')).appendChild(a);
    }
    var verdict = document.getElementById('pm-verdict');
    if (verdict && verdict.parentNode === body) body.insertBefore(box, verdict.nextSibling);
    else body.insertBefore(box, body.firstChild);
  }

  // A refused upload whose message names the CRS to use (geo.crs hints: "use crs=EPSG:4529",
  // swapped axes, wrong zone) gets a button that checks the same file again in that CRS.
  function error(body, err) {
    var e = err && err.error;
    if (!e || !last || !last.isFile) return;
    var m = /crs=(EPSG:\d{4}|gcj02)/.exec((e.message_en || '') + ' ' + (e.message_zh || ''));
    var box = el('div', 'pm-case-warn');
    box.setAttribute('data-code', 'error');
    var chosen = val('pm-case-crs');
    box.appendChild(el('span', null, S.case_crs_used + ': ' + (chosen ? crsName(chosen) : S.case_picker_crs_auto)));
    if (m && m[1] !== chosen) {
      var b = el('button', 'pm-case-use-crs', fmt(S.case_use_crs, {crs: crsName(m[1])}));
      b.type = 'button';
      b.addEventListener('click', function () { rerun(m[1]); });
      box.appendChild(b);
    }
    body.appendChild(box);
  }

  window.planmapReport = {
    init: function (map, cfg) { CFG = cfg; S = cfg.strings || {}; buildControls(); loadTypes(); },
    extend: extend,
    render: render,
    error: error
  };
})();
