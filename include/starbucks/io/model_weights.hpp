// SPDX-License-Identifier: Apache-2.0
// io::model_weights_path: where a model folder's weights are (model.safetensors), refusing with a
// clear message a folder that only has PyTorch pickle weights, which are never loaded.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include "../config.hpp"
#include "../core/error.hpp"

STARBUCKS_NAMESPACE_BEGIN
namespace io {

/// @brief `dir / "model.safetensors"` when it exists, or when the folder has no other weights
/// either (opening it then gives the usual io_error).
/// @throws unsupported_error naming the file when the folder holds only pickle weights
/// (pytorch_model.bin, *.pt, *.pth, *.ckpt): unpickling can run code, so they are never read.
inline std::filesystem::path model_weights_path(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const fs::path safetensors = dir / "model.safetensors";
    std::error_code ec;
    if (fs::exists(safetensors, ec)) return safetensors;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::path& p = entry.path();
        const std::string ext = p.extension().string();
        if (p.filename() == "pytorch_model.bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt")
            throw unsupported_error(p.string(), "",
                                    "PyTorch pickle weights are never loaded (unpickling can run code) and the folder has no "
                                    "model.safetensors; convert them, e.g. in Python: AutoModel.from_pretrained(dir)"
                                    ".save_pretrained(dir, safe_serialization=True)");
    }
    return safetensors;
}

} // namespace io
STARBUCKS_NAMESPACE_END
