"""Every UI string of the pages, Chinese first, English second — in one place.

Templates get ``t`` (``t("key")``) and the JS gets the ``js`` subset through the
page configuration, so no string is hard-coded anywhere else.
"""

from __future__ import annotations

from flask import request
from planmap.geo.vocab import ACCURACY, EFFECTS, VERDICTS

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

# The map a planner reads (issue 16 item 3: layout, offline basemap, swipe, print), one block.
MAP_STRINGS = {
    "zh": {
        "basemap_offline": "离线底图（行政区划、水系、地名）",
        "tree_toggle": "图层",
        "legend_toggle": "图例",
        "swipe": "卷帘对比",
        "swipe_left": "左侧图层",
        "swipe_right": "右侧图层",
        "swipe_off": "关闭对比",
        "print": "打印地图",
        "print_a4": "A4 横向",
        "print_a3": "A3 横向",
        "print_title": "白城市国土空间规划图",
        "print_scale": "比例尺 约 1:{n}",
        "print_north": "北",
        "print_legend": "图例",
        "print_date": "打印日期",
        "print_accuracy": ("精度说明：标“官方”的要素取自规划或官方数据；“推算”“示意”要素按 "
                           "layers/RULES.md 的规则绘制（虚线为示意范围），仅供参考，"
                           "用地审查以官方“三区三线”成果为准。"),
        "print_layers": "图中图层",
    },
    "en": {
        "basemap_offline": "Offline basemap (boundaries, water, places)",
        "tree_toggle": "Layers",
        "legend_toggle": "Legend",
        "swipe": "Swipe compare",
        "swipe_left": "Left layer",
        "swipe_right": "Right layer",
        "swipe_off": "Close compare",
        "print": "Print map",
        "print_a4": "A4 landscape",
        "print_a3": "A3 landscape",
        "print_title": "Baicheng spatial plan map",
        "print_scale": "Scale about 1:{n}",
        "print_north": "N",
        "print_legend": "Legend",
        "print_date": "Printed",
        "print_accuracy": ("Accuracy: features marked official come from the plans or official "
                           "data; derived and schematic ones are drawn by the rules in "
                           "layers/RULES.md (dashed = schematic) and are indicative only; land "
                           "review follows the official three-zones-three-lines layers."),
        "print_layers": "Layers shown",
    },
}
for _lang, _strings in MAP_STRINGS.items():
    STRINGS[_lang].update(_strings)
