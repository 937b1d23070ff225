"""`python -m agents demo [--client FILE] [--notes TEXT] [--approve-all --by NAME [--execute]]`."""

from __future__ import annotations

import sys

from agents.demo import demo


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "demo":
        sys.stderr.write(
            "usage: python -m agents demo [--client FILE] [--notes TEXT] [--pace S] "
            "[--approve-all --by NAME [--execute]]\n"
        )
        return 2
    return demo(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
