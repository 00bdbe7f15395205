"""Stored MinHash signatures are compared with the signatures of articles ingested later, so the signature of a text
must never change: these are pinned to the bytes the first stored signatures were made with."""

from __future__ import annotations

import hashlib
import zlib

import pytest

from monitor.dedupe import MIN_SHINGLES, NUM_PERM, shingles, signature, story_text

TEXT = ("Der Außenminister Sergej Lawrow sprach am Montag in Wien über die Ukraine. "
        "Foreign ministers met in Vienna on Monday; Лавров заявил о переговорах по Украине. "
        "The talks, the third this year, ended without a statement — O'Brien's notes say so.")


def test_shingles_are_pinned() -> None:
    grams = shingles(TEXT)
    assert len(grams) == 39
    assert b"der aussenminister sergej" in grams  # casefolded words (ß is ss), one space
    assert "переговорах по украине".encode() in grams  # UTF-8
    assert b"o brien s" in grams  # \w words: the apostrophe splits
    assert hashlib.sha256(b"".join(sorted(grams))).hexdigest() == (
        "2529ce67ab467a1fb2445685cbb8738279d5c1b93b511fc0abcb81f0e4b5e8f2")
    assert shingles("two words") == set()
    assert shingles("one two three") == {b"one two three"}


def test_signature_bytes_and_bands_are_pinned() -> None:
    sig = signature(TEXT, 0.8)
    assert sig is not None
    assert len(sig.values) == NUM_PERM * 8
    assert sig.values[:16].hex() == "92027a0200000000ffd1cc0100000000"
    assert hashlib.sha256(sig.values).hexdigest() == (
        "d9323b0a3324b5c9d801eb00e67c8202245755dfcb245ce7d582a94b7d64e7fd")
    assert sig.bands == (
        (0, 777258028484387477), (1, -8909506657094201227), (2, -3531028946428597585), (3, 6582825023394275645),
        (4, -1566296890867733585), (5, 4132377775990237072), (6, 7974706330811897827), (7, -259545029934936122),
        (8, -3970767488303441551))
    assert sig.similarity(sig.values) == 1.0


def test_short_texts_have_no_signature() -> None:
    words = " ".join(f"w{i}" for i in range(MIN_SHINGLES + 1))  # MIN_SHINGLES - 1 shingles
    assert signature(words, 0.8) is None
    assert signature(words + " w99", 0.8) is not None


def test_vectorised_minhash_is_datasketchs_minhash() -> None:
    from datasketch import MinHash

    from monitor.dedupe import _SCHEME, _SEED, minhash_values
    from monitor.sites import default_registry
    from tests._synth import article_url, synth_page

    registry = default_registry()
    texts = [TEXT] + [story_text(registry.parse(synth_page(n), article_url(n))) for n in range(3)]
    for text in texts:
        grams = shingles(text)
        reference = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME, hashfunc=zlib.crc32)
        reference.update_batch(list(grams))
        assert minhash_values(grams).tolist() == reference.hashvalues.tolist()


@pytest.mark.slow  # spawns processes
def test_permutations_and_band_layout_are_datasketchs_without_importing_it() -> None:
    """The constants and the quadrature stand in for datasketch (and scipy) at run time; they must give exactly what
    it gives, or stored signatures and bands would stop matching new ones."""
    import subprocess
    import sys

    from datasketch import MinHash, MinHashLSH

    from monitor.dedupe import _permutations, band_layout

    a, b = _permutations()
    expected_a, expected_b = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations
    assert a.tolist() == list(expected_a) and b.tolist() == list(expected_b)
    for percent in range(1, 101):
        threshold = percent / 100
        try:
            lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)  # its public b (bands) and r (rows per band)
        except ValueError:  # datasketch refuses a layout of one band; ours keeps it
            assert band_layout(threshold)[0] < 2, threshold
            continue
        assert band_layout(threshold) == (lsh.b, lsh.r), threshold
    code = ("import sys; from monitor.dedupe import signature; signature('a b c d e f g h i j k l m n', 0.8); "
            "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_closest_story_above_the_threshold_wins() -> None:
    from monitor.dedupe import closest_story, signature

    words = [f"word{n}" for n in range(400)]
    text = " ".join(words)
    mine = signature(text, 0.8)
    near = signature(" ".join(words[:390] + ["other"] * 10), 0.8)
    far = signature(" ".join(f"else{n}" for n in range(400)), 0.8)
    assert mine is not None and near is not None and far is not None
    assert closest_story(mine, [(far.values, 1), (near.values, 2), (mine.values, 3), (None, 4)], 0.8) == 3
    assert closest_story(mine, [(far.values, 1), (near.values, 2)], 0.8) == 2
    assert closest_story(mine, [(far.values, 1), (mine.values, None)], 0.8) is None
