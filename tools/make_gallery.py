"""Write the figure gallery ``figures/README.md`` and the README's reproduction table.

`make figures` does this last (tools/run_notebooks.py calls :func:`mnv2lab.gallery.refresh`);
this script runs it on its own. Files are rewritten only when their content changes, and the
content is deterministic, so a re-run leaves them byte-identical.

Usage: python tools/make_gallery.py [--figures DIR] [--notebooks DIR] [--readme PATH] [--check]
  --check   write nothing; exit 1 if the gallery or the README table is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnv2lab import gallery

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", type=Path, default=ROOT / "figures")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument(
        "--readme",
        type=Path,
        default=ROOT / "README.md",
        help="README holding the findings markers ('none' to skip)",
    )
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    readme = None if str(args.readme) == "none" else args.readme
    stale = gallery.refresh(args.figures, args.notebooks, readme, check=args.check)
    if args.check and stale:
        print(
            "make_gallery: out of date (run `make figures` or tools/make_gallery.py): "
            + ", ".join(map(str, stale)),
            file=sys.stderr,
        )
        return 1
    what = f"{args.figures}/README.md" + (f" and the findings table in {readme}" if readme else "")
    state = "checked" if args.check else ("updated" if stale else "up to date:")
    print(f"make_gallery: {state} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
