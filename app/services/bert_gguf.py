"""Convert a BERT sentence-embedding model (Hugging Face safetensors + WordPiece vocab) into a GGUF llama.cpp loads.

No torch: the weights are read with `safetensors.numpy` and written with the `gguf` package. The output is
deterministic (same input files, same bytes), so the catalog can pin its sha256. What llama.cpp needs is spelled out
in ARCHITECTURE.md ("Models"): architecture `bert`, mean pooling, non-causal attention, tokenizer `bert` with the
`jina-v2-en` pre-tokenizer, the WordPiece vocab in "phantom space" form, special tokens typed CONTROL, 2-D weight
matrices in F16 and everything else in F32.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

from app.core.errors import SetupError

WORD_START = "\u2581"  # what llama.cpp's WordPiece tokenizer expects before a word-initial piece
SPECIAL_NAMES = ("unk", "sep", "pad", "cls", "mask")
# Kept in F32 by llama.cpp's own converter (tiny, and precision-sensitive): position and token-type embeddings.
F32_MATRICES = ("position_embd", "token_types")
SKIPPED = ("embeddings.position_ids",)


def phantom_space(piece: str) -> str:
    """`##ing` continues a word, so it becomes `ing`; `play` starts one, so it becomes `▁play`; `[CLS]` stays."""
    if piece.startswith("[") and piece.endswith("]"):
        return piece
    if piece.startswith("##"):
        return piece[2:]
    return WORD_START + piece


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def convert_bert(model_dir: Path, target: Path, *, name: str) -> None:
    """Write `target` (GGUF) from `model_dir` (config.json, model.safetensors, vocab.txt, special_tokens_map.json)."""
    config = _read_json(model_dir / "config.json")
    if config.get("model_type") != "bert":
        kind = config.get("model_type")
        raise SetupError(f"{model_dir} does not hold a BERT model (config.json model_type {kind!r})")
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    if pooling and not pooling.get("pooling_mode_mean_tokens"):
        raise SetupError(f"{model_dir} uses a pooling other than mean, which this converter does not write")
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    if len(vocab) != config["vocab_size"]:
        raise SetupError(f"{model_dir}/vocab.txt has {len(vocab)} pieces, config.json says {config['vocab_size']}")
    special_map = _read_json(model_dir / "special_tokens_map.json")
    special_ids = {kind: vocab.index(special_map[f"{kind}_token"]) for kind in SPECIAL_NAMES}

    writer = gguf.GGUFWriter(str(target), "bert")
    writer.add_name(name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    writer.add_token_type_count(config.get("type_vocab_size", 1))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("jina-v2-en")
    writer.add_token_list([phantom_space(piece) for piece in vocab])
    control = set(special_ids.values())
    writer.add_token_types(
        [gguf.TokenType.CONTROL if index in control else gguf.TokenType.NORMAL for index in range(len(vocab))]
    )
    writer.add_bos_token_id(special_ids["cls"])
    writer.add_eos_token_id(special_ids["sep"])
    writer.add_sep_token_id(special_ids["sep"])
    writer.add_unk_token_id(special_ids["unk"])
    writer.add_pad_token_id(special_ids["pad"])
    writer.add_mask_token_id(special_ids["mask"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    names = gguf.TensorNameMap(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
    for key, tensor in sorted(load_file(str(model_dir / "model.safetensors")).items()):
        if key in SKIPPED or key.startswith("pooler."):
            continue
        new_name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise SetupError(f"{model_dir}/model.safetensors has a tensor this converter does not know: {key}")
        half = tensor.ndim == 2 and key.endswith(".weight") and not new_name.startswith(F32_MATRICES)
        writer.add_tensor(new_name, tensor.astype(np.float16 if half else np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
