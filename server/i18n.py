"""Every UI string of the pages, Chinese first, English second — in one place.

Templates get ``t`` (``t("key")``) and the JS gets the ``js`` subset through the
page configuration, so no string is hard-coded anywhere else.
"""

from __future__ import annotations

from flask import request

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "app_title": "白城市规划一张图",
        "app_subtitle": "白城市“十四五”规划空间结构",
        "lang_toggle": "English",
        "lang_toggle_title": "Switch to English",
        "search_placeholder": "搜索地名、区域、县市…",
        "search_none": "无匹配结果",
        "legend": "图例",
        "plan_switcher": "选择规划",
        "answered_by": "适用规划：",
        "sources": "数据来源与许可",
        "legend_schematic": "虚线 = 示意范围（按规划文字绘制，非法定边界）",
        "legend_derived": "推算：由真实几何计算（如河流缓冲区）",
        "legend_wide": "覆盖全市大部分的区域只画轮廓，不填色",
        "layers": "图层",
        "tool_measure_line": "测距",
        "tool_measure_area": "测面积",
        "tool_draw_point": "画点",
        "tool_draw_line": "画线",
        "tool_draw_polygon": "画面",
        "tool_upload": "上传文件",
        "tool_upload_hint": "GeoJSON、KML、Shapefile（zip）、国土 TXT",
        "tool_clear": "清除",
        "panel_title": "信息",
        "panel_hint": ("点击地图查看该处所属区域、附近区域及适用条款；"
                       "或绘制/上传选址范围进行选址检查。"),
        "panel_close": "关闭",
        "loading": "查询中…",
        "error": "出错了",
        "here_zones": "此处所在区域",
        "here_none": "此处不在任何规划区域内",
        "outside_service_area": "此处不在白城市范围内",
        "nearest": "附近区域",
        "distance": "距离",
        "clauses": "适用条款",
        "clauses_none": "无适用条款",
        "citation": "出处",
        "plan_line": "第 {line} 行",
        "open_in_plan": "在规划原文中查看",
        "layer": "图层",
        "kind": "类型",
        "accuracy": "精度",
        "name": "名称",
        "county": "所在县市",
        "coordinates": "坐标",
        "measure_length": "长度",
        "measure_area": "面积",
        "sitecheck": "选址检查",
        "site": "选址范围",
        "site_area": "用地面积",
        "site_length": "长度",
        "verdict": "结论",
        "overlap": "叠加区域",
        "overlap_none": "未与任何规划区域重叠",
        "overlap_m2": "重叠面积 (m²)",
        "overlap_ha": "公顷",
        "overlap_mu": "亩",
        "overlap_pct": "占选址 %",
        "overlap_length": "选址内长度",
        "rings": "缓冲区",
        "ring_within": "{d} 米范围内",
        "accuracy_note": "数据精度说明",
        "accuracy_note_none": "所涉区域均无示意范围（均为官方或推算几何）。",
        "repairs": "已自动修复",
        "input_warnings": "输入文件提示",
        "report_link": "打开可打印报告",
        "unit_m": "米",
        "unit_km": "公里",
        "unit_m2": "平方米",
        "unit_ha": "公顷",
        "unit_mu": "亩",
        "report_title": "选址检查报告",
        "report_id": "报告编号",
        "report_time": "检查时间",
        "data_version": "数据版本",
        "report_map": "选址位置示意图",
        "report_print": "打印",
        "report_back": "返回地图",
        "report_zones": "涉及规划区域",
        "report_nearest": "最近区域",
        "report_rings": "缓冲区内区域",
        "report_clauses": "适用规划条款",
        "report_none": "无",
        "report_map_note": "图中虚线为示意范围；底图为行政区划。",
        "plan_title": "规划原文",
        "plan_cited": "已引用的行",
        "plan_back": "返回地图",
        "plan_lines": "共 {n} 行",
        "not_found": "未找到",
        "not_found_plan": "没有这份规划文本：{seed}",
        "not_found_report": ("没有编号为 {id} 的选址检查报告"
                             "（可能已被删除或链接有误）。"),
        "layer_errors": "以下图层未能加载：",
        "basemap": "底图",
        "basemap_tianditu": "天地图矢量",
        "basemap_custom": "内网底图",
        "acc_official": "官方",
        "acc_derived": "推算",
        "acc_schematic": "示意",
        "eff_prohibited": "禁止",
        "eff_restricted": "限制",
        "eff_required": "要求",
        "eff_encouraged": "鼓励",
        "verdict_prohibited": "禁止：适用条款中有禁止性规定，须专项论证或调整选址",
        "verdict_restricted": "限制：适用条款中有限制性规定，须按条款审查",
        "verdict_required": "须满足要求：适用条款提出了须落实的要求",
        "verdict_encouraged": "鼓励：适用条款鼓励在此类区域发展",
        "verdict_none": "无相关条款：选址未触及有条款约束的区域",
        "scope_activity": "仅适用于以下类型项目：",
        "scope_citywide": "全市通用条款（不单独决定结论）",
        "scope_programme": "政府实施的工作或项目安排（列出供参考，不决定结论）",
        "official_layers_note": "三区三线核对",
        "kind_point": "点",
        "kind_line": "线",
        "kind_polygon": "面",
    },
    "en": {
        "app_title": "Baicheng Plan Map",
        "app_subtitle": "Spatial structure of Baicheng's 14th Five-Year Plan",
        "lang_toggle": "中文",
        "lang_toggle_title": "切换到中文",
        "search_placeholder": "Search places, zones, counties…",
        "search_none": "No match",
        "legend": "Legend",
        "plan_switcher": "Choose a plan",
        "answered_by": "Plans answering here: ",
        "sources": "Data sources and licences",
        "legend_schematic": ("Dashed = schematic extent "
                             "(drawn from the plan text, not a legal boundary)"),
        "legend_derived": "Derived: computed from real geometry (e.g. a river buffer)",
        "legend_wide": "Zones covering much of the city are drawn as outlines only",
        "layers": "Layers",
        "tool_measure_line": "Distance",
        "tool_measure_area": "Area",
        "tool_draw_point": "Point",
        "tool_draw_line": "Line",
        "tool_draw_polygon": "Polygon",
        "tool_upload": "Upload file",
        "tool_upload_hint": "GeoJSON, KML, zipped Shapefile, land-survey (guotu) coordinate TXT",
        "tool_clear": "Clear",
        "panel_title": "Information",
        "panel_hint": ("Click the map to see the zones there, nearby zones and the clauses "
                       "that apply; or draw/upload a site to check it."),
        "panel_close": "Close",
        "loading": "Loading…",
        "error": "Error",
        "here_zones": "Zones at this spot",
        "here_none": "This spot lies in no plan zone",
        "outside_service_area": "This spot is outside Baicheng City",
        "nearest": "Nearest zones",
        "distance": "Distance",
        "clauses": "Clauses that apply",
        "clauses_none": "No clause applies",
        "citation": "Source",
        "plan_line": "line {line}",
        "open_in_plan": "Show in the plan text",
        "layer": "Layer",
        "kind": "Kind",
        "accuracy": "Accuracy",
        "name": "Name",
        "county": "County",
        "coordinates": "Coordinates",
        "measure_length": "Length",
        "measure_area": "Area",
        "sitecheck": "Site check",
        "site": "Site",
        "site_area": "Site area",
        "site_length": "Length",
        "verdict": "Verdict",
        "overlap": "Zones touched",
        "overlap_none": "The site overlaps no plan zone",
        "overlap_m2": "Overlap (m²)",
        "overlap_ha": "ha",
        "overlap_mu": "mu",
        "overlap_pct": "% of site",
        "overlap_length": "Length inside the site",
        "rings": "Buffer rings",
        "ring_within": "within {d} m",
        "accuracy_note": "Data accuracy",
        "accuracy_note_none": ("No schematic extent is involved "
                               "(official or derived geometry only)."),
        "repairs": "Automatically repaired",
        "input_warnings": "Notes on the input file",
        "report_link": "Open the printable report",
        "unit_m": "m",
        "unit_km": "km",
        "unit_m2": "m²",
        "unit_ha": "ha",
        "unit_mu": "mu",
        "report_title": "Site check report",
        "report_id": "Report id",
        "report_time": "Checked at",
        "data_version": "Data version",
        "report_map": "Site location sketch",
        "report_print": "Print",
        "report_back": "Back to the map",
        "report_zones": "Plan zones touched",
        "report_nearest": "Nearest zones",
        "report_rings": "Zones within buffer rings",
        "report_clauses": "Plan clauses that apply",
        "report_none": "None",
        "report_map_note": ("Dashed outlines are schematic extents; "
                            "the base is the administrative divisions."),
        "plan_title": "Plan text",
        "plan_cited": "Cited lines",
        "plan_back": "Back to the map",
        "plan_lines": "{n} lines",
        "not_found": "Not found",
        "not_found_plan": "No such plan text: {seed}",
        "not_found_report": ("No site check report with id {id} "
                             "(it may have been deleted, or the link is wrong)."),
        "layer_errors": "These layers could not be loaded:",
        "basemap": "Basemap",
        "basemap_tianditu": "Tianditu vector",
        "basemap_custom": "Intranet basemap",
        "acc_official": "official",
        "acc_derived": "derived",
        "acc_schematic": "schematic",
        "eff_prohibited": "prohibited",
        "eff_restricted": "restricted",
        "eff_required": "required",
        "eff_encouraged": "encouraged",
        "verdict_prohibited": "Prohibited: a clause that applies here prohibits something; "
                              "needs a special review or another site",
        "verdict_restricted": "Restricted: a clause that applies here restricts development",
        "verdict_required": "Requirements: the clauses that apply here set requirements",
        "verdict_encouraged": "Encouraged: the clauses that apply here encourage development",
        "verdict_none": "No clause: the site touches no zone governed by a clause",
        "scope_activity": "Applies only to projects involving: ",
        "scope_citywide": "City-wide clause (does not set the verdict by itself)",
        "scope_programme": ("A programme the government carries out "
                            "(listed, does not set the verdict)"),
        "official_layers_note": "Official check: three zones and three lines (sanqu sanxian)",
        "kind_point": "point",
        "kind_line": "line",
        "kind_polygon": "polygon",
    },
}

