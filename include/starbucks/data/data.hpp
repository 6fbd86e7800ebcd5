// SPDX-License-Identifier: Apache-2.0
// Every dataset reader: scored STS pairs and (anchor, positive[, negative]) text pairs.
#pragma once

#include "read_options.hpp"
#include "sts_tsv.hpp"
#include "text_pairs.hpp"
