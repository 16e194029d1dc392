"""Write the JSON Schema of the result document, generated from its pydantic models.

The result document (``seawall.model.finding.ResultDocument``) is the one input of every
renderer and the contract with anything outside seawall that reads ``seawall report --format
json``. Its schema is published in ``schemas/result-document.v<FORMAT>.json``; a test fails when
the models and the published file differ, so a change to the models comes with this file
rewritten (and, when the change is incompatible, a new ``FORMAT``). ``seawall report --schema``
prints the same schema.

Usage (from the project root)::

    PYTHONPATH=src python tools/write_result_schema.py [--out schemas/result-document.v2.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seawall.model.finding import FORMAT, result_schema_text

DEFAULT_OUT = Path("schemas") / f"result-document.v{FORMAT}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(result_schema_text(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
