"""Eligibility rules as data: their grammar, the named groups and derived categories, and checking them.

A rule is a mapping, one of:

    {all: [rule, ...]}   {any: [rule, ...]}   {not: rule}   {category: 小型微利企业}
    {field: employees, op: le, value: 300, explain: "…", ref: "…"}   # a condition
    {unencoded: 知识产权, explain: "…", ref: "…", source: URL}        # an official condition not encoded:
                                                                     # undecided until confirmed

Condition ops: eq, ne, lt, le, gt, ge, between ([lo, hi], inclusive), in, not_in,
contains (a certification the firm holds), holds (the same, but a title not mentioned counts as not
held: for "already certified, or meets the conditions" rules), in_group (membership of a named group; the
evaluation date picks the group's version, or `as_of: 2023-08-25` pins one).
A condition may say what an unstated fact means: `if_missing: 企业` reads it as the usual case;
`unstated: confirm` lists it among the conditions to confirm (the verdict is at best likely) instead of
asking for the fact — for conditions firms rarely state and rarely fail (行业不在负面清单).

Groups and categories live once, in kb/rules/groups.yaml and kb/rules/categories.yaml.
`check_rule` returns every problem of a rule, each naming its key path, so an importer
can report them all and write nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb.eligibility.profile import CERTIFICATIONS, FIELDS, INDUSTRIES, OWNERSHIPS
from kb.eligibility.regions import OUTSIDE, REGIONS
from kb.errors import SeedError, ValidationFailed
from kb.paths import RULES_DIR

COMPARISONS = ("lt", "le", "gt", "ge")
OPS = ("eq", "ne", *COMPARISONS, "between", "in", "not_in", "contains", "holds", "in_group")
CONDITION_KEYS = {"field", "op", "value", "explain", "ref", "as_of", "if_missing", "unstated"}
NODE_KEYS = ("all", "any", "not", "category", "field", "unencoded")
UNENCODED_KEYS = {"unencoded", "explain", "ref", "source"}
NUMERIC_KINDS = ("money", "count", "ratio", "year")
GROUP_KEYS = {"description", "kind", "aliases", "reference", "sources", "note", "versions"}
VERSION_KEYS = {"from", "label", "members", "includes"}
CATEGORY_KEYS = {"aliases", "description", "ref", "sources", "note", "rule"}


@dataclass(frozen=True)
class GroupVersion:
    """A group as it stands from a date: its label, members and the groups it includes."""

    start: dt.date | None
    label: str
    members: frozenset[str]
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A named set of regions or industries, with versions by effective date."""

    name: str
    kind: str
    description: str
    versions: tuple[GroupVersion, ...]
    aliases: tuple[str, ...] = ()
    reference: str | None = None
    sources: tuple[str, ...] = ()

    def version(self, on: dt.date) -> GroupVersion:
        """Return the version in force on a date: the last one starting on or before it."""
        current = self.versions[0]
        for version in self.versions[1:]:
            if version.start is not None and version.start <= on:
                current = version
        return current


@dataclass(frozen=True)
class Category:
    """A derived firm category (小型微利企业, …) defined by a rule of its own."""

    name: str
    description: str
    ref: str
    sources: tuple[str, ...]
    rule: Mapping[str, Any]
    note: str | None = None
    aliases: tuple[str, ...] = ()  # what firms call it ("高企" for 高企研发费用比例)


@dataclass(frozen=True)
class Rulebook:
    """The named groups and derived categories that rules refer to."""

    groups: Mapping[str, Group]
    categories: Mapping[str, Category]

    def group(self, name: str) -> Group | None:
        """The group with this name or alias, or None."""
        if name in self.groups:
            return self.groups[name]
        return next((g for g in self.groups.values() if name in g.aliases), None)

    def members(self, name: str, on: dt.date) -> frozenset[str]:
        """Members of a group on a date, including the groups its version includes."""
        group = self.group(name)
        if group is None:
            raise KeyError(name)
        version = group.version(on)
        members = set(version.members)
        for included in version.includes:
            members |= self.members(included, on)
        return frozenset(members)

    def label(self, name: str, on: dt.date) -> str:
        """The group's label on a date; the name itself for an unknown group."""
        group = self.group(name)
        return group.version(on).label if group else name


