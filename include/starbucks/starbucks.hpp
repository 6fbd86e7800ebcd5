// SPDX-License-Identifier: Apache-2.0
// The umbrella header: every layer and backend::reference, on the standard library and
// nlohmann-json alone. Eigen, oneDNN and CUDA backends have their own headers under
// starbucks/backend/; the tokenizer (text/, needs utf8proc) is <starbucks/text/wordpiece.hpp>.
#pragma once

#include "config.hpp"
#include "version.hpp"

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/extents.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"

#include "backend/concepts.hpp"
#include "backend/frozen_weights.hpp"
#include "backend/reference/reference.hpp"
#include "backend/threads.hpp"

#include "tensor/buffer.hpp"
#include "tensor/contiguous.hpp"
#include "tensor/init.hpp"
#include "tensor/slice.hpp"
#include "tensor/tensor.hpp"
#include "tensor/view.hpp"

#include "ops/attention.hpp"
#include "ops/copy.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/gather.hpp"
#include "ops/gemm.hpp"
#include "ops/linear.hpp"
#include "ops/matmul_precision.hpp"
#include "ops/loss.hpp"
#include "ops/norm.hpp"
#include "ops/reduce.hpp"
#include "ops/softmax.hpp"
#include "ops/transfer.hpp"

#include "autograd/autograd.hpp"

#include "nn/nn.hpp"

#include "optim/adamw.hpp"

#include "io/atomic_file.hpp"
#include "io/hf_config.hpp"
#include "io/mapped_file.hpp"
#include "io/model_weights.hpp"
#include "io/safetensors.hpp"
#include "io/st_folder.hpp"

#include "losses/losses.hpp"
#include "matryoshka/multi_target.hpp"
#include "matryoshka/pairs.hpp"
#include "train/memory_estimate.hpp"
#include "train/objective.hpp"
#include "train/step_loop.hpp"
#include "data/data.hpp"
#include "eval/correlation.hpp"
// text/, train/trainer.hpp and eval/sts.hpp need the text component (utf8proc): include them
// directly and link starbucks::text.