JS_KEYS = JS_KEYS + tuple(MAP_STRINGS["zh"])
# The report as a case file and the site-check panel's pickers (issue 18, server/casefile.py,
# static/planmap-report.js): one block, so other panels' strings merge around it.
CASE_STRINGS = {
    "zh": {
        "case_report_title": "选址分析报告",
        "case_beijing_time": "北京时间（UTC+8）",
        "case_project": "项目信息",
        "case_project_name": "项目名称",
        "case_applicant": "申请单位",
        "case_project_type": "项目类型",
        "case_project_type_none": "未选择（只按区域条款判断）",
        "case_project_verdict": "该类项目的结论",
        "case_project_activities": "适用于该类项目的条款",
        "case_project_no_activity": "此处没有针对该类项目的条款，结论以区域条款为准",
        "case_basis": "结论依据",
        "case_basis_none": "没有区域条款设定结论",
        "case_input_crs": "输入坐标系",
        "case_crs_parameter": "（由用户选择）",
        "case_crs_file": "（文件中注明）",
        "case_crs_default": "（文件未注明，按默认假定）",
        "case_crs_hints": "坐标系提示",
        "case_parcels": "地块面积",
        "case_parcel_no": "序号",
        "case_parcel_name": "地块名称",
        "case_parcel_vertices": "界址点数",
        "case_parcel_total": "合计",
        "case_site_merged": "合并后用地面积（重叠部分只计一次）",
        "case_boundary": "界址点坐标表",
        "case_boundary_note": ("点号取自文件（国土 TXT 的点号）；文件未给点号时按各地块边界顺序编号"
                               "（J1、J2…）。圈号 1 为外边界，其后为内环（挖空）。"),
        "case_point_no": "点号",
        "case_ring": "圈号",
        "case_input_xy": "输入坐标（{crs}）",
        "case_gk_xy": "CGCS2000 高斯-克吕格 3° 带 CM 123°E（EPSG:4550）",
        "case_lon": "经度 (°)",
        "case_lat": "纬度 (°)",
        "case_north_x": "X 北 (m)",
        "case_east_y": "Y 东 (m)",
        "case_points_cut": "界址点共 {total} 个，此处列出前 {listed} 个（REPORT_MAX_POINTS）。",
        "case_extent": "四至（地块最外点）",
        "case_side": "方向",
        "case_east": "东至",
        "case_west": "西至",
        "case_south": "南至",
        "case_north": "北至",
        "case_sign": "经办与审核",
        "case_handler": "经办人",
        "case_reviewer": "审核人",
        "case_sign_date": "日期",
        "case_data_statement": ("数据说明：本报告依据白城市规划一张图数据版本 {version} 自动生成；"
                                "“示意”范围按规划文字绘制，不是法定边界，须以官方三区三线等"
                                "正式成果核对。"),
        "case_page": "第 {page} 页，共 {pages} 页",
        "case_pdf": "下载 PDF",
        "case_map_legend_site": "选址范围",
        "case_map_county": "县界",
        "case_map_river": "河流",
        "case_map_deciding": "决定结论",
        "case_map_covers": "覆盖全图",
        "case_picker_type": "项目类型",
        "case_picker_type_any": "（不限）",
        "case_picker_crs": "文件坐标系",
        "case_picker_crs_auto": "按文件自动识别",
        "case_crs_used": "所用坐标系",
        "case_crs_warn": "坐标系提示",
        "case_name_placeholder": "项目名称（可选）",
        "case_applicant_placeholder": "申请单位（可选）",
        "case_use_crs": "改用 {crs} 重新检查",
        "case_rerun": "重新检查",
    },
    "en": {
        "case_report_title": "Site selection analysis report",
        "case_beijing_time": "Beijing time (UTC+8)",
        "case_project": "Project",
        "case_project_name": "Project name",
        "case_applicant": "Applicant",
        "case_project_type": "Project type",
        "case_project_type_none": "Not chosen (zone clauses only)",
        "case_project_verdict": "Verdict for this project type",
        "case_project_activities": "Clauses for this project type",
        "case_project_no_activity": "No clause here speaks to this project type; the zone "
                                    "clauses decide",
        "case_basis": "Verdict basis",
        "case_basis_none": "No zone clause sets the verdict",
        "case_input_crs": "Input CRS",
        "case_crs_parameter": "(chosen by the user)",
        "case_crs_file": "(named in the file)",
        "case_crs_default": "(not named in the file: assumed)",
        "case_crs_hints": "CRS hints",
        "case_parcels": "Parcel areas",
        "case_parcel_no": "No.",
        "case_parcel_name": "Parcel",
        "case_parcel_vertices": "Boundary points",
        "case_parcel_total": "Total",
        "case_site_merged": "Merged site area (overlaps counted once)",
        "case_boundary": "Boundary point coordinates",
        "case_boundary_note": ("Point names are the file's own (the point numbers of a "
                               "land-survey TXT); without them, points are numbered J1, J2, … "
                               "along each parcel's boundary. Ring 1 is the outer boundary, "
                               "later rings are holes."),
        "case_point_no": "Point",
        "case_ring": "Ring",
        "case_input_xy": "Input coordinates ({crs})",
        "case_gk_xy": "CGCS2000 Gauss-Krüger 3° CM 123°E (EPSG:4550)",
        "case_lon": "Lon (°)",
        "case_lat": "Lat (°)",
        "case_north_x": "X north (m)",
        "case_east_y": "Y east (m)",
        "case_points_cut": ("{total} boundary points; the first {listed} are listed "
                            "(REPORT_MAX_POINTS)."),
        "case_extent": "Bounding directions (outermost points)",
        "case_side": "Side",
        "case_east": "East",
        "case_west": "West",
        "case_south": "South",
        "case_north": "North",
        "case_sign": "Prepared and reviewed",
        "case_handler": "Prepared by",
        "case_reviewer": "Reviewed by",
        "case_sign_date": "Date",
        "case_data_statement": ("Data: generated from the Baicheng plan map, data version "
                                "{version}; “schematic” extents are drawn from the plan's words, "
                                "not legal boundaries, and must be checked against the official "
                                "three zones and three lines (ecological protection red line, "
                                "permanent basic farmland, urban development boundary) and "
                                "other formal results."),
        "case_page": "page {page} of {pages}",
        "case_pdf": "Download PDF",
        "case_map_legend_site": "Site",
        "case_map_county": "County boundary",
        "case_map_river": "River",
        "case_map_deciding": "decides the verdict",
        "case_map_covers": "covers the whole map",
        "case_picker_type": "Project type",
        "case_picker_type_any": "(any)",
        "case_picker_crs": "File CRS",
        "case_picker_crs_auto": "Detect from the file",
        "case_crs_used": "CRS used",
        "case_crs_warn": "CRS hint",
        "case_name_placeholder": "Project name (optional)",
        "case_applicant_placeholder": "Applicant (optional)",
        "case_use_crs": "Check again as {crs}",
        "case_rerun": "Check again",
    },
}
for _lang, _strings in CASE_STRINGS.items():
    STRINGS[_lang].update(_strings)