# --- checking rules --------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _known_values(kind: str) -> tuple[str, ...] | None:
    # 浙江省外: a firm registered in another province, which a rule of a provincial measure can exclude.
    return {"region": (*REGIONS, OUTSIDE), "industry": INDUSTRIES, "ownership": OWNERSHIPS,
            "certifications": CERTIFICATIONS}.get(kind)


def _check_value(kind: str, value: Any, key: str, problems: list[str]) -> None:
    """Check that a single comparison value fits the field's kind and unit."""
    if kind in NUMERIC_KINDS:
        if not _is_number(value):
            problems.append(f"{key}: {value!r} 不是数（金额按万元写数字）")
        elif kind == "ratio" and not 0 <= value <= 1:
            problems.append(f"{key}: 比例按小数写（5% 写作 0.05），{value!r} 超出0到1")
        elif kind == "money" and value < 0 or kind == "count" and value < 0:
            problems.append(f"{key}: {value!r} 不能是负数")
        return
    known = _known_values(kind)
    if known is not None and value not in known:
        problems.append(f"{key}: “{value}”不在{kind}的标准取值里")


def _check_condition(node: Mapping[str, Any], path: str, book: Rulebook, problems: list[str]) -> None:
    for key in sorted(set(node) - CONDITION_KEYS):
        problems.append(f"{path}.{key}: 未知的键（条件可用 {', '.join(sorted(CONDITION_KEYS))}）")
    field_name, op = node.get("field"), node.get("op")
    spec = FIELDS.get(field_name) if isinstance(field_name, str) else None
    if spec is None:
        problems.append(f"{path}.field: 未知的企业信息字段 {field_name!r}（可用 {', '.join(FIELDS)}）")
    if op not in OPS:
        problems.append(f"{path}.op: 未知的运算 {op!r}（可用 {', '.join(OPS)}）")
    if "value" not in node:
        problems.append(f"{path}.value: 缺少")
    for key in ("explain", "ref"):
        if key in node and not isinstance(node[key], str):
            problems.append(f"{path}.{key}: 应是一句话")
    if "if_missing" in node and spec is not None and node["if_missing"] not in (spec.values or (node["if_missing"],)):
        problems.append(f"{path}.if_missing: 不是 {field_name} 的标准取值")
    if "unstated" in node and (node["unstated"] != "confirm" or "if_missing" in node):
        problems.append(f"{path}.unstated: 只能是 confirm（未说明时列为待确认条件），且不与 if_missing 同用")
    if "as_of" in node and (op != "in_group" or not isinstance(node["as_of"], dt.date)):
        problems.append(f"{path}.as_of: 只用于 in_group，且应是日期（如 2023-08-25）")
    if spec is None or op not in OPS or "value" not in node:
        return
    value, key, kind = node["value"], f"{path}.value", spec.kind
    if kind == "choice":
        for item in value if isinstance(value, list) else [value]:
            if item not in spec.values:
                problems.append(f"{key}: “{item}”不在{field_name}的标准取值里（{'、'.join(spec.values)}）")
        if op not in ("eq", "ne", "in", "not_in"):
            problems.append(f"{path}.op: {field_name} 只能用 eq、ne、in、not_in")
        return
    if op in COMPARISONS:
        if kind not in NUMERIC_KINDS:
            problems.append(f"{path}.op: {op} 只能比较数值字段，{field_name} 不是")
        else:
            _check_value(kind, value, key, problems)
    elif op == "between":
        if kind not in NUMERIC_KINDS:
            problems.append(f"{path}.op: between 只能比较数值字段，{field_name} 不是")
        elif not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            problems.append(f"{key}: between 需要 [下限, 上限] 两个数")
        elif value[0] > value[1]:
            problems.append(f"{key}: 下限 {value[0]} 大于上限 {value[1]}")
        else:
            for index, bound in enumerate(value):
                _check_value(kind, bound, f"{key}[{index}]", problems)
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            problems.append(f"{key}: {op} 需要一个非空列表")
        else:
            for index, item in enumerate(value):
                _check_value(kind, item, f"{key}[{index}]", problems)
    elif op in ("contains", "holds"):
        if kind != "certifications":
            problems.append(f"{path}.op: {op} 只用于资质（certifications），{field_name} 不是")
        else:
            _check_value(kind, value, key, problems)
    elif op == "in_group":
        group = book.group(value) if isinstance(value, str) else None
        if group is None:
            problems.append(f"{key}: 未知的分组 {value!r}（可用 {', '.join(book.groups)}）")
        elif group.kind != kind:
            problems.append(f"{key}: 分组“{value}”是{group.kind}分组，不能用于 {field_name}")
    else:  # eq, ne
        _check_value(kind, value, key, problems)


