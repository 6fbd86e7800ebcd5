#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mixed_case_lower.txt: Python's str.lower() of each line of mixed_case.txt, which is what
sentence-transformers does to a text when sentence_bert_config.json says "do_lower_case": true.
Run: python3 tests/cli/st/generate.py"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
lines = (HERE / "mixed_case.txt").read_text(encoding="utf-8").splitlines()
(HERE / "mixed_case_lower.txt").write_text("".join(line.lower() + "\n" for line in lines), encoding="utf-8")
