"""SNDlib native format -> WGS84 sites, links and a demand matrix.

SNDlib (http://sndlib.zib.de) describes a network instance as parenthesised
sections::

    ?SNDlib native format; type: network; version: 1.0
    META ( granularity = 5min  unit = MBITPERSEC ... )        # optional
    NODES ( <id> ( <lon> <lat> ) ... )
    LINKS ( <id> ( <src> <tgt> ) <pre_installed_capacity> <pre_installed_capacity_cost>
            <routing_cost> <setup_cost> ( {<module_capacity> <module_cost>}* ) ... )
    DEMANDS ( <id> ( <src> <tgt> ) <routing_unit> <demand_value> <max_path_length> ... )
    ADMISSIBLE_PATHS ( ... )                                  # ignored

``#`` starts a comment. The file is split into tokens by a regular
expression (never ``eval``), each token keeping its line number so that an
error names the file, the section and the line.

Capacities and demand values are in the META ``unit`` (Mbit/s when absent,
recorded as ``meta["unit_assumed"] = True``) and are returned in bit/s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .fields import check_lonlat, number, read_text_file
from .records import DemandRecord, LinkRecord, SiteRecord, Skipped, SourceData

__all__ = ["read_sndlib", "UNIT_BPS", "DEFAULT_CAPACITY_BPS"]

UNIT_BPS = {"BITPERSEC": 1.0, "KBITPERSEC": 1e3, "MBITPERSEC": 1e6, "GBITPERSEC": 1e9,
            "TBITPERSEC": 1e12}
"""bit/s per SNDlib ``unit``."""

DEFAULT_CAPACITY_BPS = 10e9
"""Capacity (bit/s) of a link with neither pre-installed nor module capacity."""

_SECTIONS = ("META", "NODES", "LINKS", "DEMANDS", "ADMISSIBLE_PATHS")
# Parentheses are tokens of their own even when glued to a word ("(1.0" ),
# '#' to the end of the line is a comment.
_TOKEN = re.compile(r"#[^\n]*|(?P<tok>[()]|[^\s()]+)")


@dataclass
class _Tok:
    text: str
    line: int


class _Stream:
    """Tokens with a cursor; every error names file, section and line."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.toks: list[_Tok] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("?"):      # the "?SNDlib native format" header
                continue
            for m in _TOKEN.finditer(line):
                if m.group("tok"):
                    self.toks.append(_Tok(m.group("tok"), lineno))
        self.i = 0
        self.last_line = max(1, len(text.splitlines()))
        self.section = ""
        self.section_line = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def where(self, tok: _Tok | None = None) -> str:
        line = tok.line if tok is not None else self.last_line
        return f"section {self.section}, line {line}" if self.section else f"line {line}"

    def fail(self, problem: str, tok: _Tok | None = None, field: str | None = None,
             feature: str | None = None) -> InputError:
        return InputError(self.file, problem, feature or self.where(tok), field)

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            hint = (f" (missing ')' closing the {self.section} section opened on line "
                    f"{self.section_line}?)" if self.section else "")
            raise self.fail(f"file ends where {what} was expected{hint}")
        self.i += 1
        return tok

    def expect(self, sym: str, what: str, record: _Tok | None = None) -> _Tok:
        """The next token, which must be ``sym``; errors point at ``record``'s line."""
        tok = self.next(f"'{sym}' {what}")
        if tok.text != sym:
            found = f"found {tok.text!r}" + (f" on line {tok.line}" if record is not None
                                             and tok.line != record.line else "")
            raise self.fail(f"missing '{sym}' {what} ({found})", record or tok)
        return tok

    def at_close(self) -> bool:
        """True (and consume it) when the next token ends the section."""
        tok = self.peek()
        if tok is None:
            raise self.fail(f"missing ')' closing the {self.section} section "
                            f"opened on line {self.section_line}")
        if tok.text == ")":
            self.i += 1
            return True
        # A section keyword followed by '(' where a record id should be:
        # the previous section was not closed.
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok.text.upper() in _SECTIONS and nxt is not None and nxt.text == "(":
            raise self.fail(f"missing ')' closing the {self.section} section opened on line "
                            f"{self.section_line} before {tok.text}", tok)
        return False

    def ident(self, what: str) -> _Tok:
        tok = self.next(what)
        if tok.text in "()":
            raise self.fail(f"expected {what}, found {tok.text!r}", tok)
        return tok


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _feature(s: _Stream, tok: _Tok, rid: str) -> str:
    return f"{s.where(tok)} (id '{rid}')"


def _meta(s: _Stream) -> dict[str, str]:
    """``key = value`` pairs, one per line; a value may hold spaces."""
    out: dict[str, str] = {}
    while not s.at_close():
        key = s.ident("a META key")
        eq = s.next("'=' after the META key")
        if eq.text != "=":
            raise s.fail(f"expected '=' after META key {key.text!r}, found {eq.text!r}", eq)
        words = []
        while (tok := s.peek()) is not None and tok.line == key.line and tok.text != ")":
            words.append(s.next("a META value").text)
        out[key.text.lower()] = " ".join(words)
    return out


