"""The R packages of the cross-check: the versions it was validated with, the oldest that
have the arguments it passes, and why a package cannot be used on this machine."""

from __future__ import annotations

from rbridge.session import RInfo

# Versions the bridge was validated with, and the oldest that have the arguments it passes
# (fixest renamed the ssc() arguments in 0.13.0; did added base_period in 2.1.0). The
# packages added for issue 14 are required at the versions validated.
VALIDATED = {
    "R": "4.2.2",
    "fixest": "0.14.2",
    "did": "2.5.1",
    "sandwich": "3.0-2",
    "did2s": "1.2.1",
    "didimputation": "0.5.0",
    "bacondecomp": "0.1.1",
    "HonestDiD": "0.2.6",
    "DoubleML": "1.0.2",
    "mlr3": "1.1.0",
    "mlr3learners": "0.12.0",
}
OLDEST = {"fixest": "0.13.0", "did": "2.1.0", "sandwich": "2.5-0"}
MINIMUM = {**OLDEST, **{p: v for p, v in VALIDATED.items() if p != "R" and p not in OLDEST}}


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.replace("-", ".").split(".") if x.isdigit())


def package_problem(info: RInfo, packages: tuple[str, ...]) -> str | None:
    """Why the packages cannot be used here (not installed, too old), or None."""
    if not info.available:
        return info.reason
    for package in packages:
        version = info.packages.get(package)
        if version is None:
            return f"R package {package} is not installed"
        if package in MINIMUM and version_tuple(version) < version_tuple(MINIMUM[package]):
            return f"R package {package} {version} is older than {MINIMUM[package]}"
    return None
