"""Protocol presets: the paper's text, the authors' code and the library's defaults (issue 13)."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from latentsep.experiments.protocol import (
    AUTHORS_CODE,
    CURRENT,
    PAPER_TEXT,
    Protocol,
    allocation_sweeps,
    protocol_table,
    separation_by_seed,
)
from latentsep.experiments.protocol.options import OPTIONS
from latentsep.experiments.regularisation import regularised_embeddings
from latentsep.heads import HeadConfig
from latentsep.models import PretrainConfig
from latentsep.regularise import TVSurrogate


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def test_current_is_exactly_the_library_defaults() -> None:
    # The defaults must keep today's computation until the chapters switch protocols.
    assert Protocol() == CURRENT
    assert CURRENT.head_config(HeadConfig()) == HeadConfig()
    assert CURRENT.pretrain_config(PretrainConfig()) == PretrainConfig()
    assert CURRENT.sweep_options() == {k: _default(allocation_sweeps, k) for k in ("head_start", "encoder")}
    assert CURRENT.separation_options()["pca_variance"] == _default(separation_by_seed, "pca_variance")
    assert CURRENT.regulariser_options()["tv_variance"] == _default(regularised_embeddings, "tv_variance")
    assert TVSurrogate().variance == CURRENT.surrogate_variance


def test_presets_set_every_option_and_name_its_source() -> None:
    for preset in (PAPER_TEXT, AUTHORS_CODE, CURRENT):
        assert set(preset.sources) == set(OPTIONS) and all(preset.sources.values())
    assert AUTHORS_CODE.to_dict() == {"name": "authors' code", "head_start": "resumed",
                                      "plateau_monitor": "val_loss", "separation_features": "full",
                                      "surrogate_variance": "total", "encoder": "pinned"}
    assert PAPER_TEXT.head_start == "fresh" and PAPER_TEXT.separation_features == "pca70"
    assert AUTHORS_CODE.separation_options() == {"pca_variance": None}
    assert AUTHORS_CODE.head_config(HeadConfig(max_epochs=7)) == HeadConfig(
        max_epochs=7, plateau_monitor="val_loss")
    table = protocol_table()
    assert list(table["option"]) == list(OPTIONS)
    assert list(table.columns[:3]) == ["option", "current", "current source"]
    assert table.set_index("option")["differs"].to_dict() == {
        "head_start": True, "plateau_monitor": True, "separation_features": True,
        "surrogate_variance": True, "encoder": True}
    assert not protocol_table(PAPER_TEXT, Protocol("copy", **{
        k: getattr(PAPER_TEXT, k) for k in OPTIONS}))["differs"].any()


def test_tag_records_the_protocol_in_a_table() -> None:
    df = pd.DataFrame({"value": [1.0, 2.0]}, index=[5, 6])
    tagged = AUTHORS_CODE.tag(df)
    assert list(tagged.columns) == ["protocol", "value"] and (tagged["protocol"] == "authors' code").all()
    assert tagged.index.tolist() == [5, 6]


def test_bad_options_name_the_field_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown Protocol\.head_start 'reinit'.*fresh"):
        Protocol(head_start="reinit")
    with pytest.raises(ValueError, match=r"Protocol\.separation_features 'pca'"):
        Protocol(separation_features="pca")
    with pytest.raises(ValueError, match=r"Protocol\.encoder"):
        Protocol(encoder="shared")
    with pytest.raises(ValueError, match=r"Protocol\.sources names unknown options \['lr'\]"):
        Protocol(sources={"lr": "somewhere"})
    with pytest.raises(ValueError, match="distinct"):
        protocol_table(CURRENT, CURRENT)
