// SPDX-License-Identifier: Apache-2.0
// train/step_loop.hpp under an injected fault: a NaN written into one gradient (the loss stays
// finite) stops the run naming the step, or is skipped and counted, and no checkpoint holds a NaN.
#include "testing.hpp"
#include "train_testing.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

#include <starbucks/io/safetensors_file.hpp>
#include <starbucks/train/step_loop.hpp>

// One scope per file: each suite is compiled as one unity translation unit.
namespace { namespace test_step_loop {

using namespace starbucks;
namespace fs = std::filesystem;
using B = backend::reference;
using train_testing::fresh_dir;

/// A 3×4 weight trained towards zero by Σ w²; `poison_step` (1-based) gets a NaN in one
/// gradient element after its backward pass, which the loss cannot see.
struct quadratic_run {
    nn::matrix_var<float, B> w;
    nn::parameter_list<float, B> params;
    optim::adamw<float, B> optimizer;
    std::vector<std::shared_ptr<autograd::var_state<float, B>>> states;
    train::train_state state;

    quadratic_run() {
        tensor<float, dextents<2>, B> init(dextents<2>(3, 4));
        for (std::size_t i = 0; i < init.size(); ++i) init.data()[i] = 0.25f * float(i) - 1.0f;
        w = autograd::parameter(std::move(init));
        params.emplace_back("w", w);
        states = train::register_parameters(params, optimizer);
    }