JS_KEYS = JS_KEYS + tuple(k for k in CASE_STRINGS["zh"] if k.startswith(("case_picker",
                                                                          "case_crs", "case_name",
                                                                          "case_applicant",
                                                                          "case_use", "case_rerun",
                                                                          "case_basis",
                                                                          "case_project",
                                                                          "case_pdf")))

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


# VERDICTS: geo.vocab


def verdict_label(lang: str, verdict) -> str:
    """Readable verdict for a site check's ``verdict`` code (see geo.sitecheck)."""
    code = str(verdict or "")
    return t(lang, f"verdict_{code}") if code in VERDICTS else code


def accuracy_label(lang: str, accuracy: str | None) -> str:
    return t(lang, f"acc_{accuracy}") if accuracy in ACCURACY else (
        accuracy or "")


def effect_label(lang: str, effect: str | None) -> str:
    return t(lang, f"eff_{effect}") if effect in EFFECTS else (effect or "")


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


# The label of every feature ``kind`` (popups, attribute table, report): the internal code
# (``livestock_base``) is never shown.  tests/server/test_english.py checks that every kind
# in the built-in data has a label in both languages.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "agri_demo": ("农业示范区", "Agricultural demonstration zone"),
    "agri_tourism": ("农业休闲旅游", "Agri-tourism"),
    "airport": ("机场", "Airport"),
    "axis": ("发展轴", "Development axis"),
    "belt": ("发展带", "Development belt"),
    "capacity_county": ("县级规划容量", "County capacity"),
    "channel": ("通道", "Channel"),
    "characteristic_town": ("特色小镇", "Characteristic town"),
    "circle": ("生活圈", "Living circle"),
    "city": ("市", "City"),
    "core": ("核心", "Core"),
    "core_block": ("核心板块", "Core block"),
    "corridor_ring": ("走廊环线", "Corridor ring"),
    "county": ("县（市、区）", "County"),
    "county-level city": ("县级市", "County-level city"),
    "county_seat": ("县城", "County seat"),
    "county_town": ("县城", "County town"),
    "development_zone": ("开发区", "Development zone"),
    "district": ("市辖区", "District"),
    "eco_barrier": ("生态屏障", "Ecological barrier"),
    "eco_function_zone": ("生态功能区", "Ecological function zone"),
    "ecological_belt": ("生态带", "Ecological belt"),
    "ecological_core": ("生态核", "Ecological core"),
    "ecological_corridor": ("生态廊道", "Ecological corridor"),
    "energy_base": ("能源基地", "Energy base"),
    "farmland_programme": ("农田建设", "Farmland programme"),
    "functional_zone": ("功能区", "Functional zone"),
    "gas_pipeline": ("输气管线", "Gas pipeline"),
    "green_demo_zone": ("绿色示范区", "Green demonstration zone"),
    "growth_pole": ("增长极", "Growth pole"),
    "heritage_site": ("文物遗址", "Heritage site"),
    "hydrogen_corridor": ("氢能走廊", "Hydrogen corridor"),
    "industrial_park": ("产业园区", "Industrial park"),
    "industrial_town": ("工业重镇", "Industrial town"),
    "irrigation_district": ("灌区", "Irrigation district"),
    "lake": ("湖泊", "Lake"),
    "livestock_base": ("牧业基地", "Livestock base"),
    "logistics_hub": ("物流枢纽", "Logistics hub"),
    "main_city": ("中心城区", "Main city"),
    "metro_circle": ("都市圈", "Metropolitan area"),
    "named_town": ("重点镇", "Named town"),
    "national_road": ("国道", "National road"),
    "node": ("节点", "Node"),
    "pole": ("增长极", "Pole"),
    "prefecture": ("地级市", "Prefecture-level city"),
    "province": ("省", "Province"),
    "public_park": ("公园", "Public park"),
    "pv_site": ("光伏场址", "PV site"),
    "pv_site_unplaced": ("未定位光伏项目", "Unplaced PV projects"),
    "rail_axis": ("铁路轴线", "Railway axis"),
    "railway": ("铁路", "Railway"),
    "region": ("区域", "Region"),
    "river": ("河流", "River"),
    "river_zone": ("河道管理范围", "River zone"),
    "road_project": ("道路工程", "Road project"),
    "scenic_area": ("景区", "Scenic area"),
    "scenic_development": ("景区拓展", "Scenic-area development"),
    "soil_protection": ("黑土地保护", "Soil protection"),
    "solar_base": ("光伏基地", "Solar base"),
    "substation": ("变电站", "Substation"),
    "tourism_hub": ("旅游集散中心", "Tourism hub"),
    "tourism_node": ("旅游节点", "Tourism node"),
    "tourism_project": ("旅游项目", "Tourism project"),
    "tourism_road": ("景区连通路", "Scenic link road"),
    "tourism_route": ("旅游线路", "Tourism route"),
    "town": ("城镇", "Town"),
    "town_cluster": ("城镇集聚区", "Town cluster"),
    "transmission_line": ("输电线路", "Transmission line"),
    "transport_hub": ("交通枢纽", "Transport hub"),
    "urban_cluster": ("城镇集聚发展区", "Urban cluster"),
    "water_transfer": ("引调水工程", "Water transfer"),
    "wetland": ("湿地", "Wetland"),
    "wind_base": ("风电基地", "Wind base"),
    "wind_site": ("风电场址", "Wind-farm site"),
    "wind_site_unplaced": ("未定位风电项目", "Unplaced wind projects"),
    "wing": ("两翼", "Wing"),
    "wing_town": ("两翼城镇", "Wing town"),
    "zone": ("区", "Zone"),
}


def kind_label(lang: str, kind: str | None) -> str:
    """The label of a feature ``kind`` in ``lang``; an unknown kind (an imported layer's
    own vocabulary) is shown as written."""
    if not kind:
        return ""
    pair = KIND_LABELS.get(kind)
    if pair is None:
        return str(kind)
    return pair[1] if lang == "en" else pair[0]


def kind_labels(lang: str) -> dict[str, str]:
    """Every kind's label in ``lang`` (the map script's ``kinds``)."""
    return {k: kind_label(lang, k) for k in KIND_LABELS}
