"""docs/api.md and the README teach only what works: their ```python blocks run, in order, in one namespace."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "api.md"


def blocks(path: Path = GUIDE) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_python_blocks_run():
    code = blocks(ROOT / "README.md")
    assert code
    for i, block in enumerate(code, 1):
        exec(compile(block, f"README.md block {i}", "exec"), {"__name__": "readme"})


def test_every_python_block_runs():
    code = blocks()
    assert len(code) >= 8                         # one example per section at least
    ns: dict = {"__name__": "api_guide"}
    for i, block in enumerate(code, 1):
        try:
            exec(compile(block, f"{GUIDE.name} block {i}", "exec"), ns)
        except Exception as exc:                  # name the block that broke
            raise AssertionError(f"docs/api.md python block {i} failed: {type(exc).__name__}: {exc}") from exc
