"""The verify table as HTML: gcnn verify writes its row names and notes in
ASCII with TeX-like markup (e^{-Omega/T_q}, |psi_0|^2, hbar_mu/n); these
render them with Unicode symbols and <sub>/<sup>, group the rows by tier
and colour the verdicts."""
import html
import math
import re

# Greek names and symbols verify's texts spell out. A name counts only as a
# whole word (letters on neither side; '_' and digits may follow) and not
# after a '.', which would make it part of a config key (quench.mu_shift).
_GREEK = {
    "Omega": "Ω", "omega": "ω", "Delta": "Δ", "delta": "δ", "Lambda": "Λ", "lambda": "λ", "Gamma": "Γ",
    "gamma": "γ", "hbar": "ħ", "psi": "ψ", "Psi": "Ψ", "phi": "φ", "Phi": "Φ", "mu": "μ", "rho": "ρ",
    "sigma": "σ", "alpha": "α", "beta": "β", "kappa": "κ", "eta": "η", "chi": "χ", "nu": "ν", "tau": "τ",
    "theta": "θ", "pi": "π", "epsilon": "ε", "xi": "ξ", "nabla": "∇", "grad": "∇", "sqrt": "√",
}
_GREEK_RE = re.compile(r"(?<![A-Za-z.])(" + "|".join(sorted(_GREEK, key=len, reverse=True)) + r")(?![A-Za-z])")
_OPS = (("<=", "≤"), (">=", "≥"), ("+-", "±"), ("+/-", "±"), ("->", "→"), ("!=", "≠"), ("~=", "≈"))
# a script: ^ or _ then {group without braces} or a run of word characters
_BRACED = re.compile(r"([\^_])\{([^{}]*)\}")
_BARE_SUP = re.compile(r"\^(-?[A-Za-z0-9.]+)")
# subscripts only on short symbols (x_k, T_q, psi_0, hbar_mu, C_sector), not
# on identifiers such as n_given_q or a config key's words
_BARE_SUB = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z]{1,2}|[Α-ωħ∇])_([A-Za-z0-9Α-ω]+)(?![A-Za-z0-9_])")
_ANGLE = re.compile(r"&lt;([^&;<>]{1,40})&gt;")  # <Delta F>: a mean


def tex_to_html(text):
    """verify's ASCII markup as HTML: Greek names to Unicode, x^{..}/x^2 to
    <sup>, x_{..}/T_q to <sub>, <= >= +- to symbols; everything else escaped.
    The result has no '^', '{' or '}' left from markup it understood."""
    s = html.escape(str(text), quote=False)
    for a, b in _OPS:
        s = s.replace(html.escape(a, quote=False), b)
    s = s.replace(" - ", " − ").replace("^{-", "^{−")  # a minus, not a hyphen
    s = _ANGLE.sub(r"⟨\1⟩", s)
    s = _GREEK_RE.sub(lambda m: _GREEK[m.group(1)], s)
    s = re.sub(r"Δ (?=[A-Za-z]\b)", "Δ", s)  # Delta F -> ΔF
    # innermost braces first, so F_{N_a+1} and e^{-Omega/T_q} nest
    tags = {"^": "sup", "_": "sub"}
    while True:
        t = _BRACED.sub(lambda m: f"<{tags[m.group(1)]}>{m.group(2)}</{tags[m.group(1)]}>", s)
        t = _BARE_SUB.sub(r"\1<sub>\2</sub>", t)
        if t == s:
            break
        s = t
    s = _BARE_SUP.sub(r"<sup>\1</sup>", s)
    return s


def fmt(x):
    """A number as the verify table prints it (%.4g, '–' when not finite)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if not math.isfinite(x):
        return "–"
    return f"{x:.4g}".replace("-", "−")


def verdict(row):
    """('PASS'|'FAIL'|'tier 2'|'n/a', css class) of one row."""
    tier, ok = int(row.get("tier", 0)), int(row.get("pass", -1))
    if tier == 2:
        return "tier 2", "t2"
    if ok == 1:
        return "PASS", "pass"
    if ok == 0:
        return "FAIL", "fail"
    return "n/a", "na"


TIERS = {1: "Tier 1: identities the simulation must satisfy (asserted: within 3σ plus the bound)",
         2: "Tier 2: the paper's quantum claims, reported against their nulls (never asserted)"}

CSS = """
table.verify { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 14px; }
table.verify th, table.verify td { border-bottom: 1px solid #ddd; padding: 4px 6px; vertical-align: top;
  overflow-wrap: anywhere; word-wrap: break-word; }
table.verify th { background: #f2f2f2; text-align: left; }
table.verify td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.verify td.note { color: #444; font-size: 12.5px; }
table.verify tr.tier th { background: #dfe7f1; font-size: 15px; }
td.pass { background: #d9f2d9; color: #0a5c0a; font-weight: bold; text-align: center; }
td.fail { background: #f8d0d0; color: #8b0000; font-weight: bold; text-align: center; }
td.t2 { color: #555; text-align: center; }
td.na { color: #888; text-align: center; }
"""


def rows_to_html(rows):
    """The rows (gcnn.series.verification_rows) as an HTML table with a
    heading per tier; long names and notes wrap inside their columns."""
    cols = ('<colgroup><col style="width:5%"><col style="width:24%"><col style="width:8%"><col style="width:8%">'
            '<col style="width:7%"><col style="width:7%"><col style="width:6%"><col style="width:35%"></colgroup>')
    head = ("<tr><th>row</th><th>identity</th><th>measured</th><th>predicted</th><th>error (1σ)</th>"
            "<th>disc. bound</th><th>verdict</th><th>note</th></tr>")
    out = [f'<table class="verify">{cols}']
    for tier in sorted({int(r.get("tier", 0)) for r in rows}):
        out.append(f'<tr class="tier"><th colspan="8">{html.escape(TIERS.get(tier, f"Tier {tier}"))}</th></tr>')
        out.append(head)
        for r in (x for x in rows if int(x.get("tier", 0)) == tier):
            word, cls = verdict(r)
            nums = "".join(f'<td class="num">{fmt(r.get(k))}</td>' for k in ("measured", "prediction", "error",
                                                                             "bound"))
            out.append(f"<tr><td>{html.escape(r['id'])}</td><td>{tex_to_html(r.get('name', ''))}</td>{nums}"
                       f'<td class="{cls}">{word}</td><td class="note">{tex_to_html(r.get("note", ""))}</td></tr>')
    out.append("</table>")
    return "\n".join(out)
