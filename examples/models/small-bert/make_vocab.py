#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds vocab.txt of the main job's small BERT: an 8192-piece uncased WordPiece vocabulary
that fits the bundled pre-training corpus.

It is a subset of bert-base-uncased's vocabulary (Apache-2.0): the five special tokens, every
single character of printable ASCII and Latin-1 with its "##" form (so any Latin-script word can
still be split into pieces), then the pieces bert-base-uncased produces most often on
examples/data/corpus.txt, by descending count (ties by bert's id). The pieces of a word are found
by the same greedy longest-match WordPiece with the smaller vocabulary, so text outside the corpus
tokenizes into more, shorter pieces instead of [UNK].

Run (needs `tokenizers`): python3 examples/models/small-bert/make_vocab.py BERT_VOCAB_TXT
where BERT_VOCAB_TXT is bert-base-uncased's vocab.txt (sha256 07eced37...).
"""
import collections
import pathlib
import sys

from tokenizers import BertWordPieceTokenizer

SIZE = 8192
HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "data" / "corpus.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main():
    bert_vocab = pathlib.Path(sys.argv[1])
    bert = bert_vocab.read_text(encoding="utf-8").split("\n")[:-1]
    index = {t: i for i, t in enumerate(bert)}
    tok = BertWordPieceTokenizer(str(bert_vocab), lowercase=True)
    counts = collections.Counter()
    for line in CORPUS.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            counts.update(tok.encode(line, add_special_tokens=False).tokens)
    chars = [chr(c) for c in list(range(0x21, 0x7F)) + list(range(0xA1, 0x100))]
    out = list(SPECIALS)
    for c in chars:
        for t in (c, "##" + c):
            if t in index and t not in out:
                out.append(t)
    seen = set(out)
    for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], index[kv[0]])):
        if len(out) == SIZE:
            break
        if t not in seen and t != "[UNK]":
            out.append(t)
            seen.add(t)
    assert len(out) == SIZE, len(out)
    (HERE / "vocab.txt").write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"vocab.txt: {len(out)} tokens; corpus pieces {sum(counts.values())}, distinct {len(counts)}")


if __name__ == "__main__":
    main()
