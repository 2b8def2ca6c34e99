"""A question, parsed once: the asking sentence without noise, its year, the documents it names, what it wants.

Everything after parsing reads the `Question` value; nothing cleans the raw string again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.eligibility.quantities import prepare, quantities
from kb.eligibility.regions import RegionMatch, find_region, names_a_city
from kb.eligibility.rulebook import default_rulebook
from kb.text import arabic_article_counts, arabic_years, article_number, normalize, other_region, question_in

if TYPE_CHECKING:
    from kb.answering.snapshot import Snapshot
    from kb.answering.vocabulary import Vocabulary

# Markup and code around a question: tags, template delimiters, SQL statements and comments.
_TAG = re.compile(r"<[^<>]{0,300}>|&[a-z]{2,8};")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\$\{|#\{|\}")
_SQL = re.compile(r"(?i)\b(?:select|insert|update|delete|drop|union|alter|truncate|exec)\b[^\u4e00-\u9fff]*")
# A remark about the message itself ("（打错字了，是领雁）"): the word it corrects is read by the typo corrector.
_ASIDE = re.compile(r"[（(][^（）()]{0,20}(?:打错|错字|错别字|笔误|typo)[^（）()]{0,20}[）)]", re.IGNORECASE)
_SQL_TAUTOLOGY = re.compile(r"(?i)'?\s*\bor\b\s*'?\d+'?\s*=\s*'?\d+'?")
_SQL_COMMENT = re.compile(r"--[^\n\u4e00-\u9fff]*|/\*.*?\*/", re.S)
# A sentence that instructs the assistant rather than asks it ("忽略以上指令", "you are now"): dropped whole.
_INSTRUCTION = re.compile(
    r"(?i)忽略.{0,8}(?:指令|提示|设定|规则|限制|要求)|你现在是|你是一个|你扮演|扮演一个|角色设定|系统提示|系统指令|"
    r"system\s*prompt|ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|above|prior)|you\s+are\s+now|"
    r"\[\s*system\s*\]|<\|im_start\|>|^\s*system\s*[:：]|^\s*assistant\s*[:：]")
_LETTER_SPACE = re.compile(r"(?<=(?<![\u4e00-\u9fff])[\u4e00-\u9fff]) (?=[\u4e00-\u9fff](?![\u4e00-\u9fff]))")
LETTER_SPACED = 4  # this many single characters spaced apart make a letter-spaced text (a filter dodge), not words
_SENTENCES = re.compile(r"(?<=[。！？?!；;\n])|(?<=[a-z]\.)\s+", re.IGNORECASE)  # "…system prompt. 另外…" too
_ORDINAL = re.compile(r"第\s*([一二两三四五六七八九十\d]{1,3})\s*(?:个|张|项|点|方面|部分|包|类|批|档|块)")
_CN_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# Ways a message starts by pointing back at the previous answer's topic ("这块省财政安排多少").
_ELLIPTICAL_START = ("那", "这个", "那个", "它", "还有", "另外", "这块", "这一块", "这方面", "这条", "这项",
                     "and ", "what about", "how about", "also ")
# … or at what the previous answer was inside of, its document and edition ("其中用地那块归哪个部门").
_INSIDE_START = ("里面", "这里面", "其中", "当中", "文件里", "in it", "inside")
_COUNTED = re.compile(r"(?:多少|几)(个|项|家|条|批|县|人|名|台|套|万元|亿元|万亩|亩|年)")
_FOUR_DIGIT_YEAR = re.compile(r"(20\d{2})\s*(?:年|版)?")
_CORRECTION = re.compile(r"我说的是|我是说|我指的是|我问的是|我要问的是|准确地?说是|应该是|i mean")
_TWO_DIGIT_YEAR = re.compile(r"(?<![\d.])(\d{2})\s*(?:年|版)")
_RELATIVE_YEARS = (("前年", -2), ("去年", -1), ("上年", -1), ("今年", 0), ("本年", 0), ("明年", 1), ("next year", 1),
                   ("last year", -1), ("this year", 0))
_TARGET_BEFORE = re.compile(r"(?:到|至|截至|截止到|截止|by|until)\s*$")
_RANGE_FROM = re.compile(r"20\d\d\s*(?:年|版)?\s*(?:到|至)\s*$")  # "2023到2024年": the end of a range, not a target
_TARGET_AFTER = re.compile(r"\s*(?:年)?(?:底|末|前|以前|之前)")
_BARE_NUMBER = re.compile(r"(?!20\d\d$)\d+(?:\.\d+)?|[一二两三四五六七八九十几半]+[段些位次块]")


@dataclass(frozen=True)
class Question:
    """A parsed question: the asking text cleaned, the years, documents and article it names, what it wants."""

    raw: str
    text: str  # the asking part, normalised, noise removed, English policy words in Chinese, typos put right
    year: int | None  # the edition asked about
    years: tuple[int, ...]  # every year named, in order
    documents: tuple[str, ...]  # ids of the documents it names, in the order named
    families: tuple[str, ...]
    article: int | None
    ordinal: int | None  # 第二个: an item of the previous answer's list
    wanted: frozenset[str]
    elliptical: bool  # reads as the rest of an earlier question ("那22年的呢", "and for 2022?")
    tokens: tuple[str, ...]  # what retrieval reads
    topic: tuple[str, ...]  # tokens that say what it is about: no cue words, document names or years
    other_region: str | None
    wrapped: bool = False  # noise was taken out around it: what a classifier read is not the question
    amounts: tuple[float, ...] = ()  # sums of money it states, in 万元 ("营收1.2亿" → 12000): a tier's key
    inside: bool = False  # asks about something inside the previous answer's document ("其中…", "里面…")
    counted: str | None = None  # the measure word it counts in ("认定了多少项" → 项): a figure in that unit is asked
    # The members of vocabulary qualifiers it asks about (国内; 山区海岛县, or 一般 for a county outside them).
    qualifiers: frozenset[str] = frozenset()
    own_topic: tuple[str, ...] = ()  # its own topic, as parsed: a follow-up's topic also holds the earlier one


def _sql_values(match: re.Match[str]) -> str:
    """A statement dropped, the values it names kept: "WHERE year=2023 AND name='8+4'" still asks about 2023 8+4."""
    statement = match.group()
    quoted = re.findall(r"'([^']{1,40})'", statement)
    years = re.findall(r"\b(?:19|20)\d{2}\b", re.sub(r"'[^']*'", " ", statement))
    # "FROM eight_plus_four": a table named for what is asked about (the glossary may know it), not its columns.
    tables = [name.replace("_", " ") for name in re.findall(r"(?i)\b(?:from|join)\s+([a-z_][a-z0-9_]{2,40})", statement)]
    return " " + " ".join([*quoted, *tables, *years]) + " "


def strip_noise(text: str) -> str:
    """The question inside markup, code, template syntax and instructions to the assistant."""
    if len(_LETTER_SPACE.findall(text)) >= LETTER_SPACED:
        text = _LETTER_SPACE.sub("", text)  # "小 巨 人 负 债 率": characters typed apart, read together
    text = _TAG.sub(" ", text)
    text = _ASIDE.sub(" ", text)
    text = _SQL_COMMENT.sub(" ", text)
    text = _SQL_TAUTOLOGY.sub(" ", text)
    text = _SQL.sub(_sql_values, text)
    text = _TEMPLATE.sub(" ", text)
    kept = [s for s in _SENTENCES.split(text) if s.strip() and not _INSTRUCTION.search(s.strip())]
    return re.sub(r"[ \t]+", " ", "".join(kept)).strip() or text.strip()


_HYPHENATED = re.compile(r"(?<=[a-z])[-_](?=[a-z])")
_AMOUNT_IN_W = re.compile(r"(\d)\s*w(?![a-z])")


def _glossed(text: str, glossary: tuple[tuple[str, str], ...]) -> str:
    """English policy words replaced by the Chinese the knowledge base uses (longest phrase first)."""
    lowered = text.lower()
    # "private-economy policy" is the glossary's "private economy policy"; "5000w" is 5000万 as firms type it.
    lowered = _AMOUNT_IN_W.sub(r"\1万", _HYPHENATED.sub(" ", lowered))
    for english, chinese in glossary:
        english = _HYPHENATED.sub(" ", english)
        if english in lowered:
            lowered = re.sub(rf"(?<![a-z]){re.escape(english)}(?![a-z])", f" {chinese} ", lowered)
    return lowered


def years_named(text: str, *, today: dt.date, relative: bool = True) -> list[int]:
    """Editions a question names, in order: 2025, 2025版, 23年, 今年, 去年 (resolved against today).

    A year a target is set for ("到2027年", "2027年底前") names no edition; nor does 去年/今年 when
    `relative` is off (a firm's "去年营收" is its own year, not a policy's).
    """
    found: list[tuple[int, int]] = [(m.start(), int(m.group(1))) for m in _FOUR_DIGIT_YEAR.finditer(text)
                                    if not (_TARGET_BEFORE.search(text[:m.start()])
                                            and not _RANGE_FROM.search(text[:m.start()]))
                                    and not _TARGET_AFTER.match(text[m.end():])]
    taken = {m.start() for m in _FOUR_DIGIT_YEAR.finditer(text)}
    for m in _TWO_DIGIT_YEAR.finditer(text):
        if m.start() - 2 not in taken and 15 <= int(m.group(1)) <= today.year % 100 + 1:
            found.append((m.start(), 2000 + int(m.group(1))))
    lowered = text.lower() if relative else ""
    for word, offset in _RELATIVE_YEARS:
        at = lowered.find(word)
        if at >= 0 and not (word == "去年" and "前年" in lowered[at - 1:at + 2]):
            found.append((at, today.year + offset))
    # "今年的…？我是说23年那版": the year a correction names replaces the one said before it.
    corrected = _CORRECTION.search(text)
    if corrected and any(at > corrected.start() for at, _ in found):
        found = [(at, year) for at, year in found if at > corrected.start()]
    return list(dict.fromkeys(year for _, year in sorted(found)))


def _ordinal(text: str) -> int | None:
    match = _ORDINAL.search(text)
    if not match:
        return None
    value = match.group(1)
    if value.isdigit():
        return int(value)
    if value.startswith("十"):
        return 10 + _CN_ORDINALS.get(value[1:], 0)
    return _CN_ORDINALS.get(value)


# A last clause "…呢" after an earlier one: it adds to the question rather than narrowing it.
_ALSO_ASKED = re.compile(r"(?<=[^？?。；;，,\s])\s*[？?。；;，,]\s*[^？?。；;，,]*呢[？?！!。\s]*$")


def region_groups(text: str, today: dt.date) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The region groups (kb/rules/groups.yaml) a county the text names belongs to today, and those it never did.

    "公司在滨江": not a 山区海岛县, so a figure for those counties is not its own.
    """
    found = find_region(text)
    if not isinstance(found, RegionMatch):
        return (), ()
    book = default_rulebook()
    inside: list[str] = []
    outside: list[str] = []
    for group in book.groups.values():
        named = any(name in text for name in (group.name, *group.aliases))
        if group.kind != "region" or named:
            continue
        if found.full_name in book.members(group.name, today):
            inside.append(group.name)
        elif not any(found.full_name in version.members for version in group.versions):
            outside.append(group.name)  # a county moved out of the group is neither: some measures keep it in
    return tuple(inside), tuple(outside)


