"""The pure-Python XXH64 against digests computed by the Java side
(``HashProvider.xxh64().hash(bytes)``, ``buildnet.jar`` on the classpath).

Inputs are ``pattern(n)``: byte ``i`` is ``(i * 31 + 7) & 0xFF``. The lengths cover the empty
input, every tail path (1, 4 and 8-byte steps) and the 32-byte stripe boundary. The class
:class:`XXH64` is tested directly, so the pure path is covered even where the ``xxhash``
package is installed (then :func:`new` uses it and must agree).
"""

from __future__ import annotations

import pytest

from buildnet import xxh64
from buildnet.xxh64 import XXH64


def pattern(n: int) -> bytes:
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


# Printed by a Java single-file program: HashProvider.xxh64().hash(pattern(n)).
JAVA = {
    0: "ef46db3751d8e999",
    1: "a96c7f0ce858bbb7",
    3: "56e6957632a487f9",
    4: "c60d15b1e3ff8f04",
    7: "afbefc3d6c6f9a8e",
    8: "3da5c7aa269683e0",
    15: "ae2a37eb9357caa7",
    16: "a19ad429b02bc413",
    31: "4a74f3a1a39ad4a1",
    32: "8d57d6a4671cc43d",
    33: "62c9fd21ed857664",
    63: "5c320a0d2707057f",
    64: "7bbabbc45729d17e",
    100: "efa0ad2d3e70c151",
    1000: "99594f4828043d35",
}


@pytest.mark.parametrize(("n", "expected"), sorted(JAVA.items()), ids=lambda v: str(v))
def test_pure_python_matches_java(n: int, expected: str) -> None:
    assert XXH64(pattern(n)).hexdigest() == expected
    assert xxh64.xxh64_hex(pattern(n)) == expected  # the xxhash package's, when installed


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"abc", "44bc2cf5ad770999"), (b"\xff" * 40, "2ac0faf0a65b2936")],
    ids=["abc", "40 bytes 0xff"],
)
def test_other_java_vectors(data: bytes, expected: str) -> None:
    assert XXH64(data).hexdigest() == expected


@pytest.mark.parametrize("piece", [1, 5, 7, 31, 32, 33, 999])
def test_incremental_updates_across_stripe_boundaries_give_the_same_digest(piece: int) -> None:
    data = pattern(1000)
    h = XXH64()
    for i in range(0, len(data), piece):
        h.update(data[i : i + piece])
    assert h.hexdigest() == JAVA[1000]


def test_every_two_piece_split_of_100_bytes_gives_the_same_digest() -> None:
    data = pattern(100)
    for cut in range(len(data) + 1):
        assert XXH64(data[:cut]).update(data[cut:]).hexdigest() == JAVA[100], cut


def test_hexdigest_does_not_consume_the_state() -> None:
    h = XXH64(pattern(33))
    assert h.hexdigest() == h.hexdigest() == JAVA[33]
    h.update(pattern(64)[33:])
    assert h.hexdigest() == JAVA[64]


def test_intdigest_is_the_hex_value() -> None:
    assert XXH64(pattern(63)).intdigest() == int(JAVA[63], 16)
