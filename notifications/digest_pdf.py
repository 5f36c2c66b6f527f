"""The one-page A4 PDF 简报 (期号, five key figures, units missing documents, proposed
actions), rendered from HTML+CSS with WeasyPrint.  Fonts are asked for by family name with
fallbacks, so the machine's installed CJK font is used."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
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


log = logging.getLogger("duban.digest")


def draw_pdf(html: str, target: Path) -> Path:
    from weasyprint import HTML  # imported here: pango loads only when a brief is made

    target.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html).write_pdf(target)
    return target


# What the child process runs: draw_pdf's two lines, on the HTML the parent wrote.  Not an
# import of this module, whose Jinja environment and digest views would double its start.
_CHILD = ("import sys\nfrom pathlib import Path\nfrom weasyprint import HTML\n"
          "HTML(string=Path(sys.argv[1]).read_text(encoding='utf-8')).write_pdf(sys.argv[2])\n")


class BriefInBackground:
    """The brief's PDF drawn in a child process while this one writes the dashboard and the
    workbook: importing WeasyPrint and pango and laying out the page is about a second of
    CPU, which a second core does meanwhile (issue #13: the digest at national scale).

    :meth:`result` waits for it; if the child could not start or failed, the PDF is drawn in
    this process (with a warning in the log), so the brief never depends on the helper.  Used
    as a context manager, so an error elsewhere in the digest stops the child and removes the
    HTML it was given.
    """

    def __init__(self, html: str, target: Path) -> None:
        self.html, self.target = html, target
        target.parent.mkdir(parents=True, exist_ok=True)
        self._source = target.with_name(f".{target.name}.html")
        self._source.write_text(html, encoding="utf-8")
        try:
            self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(self._source), str(target)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as err:
            log.warning("简报 PDF 的子进程未能启动（%s），改在本进程生成", err)
            self._child = None

    def result(self) -> Path:
        if self._child is not None:
            _, err = self._child.communicate()
            if self._child.returncode == 0 and self.target.is_file():
                return self.target
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            log.warning("简报 PDF 的子进程失败（退出码 %s：%s），改在本进程生成", self._child.returncode, tail[0])
            self._child = None
        return draw_pdf(self.html, self.target)

    def __enter__(self) -> BriefInBackground:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.wait()
        self._source.unlink(missing_ok=True)


def start_brief(v: DigestView, number: int, target: Path) -> BriefInBackground:
    """Start drawing the brief; ``.result()`` is its path once drawn."""
    return BriefInBackground(brief_html(v, number), target)

