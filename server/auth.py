"""Accounts, roles, sessions, CSRF and the audit trail of the web service (issue 14).

Who is asking (:func:`_identify`, before every request): a ``planmap_session`` cookie
(a server-side session, its id rotated at every login), an ``Authorization: Bearer``
API token, or HTTP basic auth (user + password, or any user name + an API token as the
password, for GIS clients).  Nobody = anonymous.

What they may do (:data:`POLICY`, one entry per endpoint; an endpoint without one is
refused for everyone but admins, and ``tests/server/test_auth_matrix.py`` fails):

* ``open``    — always (login page, health, static files);
* ``view``    — the map, layer metadata, plan texts, OGC API: anonymous unless
  ``AUTH_ANONYMOUS=none``;
* ``check``   — site checks, batch zone queries, exports: anonymous only when
  ``AUTH_ANONYMOUS=check`` (the default, as before accounts existed);
* ``stored``  — a stored check: a check stored by a logged-in user belongs to its
  organisation (others get 404, as for an unknown id) unless a valid share link is given;
  a check stored anonymously is readable by whoever holds its id, where anonymous checks
  are allowed;
* ``planner`` — a logged-in user (planner or admin);
* ``admin``   — an admin.

Cookie-authenticated state-changing requests need the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``; ``static/pm-auth.js`` adds the header to the
map page's requests); the login form uses a double-submit cookie.  Tokens and basic auth
carry no ambient authority and need none.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import sqlite3
import threading
import time
from collections import deque
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request
from planmap.server import services

bp = Blueprint("auth", __name__)

SESSION_COOKIE = "planmap_session"
CSRF_COOKIE = "planmap_csrf"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")
_API_PREFIXES = ("/api/", "/ogc", "/export", "/tiles", "/-/")

POLICY: dict[str, str] = {
    "static": "open",
    "system.health": "open",
    "system.version": "view",
    "system.settings_page": "view",
    "auth.login": "open",
    "auth.login_post": "open",
    "auth.logout": "open",
    "auth.me": "open",
    "auth.tokens": "planner",
    "auth.token_create": "planner",
    "auth.token_revoke": "planner",
    "auth.share": "planner",
    "auth.admin_users": "admin",
    "auth.admin_user_add": "admin",
    "auth.admin_user_change": "admin",
    "auth.admin_audit": "admin",
    "auth.admin_audit_csv": "admin",
    "adminimport.import_page": "admin",  # web import with preview, restore (issue 14)
    "adminimport.import_preview": "admin",
    "adminimport.import_confirm": "admin",
    "adminimport.layers_page": "admin",
    "adminimport.layer_restore": "admin",
    "pages.index": "view",
    "pages.map_script": "view",
    "pages.plan": "view",
    "pages.report": "stored",
    "api.plan_list": "view",
    "api.layer_list": "view",
    "api.layer_features_view": "view",
    "api.clauses": "view",
    "api.zones_point": "view",  # what a click on the map shows
    "api.zones_batch": "check",
    "api.sitecheck_create": "check",
    "api.sitecheck_get": "stored",
    "api.sitecheck_delete": "stored",
    "api.openapi": "view",
    "exports.download": "check",
    "conflicts.api_conflicts": "view",
    "conflicts.page_conflicts": "view",
    "ogc.landing": "view",
    "ogc.service_desc": "view",
    "ogc.conformance": "view",
    "ogc.collections": "view",
    "ogc.collection": "view",
    "ogc.items": "view",
    "ogc.item": "view",
    "ogc.queryables_view": "view",
    "tiles.tile": "view",  # a restricted layer's tiles answer 404 (server/tiles.py)
    "basemap.tile": "view",
    "casefile.project_types": "view",
    "casefile.report_pdf": "stored",
    "search.search_view": "view",  # over the visible layers only (services().data)
}

# what the audit trail records, per endpoint (logins and account changes are written
# by their views)
AUDITED = {
    "api.sitecheck_create": "sitecheck",
    "api.sitecheck_get": "report_view",
    "pages.report": "report_view",
    "casefile.report_pdf": "report_view",
    "api.sitecheck_delete": "check_delete",
    "exports.download": "export",
}

TEXT = {
    "zh": {
        "login": "登录", "logout": "退出登录", "username": "用户名", "password": "密码",
        "login_title": "登录 · 白城市规划“一张图”",
        "bad_login": "用户名或密码错误，或因登录失败次数过多账户已临时锁定，请稍后再试",
        "locked": "登录失败次数过多，账户已临时锁定，请稍后再试", "disabled": "账户已停用",
        "rate": "登录尝试过于频繁，请稍后再试", "csrf": "表单已过期，请重新提交",
        "users": "用户管理", "audit": "审计日志（留痕）", "tokens": "API 令牌",
        "org": "单位", "role": "角色", "display": "姓名", "status": "状态", "add": "添加",
        "disable": "停用", "enable": "启用", "unlock": "解锁", "active": "正常",
        "is_disabled": "已停用", "is_locked": "已锁定", "make_admin": "设为管理员",
        "make_planner": "设为规划人员", "when": "时间（北京时间 / UTC）", "who": "用户",
        "action": "操作", "target": "对象", "version": "数据版本", "client": "客户端地址",
        "result": "结果", "filter": "筛选", "csv": "导出 CSV", "since": "起始日期",
        "until": "截止日期", "back": "返回地图", "name": "名称", "created": "创建时间",
        "revoke": "吊销", "revoked": "已吊销", "new_token": "新令牌（只显示这一次，请妥善保存）",
        "create_token": "创建令牌", "last_used": "最近使用", "all": "全部",
        "lang_other": "English", "planner": "规划人员", "admin": "管理员",
        "import_nav": "导入图层", "layers_nav": "图层版本",
    },
    "en": {
        "login": "Log in", "logout": "Log out", "username": "User name", "password": "Password",
        "login_title": "Log in · Baicheng plan map",
        "bad_login": "Wrong user name or password, or the account is locked for a while "
                     "after too many failed logins",
        "locked": "Too many failed logins: the account is locked for a while",
        "disabled": "This account is disabled", "rate": "Too many login attempts; wait a minute",
        "csrf": "The form expired; please submit it again", "users": "Users",
        "audit": "Audit log", "tokens": "API tokens", "org": "Organisation", "role": "Role",
        "display": "Name", "status": "Status", "add": "Add", "disable": "Disable",
        "enable": "Enable", "unlock": "Unlock", "active": "active", "is_disabled": "disabled",
        "is_locked": "locked", "make_admin": "Make admin", "make_planner": "Make planner",
        "when": "When (Beijing / UTC)", "who": "User", "action": "Action", "target": "Target",
        "version": "Data version", "client": "Client address", "result": "Result",
        "filter": "Filter", "csv": "Export CSV", "since": "From date", "until": "To date",
        "back": "Back to the map", "name": "Name", "created": "Created", "revoke": "Revoke",
        "revoked": "revoked", "new_token": "New token (shown only once: keep it safe)",
        "create_token": "Create token", "last_used": "Last used", "all": "all",
        "lang_other": "中文", "planner": "planner", "admin": "admin",
        "import_nav": "Import a layer", "layers_nav": "Layer versions",
    },
}


# ---------------------------------------------------------------------- registration

def register(app) -> None:
    """Open the account store, add the auth blueprint and the request hooks."""
    from planmap.server.accounts import AccountStore, accounts_where, open_account_store

    path = accounts_where(app.config)
    kib = int(app.config["ARGON2_MEMORY_KIB"])
    try:
        accounts = open_account_store(app.config)  # PostgreSQL when DATABASE_URL is set
    except (sqlite3.Error, OSError) as exc:
        # the map and the anonymous API still serve (as the check store's 503 does); nobody
        # can log in and nothing is audited until the file can be opened: say so loudly
        app.logger.error("planmap: accounts store %s cannot be opened (%s); no logins, "
                         "no audit trail until it can", path, exc)
        accounts = AccountStore(":memory:", argon2_memory_kib=kib)
        app.extensions["planmap_accounts_problem"] = f"{path}: {exc}"
    app.extensions["planmap_accounts"] = accounts
    app.extensions["planmap_login_rate"] = _Window(int(app.config["LOGIN_RATE_PER_MIN"]))
    app.extensions["planmap_basic_cache"] = {}
    mode = str(app.config["AUTH_ANONYMOUS"]).strip().lower()
    if mode not in ("check", "view", "none"):
        raise ValueError(f"PLANMAP_AUTH_ANONYMOUS must be check, view or none, got {mode!r}")
    app.config["AUTH_ANONYMOUS"] = mode
    app.register_blueprint(bp)
    from planmap.server import adminimport

    app.register_blueprint(adminimport.bp)  # /admin/import, /admin/layers
    # after the rate limits (server/admission.py): an unauthenticated flood is limited too
    app.before_request(_before)
    app.after_request(_after)
    app.context_processor(lambda: {"pm_user": getattr(g, "pm_user", None)})


def accounts():
    return current_app.extensions["planmap_accounts"]


# ---------------------------------------------------------------------- errors

def _error(status: int, code: str, en: str, zh: str, challenge: bool = False):
    from planmap.server.errors import error_response

    response = error_response(status, code, en, zh)
    if challenge and request.headers.get("X-Requested-With") != "planmap":
        # GIS clients answer a Basic challenge with their stored credentials; the map
        # page's own requests (X-Requested-With) must not make the browser pop a dialog
        response.headers["WWW-Authenticate"] = 'Basic realm="planmap", charset="UTF-8"'
    return response


def _wants_page() -> bool:
    return request.method == "GET" and not request.path.startswith(_API_PREFIXES) \
        and "text/html" in (request.headers.get("Accept") or "")


def _need_login():
    if _wants_page():
        return redirect("/auth/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
    return _error(401, "login_required", "this needs a logged-in user (session, API token "
                  "or HTTP basic auth)", "需要登录（会话、API 令牌或 HTTP 基本认证）",
                  challenge=True)


def _forbidden(what: str):
    return _error(403, "forbidden", f"your role may not {what}", f"您的角色无权{what}")


def _not_found_check(check_id: str):
    shown = str(check_id)[:80]
    if request.blueprint == "pages":
        from planmap.server import i18n
        from planmap.server.pages import _not_found_page

        lang = i18n.current_lang()
        return _not_found_page(lang, i18n.t(lang, "not_found_report", id=shown))
    return _error(404, "unknown_check", f"no stored site check {shown!r}",
                  f"没有选址检查记录 {shown!r}")


# ---------------------------------------------------------------------- identity

def _client() -> str:
    return request.remote_addr or "-"


def _identify():
    """Set ``g.pm_user``/``g.pm_via``/``g.pm_csrf``; return an error response or None."""
    g.pm_user, g.pm_via, g.pm_csrf = None, "anonymous", None
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    store = accounts()
    if scheme.lower() == "bearer":
        user = store.token_user(value.strip())
        if user is None:
            return _error(401, "invalid_token", "the API token is unknown, revoked or its "
                          "user disabled", "API 令牌无效、已吊销或其用户已停用", challenge=True)
        g.pm_user, g.pm_via = user, "token"
        return None
    if scheme.lower() == "basic":
        return _basic(value.strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        found = store.session(sid, float(current_app.config["SESSION_HOURS"]) * 3600)
        if found is not None:
            g.pm_user, g.pm_csrf = found
            g.pm_via = "session"
        else:
            g.pm_drop_cookie = True  # expired or unknown: forget it
    return None


def _basic(value: str):
    try:
        name, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return _error(401, "invalid_credentials", "malformed basic credentials",
                      "基本认证凭据格式错误", challenge=True)
    store = accounts()
    from planmap.server.accounts import TOKEN_PREFIX

    if password.startswith(TOKEN_PREFIX):  # any user name + an API token as the password
        user = store.token_user(password)
        if user is None:
            return _error(401, "invalid_token", "the API token is unknown, revoked or its "
                          "user disabled", "API 令牌无效、已吊销或其用户已停用", challenge=True)
        g.pm_user, g.pm_via = user, "token"
        return None
    # GIS clients repeat their credentials on every request: a verified pair is remembered
    # for a minute so that argon2 runs once, not per tile or page
    cache = current_app.extensions["planmap_basic_cache"]
    key = hashlib.sha256(f"{name}\0{password}".encode()).hexdigest()
    hit = cache.get(key)
    if hit is not None and hit[1] > time.monotonic():
        user = store.user_by_id(hit[0])
        if user is not None and not user["disabled"]:
            g.pm_user, g.pm_via = user, "basic"
            return None
    limited = _login_rate_limited()
    if limited is not None:
        return limited
    outcome, user = _verify(name, password)
    _audit_login(name, outcome, "basic", user)
    if outcome != "ok":
        return _login_refusal(outcome, challenge=True)
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (user["id"], time.monotonic() + 60)
    g.pm_user, g.pm_via = user, "basic"
    return None


def _verify(name: str, password: str):
    config = current_app.config
    return accounts().verify_password(name, password, int(config["LOGIN_MAX_FAILURES"]),
                                      float(config["LOGIN_LOCKOUT_S"]))


def _login_refusal(outcome: str, challenge: bool = False):
    """One answer for a wrong password, an unknown name and a locked account: a client
    cannot tell which names exist or are locked (the audit row keeps the detail)."""
    if outcome == "disabled":  # reached only with the right password
        return _error(403, "account_disabled", "this account is disabled", "账户已停用")
    return _error(401, "invalid_credentials", BAD_LOGIN_EN, BAD_LOGIN_ZH, challenge=challenge)


BAD_LOGIN_EN = ("wrong user name or password, or the account is locked for a while after "
                "too many failed logins")
BAD_LOGIN_ZH = "用户名或密码错误，或因登录失败次数过多账户已临时锁定"


class _Window:
    """Attempts per client address in the last minute."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.hits: dict[str, deque] = {}
        self.lock = threading.Lock()

    def take(self, client: str) -> bool:
        if not self.per_minute:
            return True
        now = time.monotonic()
        with self.lock:
            if len(self.hits) > 10_000:
                self.hits.clear()
            q = self.hits.setdefault(client, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            return True


def _login_rate_limited():
    if current_app.extensions["planmap_login_rate"].take(_client()):
        return None
    response = _error(429, "login_rate_limited", "too many login attempts from this address "
                      "(LOGIN_RATE_PER_MIN); wait a minute",
                      "该地址登录尝试过于频繁，请一分钟后再试")
    response.headers["Retry-After"] = "60"
    return response


# ---------------------------------------------------------------------- the request hooks

def _before():
    refused = _identify()
    if refused is not None:
        return refused
    endpoint = request.endpoint
    if endpoint is None or request.method == "OPTIONS":
        return None  # routing's 404/405, and CORS preflights (they carry no credentials)
    if request.method in STATE_CHANGING and g.pm_via == "session":
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not g.pm_csrf or not hmac.compare_digest(sent, g.pm_csrf):
            return _error(403, "csrf_failed", "missing or wrong CSRF token (form field "
                          "csrf_token or header X-CSRF-Token)", "缺少或错误的 CSRF 令牌")
    level = POLICY.get(endpoint)
    if level is None:  # a route nobody classified: admins only, until it is
        current_app.logger.warning("no access policy for endpoint %s", endpoint)
        level = "admin"
    return _authorise(level)


def _authorise(level: str):
    user = g.pm_user
    mode = current_app.config["AUTH_ANONYMOUS"]
    if level == "open":
        return None
    if user is None and mode == "none":
        return _need_login()
    if level == "view":
        return None
    if level == "check":
        return None if user is not None or mode == "check" else _need_login()
    if level == "stored":
        return _stored()
    if user is None:
        return _need_login()
    if level == "admin" and user["role"] != "admin":
        return _forbidden("administer planmap")
    return None


def _stored():
    """A stored check: its organisation, a share link, or (anonymous checks) its id."""
    check_id = (request.view_args or {}).get("check_id", "")
    store = accounts()
    user = g.pm_user
    if request.method == "GET" and store.share_valid(check_id, request.args.get("share")):
        g.pm_shared = True
        return None
    if user is None and current_app.config["AUTH_ANONYMOUS"] != "check":
        return _need_login()  # the same answer for any id: existence is not revealed
    owner = store.check_owner(check_id)
    if owner is None:  # stored anonymously (or unknown: the view answers 404)
        return None
    if user is not None and user["org"] == owner["org"]:
        return None
    g.pm_denied = True
    return _not_found_check(check_id)  # another organisation's check does not exist for you


# answers that name zones of any layer: entries of restricted layers are removed for
# those who may not see them (server/visibility.py)
FILTERED = ("api.zones_point", "api.zones_batch", "api.sitecheck_get",
            "conflicts.api_conflicts")


def _filter_hidden(response):
    import json

    from planmap.server.visibility import filter_result, hidden_layers

    hidden = hidden_layers()
    if not hidden or response.status_code != 200 or response.direct_passthrough:
        return response
    mime = response.mimetype or ""
    if mime.endswith("json"):
        body, dropped = filter_result(json.loads(response.get_data()), hidden)
        if dropped:
            response.set_data(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    elif mime == "text/csv":  # batch pairs: point_id,zone_id,layer
        lines = response.get_data(as_text=True).split("\n")
        kept = [ln for ln in lines if ln.rsplit(",", 1)[-1].strip('"') not in hidden]
        if len(kept) != len(lines):
            response.set_data("\n".join(kept))
    return response


def _after(response):
    if request.endpoint in FILTERED:
        response = _filter_hidden(response)
    if getattr(g, "pm_drop_cookie", False):
        response.delete_cookie(SESSION_COOKIE, path="/")
    endpoint = request.endpoint
    try:
        if endpoint == "api.sitecheck_create" and response.status_code == 201 \
                and g.get("pm_user") is not None:
            check_id = (response.get_json(silent=True) or {}).get("id")
            if check_id:
                user = g.pm_user
                accounts().own_check(check_id, user["org"], user["username"])
                g.pm_target = check_id
        action = AUDITED.get(endpoint)
        # 429: refused before any work (rate limit, busy); a flood must not fill the log
        if action and request.method != "HEAD" and response.status_code != 429:
            target = g.get("pm_target") or (request.view_args or {}).get("check_id") or \
                (request.view_args or {}).get("name") or ""
            if g.get("pm_shared"):
                action += "_shared"
            audit(action, target, response.status_code)
        elif response.status_code in (401, 403, 423) and endpoint in POLICY and \
                POLICY[endpoint] in ("admin", "planner", "stored", "check"):
            audit("denied", request.path, response.status_code, detail=endpoint)
    except Exception:  # the answer is made; a failing audit write is logged, loudly
        current_app.logger.exception("audit write failed")
    if getattr(g, "pm_user", None) is not None or request.cookies.get(SESSION_COOKIE):
        # answers that depend on who asks must not be shared by caches
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
        response.vary.add("Authorization")
    return response


def audit(action: str, target: str, status: int, detail: str = "", user: dict | None = None,
          username: str | None = None) -> None:
    """Append one audit row for the current request."""
    user = user if user is not None else g.get("pm_user")
    name = username if username is not None else (user["username"] if user else "")
    result = "ok" if status < 400 else ("denied" if status in (401, 403, 404, 423)
                                        else "refused" if status < 500 else "error")
    accounts().audit(name or "(anonymous)", user["org"] if user else "", action, target,
                     getattr(services().data, "data_version", ""), _client(), result, status,
                     detail)


def _audit_login(name: str, outcome: str, via: str, user: dict | None = None) -> None:
    status = {"ok": 200, "locked": 423, "disabled": 403}.get(outcome, 401)
    accounts().audit(str(name).strip().lower()[:64] or "(empty)", user["org"] if user else "",
                     "login", via,
                     getattr(services().data, "data_version", ""), _client(),
                     "ok" if outcome == "ok" else outcome, status)


# ---------------------------------------------------------------------- pages

def _lang() -> str:
    lang = request.args.get("lang") or request.form.get("lang") or "zh"
    return "en" if lang == "en" else "zh"


def _render(template: str, status: int = 200, **context):
    from planmap.server.pages import _asset_version, _csp

    lang = _lang()
    html = render_template(template, lang=lang, tx=TEXT[lang], user=g.get("pm_user"),
                           csrf=g.get("pm_csrf") or _anon_csrf(),
                           asset_v={n: _asset_version(n) for n in ("planmap.css", "planmap.js",
                                                                    "pm-auth.css")},
                           **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _csp()
    response.headers["Cache-Control"] = "no-store"
    if g.get("pm_set_csrf"):
        _set_cookie(response, CSRF_COOKIE, g.pm_set_csrf, http_only=False)
    return response


def _anon_csrf() -> str:
    """The double-submit token of a visitor without a session (login form)."""
    from planmap.server.accounts import new_secret

    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 20:
        token = new_secret()
        g.pm_set_csrf = token
    return token


def _set_cookie(response, name: str, value: str, http_only: bool = True) -> None:
    response.set_cookie(name, value, path="/", httponly=http_only, samesite="Lax",
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
                        max_age=int(float(current_app.config["SESSION_HOURS"]) * 3600))


def _safe_next(raw: str | None) -> str:
    raw = raw or "/"
    # only a path on this site: no scheme, no //host, no backslash tricks
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw or "\n" in raw:
        return "/"
    return raw


@bp.get("/auth/login")
def login():
    return _render("auth/login.html", next=_safe_next(request.args.get("next")), message=None)


@bp.post("/auth/login")
def login_post():
    tx = TEXT[_lang()]
    nxt = _safe_next(request.form.get("next"))
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = request.form.get("csrf_token") or ""
    if not cookie or not hmac.compare_digest(cookie, sent):  # login CSRF: double submit
        return _render("auth/login.html", 403, next=nxt, message=tx["csrf"])
    limited = _login_rate_limited()
    if limited is not None:
        return _render("auth/login.html", 429, next=nxt, message=tx["rate"])
    name = request.form.get("username", "")
    outcome, user = _verify(name, request.form.get("password", ""))
    _audit_login(name, outcome, "form", user)
    if outcome != "ok":
        # locked, unknown and wrong answer alike (no enumeration of names)
        status = 403 if outcome == "disabled" else 401
        key = "disabled" if outcome == "disabled" else "bad_login"
        return _render("auth/login.html", status, next=nxt, message=tx[key])
    store = accounts()
    store.end_session(request.cookies.get(SESSION_COOKIE))  # no session survives a login
    sid, csrf = store.new_session(user["id"])  # a new id: a planted cookie is worthless
    response = redirect(nxt, code=303)
    _set_cookie(response, SESSION_COOKIE, sid)
    _set_cookie(response, CSRF_COOKIE, csrf, http_only=False)  # read by pm-auth.js
    return response


@bp.post("/auth/logout")
def logout():
    if g.pm_via == "session":
        accounts().end_session(request.cookies.get(SESSION_COOKIE))
    response = redirect("/", code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@bp.get("/auth/me")
def me():
    user = g.pm_user
    body = {"user": None if user is None else {
        k: user[k] for k in ("username", "display", "org", "role")},
        "via": g.pm_via, "anonymous_may": current_app.config["AUTH_ANONYMOUS"]}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/auth/tokens")
def tokens():
    return _render("auth/tokens.html", tokens=accounts().tokens(g.pm_user["username"]),
                   new_token=None, fmt=_when)


@bp.post("/auth/tokens")
def token_create():
    store = accounts()
    token_id, token = store.new_token(g.pm_user["username"], request.form.get("name", ""))
    audit("token_create", f"token {token_id}", 200)
    return _render("auth/tokens.html", 201, tokens=store.tokens(g.pm_user["username"]),
                   new_token=token, fmt=_when)


@bp.post("/auth/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    store = accounts()
    owner = None if g.pm_user["role"] == "admin" else g.pm_user["username"]
    if not store.revoke_token(token_id, owner):
        return _error(404, "unknown_token", f"no active token {token_id} of yours",
                      f"没有您的有效令牌 {token_id}")
    audit("token_revoke", f"token {token_id}", 200)
    if request.form.get("csrf_token"):  # a form: back to the page
        return redirect("/auth/tokens", code=303)
    return Response(status=204)


@bp.post("/auth/share/<check_id>")
def share(check_id: str):
    """A read-only link to a stored check of the user's organisation, valid SHARE_LINK_DAYS."""
    store = accounts()
    owner = store.check_owner(check_id)
    if owner is None or owner["org"] != g.pm_user["org"]:
        return _not_found_check(check_id)
    days = float(current_app.config["SHARE_LINK_DAYS"])
    token, expires = store.new_share(check_id, g.pm_user["username"], days)
    audit("share", check_id, 201, detail=f"expires {_when(expires)}")
    response = jsonify({"url": f"/report/{check_id}?share={token}",
                        "api_url": f"/api/v1/sitecheck/{check_id}?share={token}",
                        "expires": _iso(expires)})
    response.status_code = 201
    return response


# ---------------------------------------------------------------------- admin pages

@bp.get("/admin/users")
def admin_users():
    return _render("auth/users.html", users=accounts().users(), message=None, now=time.time(),
                   fmt=_when)


@bp.post("/admin/users")
def admin_user_add():
    from planmap.server.accounts import AccountError

    f = request.form
    try:
        user = accounts().add_user(f.get("username", ""), f.get("password", ""),
                                   f.get("org", ""), f.get("role", "planner"),
                                   f.get("display", ""))
    except AccountError as exc:
        return _render("auth/users.html", 400, users=accounts().users(), message=str(exc),
                       now=time.time(), fmt=_when)
    audit("permission_change", user["username"], 201,
          detail=f"add {user['role']} of {user['org']}")
    return redirect("/admin/users" + ("?lang=en" if _lang() == "en" else ""), code=303)


@bp.post("/admin/users/<username>")
def admin_user_change(username: str):
    from planmap.server.accounts import AccountError

    store = accounts()
    change = request.form.get("change", "")
    try:
        target = store.user(username)
        if target is None:
            raise AccountError(f"no user {username!r}")
        if change in ("disable", "planner") and target["role"] == "admin" \
                and not target["disabled"] and store.count_admins() <= 1:
            raise AccountError("the last active admin cannot be disabled or demoted")
        if change == "disable":
            store.set_disabled(username, True)
        elif change == "enable":
            store.set_disabled(username, False)
        elif change in ("planner", "admin"):
            store.set_role(username, change)
        elif change == "unlock":
            store.unlock(username)
        else:
            raise AccountError("change must be disable, enable, planner, admin or unlock")
    except AccountError as exc:
        return _render("auth/users.html", 400, users=store.users(), message=str(exc),
                       now=time.time(), fmt=_when)
    audit("permission_change", username, 200, detail=change)
    return redirect("/admin/users" + ("?lang=en" if _lang() == "en" else ""), code=303)


def _day(raw: str | None, end: bool = False) -> float | None:
    """A Beijing calendar day ``YYYY-MM-DD`` as a UTC timestamp (its start, or next day's)."""
    if not raw:
        return None
    try:
        day = dt.datetime.strptime(raw.strip(), "%Y-%m-%d").replace(tzinfo=BEIJING)
    except ValueError:
        return None
    return (day + dt.timedelta(days=1 if end else 0)).timestamp()


def _audit_filter():
    a = request.args
    return dict(user=(a.get("user") or "").strip()[:64], action=(a.get("action") or "")[:40],
                since=_day(a.get("since")), until=_day(a.get("until"), end=True))


@bp.get("/admin/audit")
def admin_audit():
    store = accounts()
    rows = store.audit_rows(limit=500, **_audit_filter())
    return _render("auth/audit.html", rows=rows, actions=store.audit_actions(), fmt=_when,
                   args=request.args, csv_query=request.query_string.decode("ascii", "replace"))


@bp.get("/admin/audit.csv")
def admin_audit_csv():
    rows = accounts().audit_rows(limit=0, **_audit_filter())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time_beijing", "time_utc", "user", "org", "action", "target",
                     "data_version", "client", "result", "status", "detail"])
    for r in reversed(rows):  # oldest first, as a log reads
        writer.writerow([r["id"], _when(r["ts"], BEIJING), _iso(r["ts"]), r["username"],
                         r["org"], r["action"], _csv_safe(r["target"]), r["data_version"],
                         r["client"], r["result"], r["status"], _csv_safe(r["detail"])])
    audit("audit_export", "audit.csv", 200, detail=f"{len(rows)} rows")
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="planmap-audit.csv"'
    return response


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet must not run as a formula (user-supplied user names, targets)."""
    text = str(text or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(ts, tz=None) -> str:
    if not ts:
        return ""
    when = dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
    if tz is not None:
        return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return (when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + " 北京 / "
            + when.strftime("%H:%M:%S") + " UTC")


def _iso(ts) -> str:
    return dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
