# SPDX-License-Identifier: Apache-2.0
# Runs `starbucks export` and checks the folder it writes (ctest driver).
#
#   -DEXE=<starbucks> -DMODEL=<model folder> -DWORK_DIR=<scratch folder, recreated>
#   -DEXPORT_ARGS=<extra export flags, | separated> -DEXPECT_LAYERS=<n> -DEXPECT_PAIRS=<JSON of the trained pairs>
#   -DEXPECT_MATRYOSHKA=<JSON of config.json's matryoshka_dimensions, or NONE when it must be absent>
#   optional: -DTEXT=<text file> -DEMBED_OUT_ARGS=<| flags for embed on the export>
#             -DEMBED_SRC_ARGS=<| flags for embed on the original>: both embeddings must be byte-identical
#             -DREPLACE=ON: WORK_DIR/out already holds a file; export without --force must fail
#               (exit 1) and leave it, then with --force replace the whole folder
# Checks: exit 0, every file sentence-transformers and transformers need, config.json's
# num_hidden_layers and matryoshka keys, starbucks_config.json's pairs and deploy size, no
# 2_Normalize module, `inspect` exits 0
# on the result, and no temporary folder is left.
cmake_minimum_required(VERSION 3.20)

string(REPLACE "|" ";" EXPORT_ARGS "${EXPORT_ARGS}")
string(REPLACE "|" ";" EMBED_OUT_ARGS "${EMBED_OUT_ARGS}")
string(REPLACE "|" ";" EMBED_SRC_ARGS "${EMBED_SRC_ARGS}")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(out "${WORK_DIR}/out")

function(run_ok)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "expected exit 0\ncommand: ${ARGN}\nexit: ${rc}\nstdout:\n${o}\nstderr:\n${e}")
  endif()
endfunction()

if(REPLACE)
  file(WRITE "${out}/keep.txt" "not a model\n")
  execute_process(COMMAND "${EXE}" export --model "${MODEL}" --out "${out}" ${EXPORT_ARGS}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  if(NOT rc STREQUAL "1" OR NOT e MATCHES "^starbucks::usage_error: --out: [^\n]*not empty[^\n]*--force[^\n]*\n$")
    message(FATAL_ERROR "a non-empty --out without --force must be a usage error (exit 1)\nexit: ${rc}\nstderr:\n${e}")
  endif()
  if(NOT EXISTS "${out}/keep.txt" OR EXISTS "${out}/config.json")
    message(FATAL_ERROR "the refused export changed ${out}")
  endif()
  list(APPEND EXPORT_ARGS --force)
endif()

run_ok("${EXE}" export --model "${MODEL}" --out "${out}" ${EXPORT_ARGS})
if(REPLACE AND EXISTS "${out}/keep.txt")
  message(FATAL_ERROR "--force kept the old folder's keep.txt")
endif()

foreach(f config.json model.safetensors modules.json 1_Pooling/config.json sentence_bert_config.json
          config_sentence_transformers.json starbucks_config.json)
  if(NOT EXISTS "${out}/${f}")
    message(FATAL_ERROR "export wrote no ${f}")
  endif()
endforeach()
if(NOT EXISTS "${out}/vocab.txt" AND NOT EXISTS "${out}/tokenizer.json")
  message(FATAL_ERROR "export copied no tokenizer")
endif()

file(READ "${out}/config.json" config)
string(JSON layers GET "${config}" num_hidden_layers)
if(NOT layers EQUAL EXPECT_LAYERS)
  message(FATAL_ERROR "config.json has num_hidden_layers ${layers}, expected ${EXPECT_LAYERS}")
endif()
string(JSON dims ERROR_VARIABLE no_dims GET "${config}" matryoshka_dimensions)
if(EXPECT_MATRYOSHKA STREQUAL "NONE")
  if(NOT no_dims)
    message(FATAL_ERROR "config.json has matryoshka_dimensions ${dims}; the model was trained at one width")
  endif()
else()
  string(JSON same EQUAL "${dims}" "${EXPECT_MATRYOSHKA}")
  string(JSON flag GET "${config}" is_matryoshka)
  if(no_dims OR NOT same OR NOT flag)
    message(FATAL_ERROR "config.json: matryoshka_dimensions ${dims} (expected ${EXPECT_MATRYOSHKA}), is_matryoshka ${flag}")
  endif()
endif()
if(EXISTS "${out}/2_Normalize")
  message(FATAL_ERROR "export wrote a 2_Normalize module")
endif()
file(READ "${out}/starbucks_config.json" sc)
string(JSON pairs GET "${sc}" pairs)
string(JSON deploy_layers GET "${sc}" deploy layers)
string(JSON same EQUAL "${pairs}" "${EXPECT_PAIRS}")
if(NOT same OR NOT deploy_layers EQUAL EXPECT_LAYERS)
  message(FATAL_ERROR "starbucks_config.json: trained_pairs ${pairs} (expected ${EXPECT_PAIRS}), deploy layers ${deploy_layers}\n${sc}")
endif()

run_ok("${EXE}" inspect --model "${out}")

if(DEFINED TEXT)
  run_ok("${EXE}" embed --model "${out}" --input "${TEXT}" --output "${WORK_DIR}/export.tsv" ${EMBED_OUT_ARGS})
  run_ok("${EXE}" embed --model "${MODEL}" --input "${TEXT}" --output "${WORK_DIR}/source.tsv" ${EMBED_SRC_ARGS})
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${WORK_DIR}/export.tsv" "${WORK_DIR}/source.tsv" RESULT_VARIABLE diff)
  if(NOT diff STREQUAL "0")
    file(READ "${WORK_DIR}/export.tsv" a)
    file(READ "${WORK_DIR}/source.tsv" b)
    message(FATAL_ERROR "embeddings differ\nexport:\n${a}\nsource:\n${b}")
  endif()
endif()

file(GLOB tmp "${WORK_DIR}/.*tmp*")
if(tmp)
  message(FATAL_ERROR "temporary folders left behind: ${tmp}")
endif()
