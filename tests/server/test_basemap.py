"""planmap's offline basemap (server/basemap.py): tiles drawn from the vendored geometry,
Chinese labels, bounded cache, and the refusal of GCJ-02 tile URLs at start."""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from PIL import Image
from planmap.server import basemap, create_app
from planmap.server.basemap import Basemap, BasemapURLRefused, check_tile_url

CITY_INSIDE = (123.40, 45.00)  # inside Baicheng, away from rivers and labels
FAR_AWAY = (100.0, 30.0)  # Sichuan: far from every vendored geometry


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return z, x, y


def pixel_of(lon, lat, z):
    """(tile, pixel within it) of a lon/lat at zoom z."""
    n = 2 ** z * 256
    px = (lon + 180) / 360 * n
    lat_r = math.radians(lat)
    py = (1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n
    return (z, int(px // 256), int(py // 256)), (int(px % 256), int(py % 256))


@pytest.fixture(scope="module")
def bm():
    return Basemap(cache_tiles=64)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("bm") / "c.sqlite3"),
                      "TESTING": True})
    return app.test_client()


def _img(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _near(c, ref, tol=18):
    return all(abs(a - b) <= tol for a, b in zip(c, ref, strict=True))


def _river_vertex(name_zh="洮儿河"):
    """A middle vertex of a vendored river line (GSHHG WDBII)."""
    doc = json.loads((basemap.SOURCES / "rivers_gshhg_wdbii.geojson").read_text("utf-8"))
    feature = next(f for f in doc["features"] if f["properties"]["name_zh"] == name_zh)
    coords = feature["geometry"]["coordinates"]
    line = max(coords, key=len) if feature["geometry"]["type"] == "MultiLineString" else coords
    return tuple(line[len(line) // 2])


def test_a_tile_over_baicheng_draws_the_river_where_it_runs(bm):
    tile, (px, py) = pixel_of(*_river_vertex(), 10)
    img = _img(bm.tile(*tile))
    assert img.size == (256, 256)
    # the river is drawn within a few pixels of its vertex
    around = [img.getpixel((x, y)) for x in range(max(0, px - 6), min(256, px + 7))
              for y in range(max(0, py - 6), min(256, py + 7))]
    assert any(_near(c, basemap.RIVER, 40) for c in around)
    # the city's own fill (lighter than the land outside) at a point inside it
    tile, (px, py) = pixel_of(*CITY_INSIDE, 9)
    assert _near(_img(bm.tile(*tile)).getpixel((px, py)), basemap.CITY_FILL, 3)


def test_a_tile_far_from_the_data_is_plain_land(bm):
    img = _img(bm.tile(*tile_of(*FAR_AWAY, 8)))
    assert len(img.getcolors(10_000)) == 1
    assert _near(img.getpixel((0, 0)), basemap.LAND, 2)


def test_county_labels_are_chinese_text_drawn_on_their_tile(bm):
    labels = {text for *_, text, _xy, _place in bm.labels(8)}
    assert {"洮北区", "镇赉县", "通榆县", "洮南市", "大安市"} <= labels
    # the label of 通榆县 is drawn (dark text pixels) on the tile under its anchor
    box, _size, _colour, _text, (lx, ly), _ = next(
        lab for lab in bm.labels(8) if lab[3] == "通榆县")
    img = _img(bm.tile(8, int(lx // 256), int(ly // 256)))
    x0, y0 = int(lx % 256), int(ly % 256)
    patch = [img.getpixel((x, y)) for x in range(max(0, x0 - 20), min(256, x0 + 20))
             for y in range(max(0, y0 - 6), min(256, y0 + 6))]
    assert sum(_near(c, basemap.LABEL, 40) for c in patch) > 10
    # places (towns) appear from z9 on, not at z8
    assert "镇赉" not in labels
    assert "镇赉" in {lab[3] for lab in bm.labels(9)}


@pytest.mark.parametrize("z", [6, 8, 10, 12])
def test_placed_labels_never_overlap(bm, z):
    boxes = [lab[0] for lab in bm.labels(z)]
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_the_tile_cache_is_bounded():
    small = Basemap(cache_tiles=3)
    for dx in range(6):
        small.tile(9, 420 + dx, 183)
    assert len(small._tiles) == 3


def test_tile_route_serves_png_with_etag_and_304(client):
    z, x, y = tile_of(122.84, 45.62, 8)
    response = client.get(f"/basemap/{z}/{x}/{y}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n"
    etag = response.headers["ETag"]
    again = client.get(f"/basemap/{z}/{x}/{y}.png", headers={"If-None-Match": etag})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/basemap/3/1/1.png", "/basemap/15/0/0.png",
                                  "/basemap/8/256/10.png", "/basemap/8/10/256.png"])
def test_tiles_outside_the_served_range_are_a_named_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_tile"


def test_map_page_offers_the_offline_basemap_by_default_with_a_versioned_url(client):
    html = client.get("/").get_data(as_text=True)
    script_url = re.search(r'<script src="(/map/zh\.js\?v=\w+)"', html).group(1)
    script = client.get(script_url).get_data(as_text=True)
    assert "/basemap/{z}/{x}/{y}.png?v=" + basemap.source_version() in script
    # named in the layer tree (the script carries it JSON-escaped)
    assert json.dumps("离线底图")[1:-1] in script or "离线底图" in script


def test_offline_basemap_can_be_switched_off(tmp_path):
    app = create_app({"DB_PATH": str(tmp_path / "c.sqlite3"), "BASEMAP_OFFLINE": False})
    c = app.test_client()
    html = c.get("/").get_data(as_text=True)
    script = c.get(re.search(r'<script src="(/map/zh\.js\?v=\w+)"', html).group(1)).get_data(
        as_text=True)
    assert "/basemap/" not in script


@pytest.mark.parametrize("url", [
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&style=8&x={x}&y={y}&z={z}",
    "https://wprd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=7",
    "http://webst01.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
    "https://tiles.amap.com/{z}/{x}/{y}.png",
    "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={y}",
    "http://online{s}.map.bdimg.com/tile/?qt=tile&x={x}&y={y}&z={z}",
    "http://tiles.intranet.example/gcj02/{z}/{x}/{y}.png",
])
def test_gcj02_tile_urls_are_refused(url):
    with pytest.raises(BasemapURLRefused, match="BASEMAP_URL.*GCJ-02"):
        check_tile_url(url)


@pytest.mark.parametrize("url", [
    "", "http://tiles.intranet.example/{z}/{x}/{y}.png",
    "https://notamap.com/{z}/{x}/{y}.png",  # a host that only ends in the letters
    "http://amap.com.intranet.example/{z}/{x}/{y}.png",  # an intranet host, not AMap's
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=abc",
])
def test_wgs84_tile_urls_are_accepted(url):
    check_tile_url(url)


def test_create_app_refuses_an_amap_basemap_at_start(tmp_path):
    with pytest.raises(BasemapURLRefused, match="misaligned"):
        create_app({"DB_PATH": str(tmp_path / "c.sqlite3"),
                    "BASEMAP_URL": "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"})
