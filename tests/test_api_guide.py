"""docs/api.md teaches only what works: its ```python blocks run, in order, in one namespace."""

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def test_every_python_block_runs():
    code = blocks()
    assert len(code) >= 8                         # one example per section at least
    ns: dict = {"__name__": "api_guide"}
    for i, block in enumerate(code, 1):
        try:
            exec(compile(block, f"{GUIDE.name} block {i}", "exec"), ns)
        except Exception as exc:                  # name the block that broke
            raise AssertionError(f"docs/api.md python block {i} failed: {type(exc).__name__}: {exc}") from exc
