"""Zhejiang's county-level units (县、县级市、区) with their city, and reading a place name.

A region fact is always the full name "城市+县区", e.g. "丽水市遂昌县", "杭州市滨江区":
unique in the province and the form named groups (山区26县, see kb/rules/groups.yaml) use.

The table lists all 90 county-level units by city (administrative divisions in force
since the 2021 Hangzhou district changes and the 2019 creation of 龙港市). It is a
lookup table, not policy data: which counties a policy favours lives in the groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROVINCE = "浙江省"
OUTSIDE = "浙江省外"  # a firm registered in another province: no county of Zhejiang, no Zhejiang group

COUNTIES_BY_CITY: dict[str, tuple[str, ...]] = {
    "杭州市": ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区",
            "桐庐县", "淳安县", "建德市"),
    "宁波市": ("海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "余姚市", "慈溪市", "宁海县", "象山县"),
    "温州市": ("鹿城区", "龙湾区", "瓯海区", "洞头区", "瑞安市", "乐清市", "龙港市", "永嘉县", "平阳县", "苍南县",
            "文成县", "泰顺县"),
    "嘉兴市": ("南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市"),
    "湖州市": ("吴兴区", "南浔区", "德清县", "长兴县", "安吉县"),
    "绍兴市": ("越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市"),
    "金华市": ("婺城区", "金东区", "武义县", "浦江县", "磐安县", "兰溪市", "义乌市", "东阳市", "永康市"),
    "衢州市": ("柯城区", "衢江区", "常山县", "开化县", "龙游县", "江山市"),
    "舟山市": ("定海区", "普陀区", "岱山县", "嵊泗县"),
    "台州市": ("椒江区", "黄岩区", "路桥区", "三门县", "天台县", "仙居县", "温岭市", "临海市", "玉环市"),
    "丽水市": ("莲都区", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "庆元县", "景宁畲族自治县", "龙泉市"),
}

# Full name ("丽水市遂昌县") → (city, county).
REGIONS: dict[str, tuple[str, str]] = {
    f"{city}{county}": (city, county) for city, counties in COUNTIES_BY_CITY.items() for county in counties
}

_SUFFIXES = ("畲族自治县", "自治县", "县", "区", "市")


def short_name(name: str) -> str:
    """A place name without its suffix (县, 区, 市, 自治县, …) when at least two characters remain: 遂昌县 → 遂昌."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# Every way a county may be written ("遂昌县", "遂昌") → full names (a list, in case a short name repeats).
_COUNTY_NAMES: dict[str, list[str]] = {}
for _full, (_city, _county) in REGIONS.items():
    for _name in {_county, short_name(_county)}:
        _COUNTY_NAMES.setdefault(_name, []).append(_full)
_CITY_NAMES: dict[str, str] = {}
for _city in COUNTIES_BY_CITY:
    _CITY_NAMES[_city] = _city
    _CITY_NAMES[short_name(_city)] = _city

_COUNTY_PATTERN = re.compile("|".join(sorted(map(re.escape, _COUNTY_NAMES), key=len, reverse=True)))
_CITY_PATTERN = re.compile("|".join(sorted(map(re.escape, _CITY_NAMES), key=len, reverse=True)))
ELSEWHERE = ("北京", "上海", "天津", "重庆", "江苏", "南京", "苏州", "无锡", "安徽", "合肥", "福建", "厦门", "江西",
             "广东", "广州", "深圳", "山东", "河南", "湖北", "武汉", "湖南", "四川", "成都", "香港", "澳门")


@dataclass(frozen=True)
class RegionMatch:
    """A county found in a text: its full name, and where in the text it was written."""

    full_name: str
    start: int
    end: int


def is_region(full_name: str) -> bool:
    """Whether a name is the full name of a Zhejiang county: "丽水市遂昌县"."""
    return full_name in REGIONS


def city_of(full_name: str) -> str:
    """The city of a county's full name: 丽水市遂昌县 → 丽水市."""
    return REGIONS[full_name][0]


def names_a_city(text: str) -> bool:
    """Whether the text names a Zhejiang city ("嘉兴", "温州市")."""
    return _CITY_PATTERN.search(text) is not None


def find_region(text: str) -> RegionMatch | str | None:
    """Find the county a text names; or a Chinese problem message; or None when it names no place.

    "遂昌" → 丽水市遂昌县; "杭州滨江" → 杭州市滨江区; "杭州遂昌" → a problem (遂昌 is in 丽水);
    "杭州" alone → a problem asking for the county.
    """
    cities = [(m.start(), m.end(), _CITY_NAMES[m.group()]) for m in _CITY_PATTERN.finditer(text)]
    for match in _COUNTY_PATTERN.finditer(text):
        # "温州市" contains no county name, but "江山市" is a county: skip matches inside a city name.
        if any(start <= match.start() and match.end() <= end and text[start:end] != match.group()
               for start, end, _ in cities):
            continue
        candidates = _COUNTY_NAMES[match.group()]
        # A city written right before the county qualifies it ("杭州遂昌" is a mismatch); one said elsewhere
        # ("仙居的厂，子公司开在杭州") only tells which of two same-named counties is meant.
        named_cities = {city for _, end, city in cities if 0 <= match.start() - end <= 1}
        if not named_cities and len(candidates) > 1:
            named_cities = {city for _, _, city in cities}
        if named_cities:
            fitting = [full for full in candidates if city_of(full) in named_cities]
            if not fitting:
                county = REGIONS[candidates[0]][1]
                return (f"“{county}”属于{city_of(candidates[0])}，不属于{'、'.join(sorted(named_cities))}，"
                        "请核对所在的县（市、区）")
            candidates = fitting
        if len(candidates) > 1:
            return f"“{match.group()}”对应多个地方（{'、'.join(candidates)}），请说明是哪个市的"
        return RegionMatch(candidates[0], match.start(), match.end())
    if cities:
        city = cities[0][2]
        return f"知道在{city}了，还需要具体的县（市、区），例如{city}{COUNTIES_BY_CITY[city][0]}"
    for place in ELSEWHERE:
        if place in text:
            return f"“{place}”不在浙江省内；这些政策面向浙江省内的企业"
    return None
