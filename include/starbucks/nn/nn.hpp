// SPDX-License-Identifier: Apache-2.0
// The nn layer: BERT modules over autograd vars, with Hugging Face parameter names.
#pragma once

#include "attention.hpp"
#include "bert_config.hpp"
#include "bert_for_mlm.hpp"
#include "bert_encoder.hpp"
#include "bert_layer.hpp"
#include "embedding.hpp"
#include "ffn.hpp"
#include "layer_norm.hpp"
#include "linear.hpp"
#include "mlm_head.hpp"
#include "module.hpp"
#include "pooling.hpp"
