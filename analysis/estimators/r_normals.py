"""R's standard normal draws, reproduced: `set.seed(seed); rnorm(count)` with R's default
generators (Mersenne-Twister, inversion), so that a quantity R simulates from them (HonestDiD's
least-favourable critical value) is the same number here and nothing is random."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

_R_UNIT = 2.3283064365386963e-10  # R's Mersenne-Twister scaling of a 32-bit word to [0, 1)
_R_FIX = 0.5 * 2.328306437080797e-10  # R keeps uniforms strictly inside (0, 1)
_R_BIG = 134217728.0  # 2^27: R's inversion normals use two uniforms for 53-bit precision


def r_normals(count: int, seed: int) -> NDArray[np.float64]:
    """The first ``count`` values of R's ``set.seed(seed); rnorm(count)`` (R's defaults).

    R seeds its Mersenne-Twister by scrambling the seed with 50 steps of the congruential map
    s -> 69069 s + 1 (mod 2^32) and filling 625 words with further steps (the first word is a
    position, set to 624 so that the state is twisted before the first draw); a uniform is the
    tempered 32-bit word times 2^-32, nudged off 0 and 1; a normal is qnorm of
    (floor(2^27 u1) + u2) / 2^27 from two consecutive uniforms.
    """
    state = seed & 0xFFFFFFFF
    for _ in range(50):
        state = (69069 * state + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint32)
    for j in range(625):
        state = (69069 * state + 1) & 0xFFFFFFFF
        words[j] = state
    gen = np.random.MT19937()
    gen.state = {"bit_generator": "MT19937", "state": {"key": words[1:], "pos": 624}}
    u = gen.random_raw(2 * count).astype(np.float64) * _R_UNIT
    u = np.where(u <= 0.0, _R_FIX, np.where(1.0 - u <= 0.0, 1.0 - _R_FIX, u))
    return np.asarray(special.ndtri((np.floor(_R_BIG * u[0::2]) + u[1::2]) / _R_BIG))
