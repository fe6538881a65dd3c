"""The source layout rules of DESIGN.md that no linter checks."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_LINES = 300


def long_files(root: Path, limit: int) -> list[str]:
    """``path: N lines`` for every .py file under ``root`` longer than ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def test_long_files_finds_offenders(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("x = 1\n" * 3)
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * 4)
    (tmp_path / "pkg" / "notes.txt").write_text("x\n" * 10)
    assert long_files(tmp_path, 3) == ["pkg/long.py: 4 lines"]


def test_source_files_are_at_most_300_lines() -> None:
    assert any(SRC.rglob("*.py")), f"no Python files under {SRC}"
    offenders = long_files(SRC, MAX_LINES)
    assert not offenders, (
        f"split these files by responsibility (at most {MAX_LINES} lines each): "
        + "; ".join(offenders)
    )
