"""Build themes/default/reference.docx: pandoc's own reference document with the theme's styles.

    .venv/bin/python themes/default/make_reference_docx.py

pandoc takes from a reference document its styles, theme, fonts, settings and the last section's
properties (page size, margins, header and footer references, with the parts they point to). We start
from pandoc's default, so every style pandoc emits exists, and change it with lxml:

- DejaVu Serif for text, DejaVu Sans for headings and captions, DejaVu Sans Mono for code;
- Heading 1 (parts, or chapters in a book without parts, and the back matter) and TOC Heading, which
  is based on it, start a new page: the title page, the contents and the first chapter stand apart;
- "Source Code", "Diagram", "Glossary Letter", "Callout", "Callout Title" and "Properties" paragraph styles, TOC 1-3,
  Caption, Header and Footer;
- A4 with 2.5 cm margins, a centred page number in the footer and none on the title page.

The zip is written with sorted entries and fixed timestamps: running this again gives the same bytes.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pypandoc
from lxml import etree

TARGET = Path(__file__).resolve().parent / "reference.docx"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS = f'xmlns:w="{W}" xmlns:r="{R}"'
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

SERIF, SANS, MONO = "DejaVu Serif", "DejaVu Sans", "DejaVu Sans Mono"
PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 11906, 16838, 1418  # twips: A4, 2.5 cm margins
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN

# Schema order of the children of w:style, w:pPr, w:rPr and w:sectPr: Word rejects other orders.
STYLE_ORDER = ("name aliases basedOn next link autoRedefine hidden uiPriority semiHidden unhideWhenUsed qFormat "
               "locked personal personalCompose personalReply rsid pPr rPr tblPr trPr tcPr tblStylePr").split()
PPR_ORDER = ("pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
             "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
             "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
             "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange").split()
RPR_ORDER = ("rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof "
             "snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u effect bdr shd "
             "fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath").split()
SECTPR_ORDER = ("headerReference footerReference footnotePr endnotePr type pgSz pgMar paperSrc pgBorders "
                "lnNumType pgNumType cols formProt vAlign noEndnote titlePg textDirection bidi rtlGutter "
                "docGrid printerSettings sectPrChange").split()
ORDER = {"style": STYLE_ORDER, "pPr": PPR_ORDER, "rPr": RPR_ORDER, "sectPr": SECTPR_ORDER}


def fonts(name: str) -> str:
    return f'<w:rFonts w:ascii="{name}" w:hAnsi="{name}" w:cs="{name}" w:eastAsiaTheme="minorEastAsia"/>'


def size(points: float) -> list[str]:
    return [f'<w:sz w:val="{round(points * 2)}"/>', f'<w:szCs w:val="{round(points * 2)}"/>']


def spacing(before: int = 0, after: int = 0, line: int = 240) -> str:
    return f'<w:spacing w:before="{before}" w:after="{after}" w:line="{line}" w:lineRule="auto"/>'


BLACK = '<w:color w:val="1A1A1A"/>'
RIGHT_TAB = f'<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{TEXT_WIDTH}"/></w:tabs>'
EDGE_TABS = f'<w:tabs><w:tab w:val="center" w:pos="{TEXT_WIDTH // 2}"/><w:tab w:val="right" w:pos="{TEXT_WIDTH}"/></w:tabs>'

# Changes to styles pandoc's reference already has: styleId -> (pPr children, rPr children).
CHANGES: dict[str, tuple[list[str], list[str]]] = {
    "BodyText": ([spacing(0, 160, 276)], []),
    "Compact": ([spacing(40, 40, 276)], []),
    "Title": ([spacing(2880, 240), '<w:jc w:val="center"/>'], [fonts(SANS), '<w:b/>', BLACK, *size(28)]),
    "Subtitle": ([spacing(0, 720)], [fonts(SANS), BLACK, *size(16)]),
    "Author": ([spacing(0, 120)], [fonts(SANS), *size(13)]),
    "Date": ([spacing(0, 120)], [fonts(SANS), *size(11)]),
    "Heading1": (['<w:pageBreakBefore/>', spacing(1440, 480)], [fonts(SANS), '<w:b/>', BLACK, *size(22)]),
    "Heading2": ([spacing(480, 240)], [fonts(SANS), '<w:b/>', BLACK, *size(17)]),
    "Heading3": ([spacing(360, 120)], [fonts(SANS), '<w:b/>', BLACK, *size(14)]),
    "Heading4": ([spacing(240, 80)], [fonts(SANS), '<w:b/>', '<w:i w:val="0"/>', BLACK, *size(12)]),
    "Heading5": ([spacing(200, 60)], [fonts(SANS), '<w:b/>', '<w:i/>', BLACK, *size(11)]),
    "Heading6": ([spacing(200, 60)], [fonts(SANS), '<w:i/>', BLACK, *size(11)]),
    "TOCHeading": ([spacing(1440, 480)], [fonts(SANS), '<w:b/>', BLACK, *size(22)]),
    "BlockText": ([], ['<w:i/>']),
    "Caption": ([spacing(60, 240)], [fonts(SANS), '<w:i/>', *size(9)]),
    "TableCaption": (['<w:keepNext/>', spacing(240, 60)], []),
    "FootnoteText": ([spacing(0, 60)], [*size(9)]),
    "VerbatimChar": ([], [fonts(MONO), '<w:noProof/>', *size(9.5)]),
    "Hyperlink": ([], ['<w:color w:val="1F4E79"/>']),
}
for level in range(7, 10):
    CHANGES[f"Heading{level}"] = ([], [fonts(SANS), BLACK])


def style(ident: str, name: str, based_on: str, ppr: list[str], rpr: list[str], *, next_style: str = "",
          builtin: int = 0) -> str:
    """A paragraph style; builtin: the UI priority of one of Word's own (toc 1, footer), else custom."""
    return (f'<w:style {NS} w:type="paragraph"' + ("" if builtin else ' w:customStyle="1"') + f' w:styleId="{ident}">'
            f'<w:name w:val="{name}"/><w:basedOn w:val="{based_on}"/>' + (f'<w:next w:val="{next_style}"/>' if next_style else "")
            + (f'<w:uiPriority w:val="{builtin}"/><w:unhideWhenUsed/>' if builtin else "") + '<w:qFormat/>'
            + f'<w:pPr>{"".join(ppr)}</w:pPr><w:rPr>{"".join(rpr)}</w:rPr></w:style>')