# the keys the browser needs (planmap.js); the rest are server-side only
JS_KEYS = (
    "search_placeholder", "search_none", "loading", "error", "here_zones", "here_none",
    "outside_service_area", "nearest", "distance", "clauses", "clauses_none", "citation",
    "plan_line", "open_in_plan", "layer", "kind", "accuracy", "name", "county", "coordinates",
    "measure_length", "measure_area", "sitecheck", "site", "site_area", "site_length", "verdict",
    "overlap", "overlap_none", "overlap_length", "overlap_m2", "overlap_ha", "overlap_mu",
    "overlap_pct", "rings",
    "ring_within", "accuracy_note", "accuracy_note_none", "repairs", "input_warnings",
    "report_link", "unit_m",
    "unit_km", "unit_m2",
    "answered_by",  # issue 15
    "unit_ha", "unit_mu", "acc_official", "acc_derived", "acc_schematic", "eff_prohibited",
    "eff_restricted", "eff_required", "eff_encouraged", "verdict_prohibited", "verdict_restricted",
    "verdict_required", "verdict_encouraged", "verdict_none", "panel_hint", "scope_activity",
    "scope_citywide", "scope_programme", "official_layers_note",
)

# Tiers of an answer (issue 16, geo/tiers.py): kept as one block so other panels' strings
# merge around it.
TIER_STRINGS = {
    "zh": {
        "tier_binding": "约束性区域（决定结论）",
        "tier_binding_none": "此处没有约束性区域",
        "tier_designations": "规划布局（无区域约束条款）",
        "tier_area_wide": "本县适用的规划安排",
        "tier_area_wide_note": "以下范围只是重复县域或全市范围，并非选址所在的具体区域。",
        "deciding_clause": "决定结论的条款",
        "deciding_none": "没有约束性区域条款，结论为“无相关条款”",
        "deciding_accuracy": "该区域几何精度",
        "conflicts": "规划冲突与优先规则",
        "conflict_prevails": "以此为准",
        "report_all_features": "所有涉及要素（按图层）",
    },
    "en": {
        "tier_binding": "Binding zones (set the verdict)",
        "tier_binding_none": "No binding zone here",
        "tier_designations": "Plan designations (no zone clause)",
        "tier_area_wide": "Plan arrangements for this county",
        "tier_area_wide_note": ("These extents only repeat a county or the whole city; "
                                "they are not places the site lies in."),
        "deciding_clause": "Clause that decided the verdict",
        "deciding_none": "No binding zone clause: the verdict is “no clause”",
        "deciding_accuracy": "Accuracy of that zone's geometry",
        "conflicts": "Plan conflicts and which rule prevails",
        "conflict_prevails": "prevails",
        "report_all_features": "All features at the site, by layer",
    },
}
for _lang, _strings in TIER_STRINGS.items():
    STRINGS[_lang].update(_strings)
