// SPDX-License-Identifier: Apache-2.0
// What the training subcommands (train, pretrain) show and log per step: metrics.jsonl and a
// progress bar (redrawn on a terminal, plain lines otherwise).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <starbucks/autograd/profiler.hpp>
#include <starbucks/core/error.hpp>
#include <starbucks/io/atomic_file.hpp>
#include <starbucks/train/step_loop.hpp>

#include "common.hpp"

namespace starbucks_cli {

/// @brief --profile: the per-op profile of a run (autograd::profiler: each op's forward and
/// backward time, and the loop's sections), printed to stderr when the run ends, so an
/// optimisation is chosen from data. Off, it costs nothing.
class run_profile {
public:
    explicit run_profile(bool on) {
        if (on) scope_.emplace(profile_);
    }
    run_profile(const run_profile&) = delete;
    run_profile& operator=(const run_profile&) = delete;
    void print(const std::string& label, double wall_s) const {
        if (scope_) std::fprintf(stderr, "%s: profile of %.3f s (steps of this run)\n%s", label.c_str(), wall_s, profile_.report(wall_s).c_str());
    }

private:
    sb::autograd::profiler profile_;
    std::optional<sb::autograd::profiler::scope> scope_;
};

/// One metrics line per step; on resume the lines after the checkpoint's step are dropped.
class metrics_log {
public:
    metrics_log(const std::filesystem::path& path, std::uint64_t keep_through_step) : path_(path) {
        std::vector<std::string> kept;
        if (keep_through_step > 0) {
            std::ifstream in(path);
            std::string line;
            while (std::getline(in, line)) {
                try {
                    if (nlohmann::json::parse(line).at("step").get<std::uint64_t>() <= keep_through_step) kept.push_back(line);
                } catch (const std::exception&) { // a torn last line of a killed run
                }
            }
        }
        // The kept lines replace the file in one rename, so a kill here loses no line.
        std::string text;
        for (const auto& l : kept) text += l + '\n';
        sb::io::write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
        out_.open(path, std::ios::app);
        if (!out_) throw sb::io_error(path.string(), "cannot open for writing");
    }
    void write(const sb::train::step_report& r, double seconds) {
        nlohmann::json terms = nlohmann::json::object();
        for (const auto& t : r.terms) terms[t.name] = t.value;
        nlohmann::json line{{"step", r.step}, {"epoch", r.epoch}, {"lr", r.lr}, {"loss", r.loss}, {"grad_norm", r.grad_norm},
                            {"skipped", r.skipped}, {"terms", terms}, {"elapsed_s", seconds}};
        if (r.gradient_sum_s > 0) { // under mpirun: what summing the gradients over processes cost
            line["gradient_sum_s"] = r.gradient_sum_s;
            line["gradient_sum_during_backward_s"] = r.gradient_sum_during_backward_s;
        }
        out_ << line.dump() << '\n';
        out_.flush();
        if (!out_) throw sb::io_error(path_.string(), "write failed");
    }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

/// A bar redrawn in place on a terminal; a plain line every ~5 % otherwise.
class progress {
public:
    explicit progress(std::string label) : label_(std::move(label)), tty_(::isatty(2) == 1) {}
    void update(const sb::train::step_report& r, double seconds, std::uint64_t first_step) {
        const double rate = double(r.step - first_step) / std::max(seconds, 1e-9);
        const double eta = rate > 0 ? double(r.total_steps - r.step) / rate : 0;
        std::string terms;
        for (const auto& t : r.terms) {
            if (t.name.rfind("loss_", 0) != 0) continue;
            char buf[64];
            std::snprintf(buf, sizeof buf, " %s %.3f", t.name.c_str() + 5, t.value);
            terms += buf;
        }
        char head[160];
        std::snprintf(head, sizeof head, "%s step %llu/%llu loss %.4f%s |", label_.c_str(), static_cast<unsigned long long>(r.step),
                      static_cast<unsigned long long>(r.total_steps), r.loss, r.skipped ? " (skipped)" : "");
        char tail[96];
        std::snprintf(tail, sizeof tail, "| %.2f steps/s ETA %02d:%02d", rate, int(eta) / 60, int(eta) % 60);
        const bool last = r.step == r.total_steps;
        if (tty_) {
            constexpr int width = 20;
            const int filled = int(width * double(r.step) / double(std::max<std::uint64_t>(r.total_steps, 1)));
            std::fprintf(stderr, "\r%s%s%s%s\033[K", head, std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(), tail);
            std::fprintf(stderr, " %s%s", terms.c_str(), last ? "\n" : "");
        } else if (last || r.step == first_step + 1 || r.step % std::max<std::uint64_t>(1, r.total_steps / 20) == 0) {
            std::fprintf(stderr, "%s step %llu/%llu loss %.4f%s%s %.2f steps/s ETA %02d:%02d\n", label_.c_str(),
                         static_cast<unsigned long long>(r.step), static_cast<unsigned long long>(r.total_steps), r.loss, terms.c_str(),
                         r.skipped ? " (skipped)" : "", rate, int(eta) / 60, int(eta) % 60);
        }
        std::fflush(stderr);
    }

private:
    std::string label_;
    bool tty_;
};

} // namespace starbucks_cli
