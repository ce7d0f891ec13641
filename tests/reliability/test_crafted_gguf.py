"""Crafted GGUF headers: every field the reader trusts, lied about, is refused in one line (ModelUnavailable)
before anything is copied, in time linear in the header, leaving nothing in the models folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from gguf_header import ARRAY, CHAT_PAIRS, STRING, U8, U32, header, string, tensor, whole_file
from hostile import GROWTH, RATIO_LIMIT, growth_ratio

from app.core.errors import ModelUnavailable
from app.services.gguf import read_gguf, validate_chat_model
from app.services.models import ModelService

PLENTY = 1 << 40  # free memory to claim, so only the header decides


def crafted(tmp_path: Path, data: bytes, name: str = "crafted.gguf") -> Path:
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def with_pair(key: str, kind: int, item) -> list:
    return [p for p in CHAT_PAIRS if p[0] != key] + [(key, kind, item)]


def test_a_crafted_but_honest_header_is_accepted(tmp_path):
    info = validate_chat_model(crafted(tmp_path, whole_file(header())), free_memory=PLENTY)
    assert (info.architecture, info.context_length, info.has_chat_template) == ("llama", 2048, True)
    assert info.required_size == info.file_size


LIES = {
    "string alignment": (whole_file(header(with_pair("general.alignment", STRING, "32"))), "general.alignment"),
    "zero alignment": (whole_file(header(with_pair("general.alignment", U32, 0))), "general.alignment"),
    "odd alignment": (whole_file(header(with_pair("general.alignment", U32, 3))), "power of two"),
    "array alignment": (whole_file(header(with_pair("general.alignment", ARRAY, (U32, [32])))), "general.alignment"),
    "string context length": (whole_file(header(with_pair("llama.context_length", STRING, "4096"))),
                              "llama.context_length"),
    "absurd n_dims": (whole_file(header(tensors=[tensor("w", [4, 4], n_dims=2**31)])), "dimensions"),
    "many real dims": (whole_file(header(tensors=[tensor("w", [2**40] * 200_000)])), "dimensions"),
    "zero n_dims": (whole_file(header(tensors=[tensor("w", [], n_dims=0)])), "dimensions"),
    "absurd array length": (whole_file(header([*CHAT_PAIRS, ("tokens", ARRAY, (U8, [1], 2**62))])), "cut short"),
    "absurd string-array length": (whole_file(header([*CHAT_PAIRS, ("tokens", ARRAY, (STRING, ["a"], 2**62))])),
                                   "cut short"),
    "array of arrays": (whole_file(header([*CHAT_PAIRS, ("nested", ARRAY, (ARRAY, []))])), "array of type 9"),
    "absurd string length": (whole_file(header([*CHAT_PAIRS, string("key") + (8).to_bytes(4, "little")
                                                + string(b"x", length=2**60)])), "string of"),
    "absurd key length": (whole_file(header([string(b"k", length=2**63)])), "string of"),
    "absurd pair count": (whole_file(header(kv_count=2**63)), "cut short"),
    "absurd tensor count": (whole_file(header(tensor_count=2**63)), "cut short"),
    "unknown value type": (whole_file(header([string("key") + (99).to_bytes(4, "little")])), "unknown type 99"),
    "huge dims": (whole_file(header(tensors=[tensor("w", [2**63] * 4)])), "truncated"),
}  # fmt: skip


@pytest.mark.parametrize("lie", LIES, ids=list(LIES))
def test_each_lie_is_refused_in_one_line_naming_the_file(tmp_path, lie):
    data, fragment = LIES[lie]
    path = crafted(tmp_path, data)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        validate_chat_model(path, free_memory=PLENTY)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_a_header_cut_at_any_byte_is_refused_as_cut_short(tmp_path):
    data = header([*CHAT_PAIRS, ("tokens", ARRAY, (STRING, ["<s>", "</s>", "hi"]))])
    for cut in range(len(data)):
        path = crafted(tmp_path, data[:cut])
        with pytest.raises(ModelUnavailable, match="cut short|not a GGUF|version"):
            read_gguf(path)


@pytest.mark.parametrize("lie", ["string context length", "string alignment", "absurd n_dims"])
def test_models_add_refuses_before_copying_and_leaves_no_temp_file(tmp_path, lie):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    service = ModelService(models_dir, catalog=[])
    with pytest.raises(ModelUnavailable):
        service.add(crafted(tmp_path, LIES[lie][0]), free_memory=PLENTY)
    assert list(models_dir.iterdir()) == []
    assert service.installed() == []


def test_models_add_of_an_honest_crafted_file_copies_it_under_its_name(tmp_path):
    models_dir = tmp_path / "models"
    spec = ModelService(models_dir, catalog=[]).add(crafted(tmp_path, whole_file(header())), free_memory=PLENTY)
    assert (spec.name, spec.context_length) == ("crafted", 2048)
    assert sorted(p.name for p in models_dir.iterdir()) == ["added-models.json", "crafted.gguf"]


def test_reading_a_header_takes_time_linear_in_its_records(tmp_path):
    def file_of(records: int) -> Path:
        tokens = ("tokens", ARRAY, (STRING, ["tok"] * records))
        tensors = [tensor(f"t{i}", [2**40, 2**40, 2**40, 2**40]) for i in range(records // 10)]
        return crafted(tmp_path, header([*CHAT_PAIRS, tokens], tensors), name=f"h{records}.gguf")

    files = {records: file_of(records) for records in (50_000, 50_000 * GROWTH)}
    assert growth_ratio(lambda records: read_gguf(files[records]), 50_000) < RATIO_LIMIT


def test_an_add_interrupted_midway_leaves_no_temp_file(tmp_path):
    models_dir = tmp_path / "models"
    service = ModelService(models_dir, catalog=[])

    def interrupt(done, total, phase):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.add(crafted(tmp_path, whole_file(header())), interrupt, free_memory=PLENTY)
    assert list(models_dir.iterdir()) == []


def test_temp_files_a_killed_add_left_behind_are_swept_by_the_next_add(tmp_path):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    stale, live = models_dir / ".add-old.gguf-x1", models_dir / ".add-other.gguf-x2"
    stale.write_bytes(b"half a model")
    live.write_bytes(b"being written right now")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    ModelService(models_dir, catalog=[]).add(crafted(tmp_path, whole_file(header())), free_memory=PLENTY)
    assert not stale.exists() and live.exists()
