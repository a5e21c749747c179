"""Just enough PDF reading to test the invoice: the text of each page and its images.

This machine has no pdftotext and no pypdf, and the invoice must be checked for what a reader
sees, not for what we meant to draw. reportlab writes plain objects (no object streams), each
stream ASCII85 + Flate encoded, and a ToUnicode map for every subset of a TrueType font, so a
small reader can map the shown strings back to Unicode exactly.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass

from PIL import Image

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
_STREAM = re.compile(rb"^(.*?)stream\r?\n(.*?)\r?\n?endstream", re.S)
_REF = rb"(\d+) 0 R"


@dataclass
class PdfObject:
    head: bytes
    data: bytes | None


def _decode(head: bytes, raw: bytes) -> bytes:
    filters = re.findall(rb"/(ASCII85Decode|FlateDecode)", head)
    for name in filters:
        if name == b"ASCII85Decode":
            raw = base64.a85decode(raw.strip().removesuffix(b"~>"))
        else:
            raw = zlib.decompress(raw)
    return raw


def objects(pdf: bytes) -> dict[int, PdfObject]:
    found = {}
    for number, body in _OBJECT.findall(pdf):
        stream = _STREAM.match(body)
        if stream:
            head, raw = stream.groups()
            found[int(number)] = PdfObject(head, _decode(head, raw))
        else:
            found[int(number)] = PdfObject(body, None)
    return found


def _cmap(data: bytes) -> dict[int, str]:
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, uni in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, start in re.findall(
            rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            first = ord(bytes.fromhex(start.decode()).decode("utf-16-be"))
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def _fonts(objs: dict[int, PdfObject]) -> dict[bytes, dict[int, str] | None]:
    """Resource name (b'F2+0') → its code → text map (None for a standard font)."""
    fonts: dict[bytes, dict[int, str] | None] = {}
    for obj in objs.values():
        if obj.data is not None:
            continue
        for name, ref in re.findall(rb"/(F\d+(?:\+\d+)?) " + _REF, obj.head):
            font = objs[int(ref)].head
            to_unicode = re.search(rb"/ToUnicode " + _REF, font)
            fonts[name] = _cmap(objs[int(to_unicode.group(1))].data) if to_unicode else None
    return fonts


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i]
        if c == 0x5C:  # backslash
            i += 1
            nxt = literal[i : i + 1]
            if nxt.isdigit():
                digits = re.match(rb"[0-7]{1,3}", literal[i:]).group()
                out.append(int(digits, 8))
                i += len(digits)
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
        else:
            out.append(c)
        i += 1
    return bytes(out)


_TOKEN = re.compile(rb"/([^\s/\[\]()<>]+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)|(ET)", re.S)


def _page_contents(objs: dict[int, PdfObject]) -> list[bytes]:
    pages = []
    for obj in objs.values():
        if obj.data is None and re.search(rb"/Type /Page\b", obj.head):
            ref = re.search(rb"/Contents " + _REF, obj.head)
            pages.append(objs[int(ref.group(1))].data)
    return pages


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, one line per text object, white space (no-break too) collapsed."""
    objs = objects(pdf)
    fonts = _fonts(objs)
    texts = []
    for content in _page_contents(objs):
        lines: list[str] = []
        current: list[str] = []
        cmap: dict[int, str] | None = None
        for font, literal, end in _TOKEN.findall(content):
            if font:
                cmap = fonts[font]
            elif end:
                if current:
                    # A no-break space reads as a space (reportlab draws it as one in paragraphs).
                    lines.append(" ".join(" ".join(current).split()))
                current = []
            else:
                raw = _unescape(literal)
                if cmap is None:
                    current.append(raw.decode("latin-1"))
                else:
                    current.append("".join(cmap.get(b, "\ufffd") for b in raw))
        texts.append("\n".join(lines))
    return texts


def images(pdf: bytes) -> list[Image.Image]:
    """Every RGB or grey image XObject, decoded."""
    found = []
    for obj in objects(pdf).values():
        if obj.data is None or b"/Subtype /Image" not in obj.head:
            continue
        width = int(re.search(rb"/Width (\d+)", obj.head).group(1))
        height = int(re.search(rb"/Height (\d+)", obj.head).group(1))
        mode = "RGB" if b"/DeviceRGB" in obj.head else "L"
        found.append(Image.frombytes(mode, (width, height), obj.data))
    return found
