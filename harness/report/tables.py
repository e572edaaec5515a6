"""Renderers: a small document model (headings, paragraphs, tables, images) to Markdown and
self-contained HTML; booktabs LaTeX tables; tidy CSV. Output depends only on the input rows:
fixed order, fixed float formatting, no timestamps."""
from __future__ import annotations

import base64
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


Block = Union[Heading, Para, Table, Image, Items]


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
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- HTML
_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "th,td{padding:0.25em 0.6em;border-bottom:1px solid #ddd}th{border-bottom:2px solid #444}"
        "td.l,th.l{text-align:left}td.r,th.r{text-align:right}td.c,th.c{text-align:center}"
        "tr.rule td{border-top:2px solid #444}"
        "img{max-width:100%;height:auto;display:block;margin:1em 0}code{background:#f4f4f4}")


def _inline_html(text: str) -> str:
    # the only inline markup the blocks use: `code` spans
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


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
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_inline_html(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline_html(b.text)}</p>")
        elif isinstance(b, Table):
            out.append(table_html(b))
        elif isinstance(b, Image):
            if b.data is not None:
                src = "data:image/png;base64," + base64.b64encode(b.data).decode("ascii")
                out.append(f'<img alt="{html.escape(b.alt)}" src="{src}">')
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


def tex_escape(text: str) -> str:
    """Plain text to LaTeX that a plain `article` (pdflatex, no extra packages) typesets."""
    out = []
    for ch in str(text):
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in _TEX_UNICODE:
            out.append(_TEX_UNICODE[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:  # drop accents; anything else becomes '?', never a character pdflatex rejects
            ascii_ = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(tex_escape(ascii_) if ascii_ else "?")
    return "".join(out)


def tex_table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str, label: str,
              align: str, rule_before: int | None = None) -> str:
    """A booktabs table; `header` and `rows` are LaTeX already (escape with :func:`tex_escape`);
    a \\midrule above row `rule_before`."""
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small", f"\\caption{{{caption}}}", f"\\label{{{label}}}",
             f"\\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    for i, r in enumerate(rows):
        if i == rule_before and i > 0:
            lines.append(r"\midrule")
        lines.append(" & ".join(r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- CSV
def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
