"""The one-page A4 PDF 简报 (期号, five key figures, units missing documents, proposed
actions), rendered from HTML+CSS with WeasyPrint.  Fonts are asked for by family name with
fallbacks, so the machine's installed CJK font is used."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from notifications.digest_render import DigestView, Items, environment, headline


def _units(items: Sequence[dict[str, Any]]) -> set[str]:
    # the view's lists are Items (read lazily); counting their units needs no dicts
    return items.units() if isinstance(items, Items) else {i["unit"] for i in items}


def brief_html(v: DigestView, number: int) -> str:
    missing_units = [{"name": u["name"], "missing": u["missing"], "max_days": u["max_days"],
                      "titles": "、".join(u["missing_titles"][:3]) + ("等" if u["missing"] > 3 else "")}
                     for u in sorted(v.units, key=lambda u: (-u["missing"], -u["max_days"]))
                     if u["missing"] and not u["task_only"]]
    context: dict[str, Any] = {**v.as_dict(), "number": number, "headline": headline(v),
                               "missing_units": missing_units,
                               "supervised_units": len(_units(v.supervise))}
    return environment().get_template("digest_brief.html").render(context)


def write_brief(v: DigestView, number: int, target: Path) -> Path:
    from weasyprint import HTML  # imported here: pango loads only when a brief is made

    target.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=brief_html(v, number)).write_pdf(target)
    return target
