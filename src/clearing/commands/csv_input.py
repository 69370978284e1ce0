"""Reading the CSV files the stable entry points take: one readable line per bad row (file, line, field)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from clearing.errors import ValidationError

_UINT = re.compile(r"[0-9]+")
_UINT256_MAX = 2**256 - 1


def bad(path: Path, line: int | None, field: str | None, problem: str) -> ValidationError:
    where = f"{path} line {line}" if line is not None else str(path)
    what = f": field {field!r}" if field else ""
    return ValidationError(f"{where}{what}: {problem}", field=field, file=str(path), line=line)


def rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each non-blank data row; validates the header."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise bad(path, None, None, f"cannot read file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise bad(path, None, None, f"empty file; expected the header {','.join(required)}")
            names = [h.strip().lower() for h in header]
            missing = [r for r in required if r not in names]
            if missing:
                raise bad(
                    path,
                    reader.line_num,
                    missing[0],
                    f"header lacks column {missing[0]!r}; expected {','.join(required)}",
                )
            dupes = sorted({n for n in names if names.count(n) > 1 and n})
            if dupes:
                raise bad(path, reader.line_num, dupes[0], "column appears twice in the header")
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(names):
                    raise bad(path, reader.line_num, None, f"expected {len(names)} fields, found {len(cells)}")
                yield reader.line_num, {n: cell.strip() for n, cell in zip(names, cells, strict=True)}
        except csv.Error as exc:
            raise bad(path, reader.line_num, None, f"malformed CSV: {exc}") from None
        except UnicodeDecodeError:
            raise bad(path, reader.line_num + 1, None, "not UTF-8 text") from None


def uint(path: Path, line: int, field: str, text: str, *, positive: bool) -> int:
    if not _UINT.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise bad(path, line, field, f"{shown!r} is not a whole number of token units (digits only)")
    digits = text.lstrip("0") or "0"
    if len(digits) > 78 or int(digits) > _UINT256_MAX:  # 78 digits bound int() before Python's 4300-digit limit
        raise bad(path, line, field, "does not fit a uint256")
    value = int(digits)
    if positive and value <= 0:
        raise bad(path, line, field, "must be greater than 0")
    return value
