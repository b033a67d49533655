"""Exchange/CSRC notice classification: regulator warning (with severity), company volatility notice, or other."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Supervisory measures, by how strong they are (exchange and CSRC wording; shared/samples/bse/FORMAT.md).
MEASURES = {
    "口头警示": 1,
    "自律监管措施": 1,
    "监管关注": 2,
    "重点监控": 2,
    "专项核查": 2,
    "监管工作函": 2,
    "警示函": 3,
    "通报批评": 4,
    "公开谴责": 5,
    "立案调查": 5,
    "行政处罚": 5,
    "暂停证券账户交易": 6,
    "限制证券账户交易": 6,
    "市场禁入": 6,
}
# Phrases only a regulator's statement uses; a warning even when no measure is named.
REGULATOR_CONTEXT = ("加强交易监管", "异常交易行为", "盘中拉抬打压", "以涨停价格大额申报", "连续申报", "提示交易风险")
# Named as triggers once a text is a regulator warning, but too common in other texts to decide it.
SUPPORTING = ("涨幅异常", "封涨停", "交易风险")
# A company's own notices about its share price: a related, lower-severity signal.
COMPANY_VOLATILITY = ("股票交易异常波动", "异常波动", "风险提示性公告", "停牌核查", "收盘价涨幅偏离值累计")

REGULATOR_WARNING = "regulator_warning"
COMPANY_VOLATILITY_NOTICE = "company_volatility_notice"
OTHER = "other"


@dataclass(frozen=True)
class NoticeClass:
    """The class of a notice, the severity of the strongest measure named (0 = none) and the phrases that decided it."""

    label: str
    severity: int
    triggers: tuple[str, ...]


def _found(text: str, phrases) -> list[tuple[int, str]]:
    """(first position, phrase) of each phrase present in text."""
    return [(text.find(p), p) for p in phrases if p in text]


def _in_order(hits: list[tuple[int, str]]) -> tuple[str, ...]:
    words = [p for _, p in sorted(hits)]
    # 警示函 inside 出具警示函 is one trigger; drop a phrase contained in another found one
    return tuple(w for w in words if not any(w != o and w in o for o in words))


def classify_notice(text: str, title: str = "") -> NoticeClass:
    """Classify a notice by the measures and phrases it names; title and text are read together."""
    full = unicodedata.normalize("NFKC", f"{title}\n{text}" if title else text)
    measures = _found(full, MEASURES)
    context = _found(full, REGULATOR_CONTEXT)
    company = _found(full, COMPANY_VOLATILITY)
    if measures or (context and not company):
        severity = max([MEASURES[p] for _, p in measures] or [1])
        triggers = _in_order(measures + context + _found(full, SUPPORTING))
        return NoticeClass(REGULATOR_WARNING, severity, triggers)
    if company:
        return NoticeClass(COMPANY_VOLATILITY_NOTICE, 0, _in_order(company))
    return NoticeClass(OTHER, 0, ())