JS_KEYS = JS_KEYS + tuple(TIER_STRINGS["zh"])

# leaflet-draw's own hints while drawing (its L.drawLocal), per language
DRAW_LOCAL = {
    "zh": {
        "start": "点击地图开始绘制", "cont_line": "单击继续绘制，单击最后一点结束",
        "cont_poly": "单击继续绘制", "end_poly": "单击第一个点闭合", "point": "点击地图放置点",
        "finish": "完成", "undo": "撤销最后一点", "cancel": "取消",
        "error": "<strong>错误：</strong>边线不能相交",
    },
    "en": {
        "start": "Click to start drawing",
        "cont_line": "Click to continue; click the last point to finish",
        "cont_poly": "Click to continue drawing", "end_poly": "Click the first point to close",
        "point": "Click the map to place a point", "finish": "Finish", "undo": "Delete last point",
        "cancel": "Cancel", "error": "<strong>Error:</strong> edges cannot cross",
    },
}


def lang_from(value: str | None) -> str:
    """Return a supported language code for a ``?lang=`` value (Chinese by default)."""
    value = (value or "").strip().lower()
    return value if value in LANGS else DEFAULT_LANG


def current_lang() -> str:
    """The language of the current request (``?lang=en`` or Chinese)."""
    return lang_from(request.args.get("lang"))


