"""The chart draws Chinese with Noto Sans SC from the pylopdf-fonts-zh-cn dependency (found through the package's
API), whatever fonts the machine has; without any CJK font, English labels and a caption that says so."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fontTools.ttLib import TTFont

from sentibot import i18n
from sentibot.resources import DICT_DIR
from sentibot.score import rescore
from sentibot.store.db import open_store
from sentibot.views import chart
from tests.score.test_scoring_pipeline import DAYS, at, seed


PACKAGED = chart.packaged_font()


def _wide(text: str) -> set[str]:
    """The characters no Latin font has: CJK ideographs, CJK punctuation, full-width forms."""
    return {ch for ch in text if ord(ch) >= 0x2E80 and not 0xFE00 <= ord(ch) <= 0xFE0F}  # not emoji selectors


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("chart") / "h.db")
    seed(db)
    rescore.rescore(db, at(DAYS[-1]), since=DAYS[0].date())
    return db


def _texts(fig) -> list:
    """Every text artist of the figure: title, axis labels, legends, annotations."""
    found = list(fig.texts)
    for ax in fig.axes:
        found += [ax.yaxis.label, *ax.texts]
        legend = ax.get_legend()
        if legend:
            found += legend.get_texts()
    return [t for t in found if t.get_text()]


def _draw(fig) -> list[str]:
    """Render to PNG and return matplotlib's missing-glyph warnings (a glyph drawn as an empty box)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_the_font_comes_from_the_dependency_and_covers_the_catalog_and_every_company_name():
    import pylopdf_fonts_zh_cn

    assert PACKAGED is not None and PACKAGED.is_relative_to(Path(pylopdf_fonts_zh_cn.__file__).parent)
    assert chart.cjk_font() == str(PACKAGED)  # the dependency's, not one of the machine's fonts
    font = TTFont(str(PACKAGED))
    assert font["name"].getDebugName(1) == "Noto Sans SC"
    cmap = font.getBestCmap()
    assert {ord("北"), ord("证")} <= set(cmap)
    with open(i18n.catalog_path("zh"), "rb") as fh:
        catalog = read_po(fh)
    wanted = set().union(*(_wide(m.string if isinstance(m.string, str) else "".join(m.string)) for m in catalog))
    wanted |= _wide((DICT_DIR / "bse_companies.txt").read_text(encoding="utf-8"))
    wanted -= {ch for ch in wanted if 0x1F000 <= ord(ch)}  # emoji: Telegram draws those, charts never use them
    assert wanted and not {ch for ch in wanted if ord(ch) not in cmap}


@pytest.mark.slow
def test_a_chinese_chart_draws_every_label_with_the_packaged_font(db):
    fig = chart.chart_figure(db, 60, lang="zh")
    texts = _texts(fig)
    labels = [t.get_text() for t in texts]
    assert "北证50 收盘" in labels and "热度分" in labels and any(t.startswith("北证50 热度") for t in labels)
    chinese = [t for t in texts if _wide(t.get_text())]
    assert chinese and all(Path(t.get_fontproperties().get_file()) == PACKAGED for t in chinese)
    assert _draw(fig) == []


@pytest.mark.slow
def test_the_check_sees_a_missing_glyph():
    """The control for the test above: Chinese in matplotlib's default font (DejaVu Sans) is reported."""
    from matplotlib.figure import Figure

    fig = Figure()
    fig.suptitle("北证50")
    assert _draw(fig)


@pytest.mark.slow
def test_without_any_cjk_font_the_labels_are_english_and_the_caption_says_so(db, monkeypatch):
    monkeypatch.setattr(chart, "cjk_font", lambda: None)  # fault injection: no CJK font at all
    fig = chart.chart_figure(db, 60, lang="zh")
    labels = [t.get_text() for t in _texts(fig)]
    assert "BSE 50 close" in labels and not any(_wide(label) for label in labels)
    assert _draw(fig) == []
    caption = chart.chart_caption(db, "zh")
    assert caption.startswith("北证50：") and "没有找到中文字体，图中文字改用英文" in caption
    assert "English" not in chart.chart_caption(db, "en")  # an English chart needs no CJK font: nothing to say


@pytest.mark.slow
def test_a_stock_chart_draws_its_chinese_name_and_labels_without_missing_glyphs(tmp_path):
    from sentibot.score import replay
    from sentibot.store.stock_names import resolve
    from sentibot.views import stock_chart
    from tests.support.stock_world import write_stock_files

    db = open_store(tmp_path / "h.db")
    replay.replay(db, *write_stock_files(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = stock_chart.render_stock_chart(db, resolve(db, "凯华材料"), tmp_path / "stock.png")
    assert out.stat().st_size > 10_000
    assert not [w for w in caught if "missing from font" in str(w.message)]
