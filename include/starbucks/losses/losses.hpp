// SPDX-License-Identifier: Apache-2.0
// Every training loss: CoSENT, AnglE, MultipleNegativesRankingLoss, the two KL self-distillation terms
// and retrieval SRL.
#pragma once

#include "angle.hpp"
#include "cosent.hpp"
#include "kl.hpp"
#include "mnrl.hpp"
#include "retrieval_srl.hpp"
