#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the libFuzzer targets into tests/fuzz/seeds/<target>/ from small
pieces of the committed fixtures and shipped data (Python stdlib only). Seeds are starting points
for mutation, not expected values: rerun after adding a fixture worth seeding from. The
safetensors target also reads tests/malformed/safetensors/ directly (see CMakeLists.txt)."""
import json, pathlib, shutil, struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fuzz" / "seeds"
MAX = 4096  # libFuzzer's default -max_len; longer seeds would only be cut


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data[:MAX])


def head(path, lines):
    with open(ROOT / path, "rb") as f:
        return b"".join(f.readline() for _ in range(lines))


def safetensors(tensors, metadata=None):
    """tensors: (name, dtype, shape, raw bytes); laid out in order, header padded to 8 bytes."""
    header, offset = {}, 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def main():
    # Keep the regression-* inputs (failures found by fuzzing); rewrite everything else.
    kept = {p: p.read_bytes() for p in OUT.glob("*/regression-*")} if OUT.exists() else {}
    if OUT.exists():
        shutil.rmtree(OUT)
    for p, data in kept.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    # safetensors: small valid files in every dtype we read (the malformed corpus adds the rest).
    put("safetensors", "dtypes.safetensors", safetensors([
        ("f32", "F32", [2, 3], struct.pack("<6f", 1, -2, 0.5, 3, 4, 5)),
        ("f16", "F16", [2], struct.pack("<2e", 1.5, -2)),
        ("bf16", "BF16", [1, 2], bytes([0x80, 0x3f, 0x00, 0xc0])),
        ("f64", "F64", [1], struct.pack("<d", 2.25)),
        ("i64", "I64", [], struct.pack("<q", 7))], {"format": "pt"}))
    put("safetensors", "empty.safetensors", safetensors([]))
    put("safetensors", "zero-dim.safetensors", safetensors([("z", "F32", [0, 4], b"")]))
    # config.json: every committed config, and the smallest valid one.
    for i, p in enumerate(sorted(ROOT.glob("tests/fixtures/**/config.json"))):
        put("config", f"fixture-{i}.json", p.read_bytes())
    put("config", "minimal.json", json.dumps({"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                                              "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 8}))
    put("config", "overflow.json", '{"hidden_size": 1e400}')
    # A sentence-transformers folder: byte 0 says which of modules.json, the Pooling config,
    # sentence_bert_config.json and tokenizer_config.json follow (bits 0-3, NUL between them), the
    # model (bit 4: width 384, else 16; bit 5: 512 positions, else 8) and the folder name (bit 6).
    def st_folder(name, bits, *files):
        texts = [f.read_bytes() if isinstance(f, pathlib.Path) else f.encode() for f in files]
        put("st_folder", name, bytes([bits]) + b"\0".join(texts))
    st, saved, export = ROOT / "tests/cli/st", ROOT / "tests/fixtures/minilm/saved-by-st", ROOT / "tests/fixtures/export/two-layer"
    st_folder("cls-normalize", 0x23, st / "modules_cls_normalize.json", st / "pooling_cls.json")
    st_folder("dense", 0x23, st / "modules_dense.json", st / "pooling_cls.json")
    st_folder("max-pooling", 0x03, st / "modules_cls_normalize.json", st / "pooling_max.json")
    st_folder("sbert-short-lower", 0x24, st / "sbert_short_lower.json")
    st_folder("sbert-too-long", 0x24, st / "sbert_too_long.json")
    st_folder("tokenizer-config", 0x2b, st / "modules_cls_normalize.json", st / "pooling_cls.json", st / "tokenizer_config_cased.json")
    st_folder("saved-by-st", 0x3f, saved / "modules.json", saved / "1_Pooling/config.json", saved / "sentence_bert_config.json",
              saved / "tokenizer_config.json")
    st_folder("export", 0x67, export / "modules.json", export / "1_Pooling/config.json", export / "sentence_bert_config.json")
    st_folder("transformer-elsewhere", 0x41, '[{"path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}]')
    st_folder("pooling-booleans", 0x03, '[{"path": "p", "type": "Pooling"}, {"path": "n", "type": "Normalize"}]',
              '{"word_embedding_dimension": 16, "pooling_mode_mean_tokens": true, "pooling_mode_cls_token": null}')
    st_folder("overflow", 0x24, '{"max_seq_length": 1e400, "do_lower_case": true}')
    # vocab.txt and tokenizer.json: a small valid vocab, and the committed tokenizer.json's head.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    put("vocab", "small.txt", "\n".join(specials + ["hello", "world", "##s", ",", "!", "a"]) + "\n")
    put("vocab", "crlf-bom.txt", "\ufeff" + "\r\n".join(specials + ["x", "##y"]) + "\r\n")
    tok = json.loads((ROOT / "tests/fixtures/tokenizer/tokenizer.json").read_text())
    tok["model"]["vocab"] = {t: i for i, t in enumerate(specials + ["hello", "world", "##s"])}
    tok["added_tokens"] = [a for a in tok.get("added_tokens", []) if a.get("content") in specials]
    for a in tok["added_tokens"]:
        a["id"] = specials.index(a["content"])
    for key, entry in (tok.get("post_processor") or {}).get("special_tokens", {}).items():
        entry["ids"] = [specials.index(key)]
    put("vocab", "tokenizer.json", json.dumps(tok))
    # Tokenizer input: byte 0 holds the options (bit 0 lowercase, 1 truncate, 2 pad, 4-7 length).
    texts = (ROOT / "tests/fixtures/minilm/sentences.txt").read_text().splitlines()[:6] + [
        "Ünïcödé accents, 中文字符 and emoji 🙂", "tab\tseparated pair", "[CLS] [MASK] specials [SEP]", "x" * 120]
    for i, t in enumerate(texts):
        put("tokenizer", f"text-{i}", bytes([i * 37 % 256]) + t.encode("utf-8"))
    put("tokenizer", "invalid-utf8", b"\x03\xff\xfe overlong \xc0\xaf and surrogate \xed\xa0\x80")
    # Dataset readers: byte 0 holds the options (see fuzz_datasets.cpp), then a file's head.
    rows = sorted((ROOT / "tests/data/rows").glob("*.*sv")) + sorted((ROOT / "tests/data/rows").glob("*.txt"))
    for i, p in enumerate(rows):
        if p.suffix != ".py":
            put("datasets", p.name, bytes([0x01 | (i % 8) << 2]) + p.read_bytes())
    put("datasets", "beir-corpus.jsonl", b"\x81" + head("examples/data/beir-scifact/corpus.jsonl", 2))
    put("datasets", "beir-queries.jsonl", b"\x81" + head("examples/data/beir-scifact/queries.jsonl", 4))
    put("datasets", "groups.jsonl", b"\x81" + json.dumps({"query": "q", "positive": "p", "negatives": ["n1", "n2"]}).encode() + b"\n")
    put("datasets", "overflow.jsonl", b'\x81{"_id": "1", "text": "a", "x": 1e400}\n')
    put("datasets", "corpus-blocks.txt", b"\x80" + head("examples/data/corpus.txt", 12))
    # TREC: qrels (BEIR with a header, TREC with an iteration column) and a run.
    put("trec", "beir-qrels.tsv", head("examples/data/beir-scifact/qrels/test.tsv", 8))
    put("trec", "trec-qrels.txt", "1 0 d1 1\n1 0 d2 0\n2 0 d3 2\n")
    put("trec", "run.txt", "1 Q0 d1 1 2.5 starbucks\n1 Q0 d2 2 1.25 starbucks\n2 Q0 d3 1 0.5 starbucks\n")
    # --pairs
    for i, s in enumerate(["2:32,4:64,6:384", " 1:8 , 2:16 ", "6:384", "2:32,2:64", "0:1", "1:99999999999999999999"]):
        put("pairs", f"pairs-{i}", s)


if __name__ == "__main__":
    main()