def _check_new(s: _Stream, seen: dict[str, int], tok: _Tok, noun: str) -> None:
    if tok.text in seen:
        raise s.fail(f"duplicate {noun} id {tok.text!r} (first on line {seen[tok.text]})", tok)
    seen[tok.text] = tok.line


def _nodes(s: _Stream, out: SourceData, seen: dict[str, int], unplaced: set[str]) -> None:
    while not s.at_close():
        tok = s.ident("a node id")
        _check_new(s, seen, tok, "node")
        feature = _feature(s, tok, tok.text)
        nxt = s.peek()
        if nxt is None or nxt.text != "(":
            # Coordinates are optional in the format; without them the node
            # cannot be placed, so it is listed rather than guessed.
            unplaced.add(tok.text)
            out.skipped.append(Skipped(s.file, f"node {tok.text!r} ({s.where(tok)})",
                                       "no coordinates; left out with its links and demands"))
            continue
        s.expect("(", "before the node's coordinates", tok)
        lon = number(s.ident(f"the longitude of node {tok.text!r}").text, s.file, feature,
                     "longitude", required=True)
        lat = number(s.ident(f"the latitude of node {tok.text!r}").text, s.file, feature,
                     "latitude", required=True)
        s.expect(")", f"after the coordinates of node {tok.text!r}", tok)
        check_lonlat(lon, lat, s.file, feature)
        out.sites.append(SiteRecord(id=tok.text, lon=lon, lat=lat, kind="pop", height_m=30.0,
                                    sectors=[], where=(s.file, feature)))


def _ends(s: _Stream, tok: _Tok, rid: str, noun: str, nodes: dict[str, int]) -> tuple[str, str]:
    s.expect("(", f"before the end nodes of {noun} {rid!r}", tok)
    src = s.ident("a source node").text
    tgt = s.ident("a target node").text
    s.expect(")", f"after the end nodes of {noun} {rid!r}", tok)
    for end, field in ((src, "source"), (tgt, "target")):
        if end not in nodes:
            raise s.fail(f"unknown node {end!r}", tok, field, _feature(s, tok, rid))
    return src, tgt


def _links(s: _Stream, out: SourceData, nodes: dict[str, int], unplaced: set[str]) -> None:
    """Links with capacities in file units; :func:`read_sndlib` scales them."""
    seen: dict[str, int] = {}
    while not s.at_close():
        tok = s.ident("a link id")
        _check_new(s, seen, tok, "link")
        feature = _feature(s, tok, tok.text)
        src, tgt = _ends(s, tok, tok.text, "link", nodes)
        vals = {}
        for field in ("pre_installed_capacity", "pre_installed_capacity_cost", "routing_cost",
                      "setup_cost"):
            vals[field] = number(s.ident(field).text, s.file, feature, field, required=True,
                                 min_value=0)
        s.expect("(", f"before the module list of link {tok.text!r}", tok)
        module_vals: list[float] = []
        while (m := s.next(f"')' closing the module list of link {tok.text!r}")).text != ")":
            after = s.peek()
            next_record = after is not None and after.text == "(" and not _is_number(m.text)
            if m.text == "(" or next_record:
                # the next record (or section) started inside this list
                raise s.fail(f"missing ')' closing the module list of link {tok.text!r} "
                             f"(found {m.text!r} on line {m.line})", tok)
            field = "module_capacity" if len(module_vals) % 2 == 0 else "module_cost"
            module_vals.append(number(m.text, s.file, feature, field, required=True, min_value=0))
        if len(module_vals) % 2:
            raise s.fail("module list must hold (capacity, cost) pairs, got an odd count",
                         tok, "modules", feature)
        modules = list(zip(module_vals[::2], module_vals[1::2]))

        if src in unplaced or tgt in unplaced:
            out.skipped.append(Skipped(s.file, f"link {tok.text!r} ({s.where(tok)})",
                                       "an end node has no coordinates"))
            continue
        if src == tgt:
            out.skipped.append(Skipped(s.file, f"link {tok.text!r} ({s.where(tok)})",
                                       "self-loop (both ends on one node)"))
            continue
        if vals["pre_installed_capacity"] > 0:
            capacity_bps, source = vals["pre_installed_capacity"], "pre_installed"
        elif modules and modules[0][0] > 0:
            capacity_bps, source = modules[0][0], "module"
        else:
            capacity_bps, source = DEFAULT_CAPACITY_BPS, "default"
        attrs = {"capacity_source": source,
                 "pre_installed_capacity_cost": vals["pre_installed_capacity_cost"],
                 "routing_cost": vals["routing_cost"], "setup_cost": vals["setup_cost"],
                 "modules": modules}
        out.links.append(LinkRecord(id=tok.text, a=src, b=tgt, capacity_bps=capacity_bps,
                                    kind="fiber", attrs=attrs, where=(s.file, feature)))