def check_rule(rule: Any, *, path: str = "rule", book: Rulebook | None = None) -> list[str]:
    """Every problem of a rule, each as "path: problem"; an empty list means the rule is sound."""
    book = book or default_rulebook()
    problems: list[str] = []
    _check_node(rule, path, book, problems)
    return problems


def _check_node(node: Any, path: str, book: Rulebook, problems: list[str]) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{path}: 应是一个映射（all/any/not/category 或条件 field/op/value）")
        return
    kinds = [key for key in NODE_KEYS if key in node]
    if len(kinds) != 1:
        problems.append(f"{path}: 应正好有 all、any、not、category、field 之一，现在是 {sorted(node) or '空'}")
        return
    kind = kinds[0]
    if kind == "field":
        _check_condition(node, path, book, problems)
        return
    if kind == "unencoded":
        for key in sorted(set(node) - UNENCODED_KEYS):
            problems.append(f"{path}.{key}: 未知的键（unencoded 节点可用 {', '.join(sorted(UNENCODED_KEYS))}）")
        for key in sorted(UNENCODED_KEYS & set(node)):
            if not isinstance(node[key], str) or not node[key].strip():
                problems.append(f"{path}.{key}: 应是一句话")
        return
    for key in sorted(set(node) - {kind}):
        problems.append(f"{path}.{key}: 未知的键（{kind} 节点只有 {kind}）")
    child = node[kind]
    if kind in ("all", "any"):
        if not isinstance(child, list) or not child:
            problems.append(f"{path}.{kind}: 应是非空列表")
            return
        for index, item in enumerate(child):
            _check_node(item, f"{path}.{kind}[{index}]", book, problems)
    elif kind == "not":
        _check_node(child, f"{path}.not", book, problems)
    elif not isinstance(child, str) or child not in book.categories:
        problems.append(f"{path}.category: 未知的类别 {child!r}（可用 {', '.join(book.categories)}）")


# --- loading ---------------------------------------------------------------------------------------


def _read_yaml(path: Path, errors: list[SeedError]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        errors.append(SeedError(path.name, "(file)", f"cannot be read: {error}"))
        return {}
    if not isinstance(data, dict):
        errors.append(SeedError(path.name, "(file)", "应是以名称为键的映射"))
        return {}
    return data


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value or ())


