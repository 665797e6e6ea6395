"""Write tests/reference/honest_input.json: the study's TWFE event study for the HonestDiD
reference (rbridge/R/honest_reference.R) and tests/test_honest_rm.py.

Usage (from the repository root)::

    python tools/honest_input.py [--out tests/reference/honest_input.json]

The coefficients and their covariance come from the project's own event study
(analysis.models.twfe.event_study_fit) on the default panel with the default
configuration: num_pre pre-period coefficients (earliest first, reference period omitted) then
num_post post-period ones. The file is written under the project's precision policy
(analysis/precision.py: canonical JSON, 10 significant digits), so it regenerates to the same
text on any machine (tests/test_regenerate.py checks it); R and the Python tests both read
these written values, and the R script echoes what it read so that the tests can check.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from analysis.config import DEFAULT_PANEL, load_config
from analysis.exhibit import Context
from analysis.models.twfe import event_study_fit
from analysis.pipeline import prepare
from analysis.precision import canonical_json

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "reference" / "honest_input.json"


def build() -> str:
    cfg = load_config()
    panel, _ = prepare(DEFAULT_PANEL, cfg)
    fit = event_study_fit(Context(panel=panel, cfg=cfg))
    lvec, _, _ = fit.target()
    num_pre = sum(k < 0 for k in fit.times)
    doc = {
        "description": "TWFE event study of the default panel (SIMULATED DATA): betahat = "
        "event-time coefficients (reference period omitted, pre periods first), sigma = their "
        "clustered covariance, l_vec = equal weights on the post periods",
        "panel_sha256": hashlib.sha256(Path(DEFAULT_PANEL).read_bytes()).hexdigest(),
        "times": list(fit.times),
        "reference_period": fit.ref,
        "num_pre": num_pre,
        "num_post": len(fit.times) - num_pre,
        "alpha": round(1 - cfg.inference.level, 12),
        "mbar": list(cfg.honest_did.mbar),
        "m": list(cfg.honest_did.m),
        "l_vec": [float(x) for x in lvec],
        "betahat": [float(x) for x in fit.coef],
        "sigma": [[float(x) for x in row] for row in fit.vcov],
    }
    return canonical_json(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(build(), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
