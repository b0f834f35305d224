"""Write the figure gallery ``figures/README.md`` and the README's reproduction table.

`make figures` runs this last (tools/run_notebooks.py). Files are rewritten only when their content
changes, and the content is deterministic, so a re-run leaves them byte-identical.

Usage: python tools/make_gallery.py [--figures DIR] [--notebooks DIR] [--readme PATH] [--check]
  --check   write nothing; exit 1 if the gallery or the README table is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnv2lab import atomic
from mnv2lab.catalog import load_figures, load_findings
from mnv2lab.gallery import render_gallery, update_readme

ROOT = Path(__file__).resolve().parent.parent


def build(figures_dir: Path, notebooks_dir: Path, readme: Path | None) -> dict[Path, str]:
    """The files to write and their new text."""
    figures = load_figures(figures_dir, notebooks_dir)
    findings = load_findings(figures_dir)
    for fig in figures:
        if not fig.png.exists():
            print(f"make_gallery: warning: {fig.png} is missing", file=sys.stderr)
        if not fig.promised:
            print(f"make_gallery: warning: {fig.name} is not promised by notebook {fig.notebook} "
                  "(stale figure?)", file=sys.stderr)
    out = {figures_dir / "README.md": render_gallery(figures, findings)}
    if readme is not None:
        try:
            out[readme] = update_readme(readme, findings)
        except ValueError as err:   # markers missing: the gallery is still worth writing
            print(f"make_gallery: warning: findings table not updated: {err}", file=sys.stderr)
    return out


def own_args(argv: list[str]) -> list[str]:
    """This tool's arguments. run_notebooks.py runs this file via runpy, leaving its own argv
    (notebook paths, --force) in sys.argv: then there are none."""
    return argv[1:] if Path(argv[0]).name == "make_gallery.py" else []


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", type=Path, default=ROOT / "figures")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md",
                    help="README holding the findings markers ('none' to skip)")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    readme = None if str(args.readme) == "none" else args.readme
    stale = []
    for path, text in build(args.figures, args.notebooks, readme).items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale.append(path)
        if not args.check:
            atomic.write_text(path, text)
    if args.check and stale:
        print("make_gallery: out of date (run `make figures` or tools/make_gallery.py): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    what = f"{args.figures}/README.md" + (f" and the findings table in {readme}" if readme else "")
    state = "checked" if args.check else ("updated" if stale else "up to date:")
    print(f"make_gallery: {state} {what}")
    return 0


if __name__ == "__main__":
    code = main(own_args(sys.argv))
    if code:    # no sys.exit(0): under run_notebooks.py it would skip make figures' summary
        sys.exit(code)