def _load_groups(path: Path, errors: list[SeedError]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for name, item in _read_yaml(path, errors).items():
        if not isinstance(item, dict):
            errors.append(SeedError(path.name, name, "应是映射"))
            continue
        for key in sorted(set(item) - GROUP_KEYS):
            errors.append(SeedError(path.name, f"{name}.{key}", f"未知的键（可用 {', '.join(sorted(GROUP_KEYS))}）"))
        kind = item.get("kind")
        if kind not in ("region", "industry"):
            errors.append(SeedError(path.name, f"{name}.kind", f"应是 region 或 industry，现在是 {kind!r}"))
            continue
        versions: list[GroupVersion] = []
        for index, version in enumerate(item.get("versions") or []):
            key = f"{name}.versions[{index}]"
            if not isinstance(version, dict):
                errors.append(SeedError(path.name, key, "应是映射"))
                continue
            for extra in sorted(set(version) - VERSION_KEYS):
                errors.append(SeedError(path.name, f"{key}.{extra}", f"未知的键（可用 {', '.join(sorted(VERSION_KEYS))}）"))
            start = version.get("from")
            if start is not None and not isinstance(start, dt.date):
                errors.append(SeedError(path.name, f"{key}.from", f"应是日期（如 2024-08-01），现在是 {start!r}"))
                start = None
            if index > 0 and start is None:
                errors.append(SeedError(path.name, f"{key}.from", "除第一个版本外，每个版本都要写生效日期"))
            if versions and start is not None and versions[-1].start is not None and start <= versions[-1].start:
                errors.append(SeedError(path.name, f"{key}.from", "版本应按生效日期从早到晚排列"))
            known = REGIONS if kind == "region" else INDUSTRIES
            members = _strings(version.get("members"))
            for position, member in enumerate(members):
                if member not in known:
                    errors.append(SeedError(path.name, f"{key}.members[{position}]",
                                            f"“{member}”不是{'kb/regions.py 里的县（市、区）全称' if kind == 'region' else '标准行业名称'}"))
            if len(set(members)) != len(members):
                errors.append(SeedError(path.name, f"{key}.members", "有重复的成员"))
            versions.append(GroupVersion(start, str(version.get("label") or name), frozenset(members),
                                         _strings(version.get("includes"))))
        if not versions:
            errors.append(SeedError(path.name, f"{name}.versions", "至少要有一个版本"))
            continue
        groups[name] = Group(name, kind, str(item.get("description") or ""), tuple(versions),
                             _strings(item.get("aliases")), item.get("reference"), _strings(item.get("sources")))
    for group in groups.values():
        for index, version in enumerate(group.versions):
            for included in version.includes:
                if included not in groups or groups[included].kind != group.kind or included == group.name:
                    errors.append(SeedError(path.name, f"{group.name}.versions[{index}].includes",
                                            f"“{included}”不是同类的另一个分组"))
    return groups


def _load_categories(path: Path, errors: list[SeedError]) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for name, item in _read_yaml(path, errors).items():
        if not isinstance(item, dict):
            errors.append(SeedError(path.name, name, "应是映射"))
            continue
        for key in sorted(set(item) - CATEGORY_KEYS):
            errors.append(SeedError(path.name, f"{name}.{key}", f"未知的键（可用 {', '.join(sorted(CATEGORY_KEYS))}）"))
        for key in ("ref", "sources", "rule"):
            if not item.get(key):
                errors.append(SeedError(path.name, f"{name}.{key}", "缺少（每个类别都要有条款出处、来源网址和规则）"))
        categories[name] = Category(name, str(item.get("description") or ""), str(item.get("ref") or ""),
                                    _strings(item.get("sources")), item.get("rule") or {}, item.get("note"),
                                    _strings(item.get("aliases")))
    return categories


def _category_cycles(book: Rulebook) -> list[tuple[str, ...]]:
    def uses(rule: Any) -> list[str]:
        if not isinstance(rule, Mapping):
            return []
        if "category" in rule:
            return [rule["category"]]
        children = rule.get("all") or rule.get("any") or ([rule["not"]] if "not" in rule else [])
        return [name for child in children if isinstance(children, list) for name in uses(child)]

    cycles = []

    def walk(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycles.append((*trail, name))
            return
        category = book.categories.get(name)
        if category is not None:
            for used in uses(category.rule):
                walk(used, (*trail, name))

    for name in book.categories:
        walk(name, ())
    return cycles


def load_rulebook(directory: Path = RULES_DIR) -> Rulebook:
    """Load groups and categories from a directory; raise ValidationFailed listing every problem."""
    errors: list[SeedError] = []
    groups = _load_groups(directory / "groups.yaml", errors)
    categories = _load_categories(directory / "categories.yaml", errors)
    book = Rulebook(groups, categories)
    for name, category in categories.items():
        for problem in check_rule(category.rule, path=f"{name}.rule", book=book):
            key, _, text = problem.partition(": ")
            errors.append(SeedError("categories.yaml", key, text))
    for cycle in dict.fromkeys(_category_cycles(book)):
        errors.append(SeedError("categories.yaml", f"{cycle[0]}.rule", f"类别循环引用：{' → '.join(cycle)}"))
    if errors:
        raise ValidationFailed(errors)
    return book


@functools.lru_cache(maxsize=1)
def default_rulebook() -> Rulebook:
    """Return the rulebook shipped in kb/rules, loaded once."""
    return load_rulebook()
