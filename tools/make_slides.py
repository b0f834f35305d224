"""`make slides`: build the 16:9 teaching deck from figures/ (offline; see mnv2lab/slides.py).

Usage: python tools/make_slides.py [--figures DIR] [--notebooks DIR] [--story FILE] [--out DIR]
Writes OUT/mnv2lab-slides.pdf, OUT/png/slide-NN.png and the speaker notes OUT/notes.md (default
OUT: build/slides) in the order of the story (default docs/story.toml; `--story ""` for one slide
per figure).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnv2lab.slides import NOTES_NAME, build_deck

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", type=Path, default=ROOT / "figures")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument("--story", default=str(ROOT / "docs" / "story.toml"))
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    args = ap.parse_args(argv)
    try:
        pdf = build_deck(args.figures, args.out, args.notebooks, args.story or None)
    except ValueError as err:
        print(f"make slides: {err}", file=sys.stderr)
        return 1
    pngs = sorted((args.out / "png").glob("slide-*.png"))
    print(
        f"make slides: {len(pngs)} slides -> {pdf} (PNGs in {args.out / 'png'}; speaker notes "
        f"{args.out / NOTES_NAME})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
