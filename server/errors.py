"""The one JSON error shape, and the mapping from domain errors to HTTP.

Shape: ``{"error": {"status", "code", "param", "message_en", "message_zh"}}``.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from planmap.geo.budget import Busy
from planmap.geo.errors import LayerError, LimitExceeded, NotFound, PlanmapError
from planmap.server.store import DeleteForbidden, StoreUnavailable
from werkzeug.exceptions import HTTPException

# A layer that failed to load, or a store that cannot be written, is the server's problem,
# not the request's: 503.
_STATUS = ((NotFound, 404), (LimitExceeded, 413), (LayerError, 503), (StoreUnavailable, 503),
           (DeleteForbidden, 403), (PlanmapError, 400))


_STATUS = ((Busy, 429),) + _STATUS  # overload: come back later (Retry-After), not a 5xx


def status_for(exc: PlanmapError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(status: int, code: str, message_en: str, message_zh: str | None = None,
                   param: str | None = None):
    body = {"error": {"status": status, "code": code, "param": param,
                      "message_en": message_en, "message_zh": message_zh or message_en}}
    response = jsonify(body)
    response.status_code = status
    return response


_HTTP_ZH = {
    400: "请求无效", 403: "禁止访问", 404: "未找到", 405: "不支持该请求方法", 413: "请求内容过大",
    415: "不支持的内容类型", 429: "请求过多", 500: "服务器内部错误", 503: "服务暂不可用",
}


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 104858 else f"{n} bytes"


def register(app: Flask) -> None:
    @app.errorhandler(PlanmapError)
    def _domain(exc: PlanmapError):
        response = error_response(status_for(exc), exc.code, exc.message_en, exc.message_zh,
                                  exc.param)
        if isinstance(exc, StoreUnavailable):
            response.headers["Retry-After"] = "60"
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if status == 413 and limit and (request.content_length or 0) > limit:
            # Werkzeug's text names no limit; say which setting refused the body
            # and what to do: a smaller file, or the CLI, which reads local files unlimited
            size, mb = _size(request.content_length), _size(limit)
            return error_response(
                413, "body_too_large",
                f"the upload is {size}; the limit is {mb} (MAX_BODY_BYTES = "
                f"{limit} bytes): simplify or split the file, or check it with the command "
                "`planmap check`, which has no size limit",
                f"上传内容 {size}，超过上限 {mb}（MAX_BODY_BYTES = {limit} 字节）："
                "请简化或拆分文件，或用命令 `planmap check` 检查（无大小限制）", "body")
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(status, code, exc.description or exc.name,
                                  _HTTP_ZH.get(status), None)
        allow = dict(exc.get_headers()).get("Allow")
        if allow:  # 405 must name the allowed methods (RFC 9110)
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never leak a traceback to the client
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error (see server log)",
                              "服务器内部错误（请查看服务器日志）")
