#!/usr/bin/env python3
"""Checks that a size the docs state is the size a test just measured.

    python3 scripts/doc-size.py MEASURED_BYTES WHAT FILE REGEX [FILE REGEX ...]

Each REGEX (Python syntax, matched with any run of whitespace standing for any other, so that a
figure may wrap across lines) must capture the figure, in KiB, as its first group. The check
passes when every figure is within 5% of MEASURED_BYTES / 1024; otherwise it prints, for each file,
what it says and what to write instead, and exits 1. A regex that matches nothing fails too, so a
figure cannot silently drop out of the docs.
"""

import re
import sys

TOLERANCE = 0.05


def main(argv):
    if len(argv) < 5 or len(argv) % 2 == 0:
        print(__doc__, file=sys.stderr)
        return 2
    measured = int(argv[1]) / 1024
    what = argv[2]
    wrong = []
    for path, pattern in zip(argv[3::2], argv[4::2]):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        flexible = re.sub(r"(\\ |\s)+", r"\\s+", pattern)
        found = re.search(flexible, text)
        if found is None:
            wrong.append(f"{path}: no figure for {what} (looked for /{pattern}/)")
            continue
        stated = float(found.group(1).replace(",", ""))
        if abs(stated - measured) > TOLERANCE * measured:
            wrong.append(
                f"{path}: says {stated:g} KiB for {what}; measured {measured:.0f} KiB "
                f"(at most {TOLERANCE:.0%} apart): write {measured:.0f} KiB there"
            )
    for line in wrong:
        print(f"doc-size: {line}", file=sys.stderr)
    if not wrong:
        print(f"doc-size: the docs state {what} as measured ({measured:.0f} KiB)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
