"""Query parsing: phrases, weights, negatives, image terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photosearch.core.query import NEGATIVE_WEIGHT, QueryError, Term, parse_query


def test_plain_words_are_one_phrase(tmp_path: Path) -> None:
    assert parse_query("dog on a beach at sunset", tmp_path) == [Term("text", "dog on a beach at sunset", 1.0)]


def test_negative_and_weighted_terms(tmp_path: Path) -> None:
    assert parse_query("beach -people", tmp_path) == [Term("text", "beach"), Term("text", "people", NEGATIVE_WEIGHT)]
    assert parse_query('red car -"parking lot"', tmp_path) == [
        Term("text", "red car"),
        Term("text", "parking lot", NEGATIVE_WEIGHT),
    ]
    assert parse_query('"2:sunset" + mountains', tmp_path) == [Term("text", "sunset", 2.0), Term("text", "mountains")]
    assert parse_query("-0.3:rain + umbrella", tmp_path) == [Term("text", "rain", -0.3), Term("text", "umbrella")]


def test_image_terms_are_existing_photo_files(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.jpg")
    terms = parse_query('"2:sunset" + ./photo.jpg', tmp_path)
    assert terms == [Term("text", "sunset", 2.0), Term("image", str((tmp_path / "photo.jpg").resolve()), 1.0)]
    assert parse_query("missing.jpg", tmp_path) == [Term("text", "missing.jpg")]  # not a file: just words


@pytest.mark.parametrize("text", ["", "   ", "-people", "+ +"])
def test_queries_without_anything_to_look_for_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(QueryError):
        parse_query(text, tmp_path)


def test_unbalanced_quotes_are_taken_literally(tmp_path: Path) -> None:
    assert parse_query('dog "on beach', tmp_path) == [Term("text", "dog on beach")]
