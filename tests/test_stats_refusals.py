"""Bad statistics tables: each refused with file + cell, what is wrong and what to do,
exit 1, and nothing recorded (every table's rows unchanged).  Real files, written here."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.conftest import table_snapshot
from tests.test_stats_support import fill


@pytest.fixture
def template(synced, workdir: Path, cli) -> Path:
    path = workdir / "template.xlsx"
    cli("stats", "template", "--unit", "pudong", "--period", "half-year", "-o", str(path), ok=True)
    return path


def _delete_row(ws: Any) -> None:
    ws.unmerge_cells("A8:A10")
    ws.delete_rows(8)


def _swap_rows(ws: Any) -> None:
    ws["B6"], ws["B7"] = "罚没款（万元）", "案值（万元）"


def _formula(ws: Any) -> None:
    ws["C6"] = "=C5*2"


CASES: list[tuple[str, dict[str, Any], Callable[[Any], None] | None, str]] = [
    ("text", {"counterfeit-patent.cases": "十二"}, None,
     "错误：bad.xlsx 统计表!C5：假冒专利案件·案件数（件）「十二」不是数字\n"
     "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0，不要写文字或单位\n"),
    ("negative", {"trademark-infringement.cases": -1}, None,
     "错误：bad.xlsx 统计表!C8：商标侵权案件·案件数（件）-1 是负数\n"
     "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0\n"),
    ("fraction", {"trademark-violation.cases": 2.5}, None,
     "错误：bad.xlsx 统计表!C11：商标一般违法案件·案件数（件）2.5 不是整数\n"
     "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0\n"),
    ("closed-more-than-cases", {"patent-dispute.cases": 3, "patent-dispute.closed": 5}, None,
     "错误：bad.xlsx 统计表!C21：专利侵权纠纷行政裁决案件的结案数（5）大于案件数（3）\n"
     "提示：结案数不能超过案件数，请核对这两格\n"),
    ("formula", {}, _formula,
     "错误：bad.xlsx 统计表!C6：是公式「=C5*2」，文件中没有它的计算结果（公式无缓存值）\n"
     "提示：用 Excel/WPS/LibreOffice 打开后保存一次，或把公式换成数值（复制后“选择性粘贴→数值”）再导入\n"),
    ("decimals", {"counterfeit-patent.value": 1.23456}, None,
     "错误：bad.xlsx 统计表!C6：假冒专利案件·案值（万元）1.23456 超过 4 位小数\n"
     "提示：案值（万元）请填写不小于 0 的数，最多 4 位小数；没有案件的填 0（单位万元，4 位小数即到元）\n"),
    ("blank", {"geographical-indication.fines": None}, None,
     "错误：bad.xlsx 统计表!C16：地理标志案件·罚没款（万元）未填写\n"
     "提示：罚没款（万元）请填写不小于 0 的数，最多 4 位小数；没有案件的填 0\n"),
    ("row-deleted", {}, _delete_row,
     "错误：bad.xlsx 统计表!A8：应为「商标侵权案件」，实际是空白：表格的行被移动、删除或改动了\n"
     "提示：不要增删或移动行；请用 duban stats template 重新生成模板，把数字填进去后再导入\n"),
    ("rows-swapped", {}, _swap_rows,
     "错误：bad.xlsx 统计表!B6：应为「案值（万元）」，实际是「罚没款（万元）」：表格的行被移动、删除或改动了\n"
     "提示：不要增删或移动行；请用 duban stats template 重新生成模板，把数字填进去后再导入\n"),
    ("unknown-unit", {}, lambda ws: ws.__setitem__("B2", "火星区知识产权局"),
     "错误：bad.xlsx 统计表!B2：「火星区知识产权局」不是 plan.yaml 中的单位\n"
     "提示：从下拉列表中选择填报单位（单位全称）\n"),
    ("header-unit-changed", {}, lambda ws: ws.__setitem__("B2", "徐汇区知识产权局"),
     "错误：bad.xlsx 统计表!B2：填报单位被改成了「徐汇区知识产权局」，但这份模板是为「浦东新区知识产权局」生成的\n"
     "提示：请用该单位自己的模板（duban stats template --unit …）填写\n"),
    ("period-unreadable", {}, lambda ws: ws.__setitem__("B3", "第三季度"),
     "错误：bad.xlsx 统计表!B3：统计期间「第三季度」无法识别\n"
     "提示：填写「2024年上半年」或「2024年全年」\n"),
]


@pytest.mark.parametrize(("values", "edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_cell_is_refused(template: Path, workdir: Path, cli, db_url: str, values: dict[str, Any],
                             edit: Callable[[Any], None] | None, expected: str) -> None:
    bad = fill(template, workdir / "bad.xlsx", values=values, edit=edit)
    before = table_snapshot(db_url)
    result = cli("stats", "import", "bad.xlsx", "--today", "2024-07-03")
    assert (result.exit_code, result.stderr) == (1, expected)
    assert bad.exists() and table_snapshot(db_url) == before


def test_every_problem_is_listed_at_once(template: Path, workdir: Path, cli, db_url: str) -> None:
    fill(template, workdir / "bad.xlsx", values={"counterfeit-patent.cases": "三", "trademark-infringement.cases": -2})
    before = table_snapshot(db_url)
    result = cli("stats", "import", "bad.xlsx")
    assert result.exit_code == 1
    assert result.stderr == (
        "错误：bad.xlsx 有 2 处错误，未导入任何内容：\n"
        "  统计表!C5：假冒专利案件·案件数（件）「三」不是数字"
        "（案件数（件）请填写不小于 0 的整数；没有案件的填 0，不要写文字或单位）\n"
        "  统计表!C8：商标侵权案件·案件数（件）-2 是负数（案件数（件）请填写不小于 0 的整数；没有案件的填 0）\n"
        "提示：按每条说明改正后重新导入\n")
    assert table_snapshot(db_url) == before


def test_table_of_another_unit_is_refused(template: Path, workdir: Path, cli, db_url: str) -> None:
    fill(template, workdir / "bad.xlsx")
    before = table_snapshot(db_url)
    result = cli("stats", "import", "bad.xlsx", "--unit", "xuhui")
    assert result.exit_code == 1
    assert result.stderr == (
        "错误：bad.xlsx 统计表!B2：表中填报单位是「浦东新区知识产权局」（pudong），"
        "但--unit 指定的单位是「徐汇区知识产权局」（xuhui）\n"
        "提示：确认这份表是哪个单位的：放到该单位的文件夹，或用正确的 --unit 重新导入\n")
    assert table_snapshot(db_url) == before


def _encrypted(src: Path, dst: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    with src.open("rb") as plain, dst.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)


def _with_macro(src: Path, dst: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")


FILES: list[tuple[str, str, Callable[[Path, Path], None], str]] = [
    ("password", "bad.xlsx", _encrypted,
     "错误：bad.xlsx：文件设置了打开密码，无法读取\n"
     "提示：请取消密码（文件→信息→保护→用密码进行加密，清空密码）后重新报送\n"),
    ("xlsm", "bad.xlsm", lambda s, d: d.write_bytes(s.read_bytes()),
     "错误：bad.xlsm：是含宏的 Office 文件，出于安全考虑不予接收\n"
     "提示：请另存为不含宏的格式（.xlsx / .docx）后重新报送\n"),
    ("vba-inside", "bad.xlsx", _with_macro,
     "错误：bad.xlsx：文件含有宏（vbaProject.bin），出于安全考虑不予接收\n"
     "提示：请另存为不含宏的格式（.xlsx / .docx）后重新报送\n"),
    ("truncated", "bad.xlsx", lambda s, d: d.write_bytes(s.read_bytes()[: s.stat().st_size // 2]),
     "错误：bad.xlsx：文件已损坏或不完整，无法打开\n"
     "提示：请对方重新导出并完整发送该文件（邮件附件可能没有下载完整）\n"),
    ("not-a-workbook", "bad.xlsx", lambda s, d: d.write_text("案件数,3\n", encoding="utf-8"),
     "错误：bad.xlsx：文件内容不是 .xlsx 格式（不是 zip 包），可能已损坏或改了扩展名\n"
     "提示：请对方重新导出并完整发送该文件\n"),
]


@pytest.mark.parametrize(("name", "make", "expected"), [f[1:] for f in FILES], ids=[f[0] for f in FILES])
def test_bad_file_is_refused(template: Path, workdir: Path, cli, db_url: str, name: str,
                             make: Callable[[Path, Path], None], expected: str) -> None:
    make(fill(template, workdir / "good.xlsx"), workdir / name)
    before = table_snapshot(db_url)
    result = cli("stats", "import", name)
    assert (result.exit_code, result.stderr) == (1, expected)
    assert table_snapshot(db_url) == before


def test_file_over_the_size_limit_is_refused(template: Path, workdir: Path, cli, db_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    good = fill(template, workdir / "good.xlsx")
    monkeypatch.setenv("DUBAN_INBOX_MAX_MB", "0.002")  # 2 KB; the filled table is larger
    before = table_snapshot(db_url)
    result = cli("stats", "import", "good.xlsx")
    assert result.exit_code == 1
    size = round(good.stat().st_size / 1024)
    assert result.stderr == (
        f"错误：good.xlsx：文件大小 {size} KB，超过上限 2 KB\n"
        "提示：请压缩或拆分后重新报送；确需接收更大的文件，可设置环境变量 DUBAN_INBOX_MAX_MB\n")
    assert table_snapshot(db_url) == before


def test_unit_that_owes_no_table_is_refused(synced, workdir: Path, cli, db_url: str) -> None:
    cli("stats", "template", "-o", "blank.xlsx", ok=True)
    fill(workdir / "blank.xlsx", workdir / "bad.xlsx", header={"B3": "2024年上半年"})
    before = table_snapshot(db_url)
    result = cli("stats", "import", "bad.xlsx", "--unit", "protection-division")
    assert result.exit_code == 1
    assert result.stderr == (
        "错误：「知识产权保护处」（protection-division）没有需要随统计表报送的上半年工作总结\n"
        "提示：统计表只由 plan.yaml 中 stats_table: true 的报告的报送单位填报；检查单位是否选错\n")
    assert table_snapshot(db_url) == before


def test_missing_header_unit_and_period(synced, workdir: Path, cli) -> None:
    cli("stats", "template", "-o", "blank.xlsx", ok=True)
    fill(workdir / "blank.xlsx", workdir / "bad.xlsx")
    result = cli("stats", "import", "bad.xlsx")
    assert (result.exit_code, result.stderr) == (1, "错误：bad.xlsx 统计表!B2：没有填写填报单位\n"
                                                    "提示：在 B2 选择填报单位，或导入时用 --unit 指定\n")
    result = cli("stats", "import", "bad.xlsx", "--unit", "pudong")
    assert result.stderr == ("错误：bad.xlsx 统计表!B3：没有填写统计期间\n"
                             "提示：在 B3 选择「2024年上半年」或「2024年全年」，或导入时用 --period 指定\n")
    assert cli("stats", "import", "bad.xlsx", "--unit", "pudong", "--period", "half-year").exit_code == 0


def test_a_workbook_is_read_with_openpyxl_only_after_the_checks(tmp_path: Path) -> None:
    # the pure check refuses an encrypted container before openpyxl ever sees it
    from plan.intake_errors import FileRefused
    from plan.intake_files import OLE_MAGIC, load_workbook

    crafted = tmp_path / "x.xlsx"
    crafted.write_bytes(OLE_MAGIC + b"\0" * 100 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 100)
    with pytest.raises(FileRefused, match="文件设置了打开密码"):
        load_workbook(crafted, name="x.xlsx")
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "ok.xlsx")
    assert load_workbook(tmp_path / "ok.xlsx", name="ok.xlsx").sheetnames == ["Sheet"]