CALLOUT_BOX = ('<w:pBdr><w:top w:val="single" w:sz="4" w:space="4" w:color="8AA4C8"/>'
               '<w:left w:val="single" w:sz="24" w:space="8" w:color="3D6AA8"/>'
               '<w:bottom w:val="single" w:sz="4" w:space="4" w:color="8AA4C8"/>'
               '<w:right w:val="single" w:sz="4" w:space="8" w:color="8AA4C8"/></w:pBdr>')
CALLOUT_FILL = '<w:shd w:val="clear" w:color="auto" w:fill="F2F6FB"/>'
CALLOUT_INDENT = '<w:ind w:left="227" w:right="227"/>'

# Styles we add (or replace): pandoc emits SourceCode for code blocks but its reference lacks it.
NEW_STYLES = [
    style("SourceCode", "Source Code", "Normal", ['<w:keepLines/>', '<w:shd w:val="clear" w:color="auto" w:fill="F5F5F5"/>',
                                                  spacing(120, 120)],
          [fonts(MONO), '<w:noProof/>', *size(9)], next_style="BodyText"),
    style("Diagram", "Diagram", "SourceCode",
          ['<w:keepNext/>', '<w:keepLines/>', '<w:shd w:val="clear" w:color="auto" w:fill="auto"/>',
           '<w:autoSpaceDE w:val="0"/>', '<w:autoSpaceDN w:val="0"/>', '<w:snapToGrid w:val="0"/>',
           spacing(160, 160), '<w:ind w:left="0" w:right="0" w:firstLine="0"/>', '<w:jc w:val="left"/>'],
          [fonts(MONO), '<w:noProof/>', '<w:kern w:val="0"/>', *size(9)], next_style="BodyText"),
    style("GlossaryLetter", "Glossary Letter", "Normal", ['<w:keepNext/>', spacing(360, 120)],
          [fonts(SANS), '<w:b/>', BLACK, *size(13)], next_style="DefinitionTerm"),
    # A callout's paragraphs: Word draws consecutive paragraphs with the same borders as one box.
    style("Callout", "Callout", "BodyText", [CALLOUT_BOX, CALLOUT_FILL, spacing(60, 60, 276), CALLOUT_INDENT], []),
    style("CalloutTitle", "Callout Title", "Callout", ['<w:keepNext/>', CALLOUT_BOX, CALLOUT_FILL, spacing(120, 60),
                                                      CALLOUT_INDENT], [fonts(SANS), '<w:b/>', BLACK]),
    # An article's properties (manifest `properties:`): one small grey line under its title.
    style("Properties", "Properties", "BodyText", ['<w:keepNext/>', spacing(0, 200)],
          [fonts(SANS), '<w:color w:val="555555"/>', *size(9)]),
    *(style(f"TOC{n}", f"toc {n}", "Normal", [RIGHT_TAB, spacing(120 if n == 1 else 0, 60),
                                              f'<w:ind w:left="{(n - 1) * 360}"/>'],
            [fonts(SANS if n == 1 else SERIF), *(['<w:b/>'] if n == 1 else [])], next_style="Normal", builtin=39)
      for n in (1, 2, 3)),
    *(style(ident, ident.lower(), "Normal", [EDGE_TABS, spacing(0, 0), '<w:jc w:val="center"/>'], [fonts(SANS), *size(9)],
            builtin=99) for ident in ("Header", "Footer")),
]

