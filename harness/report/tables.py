"""Renderers: a small document model (headings, paragraphs, tables, images) to Markdown and
self-contained HTML; booktabs LaTeX tables; tidy CSV. Output depends only on the input rows:
fixed order, fixed float formatting, no timestamps."""
from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence, Union


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row, column) cells to emphasise
    align: str = ""  # one of "l", "r", "c" per column; default: first column left, the rest right
    rule_before: int | None = None  # a rule above this row (the reference rows below the trained ones)


@dataclass
class Heading:
    text: str
    level: int = 2
    anchor: str = ""  # the HTML id (default: from the text)


@dataclass
class Para:
    text: str


@dataclass
class Image:
    path: str  # relative to the report's folder
    alt: str
    data: bytes | None = None  # PNG bytes, embedded in HTML


@dataclass
class Items:
    items: list[str]


@dataclass
class Summary:
    """The findings at the top of a report: a titled list (HTML: <section id="summary">)."""

    title: str
    items: list[str]


Block = Union[Heading, Para, Table, Image, Items, Summary]


def _aligns(table: Table) -> str:
    n = len(table.header)
    return (table.align or ("l" + "r" * (n - 1)))[:n].ljust(n, "r")


# ----------------------------------------------------------------------------- Markdown
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    sep = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(_md_cell(h) for h in table.header) + " |",
             "|" + "|".join(sep[a] for a in _aligns(table)) + "|"]
    for i, row in enumerate(table.rows):
        cells = [f"**{_md_cell(c)}**" if (i, j) in table.bold and c else _md_cell(c) for j, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Table):
            out.append(table_markdown(b))
        elif isinstance(b, Image):
            out.append(f"![{b.alt}]({b.path})")
        elif isinstance(b, Items):
            out.append("\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Summary):
            out.append(f"## {b.title}\n\n" + "\n".join(f"- {item}" for item in b.items))
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- HTML
_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "th,td{padding:0.25em 0.6em;border-bottom:1px solid #ddd}th{border-bottom:2px solid #444}"
        "td.l,th.l{text-align:left}td.r,th.r{text-align:right}td.c,th.c{text-align:center}"
        "tr.rule td{border-top:2px solid #444}"
        "img{max-width:100%;height:auto;display:block;margin:1em 0}code{background:#f4f4f4}"
        "nav#contents{background:#f7f7f7;padding:0.5em 1em;margin:1em 0}nav#contents ul{margin:0.2em 0}"
        "section#summary{border-left:4px solid #0072B2;padding:0 1em;margin:1em 0}")


def _links(escaped: str) -> str:
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)


def _inline_html(text: str) -> str:
    # the only inline markup the blocks use: `code` spans and [text](relative link)
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else _links(html.escape(p)) for i, p in enumerate(parts))


def slug(text: str) -> str:
    """An HTML id from a heading: lower case, letters, digits and hyphens."""
    t = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())
    return t.strip("-") or "section"


def _anchors(blocks: Sequence[Block]) -> dict[int, str]:
    """A unique id for every heading (by block index): its anchor, else its slug, prefixed by the
    level-2 section's id for level-3 headings (each data set repeats them)."""
    ids: dict[int, str] = {}
    seen: set[str] = {"summary", "contents"}
    section = ""
    for i, b in enumerate(blocks):
        if not isinstance(b, Heading) or b.level == 1:
            continue
        base = b.anchor or slug(b.text)
        if b.level == 2:
            section = base
        elif not b.anchor and section:
            base = f"{section}-{base}"
        name, n = base, 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        ids[i] = name
    return ids


def _toc(blocks: Sequence[Block], ids: dict[int, str]) -> str:
    items, open_sub = [], False
    summary = next((b for b in blocks if isinstance(b, Summary)), None)
    if summary is not None:
        items.append(f'<li><a href="#summary">{_inline_html(summary.title)}</a></li>')
    for i, b in enumerate(blocks):
        if i not in ids:
            continue
        link = f'<a href="#{ids[i]}">{_inline_html(b.text)}</a>'
        if b.level == 2:
            if open_sub:
                items.append("</ul></li>")
                open_sub = False
            items.append(f"<li>{link}")
            nxt = next((x for x in blocks[i + 1:] if isinstance(x, Heading)), None)
            if nxt is not None and nxt.level == 3:
                items.append("<ul>")
                open_sub = True
            else:
                items.append("</li>")
        else:
            items.append(f"<li>{link}</li>")
    if open_sub:
        items.append("</ul></li>")
    return '<nav id="contents"><strong>Contents</strong><ul>' + "".join(items) + "</ul></nav>"


