// SPDX-License-Identifier: Apache-2.0
// bench_srl_step: our side of the PyTorch comparison (benchmarks/compare_pytorch.py drives it).
//
// It loads a model folder (config.json, a vocabulary, and model.safetensors when present; else
// weights drawn from the seed), builds the real `train::trainer` on the given pairs (one batch:
// MNRL + 0.3·KL over every (layer, dim) pair, AdamW, clipping, dropout on), and then obeys one
// command per line on stdin so the driver can interleave it with the PyTorch step:
//   step              one optimizer step           -> "step <seconds> <loss>"
//   embed <n> <d>     embed every text of the batch at n layers, d dims, no graph -> "embed <seconds>"
//   profile           profile the following steps (autograd::profiler)         -> "ok"
//   report            the profile so far, each line prefixed "# ", then "end"
//   quit              -> "rss <peak resident kB>" and exit
// Run: bench_srl_step --model DIR --data pairs.tsv [--max-length 32] [--threads 2] [--backend cpu_onednn|cpu_eigen|reference|cuda] [--dtype f32|bf16] [--attention fused|composed]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <starbucks/starbucks.hpp>
#include <starbucks/data/token_batch.hpp>
#include <starbucks/io/safetensors_file.hpp>
#include <starbucks/text/wordpiece.hpp>
#include <starbucks/train/trainer.hpp>
#ifdef STARBUCKS_WITH_EIGEN
#include <starbucks/backend/cpu_eigen/cpu_eigen.hpp>
#endif
#ifdef STARBUCKS_WITH_ONEDNN
#include <starbucks/backend/cpu_onednn/cpu_onednn.hpp>
#endif
#ifdef STARBUCKS_WITH_CUDA
#include <starbucks/backend/cuda/cuda.hpp>
#endif

namespace {

namespace sb = starbucks;
using clock_type = std::chrono::steady_clock;

struct options {
    std::filesystem::path model, data;
    std::size_t max_length = 32;
    int threads = 0;
    std::string backend;
    std::string pairs;
    std::string dtype = "f32"; // bf16: mixed-precision GEMMs (train::trainer_options::precision)
    std::string attention = "fused"; // composed: GEMMs and softmax even where the backend has a fused kernel
};

/// The driver said quit: unwinds out of the trainer's loop.
struct quit_signal {};

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

/// Peak resident set size of this process in kB (VmHWM), 0 when /proc is not there.
long peak_rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

/// Anchor and positive per line, tab-separated.
std::vector<sb::train::example> read_pairs(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw sb::io_error(path.string(), "open", "cannot open the pairs file");
    std::vector<sb::train::example> out;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        const auto tab = line.find('\t');
        if (tab == std::string::npos) throw sb::format_error(path.string() + ":" + std::to_string(n), "row", "needs anchor<TAB>positive");
        out.push_back({{line.substr(0, tab), line.substr(tab + 1)}, 0});
    }
    if (out.empty()) throw sb::format_error(path.string(), "data", "has no rows");
    return out;
}

