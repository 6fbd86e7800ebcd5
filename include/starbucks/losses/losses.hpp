// SPDX-License-Identifier: Apache-2.0
// Every training loss: CoSENT, AnglE, MultipleNegativesRankingLoss and the two KL self-distillation terms.
#pragma once

#include "angle.hpp"
#include "cosent.hpp"
#include "kl.hpp"
#include "mnrl.hpp"
