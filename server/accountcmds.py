"""``planmap user …``, ``planmap token …`` and ``planmap audit``: accounts from the shell.

The store is the service's (``AUTH_DB_PATH``, else beside ``DB_PATH``, from ``PLANMAP_*``), so
run these with the same environment as ``planmap serve``.  Every change is written to the
audit log as done by ``cli:<OS user>``.
"""

from __future__ import annotations

import getpass
import os
import sys


def _store():
    from planmap.server.accounts import open_account_store
    from planmap.server.settings import from_environ, instance_paths

    # the service's: PostgreSQL or the SQLite file (in the instance folder by default)
    return open_account_store(instance_paths(from_environ()))


def _operator() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:?"


def log(store, action: str, target: str, result: str = "ok", status: int = 0,
        detail: str = "", data_version: str = "") -> None:
    store.audit(_operator(), "", action, target, data_version, "local", result, status, detail)


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    env = os.environ.get("PLANMAP_NEW_PASSWORD")
    if env:
        return env
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("planmap: the passwords differ")
    return first


def run_user(args) -> int:
    from planmap.server.accounts import AccountError

    store = _store()
    try:
        if args.action == "add":
            user = store.add_user(args.username, _password(args), args.org, args.role,
                                  args.display or "")
            log(store, "permission_change", user["username"],
                detail=f"add {user['role']} of {user['org']}")
            print(f"added {user['role']} {user['username']} ({user['org']})")
        elif args.action == "list":
            for u in store.users():
                state = "disabled" if u["disabled"] else "active"
                print(f"{u['username']}\t{u['role']}\t{u['org']}\t{state}\t{u['display']}")
        elif args.action in ("disable", "enable"):
            store.set_disabled(args.username, args.action == "disable")
            log(store, "permission_change", args.username.lower(), detail=args.action)
            print(f"{args.action}d {args.username}")
        elif args.action == "role":
            store.set_role(args.username, args.role)
            log(store, "permission_change", args.username.lower(), detail=args.role)
            print(f"{args.username} is now {args.role}")
        elif args.action == "passwd":
            store.set_password(args.username, _password(args))
            log(store, "permission_change", args.username.lower(), detail="password")
            print(f"password of {args.username} changed (its sessions ended)")
        elif args.action == "unlock":
            store.unlock(args.username)
            log(store, "permission_change", args.username.lower(), detail="unlock")
            print(f"unlocked {args.username}")
    except AccountError as exc:
        print(f"planmap: {exc}", file=sys.stderr)
        return 2
    return 0


def run_token(args) -> int:
    from planmap.server.accounts import AccountError

    store = _store()
    try:
        if args.action == "add":
            token_id, token = store.new_token(args.username, args.name or "")
            log(store, "token_create", f"token {token_id}", detail=args.username)
            print(token)  # shown once; only its hash is stored
            print(f"token {token_id} of {args.username}: keep it secret", file=sys.stderr)
        elif args.action == "list":
            for t in store.tokens(args.username):
                state = "revoked" if t["revoked"] else "active"
                print(f"{t['id']}\t{t['username']}\t{t['name']}\t{state}")
        elif args.action == "revoke":
            if not store.revoke_token(int(args.username)):
                print(f"planmap: no active token {args.username}", file=sys.stderr)
                return 2
            log(store, "token_revoke", f"token {args.username}")
            print(f"revoked token {args.username}")
    except (AccountError, ValueError) as exc:
        print(f"planmap: {exc}", file=sys.stderr)
        return 2
    return 0


def run_audit(args) -> int:
    import csv

    from planmap.server.auth import BEIJING, _iso, _when

    store = _store()
    rows = store.audit_rows(user=args.user or "", action=args.action or "", limit=args.limit)
    writer = csv.writer(sys.stdout)
    writer.writerow(["id", "time_beijing", "time_utc", "user", "org", "action", "target",
                     "data_version", "client", "result", "status", "detail"])
    for r in reversed(rows):
        writer.writerow([r["id"], _when(r["ts"], BEIJING), _iso(r["ts"]), r["username"],
                         r["org"], r["action"], r["target"], r["data_version"], r["client"],
                         r["result"], r["status"], r["detail"]])
    return 0
