"""Safety limits and zip handling of the readers.

Member count, names, sizes and compression ratio (zip bombs); streamed extraction that
stops at the declared size.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib

from planmap.geo.errors import InvalidInput, LimitExceeded
from planmap.geo.io.common import _err
from planmap.geo.limits import Limits

MAX_ZIP_MEMBERS = 20
"""Most members accepted in a Shapefile zip (a shapefile has at most ~8 sidecar files)."""
MAX_ZIP_RATIO = 100.0
"""Largest uncompressed/compressed ratio accepted for a zip member (zip-bomb guard)."""
MAX_PRJ_BYTES = 64 * 1024
MAX_XML_DEPTH = 64
"""Deepest element nesting accepted in KML (a Placemark polygon needs about 8)."""

MAX_WKT_DEPTH = 16
"""Deepest parenthesis nesting accepted in WKT (a MULTIPOLYGON needs 3)."""
def _safe_member(name: str) -> bool:
    norm = name.replace("\\", "/")
    if not norm or "\x00" in norm or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return False
    return ".." not in norm.split("/")


def _check_zip(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise _err(LimitExceeded, "too_many_zip_members",
                   f"zip has {len(infos)} members; the limit is {MAX_ZIP_MEMBERS}",
                   f"zip 含有 {len(infos)} 个文件，上限为 {MAX_ZIP_MEMBERS}")
    total = 0
    for info in infos:
        if not _safe_member(info.filename):
            shown = repr(info.filename)[:80]
            raise _err(InvalidInput, "unsafe_zip_member",
                       f"zip member name {shown} is absolute or leaves the folder",
                       f"zip 成员名 {shown} 为绝对路径或越出目录")
        if info.flag_bits & 0x1:
            raise _err(InvalidInput, "encrypted_zip", "encrypted zip members are not accepted",
                       "不接受加密的 zip 文件")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
            raise _err(LimitExceeded, "zip_bomb",
                       f"zip member {info.filename[:80]!r} expands {ratio:.0f}×; the limit "
                       f"is {MAX_ZIP_RATIO:.0f}×",
                       f"zip 成员 {info.filename[:80]!r} 压缩比 {ratio:.0f} 倍，上限为 "
                       f"{MAX_ZIP_RATIO:.0f} 倍")
    if total > limits.max_unzipped_bytes:
        raise _err(LimitExceeded, "zip_too_large",
                   f"zip expands to {total} bytes; the limit is {limits.max_unzipped_bytes}",
                   f"zip 解压后 {total} 字节，上限为 {limits.max_unzipped_bytes}")
    return infos


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str) -> None:
    # The header's file_size can lie: copy in chunks and stop at the declared size.
    written = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while True:
            chunk = src.read(1 << 16)
            if not chunk:
                break
            written += len(chunk)
            if written > info.file_size:
                raise _err(LimitExceeded, "zip_bomb",
                           "zip member is larger than its header says",
                           "zip 成员的实际大小超过其声明大小")
            out.write(chunk)




# What zipfile raises on damaged archives: bad CRC, truncated or corrupt deflate streams,
# unknown compression methods, encrypted members.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
               NotImplementedError, RuntimeError, ValueError, OSError, struct.error)


def _invalid_zip() -> InvalidInput:
    return _err(InvalidInput, "invalid_zip", "the upload is not a readable zip file",
                "上传的文件不是可读的 zip 文件")
