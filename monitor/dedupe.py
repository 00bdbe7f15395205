"""Near-duplicate detection: MinHash over word shingles, banded for locality-sensitive lookup in the database.

Two articles whose texts share most of their 3-word shingles (the same wire story on two sites, or on two language
services that run it in the same language) get a Jaccard estimate near 1 and land in one story. The bands let the
store find candidates with an indexed lookup instead of comparing against every stored article.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from monitor.model import Article

# datasketch is not imported at run time: it pulls in scipy (about a second and a half), which every process paid
# before its first new article. Its permutations are constants (monitor/_minhash.py) and the band layout is
# computed here; tests/test_dedupe_signature.py checks both against datasketch.

NUM_PERM = 128
SHINGLE_WORDS = 3
MIN_SHINGLES = 8  # texts shorter than this (a photo caption) are never linked: too little to tell
_SEED = 1
_SCHEME = "affine32"  # fixed: stored signatures must stay comparable across datasketch versions
_WORD = re.compile(r"\w+", re.UNICODE)
_BLOCK = 256  # shingles per step of the vectorised MinHash


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
    # Each word encoded once, then joined by C-level map/zip: the same bytes as encoding every joined shingle, since
    # UTF-8 of a join is the join of the UTF-8s (and a \w word holds no lone surrogate that could fail to encode).
    words = list(map(str.encode, _WORD.findall(text.casefold())))
    return set(map(b" ".join, zip(*(words[i:] for i in range(size)), strict=False)))  # the shorter tails end it


def story_text(article: Article) -> str:
    """What is compared: headline and body, without page furniture that every article of a site shares."""
    return article.headline + "\n" + article.body_text


# CRC-32 is stable across processes and versions, and a C call: several times faster than datasketch's SHA-1. The
# builtin itself, with no Python wrapper: it is called once per shingle.
_shingle_hash = zlib.crc32


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations``, from constants."""
    from monitor._minhash import A_HEX, B_HEX

    return (np.frombuffer(bytes.fromhex(A_HEX), dtype="<u4").astype(np.uint32),
            np.frombuffer(bytes.fromhex(B_HEX), dtype="<u4").astype(np.uint32))


@lru_cache(maxsize=16)
def band_layout(threshold: float) -> tuple[int, int]:
    """(bands, rows per band) that best separate pairs above and below ``threshold``: datasketch's MinHashLSH choice
    (equal weights for false positives and false negatives), without its import of scipy.

    The probability that a pair of similarity s shares a band is 1 - (1 - s**r)**b, a polynomial of degree at most
    NUM_PERM in s, so Gauss-Legendre quadrature with NUM_PERM // 2 + 1 nodes integrates it exactly."""
    nodes, weights = np.polynomial.legendre.leggauss(NUM_PERM // 2 + 8)
    pairs = np.array([(b, r) for b in range(1, NUM_PERM + 1) for r in range(1, NUM_PERM // b + 1)], dtype=float)
    bands, rows = pairs[:, :1], pairs[:, 1:]  # every layout at once: one row each, quadrature nodes across

    def integral(low: float, high: float, false_negative: bool) -> np.ndarray:
        half = (high - low) / 2
        s = half * nodes + (low + high) / 2
        missed = (1 - s ** rows) ** bands  # a pair of similarity s shares no band
        return half * ((missed if false_negative else 1 - missed) @ weights)  # type: ignore[no-any-return]

    error = 0.5 * integral(0.0, threshold, False) + 0.5 * integral(threshold, 1.0, True)
    best = int(np.argmin(error))  # the first of equals, in datasketch's order (bands, then rows)
    return int(pairs[best, 0]), int(pairs[best, 1])


def minhash_values(grams: Collection[bytes]) -> np.ndarray:
    """The MinHash of a set of shingles, as NUM_PERM uint32: exactly what datasketch's ``MinHash.update_batch`` gives
    with the "affine32" scheme and our hash, computed here in one vectorised pass without a MinHash object (its
    per-shingle Python calls and temporaries were most of the cost of ingesting an article)."""
    a, b = _permutations()
    hashes = np.fromiter(map(_shingle_hash, grams), dtype=np.uint32, count=len(grams))
    # The MurmurHash3 32-bit finalizer, which the scheme applies to every input hash before the permutations;
    # uint32 arithmetic wraps, as the scheme requires.
    hashes ^= hashes >> np.uint32(16)
    hashes *= np.uint32(0x85EBCA6B)
    hashes ^= hashes >> np.uint32(13)
    hashes *= np.uint32(0xC2B2AE35)
    hashes ^= hashes >> np.uint32(16)
    values = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)  # the scheme's empty value
    column = hashes[:, None]
    for start in range(0, len(hashes), _BLOCK):  # blocks small enough to stay in the CPU cache
        block = column[start:start + _BLOCK] * a
        block += b
        np.minimum(values, block.min(axis=0), out=values)
    return values


def signature(text: str, threshold: float) -> Signature | None:
    """The MinHash signature and LSH bands of a text; None when the text is too short to compare."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    values = np.asarray(minhash_values(grams), dtype="<u8")
    bands, rows = band_layout(threshold)
    out = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows:(band + 1) * rows].tobytes(), digest_size=8).digest()
        out.append((band, int.from_bytes(digest, "little", signed=True)))
    return Signature(values.tobytes(), tuple(out))


__all__ = ["Signature", "band_layout", "minhash_values", "shingles", "signature", "story_text"]


def closest_story(signature: Signature, candidates: Iterable[tuple[bytes | None, int | None]],
                  threshold: float) -> int | None:
    """The story of the most similar candidate (its stored MinHash values, its story id) at or above ``threshold``,
    or None: the article opens a story of its own."""
    best: tuple[float, int] | None = None
    for values, story_id in candidates:
        if values is None or story_id is None:
            continue
        score = signature.similarity(values)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id)
    return best[1] if best is not None else None

