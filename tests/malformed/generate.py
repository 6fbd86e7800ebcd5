#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the malformed-safetensors corpus of RELIABILITY.md section 6.

One file per case of the safetensors table in RELIABILITY.md section 3, must-reject and
must-accept, plus cases.tsv (file, expect, kind, message_substrings) that the doctest driver
tests/io/test_malformed.cpp reads. Standard library only and deterministic: CI regenerates
the corpus and fails on any byte difference.

    generate.py                 write into tests/malformed/safetensors/
    generate.py --out DIR       write into DIR
    generate.py --check         regenerate into a temporary directory, compare with the committed files
"""

import argparse
import filecmp
import json
import math
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "safetensors")

CASES = []  # (file, expect, kind, substrings, content)


def reject(name, kind, substrings, content):
    CASES.append((name + ".safetensors", "reject", kind, substrings, content))


def accept(name, content):
    CASES.append((name + ".safetensors", "accept", "-", [], content))


# ---- building blocks ----

def u64(n):
    return struct.pack("<Q", n)


def raw(header, data=b"", n=None):
    """A file: length field (len(header) unless n is given), header bytes, data."""
    return u64(len(header) if n is None else n) + header + data


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def padded(header):
    return header + b" " * (-len(header) % 8)


def file_of(obj, data=b""):
    """A file whose header is `obj` as compact JSON padded with spaces, as our writer does."""
    return raw(padded(dumps(obj)), data)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32x4 = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)  # F32 [2,2]
T22 = entry("F32", [2, 2], 0, 16)


def one_entry_text(entry_text, data=F32x4):
    """A file with a single tensor "t" whose entry is given as raw JSON text."""
    return raw(padded(b'{"t":' + entry_text + b"}"), data)


FMT = "format_error"
UNS = "unsupported_error"

# ---- size and header length ----
reject("empty", FMT, ["file has 0 bytes", "at least 8 bytes"], b"")
reject("short_1_byte", FMT, ["file has 1 bytes", "at least 8 bytes"], b"\x02")
reject("short_7_bytes", FMT, ["file has 7 bytes", "at least 8 bytes"], b"\x02\x00\x00\x00\x00\x00\x00")
reject("header_length_max", FMT, ["@0", "header length 18446744073709551615", "file has 10 bytes"],
       raw(b"{}", n=2**64 - 1))
reject("header_length_wraps", FMT, ["header length 18446744073709551608", "file has 10 bytes"],
       raw(b"{}", n=2**64 - 8))  # N + 8 wraps to 0
reject("header_length_past_end", FMT, ["header length 100 exceeds the 2 bytes", "file has 10 bytes"],
       raw(b"{}", n=100))
reject("header_length_over_cap", FMT, ["header length 100000008", "file has 16 bytes"],
       raw(b"{}      ", n=100_000_008))
reject("header_length_zero", FMT, ["@8+0", "not valid JSON"], raw(b""))

# ---- UTF-8 ----
meta_text = b'{"__metadata__":{"format":"'
reject("utf8_invalid_byte", FMT, ["@8+27", "not valid UTF-8", "0xff"],
       raw(padded(meta_text + b'\xfft"}}')))
reject("utf8_overlong_2", FMT, ["@8+27", "not valid UTF-8", "overlong encoding", "0xc0 0xaf"],
       raw(padded(meta_text + b'\xc0\xaf"}}')))
reject("utf8_overlong_3", FMT, ["not valid UTF-8", "overlong encoding"], raw(padded(meta_text + b'\xe0\x80\xaf"}}')))
reject("utf8_surrogate", FMT, ["not valid UTF-8", "surrogate", "0xed 0xa0 0x80"], raw(padded(meta_text + b'\xed\xa0\x80"}}')))
reject("utf8_truncated", FMT, ["not valid UTF-8", "truncated sequence"], raw(padded(meta_text + b'\xe2\x82"}}')))
reject("utf8_beyond_10ffff", FMT, ["not valid UTF-8", "beyond U+10FFFF"], raw(padded(meta_text + b'\xf4\x90\x80\x80"}}')))
reject("name_not_utf8", FMT, ["@8+3", "not valid UTF-8"],
       raw(padded(b'{"t\xff":' + dumps(T22) + b"}"), F32x4))

# ---- strict JSON ----
reject("json_garbage", FMT, ["@8+0", "not valid JSON"], raw(b"hello   "))
reject("json_truncated", FMT, ["not valid JSON"], raw(b'{"t":{"dtype":"F32"'))
reject("json_trailing_comma", FMT, ["not valid JSON"], raw(padded(b'{"__metadata__":{"format":"pt",}}')))
reject("json_single_quotes", FMT, ["not valid JSON"], raw(padded(b"{'t':1}")))
reject("json_nan_literal", FMT, ["not valid JSON"], raw(padded(b'{"__metadata__":{"x":NaN}}')))
reject("json_comment", FMT, ["not valid JSON"], raw(padded(b"{/* c */}")))
reject("json_lone_surrogate_escape", FMT, ["not valid JSON", "surrogate"],
       raw(padded(b'{"\\ud800":' + dumps(T22) + b"}"), F32x4))
reject("json_control_char_in_string", FMT, ["not valid JSON"], raw(padded(b'{"__metadata__":{"a":"x\x01y"}}')))
reject("not_object_array", FMT, ["@8+0", "an array, not an object"], raw(b"[]      "))
reject("not_object_string", FMT, ["a string, not an object"], raw(b'"x"     '))
reject("not_object_number", FMT, ["a number, not an object"], raw(b"42      "))
reject("nul_padding", FMT, ["@8+2", "byte 0x00 after the closing '}'"], raw(b"{}\x00\x00\x00\x00\x00\x00"))
reject("junk_after_object", FMT, ["@8+3", "byte 0x78 after the closing '}'"], raw(b"{} x    "))
reject("two_objects", FMT, ["@8+2", "after the closing '}'"], raw(b"{}{}    "))
reject("newline_padding", FMT, ["byte 0x0a after the closing '}'", "only spaces"], raw(b"{}\n     "))
reject("tab_before_object", FMT, ["@8+0", "byte 0x09 before the opening '{'"], raw(b"\t{}     "))
reject("bom_before_object", FMT, ["@8+0", "byte 0xef before the opening '{'"], raw(b"\xef\xbb\xbf{}   "))
reject("depth_65", FMT, ["nesting deeper than 64"],
       raw(padded(b'{"__metadata__":{"x":' + b"[" * 63 + b"]" * 63 + b"}}")))

# ---- duplicate keys, at any depth ----
reject("duplicate_tensor", FMT, ['key "t"', "duplicate key"],
       raw(padded(b'{"t":' + dumps(T22) + b',"t":' + dumps(T22) + b"}"), F32x4))
reject("duplicate_metadata", FMT, ['key "__metadata__"', "duplicate key"],
       raw(padded(b'{"__metadata__":{},"__metadata__":{}}')))
reject("duplicate_key_in_entry", FMT, ['key "dtype"', "duplicate key"],
       one_entry_text(b'{"dtype":"F32","dtype":"F32","shape":[2,2],"data_offsets":[0,16]}'))
reject("duplicate_key_in_metadata", FMT, ['key "format"', "duplicate key"],
       raw(padded(b'{"__metadata__":{"format":"pt","format":"np"}}')))
reject("duplicate_key_escaped", FMT, ['key "t"', "duplicate key"],
       raw(padded(b'{"t":' + dumps(T22) + b',"\\u0074":' + dumps(T22) + b"}"), F32x4))

# ---- entries ----
reject("entry_array", FMT, ['tensor "t"', "entry is an array, not an object"], one_entry_text(b"[1]"))
reject("entry_number", FMT, ['tensor "t"', "entry is a number, not an object"], one_entry_text(b"5"))
reject("missing_dtype", FMT, ['tensor "t"', 'entry has no "dtype"'], one_entry_text(b'{"shape":[2,2],"data_offsets":[0,16]}'))
reject("missing_shape", FMT, ['tensor "t"', 'entry has no "shape"'], one_entry_text(b'{"dtype":"F32","data_offsets":[0,16]}'))
reject("missing_data_offsets", FMT, ['tensor "t"', 'entry has no "data_offsets"'], one_entry_text(b'{"dtype":"F32","shape":[2,2]}'))
reject("unexpected_key", FMT, ['tensor "t"', 'unexpected key "foo"'],
       one_entry_text(b'{"dtype":"F32","shape":[2,2],"data_offsets":[0,16],"foo":1}'))

# ---- dtype ----
reject("dtype_lowercase", FMT, ['tensor "t"', 'unknown dtype "f32"'], one_entry_text(b'{"dtype":"f32","shape":[2,2],"data_offsets":[0,16]}'))
reject("dtype_f128", FMT, ['tensor "t"', 'unknown dtype "F128"'], one_entry_text(b'{"dtype":"F128","shape":[2,2],"data_offsets":[0,16]}'))
reject("dtype_number", FMT, ['tensor "t"', "dtype is a number, not a string"], one_entry_text(b'{"dtype":4,"shape":[2,2],"data_offsets":[0,16]}'))
reject("dtype_f8_e4m3", UNS, ['tensor "t"', "dtype F8_E4M3 is not supported"],
       one_entry_text(b'{"dtype":"F8_E4M3","shape":[2,2],"data_offsets":[0,4]}', F32x4[:4]))
reject("dtype_f8_e5m2", UNS, ['tensor "t"', "dtype F8_E5M2 is not supported"],
       one_entry_text(b'{"dtype":"F8_E5M2","shape":[2,2],"data_offsets":[0,4]}', F32x4[:4]))
reject("dtype_u32", UNS, ['tensor "t"', "dtype U32 is not supported"], one_entry_text(b'{"dtype":"U32","shape":[2,2],"data_offsets":[0,16]}'))

# ---- shape ----
def shape_case(name, shape_text, substrings):
    reject(name, FMT, ['tensor "t"'] + substrings,
           one_entry_text(b'{"dtype":"F32","shape":' + shape_text + b',"data_offsets":[0,16]}'))


shape_case("dim_negative", b"[-1,4]", ["dim 0 is -1", "non-negative integers"])
shape_case("dim_fraction", b"[2,1.5]", ["dim 1 is 1.5"])
shape_case("dim_float_integral", b"[2.0,2]", ["dim 0 is 2.0"])
shape_case("dim_exponent", b"[2,2e0]", ["dim 1 is 2e0"])
shape_case("dim_string", b'["2",2]', ["dim 0 is a string"])
shape_case("dim_null", b"[2,null]", ["dim 1 is null"])
shape_case("dim_nested_array", b"[2,[2]]", ["dim 1 is an array"])
shape_case("dim_2pow53", b"[9007199254740992]", ["dim 0 is 9007199254740992", "below 2^53"])
shape_case("dim_above_2pow64", b"[18446744073709551616]", ["dim 0 is 18446744073709551616"])
shape_case("rank_9", b"[1,1,1,1,1,1,1,1,4]", ["rank 9 exceeds the maximum rank 8"])
shape_case("shape_not_array", b"4", ["shape is a number, not an array"])
shape_case("numel_overflow", b"[4294967296,4294967296]", ["F32 [4294967296,4294967296] overflows 64 bits"])
# numel = 2^63 fits; numel x 4 bytes does not
shape_case("numel_bytes_overflow", b"[2147483648,2147483648,2]", ["F32 [2147483648,2147483648,2] overflows 64 bits"])

# ---- data_offsets ----
def offsets_case(name, offsets_text, substrings, data=F32x4):
    reject(name, FMT, ['tensor "t"'] + substrings,
           one_entry_text(b'{"dtype":"F32","shape":[2,2],"data_offsets":' + offsets_text + b"}", data))


offsets_case("offsets_not_array", b"16", ["data_offsets is a number, not an array"])
offsets_case("offsets_three_values", b"[0,16,16]", ["data_offsets must be 2 integers", "found 3 values"])
offsets_case("offsets_one_value", b"[16]", ["found 1 value"])
offsets_case("offsets_negative", b"[-16,0]", ["data_offsets[0] is -16"])
offsets_case("offsets_float", b"[0,16.0]", ["data_offsets[1] is 16.0"])
offsets_case("offsets_string", b'["0",16]', ["data_offsets[0] is a string"])
offsets_case("offsets_begin_after_end", b"[16,0]", ["data_offsets [16, 0]", "begin is past end"])
offsets_case("offsets_size_mismatch", b"[0,12]", ["data_offsets hold 12 bytes, F32 [2,2] needs 16"], F32x4[:12])

# ---- layout: holes, overlaps, file size ----
F32x5 = F32x4 + struct.pack("<f", 5.0)
reject("hole_at_start", FMT, ['tensor "t"', "hole at the start", "begins at byte 4"],
       file_of({"t": entry("F32", [2, 2], 4, 20)}, F32x5))
reject("hole_between", FMT, ['tensor "b"', 'hole of 4 bytes', 'tensor "a" ends at 16'],
       file_of({"a": T22, "b": entry("F32", [2, 2], 20, 36)}, F32x4 + b"\0" * 4 + F32x4))
reject("overlap", FMT, ['tensor "b"', "overlaps", 'tensor "a"'],
       file_of({"a": T22, "b": entry("F32", [4], 8, 24)}, F32x4 + F32x4[:8]))
reject("identical_ranges", FMT, ['tensor "b"', 'same byte range [0, 16) as tensor "a"'],
       file_of({"a": T22, "b": T22}, F32x4))
reject("empty_tensor_inside_other", FMT, ['tensor "z"', "overlaps", 'tensor "a"'],
       file_of({"a": T22, "z": entry("F32", [0], 8, 8)}, F32x4))
reject("offsets_past_data", FMT, ['tensor "t"', "past the end of the file"],
       file_of({"t": entry("F32", [8], 0, 32)}, F32x4))
reject("truncated_data", FMT, ['tensor "t"', "past the end of the file", "truncated"],
       file_of({"t": T22}, F32x4[:15]))
reject("trailing_bytes", FMT, ['tensor "t"', "4 trailing bytes"], file_of({"t": T22}, F32x4 + b"\0" * 4))
reject("trailing_bytes_no_tensors", FMT, ["8 trailing bytes"], file_of({}, b"\0" * 8))

# ---- __metadata__ ----
reject("metadata_not_object", FMT, ['key "__metadata__"', "value is a string, not an object"],
       file_of({"__metadata__": "pt"}))
reject("metadata_array", FMT, ['key "__metadata__"', "value is an array, not an object"],
       file_of({"__metadata__": ["format", "pt"]}))
reject("metadata_value_number", FMT, ['metadata key "format"', "value is a number, not a string"],
       file_of({"__metadata__": {"format": 1}}))
reject("metadata_value_object", FMT, ['metadata key "nested"', "value is an object, not a string"],
       file_of({"__metadata__": {"format": "pt", "nested": {"a": "b"}}}))
reject("metadata_value_null", FMT, ['metadata key "x"', "value is null, not a string"],
       file_of({"__metadata__": {"x": None}}))

# ---- tensor names ----
reject("name_empty", FMT, ['tensor ""', "tensor name is empty"], file_of({"": T22}, F32x4))
reject("name_too_long", FMT, ["(4097 bytes)", "tensor name has 4097 bytes", "at most 4096"],
       file_of({"n" * 4097: T22}, F32x4))

# ---- PyTorch pickles and zip archives: never unpickled ----
PICKLE_V2 = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01"
reject("pickle_protocol_2", UNS, ["pickle (protocol 2)", "convert to safetensors"], PICKLE_V2)
reject("pickle_protocol_4", UNS, ["pickle (protocol 4)", "convert to safetensors"],
       b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x06weight\x94K\x01s.")
ZIP_LOCAL = (b"PK\x03\x04" + b"\x00\x00\x00\x00\x00\x00\x00\x00\x21\x00" + b"\x00" * 12
             + b"\x10\x00\x00\x00" + b"archive/data.pkl" + b"\x80\x02}q\x00.")
reject("zip_torch_save", UNS, ["zip archive", "convert to safetensors"], ZIP_LOCAL)

# ---- must accept ----
accept("empty_object", raw(b"{}      "))
accept("empty_object_unpadded", raw(b"{}"))
accept("metadata_only", file_of({"__metadata__": {"format": "pt"}}))
accept("one_tensor", file_of({"__metadata__": {"format": "pt"}, "t": T22}, F32x4))


def all_dtypes():
    values = [
        ("F64", struct.pack("<2d", 1.5, -2.25)),
        ("F32", struct.pack("<2f", 0.5, -1.0)),
        ("F16", struct.pack("<2H", 0x3C00, 0xC000)),  # 1.0, -2.0
        ("BF16", struct.pack("<2H", 0x3F80, 0xC040)),  # 1.0, -3.0
        ("I64", struct.pack("<2q", -(2**40), 7)),
        ("I32", struct.pack("<2i", -5, 2**31 - 1)),
        ("I16", struct.pack("<2h", -300, 300)),
        ("I8", struct.pack("<2b", -128, 127)),
        ("U8", bytes([0, 255])),
        ("BOOL", bytes([0, 1])),
    ]
    header, data = {}, b""
    for dtype, payload in values:
        header[dtype.lower()] = entry(dtype, [2], len(data), len(data) + len(payload))
        data += payload
    return file_of(header, data)


accept("all_dtypes", all_dtypes())
accept("zero_sized_dim", file_of({"z": entry("F32", [0, 3], 0, 0), "t": T22}, F32x4))
accept("zero_sized_between", file_of({"a": T22, "z": entry("F32", [2, 0], 16, 16), "b": entry("F32", [2, 2], 16, 32)}, F32x4 + F32x4))
accept("zero_sized_at_end", file_of({"a": T22, "z": entry("I64", [0], 16, 16)}, F32x4))
accept("zero_sized_only", file_of({"z": entry("F32", [0], 0, 0)}))
accept("zero_times_huge_dim", file_of({"z": entry("F32", [9007199254740991, 0], 0, 0)}))
accept("scalar_rank_0", file_of({"s": entry("F32", [], 0, 4)}, struct.pack("<f", 3.5)))
accept("rank_8", file_of({"r": entry("F32", [1, 1, 1, 1, 1, 1, 1, 2], 0, 8)}, struct.pack("<2f", 1.0, 2.0)))
accept("space_padding", raw(b"   " + dumps({"t": T22}) + b"     ", F32x4))
accept("keys_in_any_order", raw(padded(
    b'{"b":{"data_offsets":[16,32],"shape":[2,2],"dtype":"F32"},'
    b'"__metadata__":{"format":"pt"},'
    b'"a":{"shape":[2,2],"data_offsets":[0,16],"dtype":"F32"}}'), F32x4 + F32x4))
accept("metadata_last", file_of({"t": T22, "__metadata__": {"format": "pt"}}, F32x4))
accept("no_metadata", file_of({"t": T22}, F32x4))
accept("metadata_empty", file_of({"__metadata__": {}, "t": T22}, F32x4))
accept("inner_whitespace", raw(b'{\n\t"t" : {\r\n "dtype" : "F32", "shape" : [ 2 , 2 ], "data_offsets" : [ 0 , 16 ] }\n}', F32x4))


def unaligned():
    # A 13-byte-odd header puts the data at an odd offset: F64 and F32 must be read with memcpy.
    header = dumps({"d": entry("F64", [2], 0, 16), "f": entry("F32", [2], 16, 24)})
    header += b" " * (1 - len(header) % 2)  # odd length: data at 8 + odd
    assert (8 + len(header)) % 2 == 1
    return raw(header, struct.pack("<2d", 0.1, -7.0) + struct.pack("<2f", 0.25, 8.0))


accept("unaligned_data", unaligned())


def nan_inf():
    f32 = struct.pack("<4f", math.nan, math.inf, -math.inf, -0.0)
    f64 = struct.pack("<3d", math.nan, math.inf, -math.inf)
    f16 = struct.pack("<4H", 0x7E00, 0x7C00, 0xFC00, 0x0001)  # NaN, inf, -inf, smallest subnormal
    bf16 = struct.pack("<3H", 0x7FC0, 0x7F80, 0xFF80)
    parts = [("f32", "F32", [4], f32), ("f64", "F64", [3], f64), ("f16", "F16", [4], f16), ("bf16", "BF16", [3], bf16)]
    header, data = {}, b""
    for name, dtype, shape, payload in parts:
        header[name] = entry(dtype, shape, len(data), len(data) + len(payload))
        data += payload
    return file_of(header, data)


accept("nan_and_inf", nan_inf())
accept("unicode_names", file_of({"é": entry("F32", [1], 0, 4), "名前.weight": entry("F32", [1], 4, 8),
                                 "emoji 😀": entry("F32", [1], 8, 12)}, F32x4[:12]))
accept("name_with_escapes", raw(padded(b'{"a\\u0007\\"b\\\\":' + dumps(entry("F32", [1], 0, 4)) + b"}"), F32x4[:4]))
accept("name_4096_bytes", file_of({"n" * 4096: T22}, F32x4))


# ---- output ----

def write_corpus(out):
    os.makedirs(out, exist_ok=True)
    names = set()
    lines = ["file\texpect\tkind\tmessage_substrings"]
    for name, expect, kind, substrings, content in CASES:
        assert name not in names, name
        names.add(name)
        for s in substrings:
            assert "|" not in s and "\t" not in s and "\n" not in s, s
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)
        lines.append("\t".join([name, expect, kind, "|".join(substrings) or "-"]))
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    return names | {"cases.tsv"}


def check(committed):
    with tempfile.TemporaryDirectory() as tmp:
        expected = write_corpus(tmp)
        present = set(os.listdir(committed)) if os.path.isdir(committed) else set()
        problems = [f"missing: {n}" for n in sorted(expected - present)]
        problems += [f"not generated: {n}" for n in sorted(present - expected)]
        problems += [f"differs: {n}" for n in sorted(expected & present)
                     if not filecmp.cmp(os.path.join(tmp, n), os.path.join(committed, n), shallow=False)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{committed} is stale: run {os.path.relpath(__file__)} and commit the result", file=sys.stderr)
        return 1
    print(f"{len(expected)} files match")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare a fresh corpus with --out instead of writing")
    args = parser.parse_args()
    if args.check:
        return check(args.out)
    names = write_corpus(args.out)
    print(f"wrote {len(names)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