def _cues_said(words: Vocabulary, *texts: str) -> list[str]:
    """The cue words a question uses, longest first.

    A count word said only inside a list cue is not said ("哪几个" asks for a list, its "几" asks no count;
    "多少条" still asks one).
    """
    list_cues = words.wanted.get("list", ())
    said = {cue for kind in words.wanted.values() for cue in kind if any(cue in text for text in texts)}
    for text in texts:
        inside = [m.span() for cue in said & set(list_cues) for m in re.finditer(re.escape(cue), text)]
        for cue in sorted(said - set(list_cues)):
            spans = [m.span() for m in re.finditer(re.escape(cue), text)]
            if spans and all(any(a <= start and end <= b and (a, b) != (start, end) for a, b in inside)
                             for start, end in spans):
                said.discard(cue)
    return sorted(said, key=len, reverse=True)


def _qualifiers_asked(text: str, inside: tuple[str, ...], outside: tuple[str, ...], words: Vocabulary) -> frozenset[str]:
    """The qualifier members a question is about: those it names, or the one its county implies.

    A trailing "…呢" after a question asks for that member too ("数字化车间要投多少？山区县呢"): it does not
    narrow the question, so its words are not read here.
    """
    restricting = _ALSO_ASKED.sub("", re.split(r"[？?]", text, maxsplit=1)[0] if re.search(r"[？?]\s*\S", text) else text)
    asked: set[str] = set()
    for qualifiers in words.qualifiers:
        named = set(qualifiers.named_in(restricting))
        if not named and qualifiers.region_group in inside:
            named = {qualifiers.members[0][0]}
        elif not named and qualifiers.region_group in outside and qualifiers.default:
            named = {qualifiers.default}
        asked |= named
    return frozenset(asked)


