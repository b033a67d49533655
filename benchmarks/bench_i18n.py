"""What the languages cost: the Chinese chart (packaged CJK font) against the English one, and alerts rendered per
language for 10,000 recipients against one render per recipient, each in the same run.

Run: python -m benchmarks i18n   (--quick: one chart each and 1,000 recipients).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path
from benchmarks.timing import median_s

QUICK_ARGV = ["1", "1000"]


def main(argv: list[str] | None = None) -> list[dict]:
    from sentibot.alerts.facts import alert_facts
    from sentibot.alerts.texts import format_alert
    from sentibot.demo import run_demo
    from sentibot.store.db import alert_from_row, open_store
    from sentibot.views.chart import chart_figure

    runs = int(argv[0]) if argv else 3
    recipients = int(argv[1]) if argv and len(argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "demo.db")
        run_demo(db, Path(tmp))
        chart_figure(db, 90, lang="zh").savefig(io.BytesIO(), format="png")  # warm: fonts loaded once per process
        chart_figure(db, 90, lang="en").savefig(io.BytesIO(), format="png")
        zh = median_s(lambda: chart_figure(db, 90, lang="zh").savefig(io.BytesIO(), format="png"), runs)
        en = median_s(lambda: chart_figure(db, 90, lang="en").savefig(io.BytesIO(), format="png"), runs)
        row = next(db.query("select * from alerts where kind = 'regulator_warning'"))
        alert = alert_from_row(row)
        alert_facts(db, alert)  # warm: jieba and the company list load once per process
        languages = ["zh" if i % 2 else "en" for i in range(recipients)]
        start = time.perf_counter()
        cache: dict[str, str] = {}
        for lang in languages:  # what the outbox does: one render per (alert, language)
            if lang not in cache:
                cache[lang] = format_alert(alert, lang, alert_facts(db, alert))
        cached = time.perf_counter() - start
        start = time.perf_counter()
        for lang in languages:  # the baseline: a render for every recipient
            format_alert(alert, lang, alert_facts(db, alert))
        each = time.perf_counter() - start
    print(f"chart PNG, Chinese (packaged Noto Sans SC): {zh:.3f} s; English (DejaVu Sans): {en:.3f} s "
          f"({zh / en:.2f}x)")
    print(f"regulator alert for {recipients:,} recipients in 2 languages: cached per language {cached * 1000:.1f} ms, "
          f"rendered per recipient {each:.2f} s ({each / cached:,.0f}x)")
    return [
        {"figure": "chart PNG in Chinese (packaged CJK font), warm", "value": round(zh, 3), "unit": "s",
         "anchor": "the same chart in English", "anchor_value": round(en, 3), "ratio": round(zh / en, 2),
         "goal": "< 2x"},
        {"figure": f"regulator alert texts for {recipients:,} recipients, 2 languages, cached per language",
         "value": round(cached * 1000, 1), "unit": "ms", "anchor": "one render per recipient",
         "anchor_value": round(each * 1000, 1), "ratio": round(cached / each, 4), "goal": "< 0.01x"},
    ]


if __name__ == "__main__":
    main(sys.argv[1:])