FOOTER = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:ftr {NS}><w:p><w:pPr><w:pStyle w:val="Footer"/>'
          '</w:pPr><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText>'
          '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
          '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>')
FOOTER_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer"
FOOTER_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"
FOOTER_RID = "rIdPublisherFooter"
SECTION = [
    f'<w:footerReference w:type="default" r:id="{FOOTER_RID}"/>',
    f'<w:pgSz w:w="{PAGE_WIDTH}" w:h="{PAGE_HEIGHT}"/>',
    f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}" w:header="709" '
    'w:footer="709" w:gutter="0"/>',
    '<w:titlePg/>',  # the title page has its own (absent) footer: no page number on it
]


def element(xml: str) -> etree._Element:
    return etree.fromstring(f"<w:wrap {NS}>{xml}</w:wrap>")[0]


def put(parent: etree._Element, xml: str) -> etree._Element:
    """Set a child (replacing one of the same name) where the schema wants it."""
    child = element(xml)
    order = ORDER[etree.QName(parent).localname]
    name = etree.QName(child).localname
    for old in parent.findall(child.tag):
        parent.remove(old)
    later = [c for c in parent if etree.QName(c).localname in order and order.index(etree.QName(c).localname) > order.index(name)]
    if later:
        later[0].addprevious(child)
    else:
        parent.append(child)
    return child


def edit_styles(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    defaults = root.find(f"{{{W}}}docDefaults/{{{W}}}rPrDefault/{{{W}}}rPr")
    for child in (fonts(SERIF), *size(11)):
        put(defaults, child)
    by_id = {s.get(f"{{{W}}}styleId"): s for s in root.iter(f"{{{W}}}style")}
    for ident, (ppr, rpr) in CHANGES.items():
        node = by_id[ident]
        for tag, children in (("pPr", ppr), ("rPr", rpr)):
            if children:
                props = node.find(f"{{{W}}}{tag}")
                props = props if props is not None else put(node, f"<w:{tag}/>")
                for child in children:
                    put(props, child)
    subtitle_numbering = by_id["Subtitle"].find(f"{{{W}}}pPr/{{{W}}}numPr")
    if subtitle_numbering is not None:  # pandoc's default numbers the subtitle's level: not in a book
        subtitle_numbering.getparent().remove(subtitle_numbering)
    for xml_style in NEW_STYLES:
        new = element(xml_style)
        old = by_id.get(new.get(f"{{{W}}}styleId"))
        if old is not None:
            root.replace(old, new)
        else:
            root.append(new)
    return serialize(root)


def edit_theme(xml: bytes) -> bytes:
    """The theme's heading and body fonts too, so Word's font list names them."""
    root = etree.fromstring(xml)
    for kind, name in (("majorFont", SANS), ("minorFont", SERIF)):
        latin = root.find(f".//{{{A}}}{kind}/{{{A}}}latin")
        latin.attrib.clear()
        latin.set("typeface", name)
    return serialize(root)


def edit_document(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    section = root.find(f"{{{W}}}body/{{{W}}}sectPr")
    for child in SECTION:
        put(section, child)
    return serialize(root)


def edit_relationships(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    ns = root.nsmap[None]
    etree.SubElement(root, f"{{{ns}}}Relationship", Id=FOOTER_RID, Type=FOOTER_TYPE, Target="footer1.xml")
    return serialize(root)


def edit_content_types(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    ns = root.nsmap[None]
    etree.SubElement(root, f"{{{ns}}}Override", PartName="/word/footer1.xml", ContentType=FOOTER_CONTENT_TYPE)
    return serialize(root)


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


EDITS = {
    "word/styles.xml": edit_styles,
    "word/theme/theme1.xml": edit_theme,
    "word/document.xml": edit_document,
    "word/_rels/document.xml.rels": edit_relationships,
    "[Content_Types].xml": edit_content_types,
}


def main() -> None:
    default = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                             capture_output=True, check=True).stdout
    with zipfile.ZipFile(io.BytesIO(default)) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    parts = {name: EDITS.get(name, lambda data: data)(data) for name, data in parts.items()}
    parts["word/footer1.xml"] = FOOTER.encode("utf-8")
    names = ["[Content_Types].xml", *sorted(n for n in parts if n != "[Content_Types].xml")]
    with zipfile.ZipFile(TARGET, "w") as zout:
        for name in names:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, parts[name])
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
