# SPDX-License-Identifier: Apache-2.0
# Sourced by the MPI benchmarks: their arguments, a scratch folder removed at exit, Open MPI's
# settings for one machine (root allowed, oversubscription, no CMA single copy in containers),
# and the `starbucks train` flags they share (SRL on STS-B train, dropout off, one thread).
set -euo pipefail
exe=$1 model=$2 batch=${3:-16} steps=${4:-12} repeats=${5:-3}
data="$(dirname "$0")/../examples/data/stsb-train.tsv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
args=(train --model "$model" --train "$data" --no-dropout --threads 1 --max-steps "$steps" --pairs 2:64,4:128,6:384 ${STARBUCKS_SCALING_ARGS:-})