template <class B>
void serve(const options& o) {
    const auto config = sb::io::read_bert_config(o.model / "config.json");
    sb::nn::bert_encoder<float, B> model(config, 0);
    if (std::filesystem::exists(o.model / "model.safetensors")) model.load(sb::io::safetensors_file(o.model / "model.safetensors"));
    const auto tokenizer = sb::text::wordpiece::load(o.model);
    const auto examples = read_pairs(o.data);
    std::vector<std::string_view> texts;
    for (std::size_t c = 0; c < 2; ++c)
        for (const auto& e : examples) texts.push_back(e.texts[c]);

    sb::train::trainer_options to;
    to.objective.loss = sb::train::task_loss::mnrl;
    to.objective.pairs = o.pairs.empty() ? sb::matryoshka::default_pairs(model.n_layers(), config.hidden_size) : sb::matryoshka::pair_list::parse(o.pairs);
    to.batch_size = examples.size();
    to.max_length = o.max_length;
    to.max_steps = 1u << 30; // the driver decides when to stop
    to.precision = o.dtype == "bf16" ? sb::matmul_precision::bf16 : sb::matmul_precision::f32;
    sb::train::trainer<float, B> trainer(model, tokenizer, examples, to);

    sb::autograd::profiler profile;
    std::optional<sb::autograd::profiler::scope> profiling;
    double profiled_wall = 0;
    clock_type::time_point started;
    // Answers commands until the next "step"; then the clock starts.
    const auto until_step = [&] {
        std::string line;
        while (std::getline(std::cin, line)) {
            std::istringstream cmd(line);
            std::string verb;
            cmd >> verb;
            if (verb == "step") {
                started = clock_type::now();
                return;
            }
            if (verb == "embed") {
                std::size_t n = 0, d = 0;
                cmd >> n >> d;
                const bool was_training = model.training;
                model.training = false;
                const auto t0 = clock_type::now();
                {
                    sb::autograd::no_grad off;
                    sb::backend::frozen_weights_scope frozen; // as `starbucks embed` does (here: one batch per scope)
                    const auto batch = sb::data::tokenize<float, B>(tokenizer, texts, o.max_length, config.vocab_size, "bench_srl_step");
                    const auto hidden = model(batch.ids, batch.mask, n);
                    const auto pooled = sb::nn::mean_pooling(hidden.back(), batch.mask);
                    // What a user keeps, on the host (a device backend finishes its queued work here).
                    [[maybe_unused]] const auto vectors = sb::host_copy(sb::autograd::prefix(pooled, d).value());
                }
                std::printf("embed %.6f\n", seconds_since(t0));
                model.training = was_training;
            } else if (verb == "profile") {
                profiling.emplace(profile);
                std::printf("ok\n");
            } else if (verb == "report") {
                std::istringstream rows(profile.report(profiled_wall));
                for (std::string r; std::getline(rows, r);) std::printf("# %s\n", r.c_str());
                std::printf("end\n");
            } else if (verb == "quit") {
                throw quit_signal{};
            } else {
                std::printf("error unknown command %s\n", verb.c_str());
            }
            std::fflush(stdout);
        }
        throw quit_signal{};
    };
    const sb::attention_path_scope path(o.attention == "composed" ? sb::attention_path::composed : sb::attention_path::fused);
    std::printf("ready %s pairs %s threads %d attention %s\n", B::name, to.objective.pairs.to_flag().c_str(), sb::backend::num_threads(),
                o.attention.c_str());
    std::fflush(stdout);
    try {
        until_step();
        trainer.run([&](const sb::train::step_report& r) {
            if constexpr (!B::host_accessible) B::synchronize(B::default_context()); // the step's queued kernels too
            const double s = seconds_since(started);
            if (profiling) profiled_wall += s;
            std::printf("step %.6f %.6f\n", s, r.loss);
            std::fflush(stdout);
            until_step();
        });
    } catch (const quit_signal&) {
    }
    std::printf("rss %ld\n", peak_rss_kb());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_srl_step: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--model") o.model = value();
        else if (a == "--data") o.data = value();
        else if (a == "--max-length") o.max_length = std::stoul(value());
        else if (a == "--threads") o.threads = std::stoi(value());
        else if (a == "--backend") o.backend = value();
        else if (a == "--pairs") o.pairs = value();
        else if (a == "--dtype") o.dtype = value();
        else if (a == "--attention") o.attention = value();
        else {
            std::fprintf(stderr, "bench_srl_step: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (o.attention != "fused" && o.attention != "composed") {
        std::fprintf(stderr, "bench_srl_step: --attention is fused or composed, not %s\n", o.attention.c_str());
        return 2;
    }
    try {
        sb::backend::apply_thread_environment();
        if (o.threads > 0) sb::backend::set_num_threads(o.threads);
#ifdef STARBUCKS_WITH_ONEDNN
        if (o.backend.empty() || o.backend == "cpu_onednn") return serve<sb::backend::cpu_onednn>(o), 0;
#endif
#ifdef STARBUCKS_WITH_EIGEN
        if (o.backend.empty() || o.backend == "cpu_eigen") return serve<sb::backend::cpu_eigen>(o), 0;
#endif
#ifdef STARBUCKS_WITH_CUDA
        if (o.backend == "cuda") return serve<sb::backend::cuda>(o), 0;
#endif
        if (o.backend.empty() || o.backend == "reference") return serve<sb::backend::reference>(o), 0;
        std::fprintf(stderr, "bench_srl_step: backend %s is not compiled in\n", o.backend.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_srl_step: %s\n", e.what());
        return 1;
    }
}
