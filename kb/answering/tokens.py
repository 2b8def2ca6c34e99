"""Words of Chinese text as retrieval counts them: jieba search-mode words plus in-word character bigrams."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping

import jieba

jieba.setLogLevel(logging.WARNING)

# A token worth indexing has a Chinese character, letter or digit; "8+4", "三个80%" and "415X" stay whole.
_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9][\u4e00-\u9fffA-Za-z0-9+%.]*")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Question scaffolding of the language itself: never evidence for one piece of knowledge.
STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 么 是 有 在 和 与 及 或 我 我们 你 你们 企业 公司 请问 一下 什么 怎么 怎样 如何 哪些 多少 能 可以 "
    "政策 措施 规定 关于 这个 那个 问 想 知道 享受 申请 申报 支持 条 里 中 对 给 要 会 呀 哪里 几 有没有 是不是 "
    "具体 大概 一些 相关 情况 现在 目前 怎么报 怎么办 咋报 咋办 办理 哪儿 一共 总共 到底 啥 是啥 咋 咋样 怎么样 "
    "意思 啥意思 时候 什么时候 哪个 哪家 哪天 这块 那块 那 那个 这 它 他们 还 也 都 就 又 再 呗 嘛 哦 哈 顺便 顺带 问下 "
    "今年 去年 前年 明年 本年 上年 这版 那版 年版 这一版 那一版 浙江 浙江省 全省 "
    "the a an of for in on to is are was were be what which how much many do does did can could would will we our "
    "my i me you your it its this that these those there about with from at by as please tell get need want "
    "and or if any some".split()
)
# "1+3+5", "1+n", "4+1": a framework named by its numbers is one word, whether jieba knows it or not.
_PLUS_NAME = re.compile(r"(?<![0-9a-z+])[0-9a-z]{1,2}(?:\+[0-9a-z]{1,2})+(?![0-9a-z+])")


def tokenize(text: str, colloquial: Mapping[str, str] | None = None) -> list[str]:
    """Cut text into jieba search-mode words plus the character bigrams inside longer words, stopwords dropped.

    Bigrams let "首台（套）" meet "首台套" and a compound jieba does not know meet its parts; they are
    taken inside words only, since bigrams across word boundaries are mostly noise.
    """
    text = text.lower()
    tokens = _PLUS_NAME.findall(text)
    for word in jieba.lcut_for_search(_PLUS_NAME.sub(" ", text)):
        if colloquial:
            word = colloquial.get(word, word)
        if word in STOPWORDS or not _TOKEN.fullmatch(word):
            continue
        if len(word) == 1 and CJK.match(word):
            continue  # a single character means a word only through the colloquial map (奖 → 奖励)
        tokens.append(word)
        if len(word) >= 3:
            tokens.extend(word[i : i + 2] for i in range(len(word) - 1) if CJK.match(word[i]) and CJK.match(word[i + 1]))
    return tokens


_taught: set[str] = set()  # terms already given to jieba in this process
_taught_lock = threading.Lock()


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba the knowledge base's own terms so they stay whole words (each term once per process)."""
    with _taught_lock:
        for term in terms:
            if term and len(term) >= 2 and term not in _taught:
                jieba.add_word(term, freq=20000)
                _taught.add(term)


# Characters firms type for one another with a pinyin input method (手台套 for 首台套, 双尖双岭 for 双尖双领).
_CONFUSABLE_GROUPS = (
    "首手守", "领岭令", "雁燕艳", "尖坚间", "双霜", "台抬", "套淘", "企启", "策册侧", "补卜", "贴帖", "精经晶",
    "专砖", "民名", "链连", "规归", "融容荣", "资姿", "惠汇", "奖将", "励历厉", "认任", "申伸", "营赢", "技计", "研严",
    "费废", "额鹅", "级及极", "审婶", "核合", "巨具", "冠贯", "岛倒", "县现", "亩母", "税说", "担单", "贷带",
)
CONFUSABLE = {c: group.replace(c, "") for group in _CONFUSABLE_GROUPS for c in group}


def correct_homophones(text: str, known: Callable[[str], bool]) -> str:
    """The text with typed homophones put right where only the corrected pair of characters is known."""
    chars = list(text)
    for i, char in enumerate(chars):
        for alternative in CONFUSABLE.get(char, ""):
            pairs = [(chars[i - 1] + char, chars[i - 1] + alternative)] if i and CJK.match(chars[i - 1]) else []
            if i + 1 < len(chars) and CJK.match(chars[i + 1]):
                pairs.append((char + chars[i + 1], alternative + chars[i + 1]))
            if any(not known(typed) and known(fixed) for typed, fixed in pairs):
                chars[i] = alternative
                break
    return "".join(chars)
