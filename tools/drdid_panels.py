"""Write the test panels of tests/_drdid_panel.py as CSV for rbridge/R/drdid_reference.R.

Regenerate tests/reference/drdid_reference.csv (needs R with did and DRDID):

    python tools/drdid_panels.py /tmp/drdid
    Rscript rbridge/R/drdid_reference.R /tmp/drdid/panel.csv /tmp/drdid/cross.csv \\
        tests/reference/drdid_reference.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests._drdid_panel import near_separation_panel, trimming_cross_section  # noqa: E402


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    near_separation_panel().to_csv(out / "panel.csv", index=False)
    trimming_cross_section().to_csv(out / "cross.csv", index=False)
    print(f"wrote {out / 'panel.csv'} and {out / 'cross.csv'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
