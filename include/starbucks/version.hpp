// SPDX-License-Identifier: Apache-2.0
// The library version; CMake checks these numbers against project(VERSION) at configure time.
#pragma once

#define STARBUCKS_VERSION_MAJOR 0
#define STARBUCKS_VERSION_MINOR 1
#define STARBUCKS_VERSION_PATCH 0
#define STARBUCKS_VERSION (STARBUCKS_VERSION_MAJOR * 10000 + STARBUCKS_VERSION_MINOR * 100 + STARBUCKS_VERSION_PATCH)
#define STARBUCKS_VERSION_STRING "0.1.0"