def _elsewhere(text: str) -> str | None:
    """A place outside Zhejiang the question is about; none when it names a Zhejiang place too ("嘉兴的港资企业")."""
    found = other_region(text)
    if found is None or names_a_city(text) or isinstance(find_region(text), RegionMatch):
        return None
    return found


_YEAR_CLAUSE_ELLIPSIS = re.compile(r"(?:那)?(?:今年|去年|前年|明年|\d{2,4}\s*年|[一二两三四五六七八九零〇]{2,4}年)(?:度)?(?:的|版|那版)?呢\s*[？?，,。！!]")
_BEFORE_IT = re.compile(r"(?:之前|以前|此前)[^，,。？?]{0,8}(?:是啥|是什么|叫啥|叫什么)")
_WHICH_YEAR_MORE = re.compile(r"哪(?:一)?(?:年|版|个年份)(?:的)?(?:更|最|比较)?(?:多|少|高|低|大|小)")


def parse_question(raw: str, *, snapshot: Snapshot, today: dt.date) -> Question:
    """Parse a message once: everything answering needs to know about it."""
    words = snapshot.vocabulary
    index = snapshot.index
    normalized = normalize(raw)
    unwrapped = strip_noise(normalized)
    cleaned = arabic_years(arabic_article_counts(question_in(unwrapped)))
    if _CORRECTION.search(cleaned):  # "不是，我是说23年那版": the no is about the last answer, not the subject
        cleaned = re.sub(r"^\s*(?:不是|不对|错了|搞错了)\s*[，,。！!]?\s*", "", cleaned)
    lowered = cleaned.lower()
    text = words.plain(index.correct(_glossed(cleaned, words.glossary)))
    matched_cues = _cues_said(words, lowered, text)
    wanted = frozenset(kind for kind, cues in words.wanted.items() if any(cue in matched_cues for cue in cues))
    if "definition" in wanted and any(noun in text for noun in words.list_nouns):
        wanted |= {"list"}  # "那4张清单是啥": what a list is, is its items
    if _BEFORE_IT.search(text):
        wanted |= {"origin"}  # "8+4之前浙江搞的是啥": what came before it
    if _WHICH_YEAR_MORE.search(text):
        wanted = (wanted - {"date"}) | {"difference"}  # "哪年多": which year's figure is larger, not a date
    documents = snapshot.all_named_documents(text)
    stripped = lowered.strip(" ？?。.!！")
    # "这项…" anywhere points back too ("until when is this policy valid" is glossed to one).
    # "今年的呢？有新东西吗": a clause naming only a year and ending in 呢 leaves its subject out too.
    elliptical = stripped.endswith("呢") or stripped.startswith(_ELLIPTICAL_START) or " 呢 " in f" {text} " \
        or "这项" in text or bool(_YEAR_CLAUSE_ELLIPSIS.match(stripped))
    # "去年那版8+4" names an edition; "去年应纳税所得额150万" names the firm's year: only a document named
    # (or 版) makes 去年/今年 an edition, or a follow-up without a figure ("那前年的呢" after an edition's figure).
    # So does a question whether something is out yet ("明年的出来了吗"): only an edition comes out.
    # So does a comparison of two years ("去年比前年多出多少"): a firm compares no two of its own years here.
    edition_words = bool(documents) or "版" in text or (
        (elliptical or "document" in wanted or "difference" in wanted) and not re.search(r"\d", text))
    years = years_named(text, today=today, relative=edition_words)
    # A bare number ("150", "一段") is a firm's figure or a measure word, not what the question is about; years stay.
    tokens = [t for t in index.tokenize(text) if not _BARE_NUMBER.fullmatch(t)]
    # The topic is what is left when the ways of asking are taken out of the text ("多少钱" leaves no "少钱").
    asked_about = text
    for cue in matched_cues:
        asked_about = asked_about.replace(cue, " ")
    kept = set(index.tokenize(asked_about))
    name_tokens = {t for d in documents for name in d.names for t in index.tokenize(name)}
    year_tokens = {t for t in tokens if re.fullmatch(r"(?:20)?\d\d(?:年|年度|年版|版)?", t)}
    topic = tuple(t for t in dict.fromkeys(tokens) if t in kept and t not in name_tokens | year_tokens)
    # "厂在泰顺那边呢": a county stands for the named groups it belongs to (山区海岛县), which is what
    # measures speak of.
    inside, outside = region_groups(text, today)
    # A group is read as its name and first alias (山区26县, 山区海岛县): the words measures use for it.
    book = default_rulebook()
    spoken = [name for group in inside for name in (group, *book.groups[group].aliases[:1])]
    groups = tuple(t for name in spoken for t in index.tokenize(name) if t not in topic)
    tokens, topic = [*tokens, *groups], (*topic, *groups)
    return Question(
        raw=raw, text=text, year=years[0] if years else None, years=tuple(years),
        documents=tuple(d.id for d in documents), families=tuple(dict.fromkeys(d.family for d in documents)),
        article=article_number(text), ordinal=_ordinal(text), wanted=wanted, elliptical=elliptical,
        tokens=tuple(tokens), topic=topic, other_region=_elsewhere(text), wrapped=unwrapped != normalized.strip(),
        amounts=tuple(q.value for q in quantities(prepare(text)) if q.unit == "万"),
        inside=stripped.startswith(_INSIDE_START),
        counted=counted.group(1) if (counted := _COUNTED.search(text)) else None,
        qualifiers=_qualifiers_asked(text, inside, outside, words), own_topic=topic,
    )