def t(lang: str, key: str, **fmt) -> str:
    """Look up one UI string; ``fmt`` fills ``{placeholders}``."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANG])
    text = table.get(key) or STRINGS[DEFAULT_LANG].get(key) or key
    return text.format(**fmt) if fmt else text


def js_strings(lang: str) -> dict[str, str]:
    """The strings planmap.js needs, in ``lang``."""
    return {key: t(lang, key) for key in JS_KEYS}


VERDICTS = ("prohibited", "restricted", "required", "encouraged", "none")


def verdict_label(lang: str, verdict) -> str:
    """Readable verdict for a site check's ``verdict`` code (see geo.sitecheck)."""
    code = str(verdict or "")
    return t(lang, f"verdict_{code}") if code in VERDICTS else code


def accuracy_label(lang: str, accuracy: str | None) -> str:
    return t(lang, f"acc_{accuracy}") if accuracy in ("official", "derived", "schematic") else (
        accuracy or "")


def effect_label(lang: str, effect: str | None) -> str:
    known = ("prohibited", "restricted", "required", "encouraged")
    return t(lang, f"eff_{effect}") if effect in known else (effect or "")


# Everyday map tools (issue 18, static/planmap-tools.js): kept as one block so other
# panels' strings merge around it.
TOOLS_STRINGS = {
    "zh": {
        "tools_coords": "坐标",
        "tools_coords_hint": ("鼠标位置（WGS 84 经纬度；CGCS2000 高斯-克吕格 3° 带 EPSG:4550，"
                              "X=北坐标，Y=东坐标）"),
        "tools_goto": "定位坐标",
        "tools_goto_hint": ("每行一个点 “x,y”：经纬度（WGS 84）或高斯-克吕格坐标（X 北、Y 东，"
                            "EPSG:4550；带号 41 的 8 位东坐标按 EPSG:4529）。"
                            "粘贴多行界址点可画出地块。"),
        "tools_goto_go": "定位",
        "tools_goto_check": "对此地块做选址检查",
        "tools_goto_bad": "第 {n} 行无法识别为坐标：{line}",
        "tools_goto_outside": "第 {n} 行的坐标不在白城市附近：{line}",
        "tools_goto_points": "共 {n} 个点（按 {crs} 解读）",
        "tools_table": "属性表",
        "tools_table_layer": "图层",
        "tools_table_filter": "筛选（名称、类型、编号…）",
        "tools_table_count": "显示 {n} / {total} 条",
        "tools_table_csv": "下载 CSV（当前筛选）",
        "tools_table_close": "关闭",
        "tools_download": "下载/服务",
        "tools_dl_layer": "图层",
        "tools_dl_all": "全部图层",
        "tools_dl_format": "格式",
        "tools_dl_crs": "坐标系",
        "tools_dl_go": "下载",
        "tools_dl_ogc": "OGC API – Features 地址（QGIS：图层 › 添加图层 › 添加 WFS/OGC API 图层）",
        "tools_dl_copy": "复制",
        "tools_dl_copied": "已复制",
        "tools_dl_conflicts": "规划冲突检测",
        "tools_dl_api": "API 文档（OpenAPI）",
        "tools_link": "复制本图链接",
        "tools_link_copied": "已复制链接",
        "tools_search_capped": "显示前 {n} 条，共 {total} 条匹配，请输入更具体的名称",
        "tools_search_total": "共 {total} 条匹配",
        "tools_search_coord": "定位到坐标 {lon}, {lat}（{crs}）",
        "tools_match_synonym": "同义词",
        "tools_match_pinyin": "拼音",
        "tools_match_english": "英文名",
        "tools_cite_title": "规划原文",
        "tools_cite_open": "在新标签页打开",
        "tools_cite_close": "关闭",
        "tools_site_restore": "已从链接恢复选址检查结果",
        "col_id": "编号",
        "col_name_zh": "名称",
        "col_name_en": "英文名",
        "col_kind": "类型",
        "col_accuracy": "精度",
        "col_county": "县市区",
        "col_citation": "规划依据",
    },
    "en": {
        "tools_coords": "Coordinates",
        "tools_coords_hint": ("Mouse position (WGS 84 lon/lat; CGCS2000 3° Gauss-Krüger EPSG:4550, "
                              "X = northing, Y = easting)"),
        "tools_goto": "Go to coordinates",
        "tools_goto_hint": ("One point per line, “x,y”: lon/lat (WGS 84) or Gauss-Krüger metres "
                            "(X north, Y east, EPSG:4550; an 8-digit easting with zone 41 is "
                            "EPSG:4529). Paste several boundary points to draw the parcel."),
        "tools_goto_go": "Go",
        "tools_goto_check": "Check this parcel",
        "tools_goto_bad": "Line {n} is not a coordinate: {line}",
        "tools_goto_outside": "Line {n} is not near Baicheng: {line}",
        "tools_goto_points": "{n} point(s), read as {crs}",
        "tools_table": "Attribute table",
        "tools_table_layer": "Layer",
        "tools_table_filter": "Filter (name, kind, id…)",
        "tools_table_count": "Showing {n} of {total}",
        "tools_table_csv": "Download CSV (filtered rows)",
        "tools_table_close": "Close",
        "tools_download": "Download / services",
        "tools_dl_layer": "Layer",
        "tools_dl_all": "All layers",
        "tools_dl_format": "Format",
        "tools_dl_crs": "CRS",
        "tools_dl_go": "Download",
        "tools_dl_ogc": ("OGC API – Features URL (QGIS: Layer › Add Layer › Add WFS / OGC API – "
                         "Features Layer)"),
        "tools_dl_copy": "Copy",
        "tools_dl_copied": "Copied",
        "tools_dl_conflicts": "Plan-conflict report",
        "tools_dl_api": "API documentation (OpenAPI)",
        "tools_link": "Copy link to this view",
        "tools_link_copied": "Link copied",
        "tools_search_capped": ("Showing the first {n} of {total} matches; "
                                "type a more specific name"),
        "tools_search_total": "{total} match(es)",
        "tools_search_coord": "Go to {lon}, {lat} ({crs})",
        "tools_match_synonym": "synonym",
        "tools_match_pinyin": "pinyin",
        "tools_match_english": "English name",
        "tools_cite_title": "Plan text",
        "tools_cite_open": "Open in a new tab",
        "tools_cite_close": "Close",
        "tools_site_restore": "Site check restored from the link",
        "col_id": "ID",
        "col_name_zh": "Chinese name",
        "col_name_en": "Name",
        "col_kind": "Kind",
        "col_accuracy": "Accuracy",
        "col_county": "County",
        "col_citation": "Plan citation",
    },
}
for _lang, _strings in TOOLS_STRINGS.items():
    STRINGS[_lang].update(_strings)
JS_KEYS = JS_KEYS + tuple(TOOLS_STRINGS["zh"])