def table_html(table: Table) -> str:
    al = _aligns(table)
    head = "".join(f'<th class="{a}">{_inline_html(h)}</th>' for h, a in zip(table.header, al))
    body = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, (c, a) in enumerate(zip(row, al)):
            text = _inline_html(c)
            cells.append(f'<td class="{a}">' + (f"<b>{text}</b>" if (i, j) in table.bold and c else text) + "</td>")
        body.append(('<tr class="rule">' if i == table.rule_before else "<tr>") + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"


def html_page(title: str, blocks: Sequence[Block]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"]
    ids = _anchors(blocks)
    toc_done = False
    for i, b in enumerate(blocks):
        if not toc_done and not (isinstance(b, Heading) and b.level == 1):
            out.append(_toc(blocks, ids))
            toc_done = True
        if isinstance(b, Summary):
            out.append(f'<section id="summary"><h2>{_inline_html(b.title)}</h2><ul>'
                       + "".join(f"<li>{_inline_html(x)}</li>" for x in b.items) + "</ul></section>")
        elif isinstance(b, Heading):
            anchor = f' id="{ids[i]}"' if i in ids else ""
            out.append(f"<h{b.level}{anchor}>{_inline_html(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline_html(b.text)}</p>")
        elif isinstance(b, Table):
            out.append(table_html(b))
        elif isinstance(b, Image):
            if b.data is not None:  # linked, not inlined: twelve base64 PNGs made the page 1 MB
                pdf = b.path[:-4] + ".pdf" if b.path.endswith(".png") else b.path
                out.append(f'<a href="{html.escape(pdf)}"><img alt="{html.escape(b.alt)}" '
                           f'src="{html.escape(b.path)}" loading="lazy"></a>')
        elif isinstance(b, Items):
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b.items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- LaTeX
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}
_TEX_UNICODE = {"±": r"$\pm$", "σ": r"$\sigma$", "–": "--", "—": "---", "×": r"$\times$", "≥": r"$\geq$",
                "≤": r"$\leq$", "α": r"$\alpha$", "λ": r"$\lambda$", "µ": r"$\mu$", "μ": r"$\mu$",
                "∞": r"$\infty$", "≈": r"$\approx$", "−": r"$-$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
                "δ": r"$\delta$", "“": "``", "”": "''", "‘": "`", "’": "'"}


_TEX_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0308": '"', "\u0302": "^", "\u0303": "~", "\u0327": "c ",
                "\u030c": "v ", "\u0306": "u ", "\u0304": "="}
_TEX_LETTERS = {"ı": "{\\i}", "ß": "{\\ss}", "ø": "{\\o}", "Ø": "{\\O}", "æ": "{\\ae}", "ł": "{\\l}"}
_NUMBER_MINUS = re.compile(r"(?<![\w.])-(?=\.?\d)")  # "-0.5", "[-1, 2]"; not "0-4", "non-saturating"


def tex_escape(text: str) -> str:
    """Plain text to LaTeX that a plain `article` (pdflatex, no extra packages) typesets: specials
    escaped, accented letters as accent commands (Fréchet -> Fr\\'{e}chet), a hyphen before a
    number as a minus sign; anything else outside ASCII becomes '?', never a character pdflatex rejects."""
    out = []
    for ch in _NUMBER_MINUS.sub("\u2212", str(text)):
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in _TEX_UNICODE:
            out.append(_TEX_UNICODE[ch])
        elif ch in _TEX_LETTERS:
            out.append(_TEX_LETTERS[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            base, *marks = unicodedata.normalize("NFD", ch)
            if base.isascii() and base.isalpha() and len(marks) == 1 and marks[0] in _TEX_ACCENTS:
                out.append(f"\\{_TEX_ACCENTS[marks[0]].strip()}{{{base}}}" if _TEX_ACCENTS[marks[0]].endswith(" ")
                           else f"\\{_TEX_ACCENTS[marks[0]]}{{{base}}}")
            else:
                ascii_ = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                out.append(tex_escape(ascii_) if ascii_ else "?")
    return "".join(out)


# ----------------------------------------------------------------------------- CSV
def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
