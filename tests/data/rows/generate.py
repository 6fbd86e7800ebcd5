#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Small TSV/CSV files for tests/data/ (data::read_sts, data::read_pairs).

Writes next to this script one file per layout the readers accept and one per malformed-row
kind they must reject (bytes such as a BOM, CRLF, NUL and invalid UTF-8 are written exactly).
The STS-B raw rows are the first two lines of the official sts-train.csv (7 fields), its first
9-field row, and one made-up 7-field row with literal quotes; the SICK rows are from SICK_train.txt. `--check` compares instead of writing.
Run: python3 tests/data/rows/generate.py [--check]   (standard library only)
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent

H = "score\tsentence1\tsentence2\tsource\n"
GOOD = "5.000\tA plane is taking off.\tAn air plane is taking off.\tx\n" \
       "3.800\tA man is playing a large flute.\tA man is playing a flute.\tx\n" \
       "3.800\tA man is spreading cheese.\tA man is spreading cheese on a pizza.\tx\n"

FILES = {
    # ---- STS layouts that read ----
    "sts-header.tsv": H + GOOD,
    "sts-header-reordered.tsv": "id\tsentence2\tSentence1\tSimilarity\n1\tsecond b\tfirst a\t0.5\n2\tsecond d\tfirst c\t4\n",
    "sts-score-first.tsv": "2.5\tA girl is styling her hair.\tA girl is brushing her hair.\n0\tA man walks.\tCats sleep.\n",
    "sts-score-last.tsv": "A girl is styling her hair.\tA girl is brushing her hair.\t2.5\nA man walks.\tCats sleep.\t0\n",
    "sts-b-raw.csv": "main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking off.\n"
                     "main-captions\tMSRvid\t2012test\t0004\t3.800\tA man is playing a large flute.\tA man is playing a flute.\n"
                     "main-news\theadlines\t2016\t0012\t4\tDriver backs into stroller with child, drives off\t"
                     "Driver backs into mom, stroller with child then drives off\t"
                     "Europe Media Monitor (http://emm.newsbrief.eu)\tEurope Media Monitor (http://emm.newsbrief.eu)\n"
                     "main-forums\tdeft-forum\t2014\t0009\t1.000\t\"Quotes\" are literal in TSV.\tShe left.\n",
    "sick-raw.txt": "1\tA group of kids is playing in a yard\tA group of boys in a yard is playing\t4.5\tNEUTRAL\n"
                    "2\tA group of children is playing in the house\tA group of kids is playing in a yard\t3.2\tNEUTRAL\n",
    "sts-quoted.csv": "score,sentence1,sentence2\n1.5,\"Hello, world.\",\"He said \"\"hi\"\".\"\n4,plain text,\"\"\"quoted\"\" start\"\n",
    "sts-bom-crlf.tsv": "\ufeffscore\tsentence1\tsentence2\r\n4.2\tCaf\u00e9 au lait.\tUn caf\u00e9.\r\n1\tNo final newline.\tStill a row.",
    # ---- STS rows that must be rejected (the bad row is on line 3 unless said) ----
    "sts-bad-columns.tsv": H + GOOD.splitlines(True)[0] + "4.0\tonly one sentence\n",
    "sts-bad-too-many.tsv": H + GOOD.splitlines(True)[0] + "4.0\ta\tb\tsrc\textra\n",
    "sts-bad-score-word.tsv": H + GOOD.splitlines(True)[0] + "high\ta\tb\tsrc\n",
    "sts-bad-score-nan.tsv": H + GOOD.splitlines(True)[0] + "nan\ta\tb\tsrc\n",
    "sts-bad-score-inf.tsv": H + GOOD.splitlines(True)[0] + "inf\ta\tb\tsrc\n",
    "sts-bad-score-comma.tsv": H + GOOD.splitlines(True)[0] + "4,5\ta\tb\tsrc\n",
    "sts-bad-score-empty.tsv": H + GOOD.splitlines(True)[0] + "\ta\tb\tsrc\n",
    "sts-bad-score-range.tsv": H + GOOD.splitlines(True)[0] + "5.5\ta\tb\tsrc\n",
    "sts-bad-score-negative.tsv": H + GOOD.splitlines(True)[0] + "-0.5\ta\tb\tsrc\n",
    "sts-bad-empty-text.tsv": H + GOOD.splitlines(True)[0] + "3\ta\t  \tsrc\n",
    "sts-bad-utf8.tsv": (H + GOOD.splitlines(True)[0]).encode() + b"3\tab\xff\tb\tsrc\n",
    "sts-bad-overlong.tsv": (H + GOOD.splitlines(True)[0]).encode() + b"3\ta\t\xc0\xafb\tsrc\n",
    "sts-bad-nul.tsv": (H + GOOD.splitlines(True)[0]).encode() + b"3\ta\x00\tb\tsrc\n",
    "sts-bad-blank-line.tsv": H + GOOD.splitlines(True)[0] + "\n" + GOOD.splitlines(True)[1],
    "sts-bad-unterminated.csv": "score,sentence1,sentence2\n1,\"open quote,b\n",
    "sts-bad-after-quote.csv": "score,sentence1,sentence2\n1,\"a\"x,b\n",
    "sts-unnamed-header.tsv": "gold\tfirst\tsecond\n1\ta\tb\n",
    "sts-header-only.tsv": H,
    "sts-empty.tsv": "",
    # 1 malformed row of 5 (line 5): fails at the default 1 % limit when skipping, passes at 25 %.
    "sts-one-bad-of-five.tsv": H + GOOD + "9\ttoo\thigh\tx\n" + "2\tlast\trow\tx\n",
    # ---- pairs ----
    "pairs-triplets.tsv": "anchor\tpositive\tnegative\nA man sleeps.\tA person rests.\tA man runs.\nA dog barks.\tAn animal makes noise.\tA cat sleeps.\n",
    "pairs-reordered.tsv": "id\tpositive\tanchor\n1\tp1\ta1\n2\tp2\ta2\n3\tp3\ta3\n",
    "pairs-positional.tsv": "a1\tp1\tn1\na2\tp2\tn2\n",
    "pairs-quoted.csv": "query,pos\n\"a, 1\",p1\nq2,\"p \"\"2\"\"\"\n",
    "pairs-bad-header.tsv": "premise\thypothesis\tlabel\na\tb\t0\n",
    "pairs-bad-empty-negative.tsv": "anchor\tpositive\tnegative\na1\tp1\tn1\na2\tp2\t\n",
    "pairs-bad-columns.tsv": "anchor\tpositive\na1\tp1\na2\tp2\textra\n",
    "pairs-bad-utf8.tsv": b"anchor\tpositive\na1\tp1\xed\xa0\x80\n",
}


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for name, content in FILES.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path = HERE / name
        if check:
            if not path.exists() or path.read_bytes() != data:
                print(f"differs: {name}")
                bad += 1
        else:
            path.write_bytes(data)
    if check and bad:
        sys.exit(1)
    print(f"{len(FILES)} files {'checked' if check else 'written'}")


if __name__ == "__main__":
    main()
