"""Pure parser for cninfo (巨潮资讯) announcement searches: the fallback for BSE company disclosures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentibot.codes import canonical, is_bse_code
from sentibot.errors import InputError
from sentibot.models import Notice
from sentibot.collect.notices.parse import html_to_text, is_risk_disclosure
from sentibot.timeutil import SHANGHAI

STATIC_URL = "http://static.cninfo.com.cn/"  # where adjunctUrl (the PDF) lives; the notice's identity, never fetched
PAGE_SIZE = 30


def query_form(keyword: str, start: str, end: str, page: int) -> dict[str, Any]:
    """The hisAnnouncement/query form of a full-text title search over all markets (BSE rows are kept after)."""
    return {"pageNum": page, "pageSize": PAGE_SIZE, "column": "szse", "tabName": "fulltext", "plate": "",
            "stock": "", "searchkey": keyword, "secid": "", "category": "", "trade": "", "seDate": f"{start}~{end}",
            "sortName": "", "sortType": "", "isHLtitle": "true"}


def parse_cninfo(payload: Any, where: str) -> tuple[list[Notice], bool]:
    """(risk disclosures of BSE stocks, whether more pages follow) of a hisAnnouncement/query answer."""
    if not isinstance(payload, dict) or "announcements" not in payload:
        raise InputError(f"{where}: no announcements key in the cninfo answer")
    rows = payload["announcements"] or []  # null = nothing matched
    if not isinstance(rows, list):
        raise InputError(f"{where}: announcements is {type(rows).__name__}, expected a list")
    notices = []
    for i, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        code = str(row.get("secCode") or "")
        title = html_to_text(str(row.get("announcementTitle") or "")).replace("\n", " ")  # <em> highlights
        if not (is_bse_code(code) and is_risk_disclosure(title)):
            continue
        stamp, path = row.get("announcementTime"), str(row.get("adjunctUrl") or "")
        if not isinstance(stamp, (int, float)) or not path:
            raise InputError(f"{where}: announcements[{i}] ({title}) has no announcementTime or adjunctUrl")
        moment = datetime.fromtimestamp(stamp / 1000, SHANGHAI).replace(tzinfo=None)
        name = str(row.get("secName") or code)
        notices.append(Notice(url=STATIC_URL + path.lstrip("/"), source="cninfo 公司公告",
                              published_at=moment.isoformat(timespec="seconds") + "+08:00",
                              title=f"{name}:{title}", stocks=(canonical(code),)))
    return notices, bool(payload.get("hasMore"))
