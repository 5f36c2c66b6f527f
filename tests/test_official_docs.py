"""GB/T 9704-2012 layout of the 通报 drafts and the 督办单: read back with python-docx, and
rendered by LibreOffice (one conversion per document kind, session-scoped)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import docx
import pdfplumber
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt

from notifications.notice_docx import Listed, Notice, write_docx
from notifications.supervision_docx import item_text, write_supervision_sheet
from plan.supervision import EarlierRung, SheetItem, SupervisionSheet, supervision_number

D = dt.date
TITLE = "上海市知识产权局关于对2024年上半年知识产权行政保护工作不力单位予以通报批评的通报"
FACT = "截至7月20日，奉贤区知识产权局仍未报送半年度工作总结，已逾期10个工作日。"


def notice() -> Notice:
    return Notice("criticise", "half-year", 2024, "2024年上海市知识产权行政保护工作实施方案",
                  "沪知局保〔2024〕15号", "各区知识产权局", "上海市知识产权局", D(2024, 7, 20),
                  (Listed("奉贤区知识产权局", (FACT,)),), draft=True, rectify_due=D(2024, 8, 16),
                  public=True, cc="国家知识产权局知识产权保护司")


def sheet(earlier: tuple[EarlierRung, ...] = (EarlierRung("chase", D(2024, 7, 8)),)) -> SupervisionSheet:
    return SupervisionSheet(
        number=supervision_number(year=2024, period_code="半年", unit_sequence=7),
        unit_id="fengxian", unit_name="奉贤区知识产权局",
        items=(SheetItem("half-year-summary", "半年度工作总结", D(2024, 7, 5), 10, ("word", "pdf-stamped"), True,
                         earlier),),
        issued_on=D(2024, 7, 19), deadline=D(2024, 7, 26),
        feedback="请于2024年7月26日前将上述材料发送至 shszcj@126.com，邮件标题注明督办编号。",
        issuer="上海市知识产权局（知识产权保护处）", doc_number="沪知局保〔2024〕15号",
        mailbox="shszcj@126.com", contacts=(("凌捷", "23170402"), ("胡中鹤", "23170413")))


@pytest.fixture(scope="session")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("official")
    return {"notice": write_docx(notice(), folder / "criticise-draft.docx"),
            "sheet": write_supervision_sheet(sheet(), folder / "supervision.docx")}


@pytest.fixture(scope="session")
def pdfs(documents: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: .ci/run installs libreoffice-writer-nogui"
    profile = tmp_path_factory.mktemp("lo-profile")
    out = tmp_path_factory.mktemp("pdf")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf",
                    "--outdir", str(out), *map(str, documents.values())], check=True, capture_output=True)
    return {kind: out / f"{path.stem}.pdf" for kind, path in documents.items()}


def east_asia(style: object) -> str:
    return style.element.rPr.rFonts.get(qn("w:eastAsia"))  # type: ignore[attr-defined]


def by_style(document: object, name: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == name and p.text]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["notice", "sheet"])
def test_page_margins_grid_and_page_number(documents, kind):
    document = docx.Document(str(documents[kind]))
    section = document.sections[0]
    def mm(length: int) -> float:  # stored in twips, so compare to a tenth of a millimetre
        return round(length / 36000, 1)  # EMU per millimetre

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.left_margin), mm(section.right_margin),
            mm(section.bottom_margin)) == (37, 28, 26, 35)
    assert mm(section.page_width - section.left_margin - section.right_margin) == 156
    assert mm(section.page_height - section.top_margin - section.bottom_margin) == 225
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"  # 28.95 pt: 22 lines in 225 mm
    # Page numbers: a PAGE field, odd pages right and even pages left.
    assert document.settings.odd_and_even_pages_header_footer
    for footer, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                         (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        para = footer.paragraphs[0]
        assert para.text == "— 1 —" and para.alignment == side and para.style.name == "GB Page Number"
        assert [t.text for t in para._p.iter(qn("w:instrText"))] == [" PAGE "]
    number = document.styles["GB Page Number"]
    assert number.font.size == Pt(14) and east_asia(number) == "宋体"
    # Styles are defined once: no run carries its own font or size.
    for para in document.paragraphs:
        for run in para.runs:
            assert run.font.size is None and run.font.name is None


def test_styles_per_paragraph_kind(documents):
    document = docx.Document(str(documents["notice"]))
    expected = {"GB Mark": ("方正小标宋简体", 36), "GB Title": ("方正小标宋简体", 22), "GB Body": ("仿宋_GB2312", 16),
                "GB Heading 1": ("黑体", 16), "GB Heading 2": ("楷体_GB2312", 16), "GB Imprint": ("仿宋_GB2312", 14)}
    for name, (font, size) in expected.items():
        style = document.styles[name]
        assert (east_asia(style), style.font.size) == (font, Pt(size)), name
    body = document.styles["GB Body"].paragraph_format
    assert body.first_line_indent == Pt(32)  # two characters
    assert body.line_spacing_rule == WD_LINE_SPACING.EXACTLY and body.line_spacing == Pt(28.95)
    assert str(document.styles["GB Mark"].font.color.rgb) == "FF0000"
    # The fallback chain is declared in the font table.
    table = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob
    text = table.decode("utf-8")
    assert 'w:name="方正小标宋简体"><w:altName w:val="华文中宋"/>' in text
    assert 'w:name="华文中宋"><w:altName w:val="宋体"/>' in text


def test_notice_parts_in_order(documents):
    document = docx.Document(str(documents["notice"]))
    assert by_style(document, "GB Draft Mark") == ["草稿"]
    assert by_style(document, "GB Mark") == ["上海市知识产权局文件"]
    assert by_style(document, "GB Number") == ["沪知局保〔2024〕　　号"]
    rule = next(p for p in document.paragraphs if p.style.name == "GB Number" and p.text)
    assert rule._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:color")) == "FF0000"
    assert by_style(document, "GB Title") == [TITLE]
    assert by_style(document, "GB Addressee") == ["各区知识产权局："]
    assert by_style(document, "GB Heading 1") == ["一、基本情况", "二、通报决定", "三、有关要求"]
    assert FACT in by_style(document, "GB Body")
    assert by_style(document, "GB Signature") == ["上海市知识产权局", "2024年7月20日"]
    date = next(p for p in document.paragraphs if p.text == "2024年7月20日")
    assert date.paragraph_format.right_indent == Pt(64)  # 右空四字
    assert by_style(document, "GB Note") == ["（此件主动公开）"]
    assert by_style(document, "GB Imprint") == ["抄送：国家知识产权局知识产权保护司。",
                                                "上海市知识产权局办公室\t2024年7月20日印发"]
    last = document.paragraphs[-1]._p.pPr.find(qn("w:pBdr"))
    assert last.find(qn("w:bottom")) is not None  # 版记 closes with a rule
    header = document.sections[0].header.paragraphs[0].text
    assert header == "草稿——未经局领导审定，不得印发"


def test_supervision_sheet_parts(documents):
    document = docx.Document(str(documents["sheet"]))
    assert by_style(document, "GB Mark") == ["上海市知识产权局"]
    assert by_style(document, "GB Number") == ["督〔2024〕半年第07号"]
    assert by_style(document, "GB Title") == ["督办单"]
    assert by_style(document, "GB Addressee") == ["奉贤区知识产权局："]
    assert by_style(document, "GB Heading 1") == ["一、督办事项", "二、办理时限", "三、反馈要求",
                                                  "四、督办单位和联系人"]
    body = by_style(document, "GB Body")
    assert "请于2024年7月26日前办结上述事项。" in body
    assert ("督办单位：上海市知识产权局（知识产权保护处）。联系人：凌捷，电话23170402；胡中鹤，电话23170413。"
            "邮箱：shszcj@126.com。") in body
    assert by_style(document, "GB Signature") == ["上海市知识产权局", "2024年7月19日"]
    assert not document.sections[0].header.paragraphs[0].text  # a sheet is issued, not a draft


def test_supervision_items_name_only_rungs_that_were_sent():
    item = sheet().items[0]
    assert item_text(1, item, "7月19日") == (
        "1．半年度工作总结应于7月5日前报送，截至7月19日已逾期10个工作日。请报送Word版、盖章PDF版，"
        "并附行政保护案件统计表。此前已于7月8日催办。")
    first = sheet(earlier=()).items[0]
    assert item_text(1, first, "7月19日") == (
        "1．半年度工作总结应于7月5日前报送，截至7月19日已逾期10个工作日。请报送Word版、盖章PDF版，"
        "并附行政保护案件统计表。")


@pytest.mark.parametrize(("kind", "expected"), [
    ("notice", ["上海市知识产权局文件", "沪知局保〔2024〕", TITLE]),
    ("sheet", ["上海市知识产权局", "督〔2024〕半年第07号", "督办单"]),
])
def test_rendered_page_one_is_a4_with_masthead_number_and_title(pdfs, kind, expected):
    with pdfplumber.open(pdfs[kind]) as pdf:
        page = pdf.pages[0]
        assert (round(page.width), round(page.height)) == (595, 842)
        text = "".join((page.extract_text() or "").split())
    for part in expected:
        assert "".join(part.split()) in text, part
    info = subprocess.run(["pdfinfo", str(pdfs[kind])], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in info


@pytest.mark.parametrize("draft", [False, True])
def test_the_empty_document_kept_per_process_is_the_document_built_afresh(draft: bool, tmp_path: Path) -> None:
    """Documents start from .docx bytes built once per process; reopening them must give
    back every part as built (styles, font table, page setup, footers, draft header)."""
    import io
    import zipfile

    from notifications.gbt9704 import OfficialDocument
    from notifications.gbt9704_styles import empty_document_bytes, styled_document

    built = io.BytesIO()
    styled_document(draft=draft).save(built)
    document = OfficialDocument(draft=draft)
    if draft:  # the body's first paragraph, which the fresh document gets the same way
        styled = styled_document(draft=draft)
        styled.add_paragraph("草稿", style="GB Draft Mark")
        built = io.BytesIO()
        styled.save(built)
    fresh, kept = zipfile.ZipFile(built), zipfile.ZipFile(document.save(tmp_path / "kept.docx"))
    assert fresh.namelist() == kept.namelist()
    for name in fresh.namelist():
        assert fresh.read(name) == kept.read(name), name
    assert b"GB Page Number" in fresh.read("word/styles.xml")
    headers = [fresh.read(n).decode() for n in fresh.namelist() if n.startswith("word/header")]
    assert any("草稿" in h for h in headers) is draft
    assert empty_document_bytes(draft=draft) is empty_document_bytes(draft=draft)  # built once


def test_documents_are_packaged_as_python_docx_packages_them(tmp_path: Path) -> None:
    """Only word/document.xml is built per document; python-docx reading and saving the file
    again must give back every part unchanged."""
    import io
    import zipfile

    for path in (write_supervision_sheet(sheet(), tmp_path / "sheet.docx"), write_docx(notice(), tmp_path / "n.docx")):
        resaved = io.BytesIO()
        docx.Document(str(path)).save(resaved)
        ours, theirs = zipfile.ZipFile(path), zipfile.ZipFile(resaved)
        assert ours.namelist() == theirs.namelist()
        for name in ours.namelist():
            assert ours.read(name) == theirs.read(name), (path.name, name)
        assert "督办单" in ours.read("word/document.xml").decode() or path.name == "n.docx"


# -- the builder against the one it replaced (issue #13) ------------------------------------
# Paragraphs are written as text and the fixed parts deflated once; the documents must be
# the ones python-docx objects and zipfile made (tests/official_doc_oracle.py), byte for byte.

STAMP = (2024, 7, 19, 16, 5, 42)
AWKWARD = " A&B <公司> \"引号\" 'x' ]]> 　全角空格　"  # escapes, white space at both ends, U+3000


def awkward_sheets() -> list[SupervisionSheet]:
    from dataclasses import replace

    base = sheet()
    items = tuple(SheetItem(f"m{n}", f"事项{n}{AWKWARD if n == 2 else ''}", D(2024, 6, n + 1), n,
                            ("word", "xlsx", "odd-format")[: n % 4], n % 2 == 0,
                            tuple(EarlierRung(k, D(2024, 7, n % 5 + 1)) for k in ("remind", "chase")[: n % 3]))
                  for n in range(1, 13))
    return [base, sheet(earlier=()),
            replace(base, unit_name=AWKWARD, items=items, feedback="第一行　\n第二行\r\n\t缩进 😀 末尾 "),
            # a signer wider than the date: the right indent is clamped at four characters
            replace(base, issuer="上海市知识产权局知识产权保护和运用促进中心（综合处）", contacts=())]


def awkward_notices() -> list[Notice]:
    from dataclasses import replace

    base = notice()
    return [base, replace(base, draft=False, public=False, cc=None),
            replace(base, kind="commend", units=(Listed("甲&乙", ()), Listed(AWKWARD, ("事实一。", "事实二\t。")))),
            replace(base, addressees=AWKWARD, cc=AWKWARD, signer="局", rectify_due=None)]


def oracle_bytes(lay_out, thing, path: Path, *, draft: bool = False) -> bytes:
    from tests.official_doc_oracle import OracleDocument

    document = OracleDocument(draft=draft)
    lay_out(document, thing)
    return document.save(path, STAMP).read_bytes()


def test_sheets_are_the_documents_the_python_docx_builder_made(tmp_path: Path) -> None:
    from notifications.gbt9704 import OfficialDocument
    from notifications.supervision_docx import lay_out_sheet

    for n, item in enumerate(awkward_sheets()):
        ours = OfficialDocument()
        lay_out_sheet(ours, item)
        new = ours.save(tmp_path / f"new{n}.docx", date_time=STAMP).read_bytes()
        assert new == oracle_bytes(lay_out_sheet, item, tmp_path / f"old{n}.docx"), n
    # the awkward one is really awkward: escapes, preserved spaces, breaks and tabs
    import zipfile

    xml = zipfile.ZipFile(tmp_path / "new2.docx").read("word/document.xml").decode()
    for fragment in ("A&amp;B &lt;公司&gt;", 'xml:space="preserve"', "<w:br/>", "<w:tab/>", "😀"):
        assert fragment in xml, fragment


def test_notices_are_the_documents_the_python_docx_builder_made(tmp_path: Path) -> None:
    from notifications.gbt9704 import OfficialDocument
    from notifications.notice_docx import lay_out_notice

    for n, item in enumerate(awkward_notices()):
        ours = OfficialDocument(draft=item.draft)
        lay_out_notice(ours, item)
        new = ours.save(tmp_path / f"new{n}.docx", date_time=STAMP).read_bytes()
        assert new == oracle_bytes(lay_out_notice, item, tmp_path / f"old{n}.docx", draft=item.draft), n


@pytest.mark.parametrize("text", ["a\x00b", "垂直\x0b制表", "\x1f"])
def test_text_xml_cannot_hold_is_refused_as_before(text: str) -> None:
    from notifications.gbt9704 import OfficialDocument
    from tests.official_doc_oracle import OracleDocument

    with pytest.raises(ValueError):
        OracleDocument().paragraph(text)
    with pytest.raises(ValueError):
        OfficialDocument().paragraph(text)


def test_the_empty_document_is_the_same_in_every_process() -> None:
    """Python salts string hashes per process: nothing in the package may follow a set's
    order (the font table did), or each run's documents differ."""
    import sys

    script = ("import hashlib, io, zipfile\n"
              "from notifications.gbt9704_styles import empty_document_bytes\n"
              "package = zipfile.ZipFile(io.BytesIO(empty_document_bytes(draft=True)))\n"
              "print([(n, hashlib.sha256(package.read(n)).hexdigest()) for n in package.namelist()])\n")
    root = Path(__file__).resolve().parents[1]
    runs = {subprocess.run([sys.executable, "-c", script], cwd=root, check=True, capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}).stdout
            for seed in ("1", "2", "3", "4")}
    assert len(runs) == 1
    assert "word/fontTable.xml" in runs.pop()
