/* pm-auth.js — who is logged in (top bar), and the CSRF header on the page's own requests.
   Loaded before planmap.js: its fetch calls then carry X-CSRF-Token (the session's token,
   from the planmap_csrf cookie) and X-Requested-With (no browser basic-auth dialog). */
(function () {
  'use strict';
  function cookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (parts[i].slice(0, eq) === name) { return decodeURIComponent(parts[i].slice(eq + 1)); }
    }
    return '';
  }
  var origFetch = window.fetch;
  if (origFetch) {
    window.fetch = function (input, init) {
      var url = typeof input === 'string' ? input : (input && input.url) || '';
      var sameOrigin = url.indexOf('//') === -1 || url.indexOf(location.origin + '/') === 0;
      if (sameOrigin) {
        init = init || {};
        var headers = new Headers(init.headers || {});
        headers.set('X-Requested-With', 'planmap');
        var method = (init.method || 'GET').toUpperCase();
        var token = cookie('planmap_csrf');
        if (method !== 'GET' && method !== 'HEAD' && token) { headers.set('X-CSRF-Token', token); }
        init.headers = headers;
      }
      return origFetch.call(this, input, init);
    };
  }
  var ZH = document.documentElement.lang !== 'en';
  var T = ZH ? {login: '登录', logout: '退出', users: '用户', audit: '审计日志', planner: '规划人员',
                admin: '管理员', tokens: '令牌', share: '分享只读链接',
                until: '有效至'}
             : {login: 'Log in', logout: 'Log out', users: 'Users', audit: 'Audit log',
                planner: 'planner', admin: 'admin', tokens: 'Tokens',
                share: 'Share a read-only link', until: 'valid until'};
  function link(href, text) {
    var a = document.createElement('a');
    a.href = href + (ZH ? '' : (href.indexOf('?') === -1 ? '?' : '&') + 'lang=en');
    a.textContent = text;
    return a;
  }
  function shareButton(box) {
    // a report of the user's organisation: a read-only link that expires (SHARE_LINK_DAYS)
    var m = /^\/report\/([A-Za-z0-9_-]+)$/.exec(location.pathname);
    if (!m) { return; }
    var button = document.createElement('button');
    button.type = 'button';
    button.id = 'pm-share';
    button.textContent = T.share;
    var out = document.createElement('input');
    out.id = 'pm-share-url';
    out.readOnly = true;
    out.hidden = true;
    button.addEventListener('click', function () {
      window.fetch('/auth/share/' + m[1], {method: 'POST', headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) {
          out.hidden = false;
          out.value = res[0] ? location.origin + res[1].url + '  (' + T.until + ' ' + res[1].expires + ')'
                             : (res[1].error && (ZH ? res[1].error.message_zh : res[1].error.message_en)) || '';
          out.select();
        });
    });
    box.appendChild(button);
    box.appendChild(out);
  }
  function badge(me) {
    var top = document.querySelector('.pm-top') || document.querySelector('.pm-doc-head');
    if (!top) { return; }
    var box = document.createElement('span');
    box.className = 'pm-auth-badge';
    box.id = 'pm-auth-badge';
    var user = me && me.user;
    if (!user) {
      box.appendChild(link('/auth/login?next=' + encodeURIComponent(location.pathname + location.search), T.login));
    } else {
      var who = document.createElement('span');
      who.className = 'pm-auth-user';
      who.textContent = (user.display || user.username) + ' · ' + user.org + ' · ' + (T[user.role] || user.role);
      box.appendChild(who);
      if (user.role === 'admin') {
        box.appendChild(link('/admin/users', T.users));
        box.appendChild(link('/admin/audit', T.audit));
      }
      box.appendChild(link('/auth/tokens', T.tokens));
      var form = document.createElement('form');
      form.method = 'post';
      form.action = '/auth/logout';
      form.className = 'pm-auth-inline';
      var hidden = document.createElement('input');
      hidden.type = 'hidden';
      hidden.name = 'csrf_token';
      hidden.value = cookie('planmap_csrf');
      var button = document.createElement('button');
      button.type = 'submit';
      button.textContent = T.logout;
      form.appendChild(hidden);
      form.appendChild(button);
      box.appendChild(form);
      shareButton(box);
    }
    var lang = top.querySelector('.pm-lang');
    top.insertBefore(box, lang);
  }
  function start() {
    origFetch.call(window, '/auth/me', {headers: {'Accept': 'application/json', 'X-Requested-With': 'planmap'},
                                        credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(badge, function () { badge(null); });
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
}());
