// SPDX-License-Identifier: Apache-2.0
// The safetensors format: validated reading (single files and sharded checkpoints) and atomic writing.
#pragma once

#include "mapped_file.hpp"
#include "safetensors_file.hpp"
#include "safetensors_index.hpp"
#include "save_safetensors.hpp"
#include "tensor_info.hpp"
