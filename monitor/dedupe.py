"""Near-duplicate detection: MinHash over word shingles, banded for locality-sensitive lookup in the database.

Two articles whose texts share most of their 3-word shingles (the same wire story on two sites, or on two language
services that run it in the same language) get a Jaccard estimate near 1 and land in one story. The bands let the
store find candidates with an indexed lookup instead of comparing against every stored article.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from monitor.model import Article

# datasketch is imported where a signature is made, not here: it pulls in scipy (about a second), which every
# `monitor` command would otherwise pay at start.

NUM_PERM = 128
SHINGLE_WORDS = 3
MIN_SHINGLES = 8  # texts shorter than this (a photo caption) are never linked: too little to tell
_SEED = 1
_SCHEME = "affine32"  # fixed: stored signatures must stay comparable across datasketch versions
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Signature:
    values: bytes  # NUM_PERM little-endian uint64
    bands: tuple[tuple[int, int], ...]  # (band number, signed 64-bit hash of the band)

    def similarity(self, other: bytes) -> float:
        mine = np.frombuffer(self.values, dtype="<u8")
        theirs = np.frombuffer(other, dtype="<u8")
        if mine.shape != theirs.shape:
            return 0.0
        return float(np.count_nonzero(mine == theirs)) / len(mine)


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i:i + size]).encode("utf-8") for i in range(max(0, len(words) - size + 1))}


def story_text(article: Article) -> str:
    """What is compared: headline and body, without page furniture that every article of a site shares."""
    return article.headline + "\n" + article.body_text


def _shingle_hash(data: bytes) -> int:
    # CRC-32 is stable across processes and versions, and a C call: several times faster than datasketch's SHA-1.
    return zlib.crc32(data)


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations  # type: ignore[no-any-return]


@lru_cache(maxsize=16)
def band_layout(threshold: float) -> tuple[int, int]:
    """(bands, rows per band) that best separate pairs above and below ``threshold``."""
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, NUM_PERM, 0.5, 0.5)
    return int(bands), int(rows)


def signature(text: str, threshold: float) -> Signature | None:
    """The MinHash signature and LSH bands of a text; None when the text is too short to compare."""
    from datasketch import MinHash

    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=_permutations(), scheme=_SCHEME,
                      hashfunc=_shingle_hash)
    minhash.update_batch(list(grams))
    values = np.asarray(minhash.hashvalues, dtype="<u8")
    bands, rows = band_layout(threshold)
    out = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows:(band + 1) * rows].tobytes(), digest_size=8).digest()
        out.append((band, int.from_bytes(digest, "little", signed=True)))
    return Signature(values.tobytes(), tuple(out))


__all__ = ["Signature", "band_layout", "shingles", "signature", "story_text"]