def _demands(s: _Stream, out: SourceData, nodes: dict[str, int], unplaced: set[str]) -> None:
    """Demands with values in file units; :func:`read_sndlib` scales them."""
    seen: dict[str, int] = {}
    while not s.at_close():
        tok = s.ident("a demand id")
        _check_new(s, seen, tok, "demand")
        feature = _feature(s, tok, tok.text)
        src, tgt = _ends(s, tok, tok.text, "demand", nodes)
        number(s.ident("routing_unit").text, s.file, feature, "routing_unit", required=True,
               min_value=0)
        value = number(s.ident("demand_value").text, s.file, feature, "demand_value",
                       required=True, min_value=0)
        s.ident("max_path_length")          # a number or UNLIMITED; routing decides paths
        if src in unplaced or tgt in unplaced:
            out.skipped.append(Skipped(s.file, f"demand {tok.text!r} ({s.where(tok)})",
                                       "an end node has no coordinates"))
            continue
        if src == tgt:
            out.skipped.append(Skipped(s.file, f"demand {tok.text!r} ({s.where(tok)})",
                                       "source and target are the same node"))
            continue
        out.demands.append(DemandRecord(src=src, dst=tgt, demand_bps=value))


def _skip_balanced(s: _Stream) -> None:
    """Step over a section body up to its matching ')'."""
    depth = 1
    while depth:
        tok = s.next("')'")
        depth += {"(": 1, ")": -1}.get(tok.text, 0)


def _unit(file: str, meta: dict[str, str], meta_line: int, out: SourceData) -> float:
    """bit/s per file unit, from META ``unit`` (Mbit/s when absent)."""
    unit = meta.get("unit", "").upper()
    if not unit:
        out.meta.update(unit="MBITPERSEC", unit_bps=1e6, unit_assumed=True)
    elif unit in UNIT_BPS:
        out.meta.update(unit=unit, unit_bps=UNIT_BPS[unit])
    else:
        raise InputError(file, f"unknown unit {meta['unit']!r}; expected one of "
                         f"{', '.join(UNIT_BPS)}", f"section META, line {meta_line}", "unit")
    return out.meta["unit_bps"]


def read_sndlib(path: str | Path) -> SourceData:
    """Read an SNDlib native-format network into sites, links and demands.

    Parameters
    ----------
    path : str or Path
        The SNDlib ``.txt`` file.

    Returns
    -------
    SourceData
        ``sites`` (kind ``"pop"``, height 30 m), ``links`` with
        ``capacity_bps`` = pre-installed capacity x unit, else the first
        module's capacity (``attrs["capacity_source"] == "module"``), else
        10 Gbit/s (``"default"``); ``demands`` in bit/s; ``meta`` with
        ``unit`` and ``unit_bps`` (and ``unit_assumed`` when the file names
        no unit) and the other META pairs as ``sndlib_<key>``.

    Raises
    ------
    InputError
        Missing file, a missing ')', an unknown section or node, a
        non-number, NaN or negative value, or a duplicate id; the message
        names the file, the section and the line.

    Examples
    --------
    >>> data = read_sndlib("tests/data/sndlib/abilene_small.txt")
    >>> data.links[0].capacity_bps
    9920000000.0
    """
    path = Path(path)
    file = str(path)
    content = read_text_file(path)

    s = _Stream(file, content)
    out = SourceData()
    opened: dict[str, int] = {}           # section -> line of its keyword
    meta: dict[str, str] = {}
    nodes: dict[str, int] = {}
    unplaced: set[str] = set()
    while (tok := s.peek()) is not None:
        name = tok.text.upper()
        if name not in _SECTIONS:
            raise s.fail(f"expected a section ({', '.join(_SECTIONS)}), found {tok.text!r}", tok)
        if name in opened:
            raise s.fail(f"second {name} section (first on line {opened[name]})", tok)
        if name in ("LINKS", "DEMANDS") and "NODES" not in opened:
            raise s.fail(f"{name} section before the NODES section", tok)
        s.i += 1
        s.section, s.section_line = name, tok.line
        opened[name] = tok.line
        s.expect("(", f"after {name}")
        if name == "META":
            meta = _meta(s)
        elif name == "NODES":
            _nodes(s, out, nodes, unplaced)
        elif name == "LINKS":
            _links(s, out, nodes, unplaced)
        elif name == "DEMANDS":
            _demands(s, out, nodes, unplaced)
        else:                              # ADMISSIBLE_PATHS: routing decides paths
            _skip_balanced(s)
        s.section = ""
    if "NODES" not in opened:
        raise InputError(file, "no NODES section; not an SNDlib native-format network file")

    # Values were read in file units; META may come anywhere, so scale last.
    unit_bps = _unit(file, meta, opened.get("META", 0), out)
    out.meta["network"] = path.stem
    out.meta.update({f"sndlib_{k}": v for k, v in meta.items() if k != "unit"})
    for link in out.links:
        if link.attrs["capacity_source"] != "default":
            link.capacity_bps *= unit_bps
        link.attrs["modules"] = [(c * unit_bps, cost) for c, cost in link.attrs["modules"]]
    for d in out.demands:
        d.demand_bps *= unit_bps
    return out