    void run(const train::step_settings& s, std::uint64_t poison_step, const fs::path& checkpoints, std::vector<train::step_report>& reports) {
        const auto micro_batch = [&](autograd::tape& tape, double weight) {
            autograd::tape::scope active(tape);
            matryoshka::multi_target<float, B> total;
            total.add("loss", autograd::sum(autograd::square(w)), weight);
            total.backward(tape);
            if (state.step + 1 == poison_step) w.state()->grad_data()[5] = std::numeric_limits<float>::quiet_NaN();
            return total;
        };
        train::run_steps(state, s, optimizer, params, states, micro_batch, [] { return std::uint64_t{0}; },
                         [&](const train::step_report& r) { reports.push_back(r); }, checkpoints, {});
    }
};

/// Every weight and optimizer moment of a checkpoint folder, read back from its files.
std::vector<float> saved_values(const fs::path& dir) {
    std::vector<float> out;
    for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
        const io::safetensors_file f(dir / file);
        for (const auto& name : f.names()) {
            const auto bytes = f.raw_bytes(name);
            const std::size_t at = out.size();
            out.resize(at + bytes.size() / sizeof(float));
            std::memcpy(out.data() + at, bytes.data(), bytes.size());
        }
    }
    return out;
}

bool all_finite(const std::vector<float>& v) {
    for (float x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

train::step_settings settings() {
    train::step_settings s;
    s.total_steps = 5;
    s.lr = 0.05;
    s.warmup_ratio = 0;
    s.save_steps = 1;
    s.keep_checkpoints = 10;
    return s;
}

TEST_CASE("step loop: a NaN injected into a gradient stops at that step; the checkpoints before it hold no NaN") {
    fresh_dir dir("nan-grad-stop");
    quadratic_run run;
    std::vector<train::step_report> reports;
    const std::string msg = testing::error_message([&] { run.run(settings(), 3, dir.path, reports); });
    CHECK(msg.rfind("starbucks::numeric_error: step 3: the gradient norm is nan; nothing of this step was saved", 0) == 0);
    CHECK(reports.size() == 2);
    const auto saved = train::list_checkpoints(dir.path);
    REQUIRE(saved.size() == 2);
    CHECK(saved.back().filename() == "checkpoint-000002");
    for (const auto& c : saved) CHECK(all_finite(saved_values(c)));
    CHECK(all_finite(std::vector<float>(run.w.value().data(), run.w.value().data() + run.w.size())));
}

TEST_CASE("step loop: with skip_non_finite the poisoned step is skipped and counted; later checkpoints hold no NaN") {
    fresh_dir dir("nan-grad-skip");
    quadratic_run run;
    auto s = settings();
    s.skip_non_finite = true;
    std::vector<train::step_report> reports;
    run.run(s, 3, dir.path, reports);
    REQUIRE(reports.size() == 5);
    for (const auto& r : reports) CHECK(r.skipped == (r.step == 3));
    CHECK(std::isnan(reports[2].grad_norm));
    CHECK(run.state.skipped_steps == 1);
    const auto saved = train::list_checkpoints(dir.path);
    REQUIRE(saved.size() == 5);
    for (const auto& c : saved) CHECK(all_finite(saved_values(c)));
    // The skipped step changed nothing: checkpoint 3's weights and moments are checkpoint 2's.
    CHECK(saved_values(saved[1]) == saved_values(saved[2]));
    CHECK(saved_values(saved[2]) != saved_values(saved[3]));
    CHECK(train::read_train_state(saved[4] / "trainer_state.json").skipped_steps == 1);
}

TEST_CASE("step loop: an old checkpoint that is a symbolic link is unlinked, its target folder left alone") {
    fresh_dir dir("ckpt-symlink"), elsewhere("ckpt-symlink-target");
    quadratic_run first;
    auto s = settings();
    s.total_steps = 1;
    std::vector<train::step_report> reports;
    first.run(s, 0, elsewhere.path, reports); // a real checkpoint-000001 in another folder
    fs::create_directories(dir.path);
    fs::create_directory_symlink(elsewhere.path / "checkpoint-000001", dir.path / "checkpoint-000001");
    const auto files_before = saved_values(elsewhere.path / "checkpoint-000001");
    quadratic_run second;
    s.total_steps = 4;
    s.keep_checkpoints = 2;
    second.run(s, 0, dir.path, reports); // saves 1..4, keeping 3 and 4: the link to 1 goes
    const auto kept = train::list_checkpoints(dir.path);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].filename() == "checkpoint-000003");
    CHECK(saved_values(elsewhere.path / "checkpoint-000001") == files_before);
}

TEST_CASE("step loop: a requested stop finishes the step, commits a checkpoint and throws interrupted") {
    fresh_dir dir("stop");
    quadratic_run run;
    auto s = settings();
    s.save_steps = 0; // no scheduled checkpoint: the stop commits its own
    std::vector<train::step_report> reports;
    train::request_stop(15);
    std::optional<train::interrupted> caught;
    try {
        run.run(s, 0, dir.path, reports);
    } catch (const train::interrupted& e) {
        caught = e;
    }
    train::clear_stop_request();
    REQUIRE(caught.has_value());
    CHECK(caught->step == 1);
    CHECK(caught->signal == 15);
    CHECK(caught->checkpoint == dir.path / "checkpoint-000001");
    CHECK(std::string(caught->what()) == "interrupted after step 1; checkpoint " + (dir.path / "checkpoint-000001").string() + " committed");
    CHECK(reports.size() == 1);
    REQUIRE(train::list_checkpoints(dir.path).size() == 1);
    CHECK(train::read_train_state(dir.path / "checkpoint-000001" / "trainer_state.json").step == 1);
    // Without a stop request the same loop runs to the end.
    run.run(s, 0, dir.path, reports);
    CHECK(run.state.step == 5);
}

TEST_CASE("step loop: what a killed save left is swept when a run starts, even one with no step left to take") {
    fresh_dir dir("leftovers");
    quadratic_run run;
    std::vector<train::step_report> reports;
    run.run(settings(), 0, dir.path, reports);
    fs::create_directories(dir.path / ".checkpoint-000003.retired" / "x");
    fs::create_directories(dir.path / ".checkpoint-000006.partial");
    run.run(settings(), 0, dir.path, reports); // resumed at the last step: nothing to train, nothing saved
    CHECK(run.state.step == 5);
    CHECK(!fs::exists(dir.path / ".checkpoint-000003.retired"));
    CHECK(!fs::exists(dir.path / ".checkpoint-000006.partial"));
    CHECK(train::list_checkpoints(dir.path).size() == 5);
}

} }  // namespace test_step_loop
