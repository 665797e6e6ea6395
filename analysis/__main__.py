"""`python -m analysis`: see analysis.cli.

pyfixest orders some of its internal work by Python's string hashing, which is randomized per
process; the last bits of an estimate can then differ between two processes. The command
therefore runs with a fixed PYTHONHASHSEED (re-executing itself once if needed), so that the
same inputs and seed give byte-identical estimates and tables in any process.
"""

import os
import sys

HASH_SEED = "0"

if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
    os.environ["PYTHONHASHSEED"] = HASH_SEED
    # Parallel workers (joblib) inherit this: their library warnings would otherwise flood the
    # terminal. The main process records warnings per exhibit in run.log (analysis.pipeline).
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.execv(sys.executable, [sys.executable, "-m", "analysis", *sys.argv[1:]])

from analysis.cli import main  # noqa: E402

sys.exit(main())
